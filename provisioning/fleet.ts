/**
 * The fleet as the hub database knows it: one row per terminal (status, heartbeat, roster lag,
 * outbox, camera, versions), signed commands queued for the hub to send, and the event store.
 */
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { TerminalError } from '../core/errors';
import type { Command, SyncEvent } from '../runtime/protocol/schemas';
import { parseId } from '../runtime/protocol/ids';
import { certificateInfo, certificateState, terminalCertFile, type CertificateState } from './certificates';
import { actorOf, type Community } from './community';

export class FleetError extends TerminalError {
  readonly code = 'fleet';
}

export interface FleetRow {
  terminalId: string;
  doorId: string;
  buildingId: string;
  status: 'active' | 'revoked';
  online: boolean;
  lastHeartbeat: number | null;
  rosterVersion: number | null;
  /** Hub roster version minus the terminal's (null: never heard from). */
  rosterLag: number | null;
  /**
   * The roster epoch the terminal holds: the hub's `current` one, an `earlier` one of its history (it
   * moves on with the next delta), `unknown` to this hub (a history it does not have, e.g. after a
   * restore: the hub sends it a snapshot), or null (none reported).
   */
  rosterEpoch: 'current' | 'earlier' | 'unknown' | null;
  outboxDepth: number | null;
  cameraFps: number | null;
  softwareVersion: string | null;
  modelVersion: string | null;
  /** Faults the terminal said it runs with in its last heartbeat (relay-fault, roster-corrupt, ...). */
  faults: string[] | null;
  /**
   * When the certificate the terminal connects with expires: as its heartbeat reports it, or else the
   * one last issued to it (terminals/<id>.crt).
   */
  certificateExpiresAt: number | null;
  /** ok, renewal-pending (a renewed one is not in use yet), expiring (within 21 days), expired. */
  certificate: CertificateState | null;
}

export interface InfrastructureCertificate {
  name: 'hub' | 'broker';
  expiresAt: number;
  state: CertificateState;
}

/** A terminal is online when its last status says so and a heartbeat came within 2.5 heartbeat periods. */
export function fleetStatus(c: Community, now = Date.now()): FleetRow[] {
  const hubVersion = c.db.rosterVersion();
  const epochs = c.db.rosterEpochs().map((e) => e.id);
  const status = new Map(c.db.statuses().map((s) => [s.terminalId, s]));
  return c.db.terminals().map((t) => {
    const s = status.get(t.id);
    const h = s?.health ?? null;
    return {
      terminalId: t.id,
      doorId: t.doorId,
      buildingId: t.buildingId,
      status: t.status,
      online: t.status === 'active' && s?.state === 'online' && now - s.receivedAt <= 2.5 * c.config.heartbeatMs,
      lastHeartbeat: s?.receivedAt ?? null,
      rosterVersion: h?.rosterVersion ?? null,
      rosterLag: h ? hubVersion - h.rosterVersion : null,
      rosterEpoch: !h?.rosterEpoch ? null : h.rosterEpoch.id === epochs[epochs.length - 1] ? 'current' : epochs.includes(h.rosterEpoch.id) ? 'earlier' : 'unknown',
      outboxDepth: h?.outboxDepth ?? null,
      cameraFps: h?.cameraFps ?? null,
      softwareVersion: h?.softwareVersion ?? null,
      modelVersion: h?.modelVersion ?? null,
      faults: h?.faults ?? null,
      ...certificateOf(c, t.id, t.status, h?.certificateExpiresAt ?? null, now),
    };
  });
}

function certificateOf(c: Community, id: string, status: string, reported: number | null, now: number): Pick<FleetRow, 'certificateExpiresAt' | 'certificate'> {
  const file = terminalCertFile(c, id);
  const issued = existsSync(file) ? certificateInfo(readFileSync(file)).notAfter : null;
  const inUse = reported ?? issued;
  if (inUse === null || status !== 'active') return { certificateExpiresAt: inUse, certificate: null };
  return { certificateExpiresAt: inUse, certificate: certificateState(inUse, issued, now) };
}

/** The hub's and the broker's certificates at `now`. */
export function infrastructureCertificates(c: Community, now = Date.now()): InfrastructureCertificate[] {
  return ([['hub', c.paths.hubTlsCert], ['broker', c.paths.brokerCert]] as const).map(([name, file]) => {
    const expiresAt = certificateInfo(readFileSync(file)).notAfter;
    return { name, expiresAt, state: certificateState(expiresAt, null, now) };
  });
}

/** A command as an operator asks for it: an unlock names its requester from the actor, not from the caller. */
export type CommandRequest = Exclude<Command, { type: 'unlock' }> | Omit<Extract<Command, { type: 'unlock' }>, 'requestedBy'>;

/**
 * Queue a signed command for the running hub; `target` is a terminal id or a door id. Returns command
 * ids. An unlock carries the actor (actorOf: an operator id under the one identifier rule) as
 * `requestedBy`: the terminal records it with the release.
 */
export function queueCommand(c: Community, targetId: string, request: CommandRequest, o: { actor?: string; now?: number } = {}): number[] {
  const target = parseId('door or terminal', targetId);
  const terminals = c.db.terminals().filter((t) => t.status === 'active' && (t.id === target || t.doorId === target));
  if (terminals.length === 0) throw new FleetError(`no active terminal or door ${target}`);
  const now = o.now ?? Date.now();
  const actor = actorOf(o.actor);
  const command: Command = request.type === 'unlock' ? { ...request, requestedBy: actor } : request;
  return c.db.tx(() =>
    terminals.map((t) => {
      const id = c.db.queueCommand(t.id, command, actor, now);
      c.db.audit(actor, `command.${command.type}`, t.id, { command, target }, now);
      return id;
    }),
  );
}

/** Wait until the hub has handled the commands (sent, expired or refused), or the timeout. */
export async function awaitCommands(c: Community, ids: number[], timeoutMs: number): Promise<Array<{ id: number; terminalId: string; status: string }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cmds = ids.map((id) => c.db.command(id)).filter((x) => x !== null);
    if (cmds.every((x) => x.status !== 'queued') || Date.now() > deadline) return cmds.map((x) => ({ id: x.id, terminalId: x.terminalId, status: x.status }));
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface StoredEvent {
  terminalId: string;
  receivedAt: number;
  event: SyncEvent;
}

/** Events stored by the hub after `afterRowid` (oldest first); returns them with the last rowid. */
export function readEvents(c: Community, afterRowid: number, limit = 500): { events: StoredEvent[]; last: number } {
  if (!existsSync(c.paths.eventsDb)) return { events: [], last: afterRowid };
  const db = new Database(c.paths.eventsDb, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT rowid AS r, terminal_id, body, received_at FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?').all(afterRowid, limit) as Array<{ r: number; terminal_id: string; body: string; received_at: number }>;
    return {
      events: rows.map((x) => ({ terminalId: x.terminal_id, receivedAt: x.received_at, event: JSON.parse(x.body) as SyncEvent })),
      last: rows.at(-1)?.r ?? afterRowid,
    };
  } catch {
    return { events: [], last: afterRowid };
  } finally {
    db.close();
  }
}

/** Rowid from which the last `n` events start. */
export function eventsTailStart(c: Community, n: number): number {
  if (!existsSync(c.paths.eventsDb)) return 0;
  const db = new Database(c.paths.eventsDb, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT COALESCE(MAX(rowid), 0) AS m FROM events').get() as { m: number };
    return Math.max(0, row.m - n);
  } catch {
    return 0;
  } finally {
    db.close();
  }
}
