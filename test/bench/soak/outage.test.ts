import { OutageBook } from '../../../bench/soak/outage';

const MIN = 60_000;

/** Drives a book through samples every 10 s, doing what it asks at once; returns what it asked, when. */
function drive(book: OutageBook, depthAt: (t: number) => number, untilMs: number): Array<{ t: number; action: string }> {
  const acts: Array<{ t: number; action: string }> = [];
  for (let t = 0; t <= untilMs; t += 10_000) {
    const action = book.observe(t, depthAt(t));
    if (action === 'stop-broker') book.stopped(t + 500);
    if (action === 'start-broker') book.restarted(t + 800);
    if (action) acts.push({ t, action });
  }
  return acts;
}

describe('soak bench broker outage bookkeeping', () => {
  it('puts the outage in the middle of the measured window', () => {
    const book = OutageBook.inMiddle(10 * MIN, 30 * MIN, 10 * MIN);
    expect(book.fromMs).toBe(20 * MIN);
    expect(book.toMs).toBe(30 * MIN);
    expect(() => OutageBook.inMiddle(0, 5 * MIN, 5 * MIN)).toThrow(RangeError);
  });

  it('stops the broker once at the first sample of the outage and starts it once at its end', () => {
    const book = new OutageBook(60_000, 120_000);
    const acts = drive(book, () => 0, 240_000);
    expect(acts).toEqual([
      { t: 60_000, action: 'stop-broker' },
      { t: 120_000, action: 'start-broker' },
    ]);
  });

  it('reports the outbox before the stop, at its peak and at the first sample drained back, and the drain time from the restart', () => {
    // 2 rows waiting before; +1 row a sample while the broker is down (60..120 s); after the restart at
    // 120.8 s the outbox loses 3 rows a sample: 8 at 120 s, 5 at 130 s, 2 at 140 s
    const depth = (t: number): number => (t < 60_000 ? 2 : t <= 120_000 ? 2 + (t - 60_000) / 10_000 : Math.max(0, 8 - (3 * (t - 120_000)) / 10_000));
    const book = new OutageBook(60_000, 120_000);
    drive(book, depth, 240_000);
    expect(book.summary()).toEqual({ rowsBefore: 2, rowsPeak: 8, rowsAfter: 2, downMs: 60_300, drainMs: 140_000 - 120_800, drained: true });
  });

  it('says the outbox did not drain when it never came back to its size before', () => {
    const book = new OutageBook(60_000, 120_000);
    drive(book, (t) => (t <= 60_000 ? 0 : 1 + Math.floor(t / 60_000)), 180_000);
    const s = book.summary();
    expect(s).toMatchObject({ rowsBefore: 0, rowsPeak: 4, drained: false });
    expect(s?.rowsAfter).toBeNaN();
    expect(s?.drainMs).toBeNaN();
  });

  it('leaves out samples the terminal did not answer, and keeps no peak after the drain', () => {
    const depths = new Map([[0, 0], [10_000, 0], [20_000, 5], [30_000, NaN], [40_000, 0], [50_000, 50]]);
    const book = new OutageBook(10_000, 20_000);
    drive(book, (t) => depths.get(t) ?? 0, 50_000);
    expect(book.summary()).toMatchObject({ rowsBefore: 0, rowsPeak: 5, rowsAfter: 0, drained: true, drainMs: 40_000 - 20_800 });
  });

  it('has nothing to say when no outage was asked for or the run ended before it began', () => {
    const none = OutageBook.inMiddle(MIN, 10 * MIN, 0);
    expect(drive(none, () => 3, 11 * MIN)).toEqual([]);
    expect(none.summary()).toBeNull();
    const late = new OutageBook(10 * MIN, 12 * MIN);
    drive(late, () => 3, 5 * MIN);
    expect(late.summary()).toBeNull();
  });

  it('finds the same outage again in recorded samples from their broker-down flags', () => {
    const depth = (t: number): number => (t < 60_000 ? 1 : t <= 120_000 ? 1 + (t - 60_000) / 10_000 : Math.max(0, 7 - (3 * (t - 120_000)) / 10_000));
    const points: Array<{ t: number; depth: number; down: boolean }> = [];
    const book = new OutageBook(60_000, 120_000);
    for (let t = 0; t <= 240_000; t += 10_000) {
      points.push({ t, depth: depth(t), down: book.down }); // as the bench records it: before acting
      const action = book.observe(t, depth(t));
      if (action === 'stop-broker') book.stopped(t);
      if (action === 'start-broker') book.restarted(t);
    }
    expect(OutageBook.replay(points)).toEqual(book.summary());
    expect(OutageBook.replay(points)).toMatchObject({ rowsBefore: 1, rowsPeak: 7, rowsAfter: 1, drainMs: 20_000, downMs: 60_000 });
    expect(OutageBook.replay(points.map((p) => ({ ...p, down: false })))).toBeNull();
  });
});
