import Database from 'better-sqlite3';
import { preparePrivateDatabase } from '../../core/fs';

export type SyncDb = Database.Database;

export interface SyncDbOptions {
  /**
   * `full` (default) makes every committed event survive a power cut (WAL + fsync per commit);
   * `normal` survives a process crash but may lose the last commits on power loss (tests, benches).
   */
  synchronous?: 'full' | 'normal';
}

/**
 * Schema version of the sync file (`PRAGMA user_version`). 1: snapshot chunks are staged sealed
 * (AES-256-GCM, see snapshot-staging.ts) in `staged_chunks`; the plain-JSON `snapshot_chunks` table of
 * older builds is dropped with whatever it held (its snapshot is simply requested again). 2: the roster
 * epoch of the staged snapshot is kept in `staged_epochs` (none for a snapshot from before epochs); in a
 * table of its own, since reading a column stored after each chunk's megabyte would read the megabyte.
 */
export const SYNC_DB_VERSION = 2;

/**
 * The terminal's sync state, in its own SQLite file (WAL): the event outbox, seen command nonces and
 * the chunks of a snapshot being received (sealed). Separate from the roster database on purpose.
 */
export function openSyncDb(path: string, opts: SyncDbOptions = {}): SyncDb {
  preparePrivateDatabase(path); // 0600 from creation, and so its -wal and -shm (the outbox names residents)
  const db = new Database(path);
  try {
    prepare(db, opts);
  } catch (err) {
    db.close(); // a corrupt file: the caller may move it aside
    throw err;
  }
  return db;
}

function prepare(db: SyncDb, opts: SyncDbOptions): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('busy_timeout = 2000');
  // Staged snapshot chunks come from the roster: once deleted, their bytes are zeroed, not left in free pages.
  db.pragma('secure_delete = ON');
  // ...and the pages they took are given back (SnapshotStaging.clear): a gate's snapshot of the whole
  // community (about 290 MB sealed) otherwise stayed in the file as zeroed free pages for good. The mode
  // is set before the first table of a new file; an older file is rebuilt once (VACUUM) to take it.
  if ((db.pragma('auto_vacuum', { simple: true }) as number) !== 2) {
    db.pragma('auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
  }
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
    CREATE TABLE IF NOT EXISTS staged_chunks (
      snapshot_id TEXT NOT NULL,
      version INTEGER NOT NULL,
      idx INTEGER NOT NULL,
      count INTEGER NOT NULL,
      sealed BLOB NOT NULL,
      PRIMARY KEY (snapshot_id, idx)
    );
    CREATE TABLE IF NOT EXISTS staged_epochs (snapshot_id TEXT PRIMARY KEY, epoch TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS staging_key (id INTEGER PRIMARY KEY CHECK (id = 1), salt BLOB NOT NULL);
  `);
  dropPlainStaging(db);
  if ((db.pragma('user_version', { simple: true }) as number) < SYNC_DB_VERSION) db.pragma(`user_version = ${SYNC_DB_VERSION}`);
}

/**
 * Older builds staged snapshot chunks as plain JSON (templates included) in `snapshot_chunks`. The
 * table is dropped (secure_delete zeroes its pages) and the WAL truncated, so no copy of those bytes
 * stays behind; the terminal asks the hub again for whatever roster it still misses. Checked at every
 * open, not only once, so that a file that went back to an older build and forward again is cleaned too.
 */
function dropPlainStaging(db: SyncDb): void {
  const plain = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'snapshot_chunks'").get();
  if (plain) {
    db.exec('DROP TABLE snapshot_chunks');
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  if ((db.pragma('user_version', { simple: true }) as number) < SYNC_DB_VERSION) db.pragma(`user_version = ${SYNC_DB_VERSION}`);
}
