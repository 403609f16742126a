/**
 * Uses of each pass counted by this terminal, in the terminal's sync SQLite file (which survives roster
 * snapshots and wipes, so neither gives a used-up pass its uses back). A use is committed (fsync) before
 * the door is released: a crash in between costs the visitor one use, never the other way round.
 * Rows of passes whose validity has ended are deleted by `prune` (an expired pass is refused anyway).
 * Pass ids are random and carry nothing personal; they are stored as they are.
 */
import type Database from 'better-sqlite3';
import type { PassId } from '../protocol/pass';

export class PassLedger {
  private readonly get: Database.Statement<[string], { uses: number }>;
  private readonly bump: Database.Statement<[string, number], { uses: number }>;

  constructor(private readonly db: Database.Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS pass_use (
      pass_id TEXT PRIMARY KEY,
      uses INTEGER NOT NULL,
      not_after INTEGER NOT NULL
    ) STRICT`);
    this.get = db.prepare('SELECT uses FROM pass_use WHERE pass_id = ?');
    this.bump = db.prepare(
      `INSERT INTO pass_use (pass_id, uses, not_after) VALUES (?, 1, ?)
       ON CONFLICT(pass_id) DO UPDATE SET uses = uses + 1 RETURNING uses`,
    );
  }

  uses(passId: PassId): number {
    return this.get.get(passId)?.uses ?? 0;
  }

  /**
   * Counts one use if the pass has uses left (`limit` 0: no limit); returns the uses counted so far,
   * or null (nothing written) when they are used up. Atomic.
   */
  consume(passId: PassId, limit: number, notAfter: number): number | null {
    return this.db.transaction((): number | null => {
      if (limit > 0 && this.uses(passId) >= limit) return null;
      return (this.bump.get(passId, notAfter) as { uses: number }).uses;
    }).immediate();
  }

  /** Forgets passes whose validity ended before `now`; returns how many. */
  prune(now: number): number {
    return this.db.prepare('DELETE FROM pass_use WHERE not_after <= ?').run(now).changes;
  }
}
