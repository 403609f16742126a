/**
 * Pure helpers of the soak bench (bench/soak.ts): Prometheus text, least-squares slopes, summaries of a
 * series of samples. No I/O here, so that each is tested on its own (test/bench/soak/series.test.ts).
 */
import { median } from '../stats';

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Every sample line of a Prometheus text page (comments and blank lines skipped). */
export function parsePrometheus(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of one metric whose labels include `where` (all of them without `where`); NaN if none. */
export function promValue(samples: readonly PromSample[], name: string, where: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(where).some(([k, v]) => s.labels[k] !== v)) continue;
    sum += s.value;
    found = true;
  }
  return found ? sum : NaN;
}

/**
 * Least-squares slope of y over x (units of y per unit of x); points with a non-finite y are left out.
 * NaN with fewer than two usable points or when every x is the same.
 */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  let n = 0, sx = 0, sy = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number, y = ys[i] as number;
    if (!Number.isFinite(y) || !Number.isFinite(x)) continue;
    n++;
    sx += x;
    sy += y;
  }
  if (n < 2) return NaN;
  const mx = sx / n, my = sy / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number, y = ys[i] as number;
    if (!Number.isFinite(y) || !Number.isFinite(x)) continue;
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? NaN : sxy / sxx;
}

/** One figure over the measured window: medians of its first and last stretch, slope per hour, extremes. */
export interface Trend {
  first: number;
  last: number;
  perHour: number;
  median: number;
  max: number;
  min: number;
  /** Highest values of the first and last stretch: a sawtooth (memory given back and taken again) moves the slope, not these. */
  peakFirst: number;
  peakLast: number;
}

/**
 * `atMs`: when each value was sampled; `edgeMs`: how long the first and last stretches are (their
 * medians say the same as the slope in a way one outlier cannot move).
 */
export function trend(atMs: readonly number[], values: readonly number[], edgeMs: number): Trend {
  const pts = atMs.map((t, i) => ({ t, v: values[i] as number })).filter((p) => Number.isFinite(p.v));
  if (pts.length === 0) return { first: NaN, last: NaN, perHour: NaN, median: NaN, max: NaN, min: NaN, peakFirst: NaN, peakLast: NaN };
  const t0 = (pts[0] as { t: number }).t, t1 = (pts[pts.length - 1] as { t: number }).t;
  const vs = pts.map((p) => p.v);
  return {
    first: median(pts.filter((p) => p.t <= t0 + edgeMs).map((p) => p.v)),
    last: median(pts.filter((p) => p.t >= t1 - edgeMs).map((p) => p.v)),
    perHour: slope(pts.map((p) => p.t / 3_600_000), vs),
    median: median(vs),
    max: Math.max(...vs),
    min: Math.min(...vs),
    peakFirst: Math.max(...pts.filter((p) => p.t <= t0 + edgeMs).map((p) => p.v)),
    peakLast: Math.max(...pts.filter((p) => p.t >= t1 - edgeMs).map((p) => p.v)),
  };
}

/** Per-minute rate of a counter between samples (a counter that went down was restarted: NaN there). */
export function ratePerMinute(atMs: readonly number[], counter: readonly number[]): number {
  const first = counter[0], last = counter[counter.length - 1];
  const t0 = atMs[0], t1 = atMs[atMs.length - 1];
  if (first === undefined || last === undefined || t0 === undefined || t1 === undefined || t1 <= t0 || last < first) return NaN;
  return (last - first) / ((t1 - t0) / 60_000);
}

/**
 * The lowest value in each window of `windowMs` (from the first point), at the time it was seen. A
 * garbage-collected heap is a sawtooth whose peaks follow the collector's schedule; its troughs (what
 * is left after a collection) are what a leak raises, so their slope says more than the slope of all
 * points. Windows without a finite value are left out.
 */
export function floors(atMs: readonly number[], values: readonly number[], windowMs: number): { at: number[]; values: number[] } {
  const out = { at: [] as number[], values: [] as number[] };
  const t0 = atMs[0];
  if (t0 === undefined || !(windowMs > 0)) return out;
  let window = -1;
  for (let i = 0; i < atMs.length; i++) {
    const t = atMs[i] as number, v = values[i] as number;
    if (!Number.isFinite(v)) continue;
    const w = Math.floor((t - t0) / windowMs);
    if (w !== window) {
      window = w;
      out.at.push(t);
      out.values.push(v);
    } else if (v < (out.values[out.values.length - 1] as number)) {
      out.at[out.at.length - 1] = t;
      out.values[out.values.length - 1] = v;
    }
  }
  return out;
}
