import Database from 'better-sqlite3';

export type SyncDb = Database.Database;

export interface SyncDbOptions {
  /**
   * `full` (default) makes every committed event survive a power cut (WAL + fsync per commit);
   * `normal` survives a process crash but may lose the last commits on power loss (tests, benches).
   */
  synchronous?: 'full' | 'normal';
}

/**
 * The terminal's sync state, in its own SQLite file (WAL): the event outbox, seen command nonces and
 * the chunks of a snapshot being received. Separate from the roster database on purpose.
 */
export function openSyncDb(path: string, opts: SyncDbOptions = {}): SyncDb {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('busy_timeout = 2000');
  // Staged snapshot chunks hold templates: once deleted, their bytes are zeroed, not left in free pages.
  db.pragma('secure_delete = ON');
  db.exec(`
    CREATE TABLE IF NOT EXISTS outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      security INTEGER NOT NULL,
      body TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS outbox_plain ON outbox(security, seq);
    CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS snapshot_chunks (
      snapshot_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      idx INTEGER NOT NULL,
      count INTEGER NOT NULL,
      items TEXT NOT NULL,
      PRIMARY KEY (snapshot_id, idx)
    );
  `);
  return db;
}
