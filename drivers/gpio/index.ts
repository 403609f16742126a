import { z } from 'zod';
import type { Clock, TimerHandle } from '../../core/clock';
import { TerminalError } from '../../core/errors';

/**
 * Door hardware lines. Every line has a number and a polarity; `active` is always the logical
 * meaning, whatever the wiring:
 *   outputs  lock   active = relay energised (what that means for the door depends on the lock type)
 *            buzzer / led   active = on
 *   inputs   door   active = door open          exit   active = exit button pressed
 *            fire   active = fire alarm raised  tamper active = enclosure tampered
 * Inputs are debounced: a change counts only once the raw level has stayed put for `debounceMs`.
 */
export const OUTPUT_NAMES = ['lock', 'buzzer', 'led'] as const;
export const INPUT_NAMES = ['door', 'exit', 'fire', 'tamper'] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];
export type InputName = (typeof INPUT_NAMES)[number];

export const outputLineSchema = z.strictObject({
  line: z.number().int().min(0),
  /** true when the line is driven low to make the output active (inverted relay boards). */
  activeLow: z.boolean().default(false),
});

export const inputLineSchema = z.strictObject({
  line: z.number().int().min(0),
  /** true when the line reads low while the input is active (contact to ground, pull-up). */
  activeLow: z.boolean().default(false),
  debounceMs: z.number().int().min(0).max(10_000).default(30),
});

export const gpioConfigSchema = z.strictObject({
  outputs: z.strictObject({
    lock: outputLineSchema,
    buzzer: outputLineSchema.optional(),
    led: outputLineSchema.optional(),
  }),
  inputs: z
    .strictObject({
      door: inputLineSchema.optional(),
      exit: inputLineSchema.optional(),
      fire: inputLineSchema.optional(),
      tamper: inputLineSchema.optional(),
    })
    .default({}),
});

/**
 * A line read as a train of short pulses rather than a level (a Wiegand reader's D0 or D1: idle high,
 * pulled low for about 50 us per bit). Not debounced: every pulse counts.
 */
export const pulseLineSchema = z.strictObject({
  line: z.number().int().min(0),
  /** true (the Wiegand default) when a pulse pulls the line low. */
  activeLow: z.boolean().default(true),
});

export type OutputLineConfig = z.infer<typeof outputLineSchema>;
export type PulseLineConfig = z.infer<typeof pulseLineSchema>;
export type InputLineConfig = z.infer<typeof inputLineSchema>;
export type GpioConfig = z.infer<typeof gpioConfigSchema>;

/** A GPIO line could not be opened or driven. `line` is the configured line number. */
export class GpioError extends TerminalError {
  readonly code: 'gpio-unavailable' | 'gpio-line-missing' | 'gpio-line-busy' | 'gpio-permission' | 'gpio-io';

  constructor(
    code: GpioError['code'],
    readonly line: number | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
  }
}

export interface GpioOutput {
  readonly name: OutputName;
  /** Drives the line synchronously; throws GpioError if the write fails. */
  write(active: boolean): void;
  /** The logical state last driven (read back from the line where the driver can). */
  read(): boolean;
}

export type InputListener = (active: boolean) => void;

export interface GpioInput {
  readonly name: InputName;
  /** The debounced logical state. */
  read(): boolean;
  /** Called with the new debounced state on every debounced change. Returns an unsubscribe function. */
  onChange(listener: InputListener): () => void;
}

/** Called once per pulse (the edge into the active level), with the Clock's monotonic time in ms. */
export type PulseListener = (atMs: number) => void;

export interface GpioPulseInput {
  /** The caller's name for the line (`wiegand.d0`); for logs and the fake's scripts. */
  readonly name: string;
  /** Returns an unsubscribe function. */
  onPulse(listener: PulseListener): () => void;
}

/** Opens lines. Real drivers touch hardware in these calls; `close()` releases every watch. */
export interface GpioFactory {
  /** `initial` is the logical state the line takes as it becomes an output, without a glitch. */
  output(name: OutputName, config: OutputLineConfig, initial: boolean): GpioOutput;
  input(name: InputName, config: InputLineConfig): GpioInput;
  pulseInput(name: string, config: PulseLineConfig): GpioPulseInput;
  close(): void;
}

/** The lines a lock controller works with; absent inputs are simply not wired on this door. */
export interface DoorLines {
  relay: GpioOutput;
  buzzer?: GpioOutput;
  led?: GpioOutput;
  inputs: Partial<Record<InputName, GpioInput>>;
}

/** Opens every configured line through a factory. The relay starts in `relayInitial`. */
export function openDoorLines(factory: GpioFactory, config: GpioConfig, relayInitial: boolean): DoorLines {
  const lines: DoorLines = { relay: factory.output('lock', config.outputs.lock, relayInitial), inputs: {} };
  if (config.outputs.buzzer) lines.buzzer = factory.output('buzzer', config.outputs.buzzer, false);
  if (config.outputs.led) lines.led = factory.output('led', config.outputs.led, false);
  for (const name of INPUT_NAMES) {
    const cfg = config.inputs[name];
    if (cfg) lines.inputs[name] = factory.input(name, cfg);
  }
  return lines;
}

/**
 * Turns raw level changes into debounced logical changes using the injected clock: a change is
 * reported once the raw state has been stable for `debounceMs` (0 = report at once). Shared by the
 * real and fake drivers so both debounce identically.
 */
export class Debouncer {
  private stable: boolean;
  private raw: boolean;
  private timer: TimerHandle | null = null;
  private readonly listeners = new Set<InputListener>();

  constructor(
    private readonly clock: Clock,
    private readonly debounceMs: number,
    initial: boolean,
    private readonly onListenerError: (err: unknown) => void = () => {},
  ) {
    this.stable = initial;
    this.raw = initial;
  }

  get value(): boolean {
    return this.stable;
  }

  /** Feed a raw (already polarity-corrected) sample. */
  sample(active: boolean): void {
    if (active === this.raw) return;
    this.raw = active;
    this.timer?.cancel();
    this.timer = null;
    if (this.debounceMs === 0) {
      this.settle();
      return;
    }
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.settle();
    }, this.debounceMs);
  }

  subscribe(listener: InputListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispose(): void {
    this.timer?.cancel();
    this.timer = null;
    this.listeners.clear();
  }

  private settle(): void {
    if (this.raw === this.stable) return;
    this.stable = this.raw;
    for (const l of [...this.listeners]) {
      try {
        l(this.stable);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
