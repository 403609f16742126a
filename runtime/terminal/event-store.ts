/**
 * Opening the terminal's sync file (outbox, command nonces, staged snapshot chunks) so that a corrupt
 * file never stops the terminal. A file SQLite calls corrupt ("file is not a database", "malformed")
 * is kept aside for forensics, with its WAL and shared-memory files, as `sync.db.corrupt-<time>`, and
 * a fresh file is started. What is lost with it: events not yet acknowledged by the hub (they stay
 * readable in the kept file if SQLite can still read them), the nonces of commands already carried out
 * (so commands issued before the new file, up to the accepted clock skew, are refused: one of them
 * could be a replay), and a snapshot being received (asked for again). Nothing the door decides with
 * lives in this file; the roster has its own.
 */
import { existsSync, renameSync } from 'node:fs';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { openSyncDb, type SyncDb, type SyncDbOptions } from '../sync/db';
import { isCorruptSqlite } from './degraded';

export interface EventStore {
  db: SyncDb;
  /** Where a corrupt file was moved (null: the file opened as it was). */
  setAside: string | null;
  /** Commands issued at or before this time are refused (null: none), kept in the file across restarts. */
  commandsIssuedAfter: number | null;
}

const NOT_BEFORE_KEY = 'commands_issued_after';

/**
 * Opens `path`, or sets a corrupt one aside and starts a fresh one. `skewMs` is the command clock skew
 * the sync client accepts: commands issued up to that much after the replacement are refused too.
 * Throws when even a fresh file cannot be opened (no space, no permission).
 */
export function openEventStore(path: string, opts: { clock: Clock; log: Logger; skewMs: number } & SyncDbOptions): EventStore {
  try {
    const db = openSyncDb(path, opts);
    return { db, setAside: null, commandsIssuedAfter: notBefore(db) };
  } catch (err) {
    if (!isCorruptSqlite(err)) throw err;
  }
  const aside = `${path}.corrupt-${new Date(opts.clock.now()).toISOString().replace(/[:.]/g, '-')}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, aside + suffix);
  }
  opts.log.error({ file: aside }, 'sync file is corrupt: kept aside, a fresh one started');
  const db = openSyncDb(path, opts);
  const after = opts.clock.now() + opts.skewMs;
  db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v').run(NOT_BEFORE_KEY, after);
  return { db, setAside: aside, commandsIssuedAfter: after };
}

function notBefore(db: SyncDb): number | null {
  const row = db.prepare('SELECT v FROM meta WHERE k = ?').get(NOT_BEFORE_KEY) as { v: number } | undefined;
  return row?.v ?? null;
}
