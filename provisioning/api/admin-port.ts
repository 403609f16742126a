/**
 * The one door from the API to the admin operations. Today they are the library functions of
 * provisioning/ (persons.ts, fleet.ts, alerts.ts, db.ts); when they move to provisioning/admin/<resource>.ts
 * as `(ctx, input)` calls, only this file changes. Every function takes the authenticated actor: the
 * audit rows they write name the operator (or `root`), never anything the client said.
 */
import type { Community } from '../community';
import type { AlertRecord, AuditRecord, PersonRecord, TerminalRecord } from '../db';
import { awaitCommands, eventsTailStart, fleetStatus, queueCommand, readEvents, type FleetRow, type StoredEvent } from '../fleet';
import { listAlerts } from '../alerts';
import { approvePerson, getPerson, registerPerson, revokePerson, storedPhotoPaths, updatePerson, type AccessSpec, type Enroller } from '../persons';

export type { AccessSpec, AlertRecord, AuditRecord, Enroller, FleetRow, PersonRecord, StoredEvent, TerminalRecord };

export interface PortContext {
  community: Community;
  now: number;
  /** The authenticated operator id (or `root`, or `tenant` for a self-registration). */
  actor: string;
}

export const persons = {
  get: (ctx: PortContext, id: string): PersonRecord => getPerson(ctx.community, id),
  find: (ctx: PortContext, id: string): PersonRecord | null => ctx.community.db.person(id),
  list: (ctx: PortContext, filter: { status?: 'pending' | 'active' | 'revoked'; kind?: 'resident' | 'alert' } = {}): PersonRecord[] => ctx.community.db.persons(filter),
  register: (ctx: PortContext, enroller: Enroller, input: { id: string; photos: string[] }): Promise<PersonRecord> =>
    registerPerson(ctx.community, enroller, { id: input.id, photos: input.photos, actor: ctx.actor, now: ctx.now }),
  approve: (ctx: PortContext, id: string, access: AccessSpec): PersonRecord => approvePerson(ctx.community, id, { ...access, actor: ctx.actor, now: ctx.now }),
  updateAccess: (ctx: PortContext, id: string, access: AccessSpec): Promise<PersonRecord> => updatePerson(ctx.community, null, id, { ...access, actor: ctx.actor, now: ctx.now }),
  revoke: (ctx: PortContext, id: string, reason: string | undefined): PersonRecord => revokePerson(ctx.community, id, { actor: ctx.actor, now: ctx.now, ...(reason ? { reason } : {}) }),
  photoPaths: (ctx: PortContext, p: PersonRecord): string[] => storedPhotoPaths(ctx.community, p),
};

export const doors = {
  terminals: (ctx: PortContext): TerminalRecord[] => ctx.community.db.terminals(),
  /** Queues a signed unlock for every active terminal of the door; `requestedBy` is the actor. */
  unlock: (ctx: PortContext, doorId: string, seconds: number, reason: string): number[] => {
    const ids = queueCommand(ctx.community, doorId, { type: 'unlock', durationMs: seconds * 1000 }, { actor: ctx.actor, now: ctx.now });
    ctx.community.db.audit(ctx.actor, 'door.unlock', doorId, { reason, commands: ids }, ctx.now);
    return ids;
  },
  awaitCommands: (ctx: PortContext, ids: number[], timeoutMs: number): Promise<Array<{ id: number; terminalId: string; status: string }>> => awaitCommands(ctx.community, ids, timeoutMs),
};

export const fleet = {
  status: (ctx: PortContext): FleetRow[] => fleetStatus(ctx.community, ctx.now),
};

export const alerts = {
  list: (ctx: PortContext, tag?: string): { active: PersonRecord[]; sightings: AlertRecord[] } => listAlerts(ctx.community, tag),
  /** Sightings stored after `afterId` (for the live feed). */
  sightingsAfter: (ctx: PortContext, afterId: number): AlertRecord[] => ctx.community.db.alerts().filter((a) => a.id > afterId),
};

export const events = {
  read: (ctx: PortContext, afterRowid: number, limit: number): { events: StoredEvent[]; last: number } => readEvents(ctx.community, afterRowid, limit),
  /** The rowid after which the last `n` events start. */
  tailStart: (ctx: PortContext, n: number): number => eventsTailStart(ctx.community, n),
};

export interface AuditQuery {
  /** Rows with a smaller id (paging backwards from the newest); none: from the newest. */
  before?: number;
  limit: number;
  actor?: string;
  action?: string;
  subject?: string;
  from?: number;
  to?: number;
}

export const audit = {
  /** Newest first. */
  query: (ctx: PortContext, q: AuditQuery): AuditRecord[] => {
    const where: string[] = [];
    const args: Array<string | number> = [];
    const add = (clause: string, v: string | number | undefined): void => {
      if (v === undefined) return;
      where.push(clause);
      args.push(v);
    };
    add('id < ?', q.before);
    add('actor = ?', q.actor);
    add('action = ?', q.action);
    add('subject = ?', q.subject);
    add('at >= ?', q.from);
    add('at < ?', q.to);
    const rows = ctx.community.db.db.prepare(`SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`).all(...args, q.limit) as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      id: r['id'] as number,
      at: r['at'] as number,
      actor: r['actor'] as string,
      action: r['action'] as string,
      subject: r['subject'] as string,
      detail: JSON.parse(r['detail'] as string) as Record<string, unknown>,
    }));
  },
  write: (ctx: PortContext, action: string, subject: string, detail: Record<string, unknown>): void => ctx.community.db.audit(ctx.actor, action, subject, detail, ctx.now),
};
