/**
 * The rollouts' tables in hub.db (migration 8): one row per rollout with its whole state (the pure
 * state machine's, provisioning/update/rollout.ts, as JSON read back through its schema) and the
 * rollout's log, one line per row. HubDb (provisioning/db.ts) inherits these methods; they are the
 * SQLite half of RolloutStore (hub-store.ts).
 */
import type Database from 'better-sqlite3';
import { RolloutStateSchema, type RolloutState } from '../update/rollout';
import type { RolloutLogLine, RolloutRecord, RolloutStore } from './hub-store';

export const ROLLOUTS_SCHEMA = `
CREATE TABLE rollouts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  version TEXT NOT NULL,
  bundle TEXT NOT NULL,
  phase TEXT NOT NULL,
  state TEXT NOT NULL,
  started_by TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE rollout_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  rollout_id INTEGER NOT NULL REFERENCES rollouts (id),
  at INTEGER NOT NULL,
  line TEXT NOT NULL
);
CREATE INDEX rollout_log_by_rollout ON rollout_log (rollout_id, id);
`;

type Row = Record<string, unknown>;

function rolloutOf(r: Row): RolloutRecord {
  return {
    id: r['id'] as number,
    version: r['version'] as string,
    bundle: r['bundle'] as string,
    state: RolloutStateSchema.parse(JSON.parse(r['state'] as string)),
    startedBy: r['started_by'] as string,
    startedAt: r['started_at'] as number,
    updatedAt: r['updated_at'] as number,
  };
}

export abstract class SqliteRollouts implements RolloutStore {
  abstract readonly db: Database.Database;

  addRollout(r: { version: string; bundle: string; state: RolloutState; startedBy: string }, now: number): number {
    return Number(
      this.db
        .prepare('INSERT INTO rollouts (version, bundle, phase, state, started_by, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(r.version, r.bundle, r.state.phase, JSON.stringify(r.state), r.startedBy, now, now).lastInsertRowid,
    );
  }

  rollout(id: number): RolloutRecord | null {
    const r = this.db.prepare('SELECT * FROM rollouts WHERE id = ?').get(id) as Row | undefined;
    return r ? rolloutOf(r) : null;
  }

  latestRollout(): RolloutRecord | null {
    const r = this.db.prepare('SELECT * FROM rollouts ORDER BY id DESC LIMIT 1').get() as Row | undefined;
    return r ? rolloutOf(r) : null;
  }

  saveRollout(id: number, state: RolloutState, now: number): void {
    this.db.prepare('UPDATE rollouts SET phase = ?, state = ?, updated_at = ? WHERE id = ?').run(state.phase, JSON.stringify(state), now, id);
  }

  addRolloutLog(id: number, lines: readonly string[], now: number): void {
    const add = this.db.prepare('INSERT INTO rollout_log (rollout_id, at, line) VALUES (?, ?, ?)');
    for (const l of lines) add.run(id, now, l);
  }

  rolloutLog(id: number, afterLine = 0): RolloutLogLine[] {
    return (this.db.prepare('SELECT id, at, line FROM rollout_log WHERE rollout_id = ? AND id > ? ORDER BY id').all(id, afterLine) as Row[]).map((r) => ({
      id: r['id'] as number,
      at: r['at'] as number,
      line: r['line'] as string,
    }));
  }
}
