import type { Clock } from '../../core/clock';
import {
  Debouncer,
  GpioError,
  type GpioFactory,
  type GpioInput,
  type GpioOutput,
  type InputLineConfig,
  type InputListener,
  type InputName,
  type GpioPulseInput,
  type OutputLineConfig,
  type OutputName,
  type PulseLineConfig,
  type PulseListener,
} from './index';

/** Words a test may use instead of true/false: `fake.set('door', 'open')`. */
export type FakeInputState =
  | boolean
  | 'open' | 'closed'
  | 'pressed' | 'released'
  | 'active' | 'inactive'
  | 'alarm' | 'clear';

const ACTIVE_WORDS = new Set<FakeInputState>([true, 'open', 'pressed', 'active', 'alarm']);

export interface FakeWrite {
  at: number;
  active: boolean;
}

/**
 * An output in memory. Scriptable faults, as a real line can show them:
 *  - `failNextWrite = new Error('EIO')`: the next write throws (a GpioError with that cause);
 *  - `failWrites(n)`: the next n writes throw (`Infinity`: every write until `failWrites(0)`);
 *  - `stick(level)`: writes no longer throw but the line stays at `level` (a welded relay contact or a
 *    driver stage that no longer follows its input); `read()` shows the stuck level; `stick(null)` frees it.
 */
export class FakeGpioOutput implements GpioOutput {
  /** Every write that reached the line (not the failed ones), with the clock's monotonic time. */
  readonly writes: FakeWrite[] = [];
  /** Every write attempted, failed or not. */
  attempts = 0;
  private state: boolean;
  failNextWrite: Error | null = null;
  private failing = 0;
  private stuck: boolean | null = null;

  constructor(
    readonly name: OutputName,
    private readonly clock: Clock,
    initial: boolean,
  ) {
    this.state = initial;
  }

  /** The next `count` writes throw (Infinity: all of them until `failWrites(0)`). */
  failWrites(count: number): void {
    this.failing = count;
  }

  /** Holds the line at `level` whatever is written (null: follow writes again). */
  stick(level: boolean | null): void {
    this.stuck = level;
    if (level !== null) this.state = level;
  }

  write(active: boolean): void {
    this.attempts += 1;
    if (this.failNextWrite) {
      const cause = this.failNextWrite;
      this.failNextWrite = null;
      throw new GpioError('gpio-io', null, `writing output ${this.name} failed`, { cause });
    }
    if (this.failing > 0) {
      this.failing -= 1;
      throw new GpioError('gpio-io', null, `writing output ${this.name} failed`, { cause: new Error('EIO') });
    }
    if (this.stuck !== null) return;
    this.state = active;
    this.writes.push({ at: this.clock.monotonic(), active });
  }

  read(): boolean {
    return this.state;
  }
}

export class FakeGpioInput implements GpioInput {
  private readonly debouncer: Debouncer;

  constructor(
    readonly name: InputName,
    clock: Clock,
    debounceMs: number,
    initial: boolean,
  ) {
    this.debouncer = new Debouncer(clock, debounceMs, initial);
  }

  read(): boolean {
    return this.debouncer.value;
  }

  onChange(listener: InputListener): () => void {
    return this.debouncer.subscribe(listener);
  }

  /** Changes the raw level as the hardware would (subject to debounce). */
  setRaw(active: boolean): void {
    this.debouncer.sample(active);
  }

  dispose(): void {
    this.debouncer.dispose();
  }
}

/** A pulse line in memory: `pulse()` now, or a whole train played on the clock by FakeGpio.play(). */
export class FakePulseInput implements GpioPulseInput {
  private readonly listeners = new Set<PulseListener>();
  /** Pulses delivered, with their times (for assertions). */
  readonly pulses: number[] = [];

  constructor(
    readonly name: string,
    private readonly clock: Clock,
  ) {}

  onPulse(listener: PulseListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One pulse at the clock's current monotonic time. */
  pulse(): void {
    const at = this.clock.monotonic();
    this.pulses.push(at);
    for (const l of [...this.listeners]) l(at);
  }

  dispose(): void {
    this.listeners.clear();
  }
}

/** One pulse of a train: on which line, and when (ms after the train starts; fractions allowed). */
export interface TrainPulse {
  line: string;
  atMs: number;
}

/**
 * In-memory GPIO. Inputs default to inactive; script them with `set('door', 'open')` and advance
 * the clock past the debounce. Outputs record their writes. Lines can be opened before or after
 * scripting; `input()` for a name that was `set` earlier starts in that state.
 */
export class FakeGpio implements GpioFactory {
  readonly outputs = new Map<OutputName, FakeGpioOutput>();
  readonly inputs = new Map<InputName, FakeGpioInput>();
  readonly pulseInputs = new Map<string, FakePulseInput>();
  private readonly preset = new Map<InputName, boolean>();

  constructor(private readonly clock: Clock) {}

  output(name: OutputName, _config: OutputLineConfig, initial: boolean): FakeGpioOutput {
    const out = new FakeGpioOutput(name, this.clock, initial);
    this.outputs.set(name, out);
    return out;
  }

  input(name: InputName, config: InputLineConfig): FakeGpioInput {
    const inp = new FakeGpioInput(name, this.clock, config.debounceMs, this.preset.get(name) ?? false);
    this.inputs.set(name, inp);
    return inp;
  }

  pulseInput(name: string, _config: PulseLineConfig): FakePulseInput {
    const inp = new FakePulseInput(name, this.clock);
    this.pulseInputs.set(name, inp);
    return inp;
  }

  /**
   * Plays a pulse train on the clock: each pulse is delivered when the clock reaches its time (after
   * `advance`), on the named pulse line, as the real driver would deliver it. Pulses on lines that were
   * never opened are dropped (nothing listens there). Returns when the train's last pulse is due (ms).
   */
  play(train: readonly TrainPulse[]): number {
    let last = 0;
    for (const p of train) {
      last = Math.max(last, p.atMs);
      this.clock.setTimeout(() => this.pulseInputs.get(p.line)?.pulse(), p.atMs);
    }
    return last;
  }

  /** Sets an input's raw level: `set('door', 'open')`, `set('fire', 'alarm')`, `set('exit', true)`. */
  set(name: InputName, state: FakeInputState): void {
    const active = ACTIVE_WORDS.has(state);
    this.preset.set(name, active);
    this.inputs.get(name)?.setRaw(active);
  }

  /** A relay or other output by name; throws if it was never opened (a test bug). */
  out(name: OutputName): FakeGpioOutput {
    const o = this.outputs.get(name);
    if (!o) throw new Error(`fake output ${name} was never opened`);
    return o;
  }

  close(): void {
    for (const i of this.inputs.values()) i.dispose();
    for (const i of this.pulseInputs.values()) i.dispose();
  }
}
