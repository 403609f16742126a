/**
 * One sample of the soak bench (bench/soak.ts) and its CSV form: one row per sample, one column per
 * figure (`terminal_rss_mb`, `hub_heap_used_mb`, ...), written under bench/results/ for a reviewer to
 * plot, and read back by `npm run bench:soak -- --report FILE.csv` to print the figures again. Pure: no
 * I/O here (tested in test/bench/soak/sample.test.ts).
 */
import { TerminalError } from '../../core/errors';

/** One sample of both processes. Memory and file sizes in MB, delays in ms. */
export interface Sample {
  /** ms since the terminal started */
  t: number;
  phase: 'warmup' | 'soak';
  /** the broker was stopped (--outage-minutes) */
  outage: boolean;
  load1: number;
  terminal: {
    rss: number;
    /** anonymous resident memory (RssAnon): the heap and native allocations, without mapped files */
    rssAnon: number;
    heapUsed: number;
    heapTotal: number;
    /** V8 heap used right after the last major collection (bench/soak/probe.js): what is alive */
    heapAfterGc: number;
    /** major collections since the start */
    majorGcs: number;
    /** V8's external memory, array buffers included (prom-client reports no separate figure) */
    external: number;
    fds: number;
    threads: number;
    eventLoopP99: number;
    activeHandles: number;
    decisions: number;
    grants: number;
    outbox: number;
    ffmpegRss: number;
    rosterDb: number;
    rosterWal: number;
    syncDb: number;
    syncWal: number;
  };
  hub: {
    rss: number;
    rssAnon: number;
    heapUsed: number;
    heapTotal: number;
    heapAfterGc: number;
    majorGcs: number;
    external: number;
    arrayBuffers: number;
    fds: number;
    threads: number;
    eventLoopP99: number;
    activeResources: number;
    hubDb: number;
    hubWal: number;
    eventsDb: number;
    eventsWal: number;
  };
}

/** Column name of each per-process figure, with its unit. */
const TERMINAL_COLUMNS: Record<keyof Sample['terminal'], string> = {
  rss: 'rss_mb',
  rssAnon: 'rss_anon_mb',
  heapUsed: 'heap_used_mb',
  heapTotal: 'heap_total_mb',
  heapAfterGc: 'heap_after_gc_mb',
  majorGcs: 'major_gcs',
  external: 'external_mb',
  fds: 'fds',
  threads: 'threads',
  eventLoopP99: 'loop_delay_p99_ms',
  activeHandles: 'active_handles',
  decisions: 'decisions',
  grants: 'grants',
  outbox: 'outbox_rows',
  ffmpegRss: 'ffmpeg_rss_mb',
  rosterDb: 'roster_db_mb',
  rosterWal: 'roster_wal_mb',
  syncDb: 'sync_db_mb',
  syncWal: 'sync_wal_mb',
};

const HUB_COLUMNS: Record<keyof Sample['hub'], string> = {
  rss: 'rss_mb',
  rssAnon: 'rss_anon_mb',
  heapUsed: 'heap_used_mb',
  heapTotal: 'heap_total_mb',
  heapAfterGc: 'heap_after_gc_mb',
  majorGcs: 'major_gcs',
  external: 'external_mb',
  arrayBuffers: 'array_buffers_mb',
  fds: 'fds',
  threads: 'threads',
  eventLoopP99: 'loop_delay_p99_ms',
  activeResources: 'active_resources',
  hubDb: 'hub_db_mb',
  hubWal: 'hub_wal_mb',
  eventsDb: 'events_db_mb',
  eventsWal: 'events_wal_mb',
};

const terminalKeys = Object.keys(TERMINAL_COLUMNS) as Array<keyof Sample['terminal']>;
const hubKeys = Object.keys(HUB_COLUMNS) as Array<keyof Sample['hub']>;

