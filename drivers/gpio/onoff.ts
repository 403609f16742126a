import { Gpio } from 'onoff';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
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

/**
 * Real GPIO through onoff (Linux sysfs GPIO, /sys/class/gpio).
 *
 * Polarity is handled here, not by the kernel: every line is opened with `active_low = 0`, so the
 * sysfs `value` file always holds the electrical level and `activeLow` from config inverts in
 * software. Outputs are created with direction `high`/`low`, which sets the level in the same write
 * that makes the line an output (no glitch on the relay at start-up).
 *
 * Inputs use onoff's edge interrupts (`edge = both`) only as a wake-up; the level is read and
 * debounced with the injected Clock (onoff's own debounce uses wall-clock timers, so it is not used).
 *
 * `close()` stops watching inputs and unexports them; outputs are deliberately left exported and
 * driven, because unexporting turns a line back into a floating input, which would change the relay
 * when the process stops (see drivers/lock/README.md for the relay state table).
 */
export class OnoffGpio implements GpioFactory {
  private readonly inputs: { close(): void }[] = [];
  private readonly log: Logger;

  constructor(
    private readonly clock: Clock,
    logger: Logger,
    /** Replaceable for tests that prove the "not accessible" path; defaults to onoff's check. */
    private readonly accessible: () => boolean = () => Gpio.accessible,
  ) {
    this.log = logger.child({ module: 'gpio' });
  }

  output(name: OutputName, config: OutputLineConfig, initial: boolean): GpioOutput {
    this.assertAccessible();
    const raw = initial !== config.activeLow;
    const gpio = openLine(config.line, () => new Gpio(config.line, raw ? 'high' : 'low', 'none', { activeLow: false }));
    this.log.info({ line: config.line, output: name, active: initial }, 'output opened');
    return new OnoffOutput(name, gpio, config);
  }

  input(name: InputName, config: InputLineConfig): GpioInput {
    this.assertAccessible();
    const gpio = openLine(config.line, () => new Gpio(config.line, 'in', 'both', { activeLow: false }));
    const input = new OnoffInput(name, gpio, config, this.clock, this.log);
    this.inputs.push(input);
    this.log.info({ line: config.line, input: name, active: input.read() }, 'input opened');
    return input;
  }

  /**
   * A pulse line (Wiegand D0/D1): edge interrupts on the edge into the active level, one callback per
   * pulse, timed with the Clock when Node runs the callback. Sysfs reports an edge by waking a poll on
   * the value file; edges that come while the event loop is busy (a face pipeline step) may be merged
   * into one wake-up, so a frame can lose bits: the Wiegand decoder then refuses it by its length or
   * parity and the visitor presents the card again. The character-device interface (libgpiod) queues
   * timestamped edges in the kernel and would not lose them (drivers/gpio/README.md).
   */
  pulseInput(name: string, config: PulseLineConfig): GpioPulseInput {
    this.assertAccessible();
    const edge = config.activeLow ? 'falling' : 'rising';
    const gpio = openLine(config.line, () => new Gpio(config.line, 'in', edge, { activeLow: false }));
    const input = new OnoffPulseInput(name, gpio, config, this.clock, this.log);
    this.inputs.push(input);
    this.log.info({ line: config.line, pulseInput: name, edge }, 'pulse input opened');
    return input;
  }

  close(): void {
    for (const i of this.inputs.splice(0)) i.close();
  }

  private assertAccessible(): void {
    if (!this.accessible()) {
      throw new GpioError(
        'gpio-unavailable',
        null,
        'GPIO is not accessible: /sys/class/gpio/export cannot be opened for writing ' +
          '(no sysfs GPIO in this kernel, or the process lacks permission: add the user to the gpio group)',
      );
    }
  }
}

class OnoffOutput implements GpioOutput {
  constructor(
    readonly name: OutputName,
    private readonly gpio: Gpio,
    private readonly config: OutputLineConfig,
  ) {}

  write(active: boolean): void {
    const raw = active !== this.config.activeLow;
    try {
      this.gpio.writeSync(raw ? 1 : 0);
    } catch (err) {
      throw new GpioError('gpio-io', this.config.line, `writing GPIO line ${this.config.line} failed`, { cause: err });
    }
  }

  read(): boolean {
    try {
      return (this.gpio.readSync() === 1) !== this.config.activeLow;
    } catch (err) {
      throw new GpioError('gpio-io', this.config.line, `reading GPIO line ${this.config.line} failed`, { cause: err });
    }
  }
}

