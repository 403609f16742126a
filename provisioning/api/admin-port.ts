/**
 * The one door from the API to the admin operations: the `(ctx, input)` calls of provisioning/admin/
 * (persons, registrations, doors, fleet, alerts, passes, credentials). Every function takes the
 * authenticated actor: the audit rows they write name the operator (or `root`), never anything the
 * client said.
 */
import type { Clock } from '../../core/clock';
import { awaitCommands, queueCommand } from '../admin/doors';
import type { AdminContext } from '../admin/context';
import type { AccessSpec } from '../admin/access';
import { listAlerts } from '../admin/alerts';
import { setCredentials, type SetCredentialsInput } from '../admin/credentials';
import type { Enroller } from '../admin/enrol';
import { eventsTailStart, fleetStatus, readEvents, type FleetRow } from '../admin/fleet';
import { issuePassAsResident, type IssuedPass, type IssuePassInput } from '../admin/passes';
import { getPerson, revokePerson, storedPhotoPaths, updatePerson } from '../admin/persons';
import { approvePerson, registerPerson } from '../admin/registrations';
import type { Community } from '../community';
import { summaryOf, type AlertRecord, type AuditRecord, type PersonRecord, type PersonSummary, type TerminalRecord } from '../db';
import type { AuditQuery, ResidentQuery, ResidentRow } from '../store/hub-store';
import type { StoredEvent } from '../hub/event-store';

export type { AccessSpec, AlertRecord, AuditRecord, Enroller, FleetRow, PersonRecord, PersonSummary, StoredEvent, TerminalRecord };
export { summaryOf };

export interface PortContext {
  community: Community;
  /** The hub's clock (waits); `now` is the request's time, which every operation of one request uses. */
  clock: Clock;
  now: number;
  /** The authenticated operator id (or `root`, or `tenant` for a self-registration). */
  actor: string;
}

/** The admin library's context for one request: its time, its actor, the community's store. */
function admin(ctx: PortContext, enroller?: Enroller, passphrase?: string): AdminContext {
  const base = ctx.clock;
  const clock: Clock = {
    now: () => ctx.now,
    monotonic: () => base.monotonic(),
    setTimeout: (f, ms) => base.setTimeout(f, ms),
    setInterval: (f, ms) => base.setInterval(f, ms),
  };
  return {
    clock,
    actor: ctx.actor,
    community: ctx.community,
    store: ctx.community.db,
    ...(enroller ? { enroller } : {}),
    ...(passphrase !== undefined ? { passphrase } : {}),
  };
}

export const persons = {
  get: (ctx: PortContext, id: string): PersonRecord => getPerson(admin(ctx), { id }),
  find: (ctx: PortContext, id: string): PersonRecord | null => ctx.community.db.person(id),
  list: (ctx: PortContext, filter: { status?: 'pending' | 'active' | 'revoked'; kind?: 'resident' | 'alert' } = {}): PersonRecord[] => ctx.community.db.persons(filter),
  /** Residents filtered and paged in the store. */
  page: (ctx: PortContext, q: ResidentQuery): { items: ResidentRow[]; total: number } => ctx.community.db.residentsPage(q),
  register: (ctx: PortContext, enroller: Enroller, input: { id: string; photos: string[] }): Promise<PersonRecord> =>
    registerPerson(admin(ctx, enroller), { id: input.id, photos: input.photos }),
  approve: (ctx: PortContext, id: string, access: AccessSpec): PersonRecord => approvePerson(admin(ctx), { ...access, id }),
  updateAccess: (ctx: PortContext, id: string, access: AccessSpec): Promise<PersonRecord> => updatePerson(admin(ctx), { ...access, id }),
  revoke: (ctx: PortContext, id: string, reason: string | undefined): PersonRecord => revokePerson(admin(ctx), { id, ...(reason ? { reason } : {}) }),
  photoPaths: (ctx: PortContext, p: PersonRecord): string[] => storedPhotoPaths(ctx.community, p),
  /** Cards and PINs (digests only are kept). */
  setCredentials: (ctx: PortContext, id: string, input: Omit<SetCredentialsInput, 'id'>): Promise<PersonRecord> => setCredentials(admin(ctx), { ...input, id }),
};

export const passes = {
  /** A resident's pass for their visitor (within the resident's own access; the resident is the actor). */
  issueAsResident: (ctx: PortContext, passphrase: string, personId: string, input: IssuePassInput): IssuedPass => issuePassAsResident(admin(ctx, undefined, passphrase), { ...input, personId }),
};

export const doors = {
  terminals: (ctx: Pick<PortContext, 'community'>): TerminalRecord[] => ctx.community.db.terminals(),
  /** Queues a signed unlock for every active terminal of the door; `requestedBy` is the actor. */
  unlock: (ctx: PortContext, doorId: string, seconds: number, reason: string): number[] => {
    const ids = queueCommand(admin(ctx), { target: doorId, command: { type: 'unlock', durationMs: seconds * 1000 } });
    ctx.community.db.audit(ctx.actor, 'door.unlock', doorId, { reason, commands: ids }, ctx.now);
    return ids;
  },
  awaitCommands: (ctx: PortContext, ids: number[], timeoutMs: number): Promise<Array<{ id: number; terminalId: string; status: string }>> => awaitCommands(admin(ctx), { ids, timeoutMs }),
};

export const fleet = {
  status: (ctx: PortContext): FleetRow[] => fleetStatus(admin(ctx)),
};

export const alerts = {
  list: (ctx: PortContext, tag?: string): { active: PersonRecord[]; sightings: AlertRecord[] } => listAlerts(admin(ctx), tag === undefined ? {} : { tag }),
  /** Sightings stored after `afterId` (for the live feed). */
  sightingsAfter: (ctx: PortContext, afterId: number): AlertRecord[] => ctx.community.db.alerts().filter((a) => a.id > afterId),
};

export const events = {
  read: (ctx: Pick<PortContext, 'community'>, afterRowid: number, limit: number): { events: StoredEvent[]; last: number } => readEvents(ctx, { after: afterRowid, limit }),
  /** The rowid after which the last `n` events start. */
  tailStart: (ctx: Pick<PortContext, 'community'>, n: number): number => eventsTailStart(ctx, { n }),
};

export type { AuditQuery };

export const audit = {
  /** Newest first. */
  query: (ctx: PortContext, q: AuditQuery): AuditRecord[] => ctx.community.db.auditPage(q),
  write: (ctx: PortContext, action: string, subject: string, detail: Record<string, unknown>): void => ctx.community.db.audit(ctx.actor, action, subject, detail, ctx.now),
};
