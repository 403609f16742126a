import { InvalidInputError } from '../../core/errors';
import { BUILDINGS, MANAGERS, managerBuildings, residentName } from '../../bench/hub/community';
import { rng } from '../fixtures/random';
import { figureOf, parseHubBenchArgs, thinkTime } from '../../bench/hub/figures';

describe('bench:hub arguments', () => {
  it('defaults to the community of the issue: 40,000 residents and 50 operators, three runs', () => {
    expect(parseHubBenchArgs([])).toMatchObject({ residents: 40_000, operators: 50, runs: 3, seconds: 30, approvals: 20, json: false, keep: false, profile: false });
  });

  it('takes every option with its value', () => {
    const a = parseHubBenchArgs(['--residents', '2000', '--operators', '10', '--seconds', '8', '--runs', '1', '--approvals', '5', '--think-ms', '0', '--admin-share', '0.5', '--json']);
    expect(a).toMatchObject({ residents: 2000, operators: 10, seconds: 8, runs: 1, approvals: 5, 'think-ms': 0, 'admin-share': 0.5, json: true });
  });

  it('refuses an unknown option, a value that is not a number, one out of range, and a positional argument', () => {
    expect(() => parseHubBenchArgs(['--residnets', '10'])).toThrow(InvalidInputError);
    expect(() => parseHubBenchArgs(['--operators', 'many'])).toThrow(/operators/);
    expect(() => parseHubBenchArgs(['--runs', '0'])).toThrow(/runs/);
    expect(() => parseHubBenchArgs(['--admin-share', '1.5'])).toThrow(/admin-share/);
    expect(() => parseHubBenchArgs(['40000'])).toThrow(/positional/);
  });
});

describe('bench:hub figures', () => {
  it("gives each run's p50 and p99 and their medians over the runs", () => {
    const run = (base: number): number[] => Array.from({ length: 100 }, (_, i) => base + i); // p50 = base + 49, p99 = base + 98
    const f = figureOf([run(0), run(1000), run(10)]);
    expect(f.runs).toEqual([{ p50: 49, p99: 98, n: 100 }, { p50: 1049, p99: 1098, n: 100 }, { p50: 59, p99: 108, n: 100 }]);
    expect([f.p50, f.p99, f.n]).toEqual([59, 108, 300]); // one slow run does not make the figure
  });

  it('leaves out a run without samples, and is NaN when none has any', () => {
    expect(figureOf([[], [5, 7]])).toMatchObject({ p50: 5, p99: 7, n: 2 });
    expect(Number.isNaN(figureOf([[], []]).p99)).toBe(true);
  });

  it('pauses exponentially around the mean, and not at all for a mean of 0', () => {
    expect(thinkTime(0, 0.9)).toBe(0);
    expect(thinkTime(500, 0)).toBe(0);
    expect(thinkTime(500, 1 - Math.exp(-1))).toBeCloseTo(500, 6);
    expect(Number.isFinite(thinkTime(500, 1))).toBe(true);
    const r = rng(1);
    const mean = Array.from({ length: 20_000 }, () => thinkTime(500, r())).reduce((s, x) => s + x, 0) / 20_000;
    expect(Math.abs(mean - 500)).toBeLessThan(25);
  });
});

describe("bench:hub's community", () => {
  it('gives the 683 managers all 966 buildings, one or two each', () => {
    const all = Array.from({ length: MANAGERS }, (_, i) => managerBuildings(i));
    expect(new Set(all.flat()).size).toBe(BUILDINGS);
    expect(all.every((b) => b.length >= 1 && b.length <= 2)).toBe(true);
  });

  it('makes the same names for the same seed', () => {
    const names = (seed: number): string[] => {
      const r = rng(seed);
      return Array.from({ length: 5 }, () => residentName(r));
    };
    expect(names(15)).toEqual(names(15));
    expect(names(15)).not.toEqual(names(16));
  });
});
