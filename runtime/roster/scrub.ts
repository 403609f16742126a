import { Worker } from 'node:worker_threads';
import { TerminalError } from '../../core/errors';

/** The worker scrubbing a database file failed (the file may still hold deleted bytes). */
export class ScrubError extends TerminalError {
  readonly code = 'db-scrub-failed';
  constructor(reason: string) {
    super(`database file scrub failed: ${reason}`);
  }
}

/*
 * Plain CommonJS run by the worker (eval), so that it works the same from compiled JS, tsx and jest:
 * its own connection to the file, the same busy timeout as the terminal's, then the scrub.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
try {
  db.pragma('busy_timeout = 5000');
  db.pragma('secure_delete = ON');
  const steps = [];
  let t = performance.now();
  const mark = (name) => { const now = performance.now(); steps.push([name, now - t]); t = now; };
  db.pragma('wal_checkpoint(TRUNCATE)'); mark('checkpoint');
  db.exec('VACUUM'); mark('vacuum');
  const r = db.pragma('wal_checkpoint(TRUNCATE)')[0]; mark('truncate');
  if (r && r.busy) throw new Error('WAL checkpoint blocked by a reader');
  parentPort.postMessage({ ok: true, steps });
} catch (e) {
  parentPort.postMessage({ ok: false, error: String(e && e.message || e) });
} finally {
  db.close();
}
`;

/**
 * Leaves no deleted row readable in an SQLite file (WAL mode, secure_delete on in the writer): the
 * checkpoint copies the zeroed pages from the WAL over the old ones and truncates the WAL (which held
 * the rows as they were written), VACUUM rebuilds the file without free pages, and a last checkpoint
 * truncates the WAL VACUUM wrote. Runs on a worker thread on its own connection, so the event loop
 * (GPIO callbacks) is not held; the caller must not write to the file meanwhile (its writes would
 * wait on the lock). Resolves with each step's duration in ms.
 */
export function scrubInWorker(path: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver: require.resolve('better-sqlite3') } });
    let settled = false;
    worker.once('message', (m: { ok: true; steps: [string, number][] } | { ok: false; error: string }) => {
      settled = true;
      if (m.ok) resolve(Object.fromEntries(m.steps));
      else reject(new ScrubError(m.error));
    });
    worker.once('error', (e) => {
      if (!settled) reject(new ScrubError(e.message));
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new ScrubError(`worker exited with ${code}`));
      settled = true;
    });
  });
}