export const CSV_HEADER = [
  't_s',
  'phase',
  'outage',
  'load_1m',
  ...terminalKeys.map((k) => `terminal_${TERMINAL_COLUMNS[k]}`),
  ...hubKeys.map((k) => `hub_${HUB_COLUMNS[k]}`),
].join(',');

/** A number as the CSV holds it: empty when missing, at most 6 decimals. */
const cell = (v: number): string => (Number.isFinite(v) ? String(Math.round(v * 1e6) / 1e6) : '');

export function sampleCsvRow(s: Sample): string {
  return [
    cell(s.t / 1000),
    s.phase,
    s.outage ? '1' : '0',
    cell(s.load1),
    ...terminalKeys.map((k) => cell(s.terminal[k])),
    ...hubKeys.map((k) => cell(s.hub[k])),
  ].join(',');
}

export class SampleCsvError extends TerminalError {
  readonly code = 'soak-samples-csv';
}

/**
 * Reads back what sampleCsvRow wrote. Columns are found by name: a file from an older bench that lacks
 * a figure reads it as missing (NaN), as an empty cell does; a column this bench does not know, or a
 * file without t_s, phase and outage, is not a samples file.
 */
export function parseSamplesCsv(text: string): Sample[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',');
  const known = new Set(CSV_HEADER.split(','));
  const unknown = header.filter((h) => !known.has(h));
  if (unknown.length > 0 || !['t_s', 'phase', 'outage'].every((h) => header.includes(h))) {
    throw new SampleCsvError(`not a soak samples file: ${unknown.length > 0 ? `unknown columns ${unknown.slice(0, 3).join(', ')}` : 'no t_s, phase and outage columns'}`);
  }
  const col = new Map(header.map((h, i) => [h, i]));
  return lines.slice(1).map((line, i) => {
    const c = line.split(',');
    if (c.length !== header.length) throw new SampleCsvError(`row ${i + 2}: ${c.length} cells, expected ${header.length}`);
    const num = (name: string): number => {
      const j = col.get(name);
      const v = j === undefined ? '' : (c[j] as string);
      if (v === '') return NaN;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new SampleCsvError(`row ${i + 2}, column ${name}: not a number`);
      return n;
    };
    const phase = c[col.get('phase') as number];
    if (phase !== 'warmup' && phase !== 'soak') throw new SampleCsvError(`row ${i + 2}: phase must be warmup or soak`);
    const outage = c[col.get('outage') as number];
    if (outage !== '0' && outage !== '1') throw new SampleCsvError(`row ${i + 2}: outage must be 0 or 1`);
    const terminal = Object.fromEntries(terminalKeys.map((k) => [k, num(`terminal_${TERMINAL_COLUMNS[k]}`)])) as Sample['terminal'];
    const hub = Object.fromEntries(hubKeys.map((k) => [k, num(`hub_${HUB_COLUMNS[k]}`)])) as Sample['hub'];
    return { t: num('t_s') * 1000, phase, outage: outage === '1', load1: num('load_1m'), terminal, hub };
  });
}

/**
 * The samples of minutes [from, to) after the warm-up, as a run with that window as its measured part:
 * the soak samples before `from` count as warm-up, those from `to` on are dropped (`--report FILE
 * --from-minute A --to-minute B`: the first and the second hour of a two-hour run, each on its own).
 */
export function windowSamples(samples: readonly Sample[], fromMinute: number, toMinute = Infinity): Sample[] {
  if (!(fromMinute >= 0) || !(toMinute > fromMinute)) throw new SampleCsvError(`window ${fromMinute}-${toMinute} min: from must be >= 0 and below to`);
  const first = samples.find((s) => s.phase === 'soak');
  if (!first) return samples.slice();
  const from = first.t + fromMinute * 60_000;
  const to = first.t + toMinute * 60_000;
  return samples.filter((s) => s.phase === 'warmup' || s.t < to).map((s) => (s.phase === 'soak' && s.t < from ? { ...s, phase: 'warmup' as const } : s));
}
