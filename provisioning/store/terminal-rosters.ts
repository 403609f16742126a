/**
 * Per-door rosters on the hub (issue 16), in hub.db (the migration that adds per-door rosters):
 *
 * - `terminal_roster_keys`: each terminal's roster key, 32 random bytes created with the terminal and
 *   delivered in its bundle (`roster.key`); the hub seals every roster message to that terminal with it
 *   (runtime/protocol/roster-seal.ts). Read and written only through SqliteRosterKeys, so that
 *   encryption at rest can wrap this one class (the bytes in, the bytes out) without touching a caller.
 * - `terminal_rosters`: where each terminal's roster stands as the hub sent it: `scoped_from`, the
 *   version of the first snapshot of its scope it was sent (null: it may still hold a whole roster from
 *   before per-door rosters, and gets a snapshot of its scope before anything else), and
 *   `last_version`, the last version that changed its roster (the `after` of its next delta).
 * - `roster_log` keeps, per version, which persons (ids and revisions) and which revoked passes it
 *   covered and the terminals it went to, never a payload: catch-ups are computed from the current
 *   state (provisioning/hub/README.md).
 */
import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { z } from 'zod';

export const TERMINAL_ROSTERS_SCHEMA = `
CREATE TABLE terminal_roster_keys (
  terminal_id TEXT PRIMARY KEY,
  key BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE terminal_rosters (
  terminal_id TEXT PRIMARY KEY,
  scoped_from INTEGER,
  last_version INTEGER NOT NULL DEFAULT 0
);
`;

/**
 * What one roster version covered (roster_log.changes): the persons (ids, revisions) and revoked
 * passes, and the terminals it was sent to (absent in rows from before per-door rosters, which went
 * to every terminal).
 */
export const RosterLogChangesSchema = z.strictObject({
  persons: z.array(z.strictObject({ id: z.string(), rev: z.number().int() })),
  passes: z.array(z.string()),
  terminals: z.array(z.string()).optional(),
});
export type RosterLogChanges = z.infer<typeof RosterLogChangesSchema>;

/**
 * The migration's step for roster_log: the signed payloads of every delta published so far (templates
 * and names of every person, revoked ones included) become the ids they covered, and the column goes.
 */
export function migrateRosterLogToIds(db: Database.Database): void {
  db.exec(`ALTER TABLE roster_log ADD COLUMN changes TEXT NOT NULL DEFAULT '{"persons":[],"passes":[]}'`);
  const rows = db.prepare('SELECT version, payload FROM roster_log').all() as Array<{ version: number; payload: string }>;
  const set = db.prepare('UPDATE roster_log SET changes = ? WHERE version = ?');
  for (const r of rows) set.run(JSON.stringify(changesOfPayload(r.payload)), r.version);
  db.exec(`ALTER TABLE roster_log DROP COLUMN payload`);
  db.exec(TERMINAL_ROSTERS_SCHEMA);
}

/** The ids a delta of the old format covered (persons upserted or revoked, passes revoked); none when it cannot be read. */
function changesOfPayload(payload: string): RosterLogChanges {
  const persons: RosterLogChanges['persons'] = [];
  const passes: string[] = [];
  try {
    const env = JSON.parse(payload) as { body?: unknown };
    const body = JSON.parse(typeof env.body === 'string' ? env.body : '{}') as { batch?: { upserts?: Array<{ personId?: unknown }>; revocations?: unknown[]; passRevocations?: Array<{ passId?: unknown }> } };
    const b = body.batch ?? {};
    for (const u of b.upserts ?? []) if (typeof u.personId === 'string') persons.push({ id: u.personId, rev: 0 });
    for (const id of b.revocations ?? []) if (typeof id === 'string') persons.push({ id, rev: 0 });
    for (const p of b.passRevocations ?? []) if (typeof p.passId === 'string') passes.push(p.passId);
  } catch {
    // An unreadable payload covered nothing a catch-up can name: a terminal that far behind gets a snapshot anyway.
  }
  return { persons, passes };
}

/** Where one terminal's roster stands as the hub sent it. */
export interface TerminalRosterState {
  terminalId: string;
  /** Version of the first snapshot of its scope sent to it; null: none yet. */
  scopedFrom: number | null;
  /** The last version that changed its roster. */
  lastVersion: number;
}

export interface TerminalRosterStore {
  /** The terminal's roster key, or null for a terminal created before roster keys. */
  rosterKey(terminalId: string): Buffer | null;
  /** Creates the terminal's roster key (once; a second call answers the same key). */
  createRosterKey(terminalId: string, now: number): Buffer;
  terminalRosterStates(): TerminalRosterState[];
  /** Records that these terminals were sent `version` (their `last_version`). */
  markTerminalsSent(terminalIds: readonly string[], version: number): void;
  /** Records a snapshot of the terminal's scope at `version` (its first one sets `scoped_from`). */
  markTerminalScoped(terminalId: string, version: number): void;
}

/** The one place that reads and writes roster keys (wrap it to encrypt them at rest). */
export class SqliteRosterKeys {
  constructor(private readonly db: Database.Database) {}

  get(terminalId: string): Buffer | null {
    const r = this.db.prepare('SELECT key FROM terminal_roster_keys WHERE terminal_id = ?').get(terminalId) as { key: Buffer } | undefined;
    return r ? Buffer.from(r.key) : null;
  }

  create(terminalId: string, now: number): Buffer {
    this.db.prepare('INSERT OR IGNORE INTO terminal_roster_keys (terminal_id, key, created_at) VALUES (?, ?, ?)').run(terminalId, randomBytes(32), now);
    const k = this.get(terminalId);
    if (!k) throw new Error(`roster key of ${terminalId} was not recorded`);
    return k;
  }
}

export class SqliteTerminalRosters implements TerminalRosterStore {
  readonly keys: SqliteRosterKeys;

  constructor(private readonly db: Database.Database) {
    this.keys = new SqliteRosterKeys(db);
  }

  rosterKey(terminalId: string): Buffer | null {
    return this.keys.get(terminalId);
  }

  createRosterKey(terminalId: string, now: number): Buffer {
    return this.keys.create(terminalId, now);
  }

  terminalRosterStates(): TerminalRosterState[] {
    return (this.db.prepare('SELECT terminal_id, scoped_from, last_version FROM terminal_rosters').all() as Array<{ terminal_id: string; scoped_from: number | null; last_version: number }>)
      .map((r) => ({ terminalId: r.terminal_id, scopedFrom: r.scoped_from, lastVersion: r.last_version }));
  }

  markTerminalsSent(terminalIds: readonly string[], version: number): void {
    const st = this.db.prepare(`INSERT INTO terminal_rosters (terminal_id, scoped_from, last_version) VALUES (?, NULL, ?)
      ON CONFLICT (terminal_id) DO UPDATE SET last_version = MAX(last_version, excluded.last_version)`);
    for (const id of terminalIds) st.run(id, version);
  }

  markTerminalScoped(terminalId: string, version: number): void {
    this.db.prepare(`INSERT INTO terminal_rosters (terminal_id, scoped_from, last_version) VALUES (?, ?, 0)
      ON CONFLICT (terminal_id) DO UPDATE SET scoped_from = COALESCE(scoped_from, excluded.scoped_from)`).run(terminalId, version);
  }
}
