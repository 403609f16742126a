/**
 * The pure parts of `npm run bench:community`: its arguments (parseCli + zod, as `provision` parses its
 * own), how the work is spread over worker processes, the morning peak's rates, and whether an outbox
 * backlog grows.
 */
import { z } from 'zod';
import { parseCli } from '../../runtime/command-line';

/** Terminals in one worker process by default. */
export const TERMINALS_PER_WORKER = 10;

const count = (min: number, max: number): z.ZodCoercedNumber => z.coerce.number().int().min(min).max(max);

const CommunityBenchArgsSchema = z.strictObject({
  positionals: z.array(z.string()).max(0, 'no positional arguments'),
  /** Door terminals, each a real protocol client with its own bundle (the community has 200). */
  terminals: count(1, 200).default(200),
  /** Residents seeded through the hub's store, each with access to their building and every gate. */
  residents: count(10, 200_000).default(39_000),
  /** Worker processes the terminals are spread over (0: one per 10 terminals). */
  workers: count(0, 200).default(0),
  /** Moves in the replayed day: each a revocation and an approval (40% a year of 39,000: about 43 a day). */
  moves: count(1, 1000).default(43),
  /** Time between two moves in the replay (a day compressed). */
  'move-interval-ms': count(0, 3_600_000).default(500),
  /** Entries of the morning peak at 200 doors (scaled to the doors run). */
  entries: count(1, 1_000_000).default(8000),
  /** Length of the morning peak. */
  'peak-minutes': count(1, 600).default(30),
  /** Compression factors tried in turn, until the backlog grows: "30,60,120". */
  'peak-factors': z.string().regex(/^\d+(,\d+)*$/, 'compression factors, e.g. 30,60,120').default('30,60,120,240'),
  /** Longest wait for all terminals to reach the roster from empty. */
  'sync-timeout-s': count(10, 86_400).default(3600),
  seed: count(0, 2 ** 31).default(19),
  json: z.boolean().default(false),
  keep: z.boolean().default(false),
  /** Write a CPU profile of the hub (node --cpu-prof) into the kept work folder. */
  profile: z.boolean().default(false),
});
export type CommunityBenchArgs = Omit<z.infer<typeof CommunityBenchArgsSchema>, 'positionals'>;

export function parseCommunityBenchArgs(argv: string[]): CommunityBenchArgs {
  const str = { type: 'string' } as const;
  const { positionals: _, ...o } = parseCli('bench:community', argv, {
    terminals: str, residents: str, workers: str, moves: str, 'move-interval-ms': str, entries: str, 'peak-minutes': str, 'peak-factors': str, 'sync-timeout-s': str, seed: str,
    json: { type: 'boolean' }, keep: { type: 'boolean' }, profile: { type: 'boolean' },
  }, CommunityBenchArgsSchema);
  return o;
}

/** The compression factors, in the order they are tried (ascending). */
export function peakFactors(a: Pick<CommunityBenchArgs, 'peak-factors'>): number[] {
  return [...new Set(a['peak-factors'].split(',').map(Number).filter((f) => f >= 1))].sort((x, y) => x - y);
}

/**
 * Terminals dealt over `workers` groups in turn, as evenly as possible (0 workers: one per
 * TERMINALS_PER_WORKER). A group shares one event loop: a terminal applying a large roster holds up
 * the others' keepalives, so groups stay small, and the gates (first in the list, each applying the
 * whole community) go one to a group: on the boards each has its own CPU, and eight of them in one
 * process took the bench 4 minutes to apply one after another.
 */
export function groups<T>(items: readonly T[], workers: number): T[][] {
  const n = Math.max(1, Math.min(items.length, workers > 0 ? workers : Math.ceil(items.length / TERMINALS_PER_WORKER)));
  const out: T[][] = Array.from({ length: n }, () => []);
  items.forEach((x, i) => out[i % n]?.push(x));
  return out;
}

/**
 * One door's arrival rate at the peak compressed by `factor`: the community's `entries` in
 * `minutes` at 200 doors, the same per door whatever the number of doors run.
 */
export function perDoorRate(entries: number, minutes: number, factor: number): number {
  return ((entries / 200) * factor) / (minutes * 60);
}

/**
 * Whether a backlog grows: the least-squares slope of the total outbox depth over the second half of
 * the injection (events/s) above 5% of the rate events are made at, or it had not drained `drainLimitS`
 * after the injection ended. Samples: [seconds since the injection began, total depth].
 */
export function backlogGrows(samples: ReadonlyArray<readonly [number, number]>, injectS: number, eventsPerS: number, drainS: number, drainLimitS: number): { growing: boolean; slopePerS: number } {
  const half = samples.filter(([t]) => t >= injectS / 2 && t <= injectS);
  let slope = 0;
  if (half.length >= 3) {
    const mt = half.reduce((s, [t]) => s + t, 0) / half.length;
    const md = half.reduce((s, [, d]) => s + d, 0) / half.length;
    const num = half.reduce((s, [t, d]) => s + (t - mt) * (d - md), 0);
    const den = half.reduce((s, [t]) => s + (t - mt) ** 2, 0);
    slope = den > 0 ? num / den : 0;
  }
  return { growing: slope > 0.05 * eventsPerS || !(drainS <= drainLimitS), slopePerS: slope };
}
