/**
 * bench:community's pieces: its arguments and figures, and the whole run at a tiny scale (3 terminals
 * from their bundles, 50 residents, a real mosquitto and `provision hub` as deployed), so that the
 * bench cannot rot: every terminal reaches the roster, every revocation leaves every door that held
 * the person, the alert reaches every door, and every entry recorded at the doors is in the hub's
 * event store.
 */
import { InvalidInputError } from '../../core/errors';
import { backlogGrows, groups, parseCommunityBenchArgs, peakFactors, perDoorRate } from '../../bench/community/figures';
import { doorsOf, runCommunityBench } from '../../bench/community/run';

describe('bench:community arguments and figures', () => {
  it('defaults to the community of the issue: 200 terminals, 39,000 residents, 43 moves, 8,000 entries in 30 minutes', () => {
    expect(parseCommunityBenchArgs([])).toMatchObject({ terminals: 200, residents: 39_000, moves: 43, entries: 8000, 'peak-minutes': 30, json: false, profile: false });
  });

  it('refuses an unknown option, more terminals than doors, and compression factors that are not numbers', () => {
    expect(() => parseCommunityBenchArgs(['--termnals', '3'])).toThrow(InvalidInputError);
    expect(() => parseCommunityBenchArgs(['--terminals', '201'])).toThrow(/terminals/);
    expect(() => parseCommunityBenchArgs(['--peak-factors', '30,fast'])).toThrow(/peak-factors/);
    expect(peakFactors(parseCommunityBenchArgs(['--peak-factors', '120,30,30']))).toEqual([30, 120]);
  });

  it('runs gates and building doors in their proportion, at least one gate', () => {
    const kinds = (n: number): [number, number] => {
      const d = doorsOf(n);
      const gates = d.filter((x) => x.buildingId === 'gates').length;
      return [gates, d.length - gates];
    };
    expect(kinds(200)).toEqual([8, 192]);
    expect(kinds(20)).toEqual([1, 19]);
    expect(kinds(3)).toEqual([1, 2]);
  });

  it('spreads terminals over worker processes evenly, dealt in turn, ten to a process unless told', () => {
    const ids = Array.from({ length: 25 }, (_, i) => i);
    expect(groups(ids, 0).map((g) => g.length)).toEqual([9, 8, 8]);
    expect(groups(ids, 0).flat().sort((x, y) => x - y)).toEqual(ids);
    // dealt in turn: the first three (the gates come first) go to three different groups
    expect(groups(ids, 0).map((g) => g[0])).toEqual(ids.slice(0, 3));
    expect(groups(ids, 2).map((g) => g.length)).toEqual([13, 12]);
    expect(groups([1, 2], 8).map((g) => g.length)).toEqual([1, 1]);
  });

  it('gives each door its share of the peak: 40 entries in 30 minutes, times the compression', () => {
    expect(perDoorRate(8000, 30, 1) * 1800).toBeCloseTo(40, 9);
    expect(perDoorRate(8000, 30, 60)).toBeCloseTo((40 * 60) / 1800, 9);
  });

  it('says a backlog grows when the depth climbs through the injection or has not drained, and not when it stays flat', () => {
    const flat = Array.from({ length: 20 }, (_, i) => [i, 3 + (i % 2)] as [number, number]);
    const climbing = Array.from({ length: 20 }, (_, i) => [i, i * 50] as [number, number]);
    expect(backlogGrows(flat, 20, 100, 0.5, 10).growing).toBe(false);
    expect(backlogGrows(climbing, 20, 100, 0.5, 10).growing).toBe(true);
    expect(backlogGrows(flat, 20, 100, NaN, 10).growing).toBe(true);
  });
});

describe('bench:community at a tiny scale', () => {
  it('takes 3 terminals from empty to the roster, revokes at every door that held the person, tags every door and brings every entry to the hub', async () => {
    const lines: string[] = [];
    const a = parseCommunityBenchArgs(['--terminals', '3', '--residents', '50', '--moves', '3', '--move-interval-ms', '100', '--peak-factors', '180']);
    const r = await runCommunityBench(a, (s) => lines.push(s));
    expect(r.terminals).toBe(3);
    expect(r.workers).toBe(1);
    expect(r.initialSyncS).toBeGreaterThan(0);
    expect(r.revokeMissed).toBe(0);
    expect(r.revokeAffectedDoorsP50).toBeGreaterThanOrEqual(1); // today every door holds everyone; with per-door rosters, the building door and the gate
    expect(Number.isFinite(r.revokeP99Ms)).toBe(true);
    expect(r.revokeP99Ms).toBeGreaterThan(0);
    expect(r.tagDoors).toBe(3);
    const peak = r.peaks[0];
    expect(peak?.entries).toBeGreaterThan(0);
    expect(peak?.arrived).toBe(peak?.entries);
    expect(Number.isFinite(peak?.entryToHubP99Ms)).toBe(true);
    expect(r.hubRssMb).toBeGreaterThan(0);
    expect(r.brokerRssMb).toBeGreaterThan(0);
    expect(r.terminalDiskBytesP50).toBeGreaterThan(0);
    expect(lines.some((l) => /^initial sync: all 3 terminals/.test(l))).toBe(true);
  }, 600_000);
});
