/**
 * The one way tests (and the benchmarks built on the harness) wait for something in real time.
 *
 * - `waitFor(probe, timeoutMs, what)` polls `probe` until it returns something (anything but
 *   undefined, null or false; a promise is awaited) and returns that; after `timeoutMs` it throws
 *   "timed out after N ms waiting for <what>". Use it for a state that has no event of its own.
 * - `sleep(ms)` only where time itself must pass (a person walking away from the door) or to show
 *   that something did NOT happen, and then always beside a positive control: a message sent the same
 *   way that must arrive, and is asserted to have arrived, so that a dead path fails the test.
 *
 * Deadlines are multiplied by DOORWAY_ARM64_TIMEOUT_SCALE (the emulated ARM64 run: scripts/arm64),
 * as jest's own timeouts are there.
 */
export const TIMEOUT_SCALE = Math.max(1, Number(process.env['DOORWAY_ARM64_TIMEOUT_SCALE'] ?? '1') || 1);

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor<T>(
  probe: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  what: string,
  everyMs = 20,
): Promise<T> {
  const limit = timeoutMs * TIMEOUT_SCALE;
  const deadline = performance.now() + limit;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${limit} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
