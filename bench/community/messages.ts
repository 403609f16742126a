/**
 * What bench/community.ts and its worker processes (./worker.ts) say to each other over Node's IPC
 * channel, and the one helper both use to weigh a terminal's files on disk.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Bench -> worker. */
export type ToWorker =
  /** Tell at once which terminals hold `id` as active (`watching`), then when each of those no longer does (`gone`: revoked). */
  | { type: 'watch-gone'; id: string }
  /** Tell when each terminal holds `id` as active (approved). */
  | { type: 'watch-seen'; id: string }
  /** Tell when each terminal holds `id` with `tag` (a missing-person alert). */
  | { type: 'watch-tag'; id: string; tag: string }
  /** Record entries at each terminal at `perSecond` (Poisson) for `durationMs`, residents from `persons`. */
  | { type: 'entries'; perSecond: number; durationMs: number; persons: string[]; seed: number }
  /** Outbox depth of each terminal now. */
  | { type: 'sample'; seq: number }
  /** Bytes of each terminal's data folder (roster, sync file, their WAL files). */
  | { type: 'disk' }
  | { type: 'stop' };

/** Worker -> bench. */
export type ToBench =
  | { type: 'opened'; terminals: string[] }
  | { type: 'roster'; terminal: string; version: number }
  | { type: 'watching'; id: string; held: string[] }
  | { type: 'gone'; terminal: string; id: string; at: number }
  | { type: 'seen'; terminal: string; id: string; at: number }
  | { type: 'tagged'; terminal: string; id: string; at: number }
  | { type: 'entries-done'; recorded: number }
  | { type: 'depths'; seq: number; depths: number[] }
  | { type: 'disk'; bytes: Array<{ terminal: string; bytes: number }> };

/** Total size of the files under `dir` (0 when it does not exist). */
export function bytesUnder(dir: string): number {
  let n = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += bytesUnder(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}
