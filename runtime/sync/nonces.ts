import type { SyncDb } from './db';

/**
 * Command nonces seen, kept until the command would have expired anyway (after that the expiry check
 * refuses a replay on its own). Stored in SQLite so a reboot does not reopen the replay window.
 */
export class NonceStore {
  private readonly stmts;

  constructor(db: SyncDb) {
    this.stmts = {
      insert: db.prepare('INSERT OR IGNORE INTO nonces (nonce, expires_at) VALUES (?, ?)'),
      prune: db.prepare('DELETE FROM nonces WHERE expires_at < ?'),
    };
  }

  /** Record a nonce; false if it had been seen already (a replay). */
  claim(nonce: string, expiresAt: number, now: number): boolean {
    this.stmts.prune.run(now);
    return this.stmts.insert.run(nonce, expiresAt).changes === 1;
  }
}
