/**
 * A Wiegand card reader or keypad on two GPIO pulse lines: a pulse on D0 is a 0 bit, on D1 a 1 bit.
 * Bits are gathered on the injected Clock; a frame ends when no pulse came for `frameEndMs` (the
 * inter-bit timeout; readers send a bit every 0.2-20 ms), and is then read (frame.ts). Noise:
 *  - a second pulse on the same line within `minBitIntervalMs` of the previous one is ringing on that
 *    pulse's edge: ignored (counted);
 *  - pulses on both lines within `minBitIntervalMs` of each other cannot be two bits: the frame is
 *    marked noisy and refused (`noise`);
 *  - a stray pulse anywhere else adds a bit, and the frame fails its length or parity check;
 *  - a frame longer than `maxBits` is refused as it ends (`length`).
 * A refused frame opens nothing; the visitor presents the card again.
 *
 * Card numbers and keys are never logged here: only the kind of frame and why one was refused.
 */
import { z } from 'zod';
import type { Clock, TimerHandle } from '../../core/clock';
import type { Logger } from '../../core/log';
import { pulseLineSchema, type GpioFactory } from '../gpio';
import { parseFrame, type WiegandFrame } from './frame';

export const wiegandConfigSchema = z.strictObject({
  d0: pulseLineSchema,
  d1: pulseLineSchema,
  /** Silence that ends a frame (the inter-bit timeout): above the slowest reader's bit interval (20 ms). */
  frameEndMs: z.number().min(1).max(1_000).default(25),
  /** Pulses closer than this on one line are ringing; on both lines, noise. Readers send 0.2 ms at the fastest. */
  minBitIntervalMs: z.number().min(0).max(5).default(0.15),
  maxBits: z.number().int().min(8).max(128).default(64),
});
export type WiegandConfig = z.infer<typeof wiegandConfigSchema>;

export type WiegandEvent = WiegandFrame & { at: number };

export class WiegandReader {
  private bits: number[] = [];
  private noisy = false;
  private last: { line: 0 | 1; at: number } | null = null;
  private timer: TimerHandle | null = null;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly listeners = new Set<(e: WiegandEvent) => void>();
  private readonly log: Logger;
  /** Pulses ignored as ringing (same line, too soon). */
  ringing = 0;

  constructor(
    private readonly gpio: GpioFactory,
    private readonly clock: Clock,
    private readonly config: WiegandConfig,
    logger: Logger,
    /** Names of the two lines (for the fake's scripts and the logs). */
    readonly names: { d0: string; d1: string } = { d0: 'wiegand.d0', d1: 'wiegand.d1' },
  ) {
    this.log = logger.child({ module: 'wiegand' });
  }

  start(): void {
    const d0 = this.gpio.pulseInput(this.names.d0, this.config.d0);
    const d1 = this.gpio.pulseInput(this.names.d1, this.config.d1);
    this.unsubscribe.push(d0.onPulse((at) => this.pulse(0, at)), d1.onPulse((at) => this.pulse(1, at)));
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    this.timer?.cancel();
    this.timer = null;
    this.bits = [];
    this.noisy = false;
    this.last = null;
  }

  onFrame(listener: (e: WiegandEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private pulse(line: 0 | 1, at: number): void {
    const prev = this.last;
    if (prev && at - prev.at < this.config.minBitIntervalMs) {
      if (prev.line === line) {
        this.ringing++;
        return;
      }
      this.noisy = true;
    }
    this.last = { line, at };
    if (this.bits.length <= this.config.maxBits) this.bits.push(line);
    this.timer?.cancel();
    this.timer = this.clock.setTimeout(() => this.endFrame(), this.config.frameEndMs);
  }

  private endFrame(): void {
    this.timer = null;
    const frame = this.bits.length > this.config.maxBits ? ({ kind: 'error', reason: 'length', bits: this.bits.length } as const) : parseFrame(this.bits, this.noisy);
    this.bits = [];
    this.noisy = false;
    this.last = null;
    if (frame.kind === 'error') this.log.warn({ reason: frame.reason, bits: frame.bits }, 'wiegand frame refused');
    else this.log.debug({ kind: frame.kind, format: frame.format }, 'wiegand frame');
    const ev: WiegandEvent = { ...frame, at: this.clock.now() };
    for (const l of [...this.listeners]) {
      try {
        l(ev);
      } catch (e) {
        this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'wiegand listener failed');
      }
    }
  }
}
