/**
 * The one door from the API to the admin operations: the `(ctx, input)` calls of provisioning/admin/
 * (persons, registrations, doors, fleet, alerts, passes, credentials). Every function takes the
 * authenticated actor: the audit rows they write name the operator (or `root`), never anything the
 * client said.
 */
import type { Clock } from '../../core/clock';
import { resetAdaptation, type AdaptationReset } from '../admin/adaptation';
import { awaitCommands, pushConfig, queueCommand, resyncTerminal, wipeTerminal, type QueuedCommand } from '../admin/doors';
import type { AdminContext } from '../admin/context';
import type { AccessSpec } from '../admin/access';
import { addAlert, clearAlert, listAlerts, type AddAlertInput } from '../admin/alerts';
import { renewTerminals } from '../admin/certificates';
import { setCredentials, type SetCredentialsInput } from '../admin/credentials';
import type { Enroller } from '../admin/enrol';
import { eventsTailStart, fleetStatus, infrastructureCertificates, readEvents, type FleetRow, type InfrastructureCertificate } from '../admin/fleet';
import { issuePass, issuePassAsResident, listPasses, revokePass, type IssuedPass, type IssuePassInput } from '../admin/passes';
import { addPerson, getPerson, revokePerson, storedPhotoPaths, updatePerson, type EnrolInput, type UpdateInput } from '../admin/persons';
import { approvePerson, registerPerson } from '../admin/registrations';
import { erasePerson, erasureStatus, type ErasureReport, type ErasureStatus } from '../admin/erasure';
import { exportPerson, type PersonExport } from '../admin/person-export';
import { issueTerminal, listTerminals, revokeTerminal, type AddTerminalInput, type BundleFile } from '../admin/terminals';
import type { Community } from '../community';
import { summaryOf, type AlertRecord, type AuditRecord, type PassRecord, type PersonRecord, type PersonSummary, type TerminalRecord } from '../db';
import type { AuditQuery, ResidentQuery, ResidentRow } from '../store/hub-store';
import type { StoredEvent } from '../hub/event-store';

export type { AccessSpec, AlertRecord, AuditRecord, BundleFile, Enroller, FleetRow, InfrastructureCertificate, IssuedPass, PassRecord, PersonRecord, PersonSummary, QueuedCommand, StoredEvent, TerminalRecord };
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
  register: (ctx: PortContext, enroller: Enroller, input: Pick<EnrolInput, 'id' | 'photos' | 'noFace' | 'label'>): Promise<PersonRecord> =>
    registerPerson(admin(ctx, enroller), input),
  /** Staff add a resident in one step: enrolment (or none: `noFace`) and access. */
  add: (ctx: PortContext, enroller: Enroller, input: Pick<EnrolInput, 'id' | 'photos' | 'noFace' | 'label'> & AccessSpec): Promise<PersonRecord> => addPerson(admin(ctx, enroller), input),
  /** Access, photos (re-enrolled), label. */
  update: (ctx: PortContext, enroller: Enroller, input: Omit<UpdateInput, 'tags'>): Promise<PersonRecord> => updatePerson(admin(ctx, enroller), input),
  approve: (ctx: PortContext, id: string, access: AccessSpec): PersonRecord => approvePerson(admin(ctx), { ...access, id }),
  updateAccess: (ctx: PortContext, id: string, access: AccessSpec): Promise<PersonRecord> => updatePerson(admin(ctx), { ...access, id }),
  revoke: (ctx: PortContext, id: string, reason: string | undefined): PersonRecord => revokePerson(admin(ctx), { id, ...(reason ? { reason } : {}) }),
  photoPaths: (ctx: PortContext, p: PersonRecord): string[] => storedPhotoPaths(ctx.community, p),
  /** Cards and PINs (digests only are kept). */
  setCredentials: (ctx: PortContext, id: string, input: Omit<SetCredentialsInput, 'id'>): Promise<PersonRecord> => setCredentials(admin(ctx), { ...input, id }),
};

/** A person's rights (provisioning/admin/person-export.ts, erasure.ts): everything held about them, its erasure, who has confirmed it. */
export const rights = {
  export: (ctx: PortContext, id: string): PersonExport => exportPerson(admin(ctx), { id }),
  erase: (ctx: PortContext, id: string): ErasureReport => erasePerson(admin(ctx), { id }),
  erasureStatus: (ctx: PortContext, id: string): ErasureStatus => erasureStatus(admin(ctx), { id }),
};

