import { CSV_HEADER, parseSamplesCsv, type Sample, SampleCsvError, sampleCsvRow, windowSamples } from '../../../bench/soak/sample';

function sample(t: number, over: Partial<Sample['terminal']> = {}): Sample {
  return {
    t,
    phase: t < 60_000 ? 'warmup' : 'soak',
    outage: t === 70_000,
    load1: 2.5,
    terminal: {
      rss: 259.56640625,
      rssAnon: 180.5,
      heapUsed: 23.763229370117188,
      heapTotal: 58.97,
      heapAfterGc: 21.25,
      majorGcs: 3,
      external: 33.5,
      fds: 35,
      threads: 13,
      eventLoopP99: 30.343167,
      activeHandles: 6,
      decisions: 7,
      grants: 7,
      outbox: 0,
      ffmpegRss: 70.25,
      rosterDb: 0.00390625,
      rosterWal: 0.1296,
      syncDb: 0.0039,
      syncWal: 0.334,
      ...over,
    },
    hub: {
      rss: 129.58,
      rssAnon: 90.25,
      heapUsed: NaN, // the probe did not answer
      heapTotal: NaN,
      heapAfterGc: NaN,
      majorGcs: NaN,
      external: NaN,
      arrayBuffers: NaN,
      fds: 27,
      threads: 11,
      eventLoopP99: NaN,
      activeResources: NaN,
      hubDb: 0.078,
      hubWal: 0.047,
      eventsDb: 0.0039,
      eventsWal: 0.066,
    },
  };
}

describe('soak bench samples as CSV', () => {
  it('names every column with its process and unit', () => {
    const cols = CSV_HEADER.split(',');
    expect(cols.slice(0, 4)).toEqual(['t_s', 'phase', 'outage', 'load_1m']);
    expect(cols).toEqual(expect.arrayContaining(['terminal_rss_mb', 'terminal_heap_used_mb', 'terminal_fds', 'terminal_loop_delay_p99_ms', 'terminal_outbox_rows', 'terminal_sync_wal_mb', 'hub_rss_mb', 'hub_heap_used_mb', 'hub_events_wal_mb']));
    expect(new Set(cols).size).toBe(cols.length);
  });

  it('reads back what it wrote, a missing figure as a missing figure', () => {
    const written = [sample(50_000), sample(70_000, { outbox: 12 }), sample(80_000)];
    const text = `${CSV_HEADER}\n${written.map(sampleCsvRow).join('\n')}\n`;
    const read = parseSamplesCsv(text);
    expect(read).toHaveLength(3);
    expect(read[1]).toMatchObject({ t: 70_000, phase: 'soak', outage: true, terminal: { outbox: 12, fds: 35 } });
    expect(read[0]?.phase).toBe('warmup');
    expect(read[0]?.terminal.heapUsed).toBeCloseTo(23.763229, 6);
    expect(read[2]?.hub.heapUsed).toBeNaN();
    expect(read[2]?.hub.rss).toBe(129.58);
  });

  it('reads a file of an older bench that lacks a column, that figure as missing', () => {
    const cols = CSV_HEADER.split(',');
    const drop = cols.indexOf('terminal_rss_anon_mb');
    const without = (line: string): string => line.split(',').filter((_, i) => i !== drop).join(',');
    const read = parseSamplesCsv(`${without(CSV_HEADER)}\n${without(sampleCsvRow(sample(70_000)))}\n`);
    expect(read[0]?.terminal.rssAnon).toBeNaN();
    expect(read[0]?.terminal.rss).toBeCloseTo(259.566406, 6);
    expect(read[0]?.hub.rssAnon).toBe(90.25);
  });

  it('refuses a file that is not its own, and a row with a cell missing or not a number', () => {
    const row = sampleCsvRow(sample(70_000));
    expect(() => parseSamplesCsv(`t,rss\n1,2\n`)).toThrow(SampleCsvError);
    expect(() => parseSamplesCsv(`${CSV_HEADER},extra\n${row},1\n`)).toThrow(/unknown columns extra/);
    expect(() => parseSamplesCsv(`${CSV_HEADER}\n${row.split(',').slice(1).join(',')}\n`)).toThrow(/row 2: .* cells/);
    expect(() => parseSamplesCsv(`${CSV_HEADER}\n${row.replace(/^[^,]+/, 'soon')}\n`)).toThrow(/column t_s: not a number/);
    expect(() => parseSamplesCsv(`${CSV_HEADER}\n${row.replace(',soak,', ',later,')}\n`)).toThrow(/phase/);
  });

  it('cuts a window of minutes after the warm-up: earlier soak samples become warm-up, later ones are dropped', () => {
    // one warm-up sample, then one a minute from 60 s on for 182 minutes
    const run = Array.from({ length: 183 }, (_, i) => sample(i === 0 ? 0 : 60_000 * i));
    const w = windowSamples(run, 60, 120);
    const soak = w.filter((s) => s.phase === 'soak');
    expect(soak[0]?.t).toBe(60_000 + 60 * 60_000);
    expect(soak.at(-1)?.t).toBe(60_000 + 119 * 60_000);
    expect(soak).toHaveLength(60);
    expect(w.filter((s) => s.phase === 'warmup')).toHaveLength(1 + 60); // its own warm-up, and the first hour
    expect(run.filter((s) => s.phase === 'soak')).toHaveLength(182); // the run itself is not changed
    expect(windowSamples(run, 0).filter((s) => s.phase === 'soak')).toHaveLength(182);
    expect(() => windowSamples(run, 30, 30)).toThrow(SampleCsvError);
    expect(() => windowSamples(run, -1, 30)).toThrow(SampleCsvError);
  });
});