class OnoffInput implements GpioInput {
  private readonly debouncer: Debouncer;
  private readonly onEdge = (err: Error | null | undefined): void => {
    if (err) {
      this.log.warn({ line: this.config.line, err: err.message }, 'edge watch error');
      return;
    }
    this.poll();
  };

  constructor(
    readonly name: InputName,
    private readonly gpio: Gpio,
    private readonly config: InputLineConfig,
    clock: Clock,
    private readonly log: Logger,
  ) {
    this.debouncer = new Debouncer(clock, config.debounceMs, this.readRaw(), (e) =>
      log.error({ err: e instanceof Error ? e.message : String(e), input: name }, 'input listener failed'),
    );
    try {
      gpio.watch(this.onEdge);
    } catch (err) {
      throw new GpioError('gpio-io', config.line,
        `cannot watch edges on GPIO line ${config.line}: the line has no interrupt support (${err instanceof Error ? err.message : String(err)})`,
        { cause: err });
    }
  }

  read(): boolean {
    return this.debouncer.value;
  }

  onChange(listener: InputListener): () => void {
    return this.debouncer.subscribe(listener);
  }

  /** Reads the level now and feeds it to the debouncer (the edge handler calls this). */
  poll(): void {
    this.debouncer.sample(this.readRaw());
  }

  close(): void {
    this.debouncer.dispose();
    try {
      this.gpio.unwatchAll();
      this.gpio.unexport();
    } catch (err) {
      this.log.warn({ line: this.config.line, err: err instanceof Error ? err.message : String(err) }, 'unexport failed');
    }
  }

  private readRaw(): boolean {
    try {
      return (this.gpio.readSync() === 1) !== this.config.activeLow;
    } catch (err) {
      throw new GpioError('gpio-io', this.config.line, `reading GPIO line ${this.config.line} failed`, { cause: err });
    }
  }
}

class OnoffPulseInput implements GpioPulseInput {
  private readonly listeners = new Set<PulseListener>();

  constructor(
    readonly name: string,
    private readonly gpio: Gpio,
    private readonly config: PulseLineConfig,
    clock: Clock,
    private readonly log: Logger,
  ) {
    try {
      gpio.watch((err) => {
        if (err) {
          this.log.warn({ line: config.line, err: err.message }, 'pulse watch error');
          return;
        }
        const at = clock.monotonic();
        for (const l of [...this.listeners]) {
          try {
            l(at);
          } catch (e) {
            this.log.error({ line: config.line, err: e instanceof Error ? e.message : String(e) }, 'pulse listener failed');
          }
        }
      });
    } catch (err) {
      throw new GpioError('gpio-io', config.line,
        `cannot watch edges on GPIO line ${config.line}: the line has no interrupt support (${err instanceof Error ? err.message : String(err)})`,
        { cause: err });
    }
  }

  onPulse(listener: PulseListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.listeners.clear();
    try {
      this.gpio.unwatchAll();
      this.gpio.unexport();
    } catch (err) {
      this.log.warn({ line: this.config.line, err: err instanceof Error ? err.message : String(err) }, 'unexport failed');
    }
  }
}

function openLine(line: number, open: () => Gpio): Gpio {
  try {
    return open();
  } catch (err) {
    throw gpioOpenError(line, err);
  }
}

/** Maps the errno onoff surfaces while exporting/configuring a line to a typed, explanatory error. */
export function gpioOpenError(line: number, err: unknown): GpioError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code ?? '') {
    case 'EBUSY':
      return new GpioError('gpio-line-busy', line,
        `GPIO line ${line} is busy: another driver or process has claimed it (check device tree overlays and other services)`,
        { cause: err });
    case 'EINVAL':
    case 'ENOENT':
    case 'ENXIO':
      return new GpioError('gpio-line-missing', line,
        `GPIO line ${line} does not exist on this board (sysfs did not export it; check the line number, ` +
          'newer kernels offset sysfs numbers by the chip base)',
        { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new GpioError('gpio-permission', line,
        `no permission to use GPIO line ${line} (run as a member of the gpio group)`, { cause: err });
    default:
      return new GpioError('gpio-io', line, `opening GPIO line ${line} failed (${code ?? 'unknown error'})`, { cause: err });
  }
}
