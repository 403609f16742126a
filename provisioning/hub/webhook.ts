/**
 * The operator's webhook: JSON bodies POSTed to one URL, three attempts (waits of 0.5 s and 1 s on the
 * hub's clock between them, 5 s per attempt); the outcome is `delivered` or why not. `stop()` waits for
 * posts under way and cancels the waits between attempts.
 */
import type { Clock, TimerHandle } from '../../core/clock';

export class Webhook {
  private readonly pending = new Set<Promise<unknown>>();
  private readonly waits = new Set<{ timer: TimerHandle; done: () => void }>();
  private stopped = false;

  constructor(
    readonly url: string,
    private readonly clock: Clock,
  ) {}

  /** POSTs `body`; the outcome once delivered or given up. Tracked, so that stop() can wait for it. */
  post(body: unknown): Promise<string> {
    const p = this.attempts(JSON.stringify(body));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.waits) {
      w.timer.cancel();
      w.done();
    }
    await Promise.allSettled([...this.pending]);
  }

  private async attempts(body: string): Promise<string> {
    let outcome = 'failed';
    for (let attempt = 1; attempt <= 3 && !this.stopped; attempt++) {
      try {
        const res = await fetch(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5000) });
        if (res.ok) return 'delivered';
        outcome = `failed: HTTP ${res.status}`;
      } catch (err) {
        outcome = `failed: ${(err as Error).message}`;
      }
      if (attempt < 3) await this.wait(500 * attempt);
    }
    return outcome;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const w = {
        timer: this.clock.setTimeout(() => {
          this.waits.delete(w);
          resolve();
        }, ms),
        done: resolve,
      };
      this.waits.add(w);
    });
  }
}
