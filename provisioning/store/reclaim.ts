/**
 * What makes a delete in the hub's SQLite files (hub.db, events.db) a real one (issue 16 item 2):
 *
 * - `secure_delete` (a setting of each connection, so every connection that deletes sets it): deleted
 *   rows, freed cells and freed pages are overwritten with zeros instead of staying in the file;
 * - the write-ahead log keeps every page version written since it last restarted, old contents
 *   included: after an erasure the log is checkpointed into the database and truncated to zero bytes;
 * - `auto_vacuum = INCREMENTAL`: the pages an erasure frees are given back to the file system by an
 *   incremental vacuum (cheap: it moves the free pages to the end and truncates) instead of a VACUUM
 *   that rewrites the whole file. A new file gets it before its first table; an older hub.db is
 *   converted once, by one VACUUM when it is first opened (bench/erasure.ts measures both).
 */
import type Database from 'better-sqlite3';

/** Secure delete on this connection, and incremental auto-vacuum on a file that has no table yet. Before WAL mode and migrations. */
export function secureDeletes(db: Database.Database): void {
  db.pragma('secure_delete = ON');
  const tables = db.prepare("SELECT COUNT(*) AS n FROM sqlite_master").get() as { n: number };
  if (tables.n === 0 && !db.readonly) db.pragma('auto_vacuum = INCREMENTAL');
}

/** True when the file frees pages by incremental vacuum (2); a file made before this is 0 (none) until converted. */
export function incrementalVacuumOn(db: Database.Database): boolean {
  return db.pragma('auto_vacuum', { simple: true }) === 2;
}

/** Converts a file to incremental auto-vacuum (one VACUUM: it rewrites the whole file). Returns whether it did. */
export function convertToIncrementalVacuum(db: Database.Database): boolean {
  if (incrementalVacuumOn(db) || db.readonly) return false;
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
  return true;
}

export interface Reclaimed {
  /** Free pages given back to the file system. */
  freedPages: number;
  /** The write-ahead log was checkpointed and truncated to zero bytes (false: a reader held it; tried again at the next erasure). */
  walTruncated: boolean;
}

/**
 * After an erasure: free pages back to the file system (incremental vacuum), then the write-ahead log
 * into the database and truncated, so no old page version stays in either file.
 */
export function reclaimAfterErasure(db: Database.Database): Reclaimed {
  const free = db.pragma('freelist_count', { simple: true }) as number;
  if (incrementalVacuumOn(db) && free > 0) db.pragma('incremental_vacuum');
  const left = db.pragma('freelist_count', { simple: true }) as number;
  let walTruncated = false;
  for (let attempt = 0; attempt < 3 && !walTruncated; attempt++) {
    const r = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    walTruncated = r[0]?.busy === 0;
  }
  return { freedPages: free - left, walTruncated };
}
