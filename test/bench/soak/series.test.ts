import { floors, parsePrometheus, promValue, ratePerMinute, slope, trend } from '../../../bench/soak/series';

describe('soak bench series', () => {
  it('reads unlabelled and labelled samples from a Prometheus page and sums a metric over matching labels', () => {
    const page = [
      '# HELP doorway_decisions_total Door decisions',
      '# TYPE doorway_decisions_total counter',
      'doorway_decisions_total{outcome="grant",reason="authorised"} 12',
      'doorway_decisions_total{outcome="deny",reason="not-live"} 3',
      'doorway_decisions_total{outcome="deny",reason="unknown"} 1',
      'process_resident_memory_bytes 312483840',
      'nodejs_eventloop_lag_p99_seconds 0.041975807',
      'label_with_quote{a="x\\"y"} 2 1700000000000',
      '',
    ].join('\n');
    const s = parsePrometheus(page);
    expect(promValue(s, 'process_resident_memory_bytes')).toBe(312483840);
    expect(promValue(s, 'nodejs_eventloop_lag_p99_seconds')).toBeCloseTo(0.041975807, 9);
    expect(promValue(s, 'doorway_decisions_total')).toBe(16);
    expect(promValue(s, 'doorway_decisions_total', { outcome: 'deny' })).toBe(4);
    expect(promValue(s, 'label_with_quote', { a: 'x\\"y' })).toBe(2);
    expect(promValue(s, 'not_there')).toBeNaN();
  });

  it('gives the least-squares slope of a noisy line and leaves out missing points', () => {
    const xs = Array.from({ length: 61 }, (_, i) => i / 60); // one hour in hours
    const ys = xs.map((x, i) => 300 + 2 * x + (i % 2 === 0 ? 0.5 : -0.5)); // 2 MB/h under +-0.5 MB of noise
    ys[10] = NaN;
    expect(slope(xs, ys)).toBeCloseTo(2, 1);
    expect(slope([0, 1], [5, NaN])).toBeNaN();
    expect(slope([1, 1, 1], [1, 2, 3])).toBeNaN();
  });

  it('summarises a figure by its first and last medians, slope per hour and extremes', () => {
    const at = Array.from({ length: 361 }, (_, i) => i * 10_000); // 10 s apart, one hour
    // a sawtooth (a heap between collections) around a flat line: no slope to speak of
    const flat = trend(at, at.map((_, i) => 100 + (i % 12) / 2), 600_000);
    expect(Math.abs(flat.perHour)).toBeLessThan(0.2);
    expect(flat).toMatchObject({ max: 105.5, min: 100 });
    // one outlier moves a slope (here by about 3 per hour), not the medians of the first and last stretch
    const spike = trend(at, at.map((_, i) => (i === 100 ? 500 : 100)), 600_000);
    expect(spike).toMatchObject({ first: 100, last: 100, median: 100, max: 500 });
    expect(spike.perHour).toBeLessThan(-2);
    const growing = trend(at, at.map((t) => 200 + (8 * t) / 3_600_000), 600_000);
    expect(growing.perHour).toBeCloseTo(8, 6);
    expect(growing.last - growing.first).toBeGreaterThan(6);
    expect(growing.peakLast - growing.peakFirst).toBeGreaterThan(6);
    // memory given back in the middle of the hour and taken again (the first soak's terminal): a slope
    // of several MB an hour, and peaks that say it never went above where it started
    const dip = trend(at, at.map((t) => (t > 1_000_000 && t < 2_000_000 ? 250 : 272)), 600_000);
    expect(dip.perHour).toBeGreaterThan(2);
    expect(dip).toMatchObject({ peakFirst: 272, peakLast: 272 });
  });

  it('turns a counter into a rate per minute, and a counter that went back into no rate', () => {
    expect(ratePerMinute([0, 60_000, 120_000], [10, 22, 34])).toBe(12);
    expect(ratePerMinute([0, 60_000], [10, 4])).toBeNaN();
  });
});

describe('soak bench heap floors', () => {
  it('keeps the lowest point of each window, so a sawtooth over a rising floor shows the floor rising', () => {
    const at = Array.from({ length: 360 }, (_, i) => i * 10_000); // one hour, 10 s apart
    // collections every 2 min bring the heap back to a floor that rises 2 MB an hour; in between it
    // climbs by up to 11 MB
    const heap = at.map((t, i) => 20 + (2 * t) / 3_600_000 + (i % 12));
    const f = floors(at, heap, 300_000);
    expect(f.values).toHaveLength(12);
    expect(f.at[0]).toBe(0);
    expect(f.values[0]).toBe(20);
    expect(slope(f.at.map((t) => t / 3_600_000), f.values)).toBeCloseTo(2, 1);
  });

  it('skips missing values and gives nothing for no points or no window', () => {
    expect(floors([0, 10, 20, 30], [NaN, 5, 3, NaN], 100)).toEqual({ at: [20], values: [3] });
    expect(floors([], [], 100)).toEqual({ at: [], values: [] });
    expect(floors([0, 1], [1, 2], 0)).toEqual({ at: [], values: [] });
  });
});
