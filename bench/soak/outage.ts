/**
 * The broker outage of the soak bench (`--outage-minutes O`), as bookkeeping only: given when each
 * sample was taken and the terminal's outbox depth in it, it says when to stop the broker and when to
 * start it again, and afterwards how the outbox went: its depth before the outage (the sample right
 * before the stop), its peak, its depth once drained back (the first sample after the restart at or
 * below the depth before) and how long that took. The bench does the stopping and starting; no I/O and no
 * clock here, so each step is tested on its own (test/bench/soak/outage.test.ts).
 */

/** What the bench must do after a sample. */
export type OutageAction = 'stop-broker' | 'start-broker' | null;

export interface OutageSummary {
  /** the outbox depth in the last sample before the broker stopped */
  rowsBefore: number;
  /** the largest depth from the stop until it drained (or the end, if it never did) */
  rowsPeak: number;
  /** the depth in the first sample after the restart at or below `rowsBefore`; NaN if none */
  rowsAfter: number;
  /** ms the broker was down (from the stop to the restart, as reported by the bench) */
  downMs: number;
  /** ms from the restart to that first drained sample (so, to the sample period); NaN if never drained */
  drainMs: number;
  drained: boolean;
}

export class OutageBook {
  private stoppedAt = NaN;
  private restartedAt = NaN;
  private drainedAt = NaN;
  private before = NaN;
  private after = NaN;
  private peak = -Infinity;

  /**
   * `fromMs`/`toMs`: when the broker should be down, in the bench's time (ms since the terminal started).
   * An outage of zero length (fromMs = toMs = Infinity) never acts.
   */
  constructor(
    readonly fromMs: number,
    readonly toMs: number,
  ) {
    if (!(toMs >= fromMs)) throw new RangeError(`outage ends (${toMs}) before it starts (${fromMs})`);
  }

  /** Outage from the middle of the measured window, lasting `outageMs` (0: no outage). */
  static inMiddle(warmupMs: number, measuredMs: number, outageMs: number): OutageBook {
    if (outageMs <= 0) return new OutageBook(Infinity, Infinity);
    if (outageMs >= measuredMs) throw new RangeError('the outage must be shorter than the measured window');
    const from = warmupMs + (measuredMs - outageMs) / 2;
    return new OutageBook(from, from + outageMs);
  }

  /**
   * The bookkeeping again from recorded samples (`down`: the broker was stopped when it was taken, as in
   * the CSV's outage column): the stop right after the last sample before the first `down` one, the
   * restart right after the last `down` one. Null when no sample was taken with the broker down.
   */
  static replay(points: ReadonlyArray<{ t: number; depth: number; down: boolean }>): OutageSummary | null {
    const first = points.findIndex((p) => p.down);
    if (first < 1) return null;
    let last = first;
    while (points[last + 1]?.down) last++;
    const book = new OutageBook((points[first - 1] as { t: number }).t, (points[last] as { t: number }).t);
    for (const p of points) {
      const action = book.observe(p.t, p.depth);
      if (action === 'stop-broker') book.stopped(p.t);
      else if (action === 'start-broker') book.restarted(p.t);
    }
    return book.summary();
  }

  /** True from the stop until the restart. */
  get down(): boolean {
    return Number.isFinite(this.stoppedAt) && !Number.isFinite(this.restartedAt);
  }

  /**
   * One sample at `tMs` with the outbox `depth` (NaN when the terminal did not answer). Returns what to do
   * now; the bench then reports back with `stopped(t)` / `restarted(t)` once it has done it.
   */
  observe(tMs: number, depth: number): OutageAction {
    if (!Number.isFinite(this.stoppedAt)) {
      if (tMs < this.fromMs) return null;
      this.before = depth;
      return 'stop-broker';
    }
    if (Number.isFinite(depth) && Number.isNaN(this.drainedAt)) this.peak = Math.max(this.peak, depth);
    if (!Number.isFinite(this.restartedAt)) return tMs >= this.toMs ? 'start-broker' : null;
    if (Number.isNaN(this.drainedAt) && Number.isFinite(depth) && depth <= this.before) {
      this.drainedAt = tMs;
      this.after = depth;
    }
    return null;
  }

  stopped(tMs: number): void {
    this.stoppedAt = tMs;
  }

  restarted(tMs: number): void {
    if (!Number.isFinite(this.stoppedAt)) throw new Error('restarted before it was stopped');
    this.restartedAt = tMs;
  }

  /** What happened, or null when the outage never began (no outage asked for, or the run ended first). */
  summary(): OutageSummary | null {
    if (!Number.isFinite(this.stoppedAt)) return null;
    const drained = Number.isFinite(this.drainedAt);
    return {
      rowsBefore: this.before,
      rowsPeak: Number.isFinite(this.peak) ? Math.max(this.peak, this.before) : this.before,
      rowsAfter: this.after,
      downMs: (Number.isFinite(this.restartedAt) ? this.restartedAt : NaN) - this.stoppedAt,
      drainMs: drained ? this.drainedAt - this.restartedAt : NaN,
      drained,
    };
  }
}