export const adaptation = {
  /** Forgets one person's adapted templates on the hub and at every door (provisioning/admin/adaptation.ts). */
  reset: (ctx: PortContext, personId: string): AdaptationReset => resetAdaptation(admin(ctx), { personId }),
};

export const passes = {
  /** A visitor pass issued by the operator (the hub's signing key: the passphrase). */
  issue: (ctx: PortContext, passphrase: string | undefined, input: IssuePassInput): IssuedPass => issuePass(admin(ctx, undefined, passphrase), input),
  /**
   * A resident's pass for their visitor (within the resident's own access): the pass is the resident's
   * (issued by them in hub.db and the audit row of the library), and the operator who asked for it on
   * their behalf is audited beside it (`pass.issue-for-resident`).
   */
  issueAsResident: (ctx: PortContext, passphrase: string | undefined, personId: string, input: IssuePassInput): IssuedPass => {
    const issued = issuePassAsResident(admin(ctx, undefined, passphrase), { ...input, personId });
    ctx.community.db.audit(ctx.actor, 'pass.issue-for-resident', issued.record.passId, { personId }, ctx.now);
    return issued;
  },
  revoke: (ctx: PortContext, id: string): PassRecord => revokePass(admin(ctx), { id }),
  list: (ctx: PortContext): Array<PassRecord & { usedBy: Record<string, number> }> => listPasses(admin(ctx)),
};

export const terminals = {
  list: (ctx: PortContext): TerminalRecord[] => listTerminals(admin(ctx)),
  /** A new terminal and its bundle's files (answered to the caller, never written on the hub). */
  add: (ctx: PortContext, passphrase: string | undefined, input: Omit<AddTerminalInput, 'out'>): { files: BundleFile[]; terminal: TerminalRecord } => issueTerminal(admin(ctx, undefined, passphrase), input),
  revoke: (ctx: PortContext, passphrase: string | undefined, id: string): { broker: 'reloaded' | 'not-running' } => revokeTerminal(admin(ctx, undefined, passphrase), { id }),
  renew: (ctx: PortContext, passphrase: string | undefined, which: { ids: string[] } | { due: true }): Array<{ terminalId: string; notAfter: number; cert: string }> =>
    renewTerminals(admin(ctx, undefined, passphrase), which).map((r) => ({ terminalId: r.terminalId, notAfter: r.notAfter, cert: r.cert })),
  wipe: (ctx: PortContext, id: string, confirm: boolean): number[] => wipeTerminal(admin(ctx), { id, confirm }),
  resync: (ctx: PortContext, id: string): number[] => resyncTerminal(admin(ctx), { id }),
  reloadConfig: (ctx: PortContext, terminalId: string | undefined): number[] => pushConfig(admin(ctx), terminalId === undefined ? {} : { terminalId }),
};

export const doors = {
  terminals: (ctx: Pick<PortContext, 'community'>): TerminalRecord[] => ctx.community.db.terminals(),
  /** Queues a signed unlock for every active terminal of the door; `requestedBy` is the actor. */
  unlock: (ctx: PortContext, doorId: string, seconds: number, reason: string): number[] => {
    const ids = queueCommand(admin(ctx), { target: doorId, command: { type: 'unlock', durationMs: seconds * 1000 } });
    ctx.community.db.audit(ctx.actor, 'door.unlock', doorId, { reason, commands: ids }, ctx.now);
    return ids;
  },
  awaitCommands: (ctx: PortContext, ids: number[], timeoutMs: number): Promise<QueuedCommand[]> => awaitCommands(admin(ctx), { ids, timeoutMs }),
};

export const fleet = {
  status: (ctx: PortContext): FleetRow[] => fleetStatus(admin(ctx)),
  /** The hub's and the broker's certificates. */
  certificates: (ctx: PortContext): InfrastructureCertificate[] => infrastructureCertificates(admin(ctx)),
};

export const alerts = {
  /** Tag an enrolled person, or enrol a new alert subject from photos. */
  add: (ctx: PortContext, enroller: Enroller, input: AddAlertInput): Promise<PersonRecord> => addAlert(admin(ctx, enroller), input),
  clear: (ctx: PortContext, tag: string): { untagged: string[]; revoked: string[] } => clearAlert(admin(ctx), { tag }),
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
