import { sleep, waitFor } from './wait';

describe('waitFor', () => {
  it('returns what the probe found, as soon as it finds it', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? `found at ${n}` : undefined), 1000, 'the third call', 1)).resolves.toBe('found at 3');
    await expect(waitFor(() => true, 1000, 'a true condition')).resolves.toBe(true);
  });

  it('keeps polling through undefined, null and false, and awaits a probe that returns a promise', async () => {
    const answers: unknown[] = [undefined, null, false, 0];
    await expect(waitFor(() => Promise.resolve(answers.shift() as number | undefined), 1000, 'a number', 1)).resolves.toBe(0);
  });

  it('throws, naming what it waited for and how long, when nothing comes', async () => {
    await expect(waitFor(() => false, 50, 'the door to open', 5)).rejects.toThrow('timed out after 50 ms waiting for the door to open');
  });

  it('passes on an error thrown by the probe at once', async () => {
    const t0 = performance.now();
    await expect(waitFor(() => { throw new Error('broker exited'); }, 10_000, 'never')).rejects.toThrow('broker exited');
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('sleeps about the time asked', async () => {
    const t0 = performance.now();
    await sleep(30);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
  });
});
