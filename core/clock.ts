/**
 * Time as a dependency. Production code never calls Date.now() or setTimeout directly on the decision
 * and lock paths: it receives a Clock. Tests use FakeClock and advance it explicitly.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock milliseconds since the epoch (for records and schedules). */
  now(): number;
  /** Monotonic milliseconds (for durations and deadlines); unrelated to the epoch. */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  setInterval(fn: () => void, ms: number): TimerHandle;
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  monotonic(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(t) };
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const t = setInterval(fn, ms);
    return { cancel: () => clearInterval(t) };
  }
}

interface FakeTimer {
  id: number;
  due: number;
  every: number | null;
  fn: () => void;
}

/**
 * A clock that moves only when told. `advance(ms)` fires every timer due up to the new time, in
 * order of due time (ties in creation order), including timers scheduled by the callbacks themselves.
 */
export class FakeClock implements Clock {
  private t: number;
  private readonly startWall: number;
  private nextId = 1;
  private timers: FakeTimer[] = [];

  constructor(startWallMs = Date.UTC(2026, 0, 1, 12, 0, 0)) {
    this.startWall = startWallMs;
    this.t = 0;
  }

  now(): number {
    return this.startWall + this.t;
  }

  monotonic(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, null);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  /** Number of timers still pending (useful to prove a component cleaned up after itself). */
  pending(): number {
    return this.timers.length;
  }

  advance(ms: number): void {
    const target = this.t + ms;
    for (;;) {
      const next = this.earliest();
      if (!next || next.due > target) break;
      this.t = next.due;
      if (next.every === null) {
        this.timers = this.timers.filter((x) => x !== next);
      } else {
        next.due += next.every;
      }
      next.fn();
    }
    this.t = target;
  }

  private earliest(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const x of this.timers) {
      if (!best || x.due < best.due || (x.due === best.due && x.id < best.id)) best = x;
    }
    return best;
  }

  private add(fn: () => void, ms: number, every: number | null): TimerHandle {
    const timer: FakeTimer = { id: this.nextId++, due: this.t + Math.max(0, ms), every, fn };
    this.timers.push(timer);
    return {
      cancel: () => {
        this.timers = this.timers.filter((x) => x !== timer);
      },
    };
  }
}
