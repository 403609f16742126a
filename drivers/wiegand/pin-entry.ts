/**
 * Keys from a Wiegand keypad gathered into entries: digits until '#' (or until `entryTimeoutMs` without
 * a key, which abandons the entry), '*' clears. An entry is what was typed, 4 to 12 digits; the caller
 * decides what it is (a PIN). Entries are never logged.
 */
import { z } from 'zod';
import type { Clock, TimerHandle } from '../../core/clock';
import type { WiegandKey } from './frame';

export const pinEntryConfigSchema = z.strictObject({
  /** A key must follow the previous one within this, or what was typed is dropped. */
  entryTimeoutMs: z.number().int().min(1_000).max(120_000).default(10_000),
  minDigits: z.number().int().min(4).max(12).default(4),
  maxDigits: z.number().int().min(4).max(12).default(8),
});
export type PinEntryConfig = z.infer<typeof pinEntryConfigSchema>;

export type PinEntryEvent = { kind: 'entry'; digits: string; at: number } | { kind: 'abandoned'; reason: 'timeout' | 'too-short' | 'too-long'; at: number };

export class PinEntry {
  private digits = '';
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    /** Read at each key, so a reloaded config applies to the next key. */
    private readonly config: () => PinEntryConfig,
    private readonly emit: (e: PinEntryEvent) => void,
  ) {}

  key(k: WiegandKey): void {
    this.timer?.cancel();
    this.timer = null;
    if (k === '*') {
      this.digits = '';
      return;
    }
    if (k === '#') {
      const d = this.digits;
      this.digits = '';
      const at = this.clock.now();
      if (d.length < this.config().minDigits) this.emit({ kind: 'abandoned', reason: 'too-short', at });
      else if (d.length > this.config().maxDigits) this.emit({ kind: 'abandoned', reason: 'too-long', at });
      else this.emit({ kind: 'entry', digits: d, at });
      return;
    }
    this.digits += k;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.digits = '';
      this.emit({ kind: 'abandoned', reason: 'timeout', at: this.clock.now() });
    }, this.config().entryTimeoutMs);
  }

  /** Something is being typed. */
  pending(): boolean {
    return this.digits.length > 0;
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.digits = '';
  }
}
