/**
 * Wrong PINs lock the keypad: after `maxFailures` wrong entries in a row (a correct one resets the count),
 * every entry is refused as `keypad-locked` for `lockMs`, without being checked, so that guessing gets
 * no answer while locked. Times are the entries' own (the injected Clock's monotonic ms).
 */

export interface KeypadGuardConfig {
  maxFailures: number;
  lockMs: number;
}

export class KeypadGuard {
  private failures = 0;
  private lockedUntil = -Infinity;

  constructor(private readonly config: () => KeypadGuardConfig) {}

  locked(at: number): boolean {
    return at < this.lockedUntil;
  }

  /** A wrong entry made at `at`; returns true when this one locked the keypad. */
  failed(at: number): boolean {
    this.failures++;
    if (this.failures >= this.config().maxFailures) {
      this.failures = 0;
      this.lockedUntil = at + this.config().lockMs;
      return true;
    }
    return false;
  }

  succeeded(): void {
    this.failures = 0;
  }
}
