/** Small helpers shared by the benchmark scripts: percentiles and the `--json` last line. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx] as number;
}

export const median = (v: readonly number[]): number => percentile(v, 50);

export const r2 = (v: number): number => Math.round(v * 100) / 100;

export function wantsJson(argv = process.argv): boolean {
  return argv.includes('--json');
}
