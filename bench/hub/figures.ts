/**
 * The pure parts of `npm run bench:hub`: its arguments (parseArgs + zod, as `provision` parses its
 * own) and how the latencies of repeated runs become the printed figures (per run p50 and p99 with
 * bench/stats.ts, then the median over the runs).
 */
import { z } from 'zod';
import { parseCli } from '../../runtime/command-line';
import { median, percentile } from '../stats';

const count = (min: number, max: number): z.ZodCoercedNumber => z.coerce.number().int().min(min).max(max);

const HubBenchArgsSchema = z.strictObject({
  positionals: z.array(z.string()).max(0, 'no positional arguments'),
  /** Residents in the community (seeded through the store). */
  residents: count(100, 200_000).default(40_000),
  /** Operators reading at once, each with its own credential. */
  operators: count(1, 200).default(50),
  /** Length of one measured run. */
  seconds: count(5, 3600).default(30),
  /** Measured runs (the figures are the medians of the runs' percentiles). */
  runs: count(1, 20).default(3),
  /** Registrations approved through the API in each run. */
  approvals: count(1, 500).default(20),
  /** Mean pause of an operator between two requests (exponentially distributed; 0: back to back). */
  'think-ms': count(0, 60_000).default(500),
  /** Share of the operators who are admins (the others are building managers). */
  'admin-share': z.coerce.number().min(0).max(1).default(0.2),
  seed: count(0, 2 ** 31).default(15),
  json: z.boolean().default(false),
  keep: z.boolean().default(false),
  /** Write a CPU profile of the hub (node --cpu-prof) into the kept work folder. */
  profile: z.boolean().default(false),
});
export type HubBenchArgs = Omit<z.infer<typeof HubBenchArgsSchema>, 'positionals'>;

export function parseHubBenchArgs(argv: string[]): HubBenchArgs {
  const str = { type: 'string' } as const;
  const { positionals: _, ...o } = parseCli('bench:hub', argv, {
    residents: str, operators: str, seconds: str, runs: str, approvals: str, 'think-ms': str, 'admin-share': str, seed: str,
    json: { type: 'boolean' }, keep: { type: 'boolean' }, profile: { type: 'boolean' },
  }, HubBenchArgsSchema);
  return o;
}

export interface Figure {
  p50: number;
  p99: number;
  /** Samples over all runs. */
  n: number;
  /** Each run's p50 and p99, in run order. */
  runs: Array<{ p50: number; p99: number; n: number }>;
}

/** p50 and p99 of each run, and their medians over the runs (NaN when no run has a sample). */
export function figureOf(runs: ReadonlyArray<readonly number[]>): Figure {
  const per = runs.filter((r) => r.length > 0).map((r) => ({ p50: percentile(r, 50), p99: percentile(r, 99), n: r.length }));
  return { p50: median(per.map((r) => r.p50)), p99: median(per.map((r) => r.p99)), n: per.reduce((s, r) => s + r.n, 0), runs: per };
}

/** An exponentially distributed pause with mean `meanMs`, from a uniform `u` in [0, 1). */
export function thinkTime(meanMs: number, u: number): number {
  return meanMs <= 0 ? 0 : Math.abs(Math.log(1 - Math.min(u, 1 - 1e-12)) * meanMs);
}
