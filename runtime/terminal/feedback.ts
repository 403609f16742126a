/**
 * What the resident at the door hears and sees, through the optional buzzer and status LED lines:
 *   - LED lit while the door is released (grant, exit button, fire);
 *   - granted: one beep of `grantBeepMs`;
 *   - denied: `denyBeeps` short beeps and `denyBlinks` LED blinks (`denyToneMs` on, the same off);
 *   - alarm: the buzzer sounds `alarmOnMs` on / `alarmOffMs` off while a door alarm (forced-open,
 *     held-open, tamper) or a relay fault lasts; it takes precedence over the grant and deny tones.
 * Patterns run on the injected clock. Indicators are best effort: a line that cannot be written is
 * logged and never holds up anything else (the lock does not depend on them).
 */
import type { Clock, TimerHandle } from '../../core/clock';
import type { Logger } from '../../core/log';
import type { GpioOutput } from '../../drivers/gpio';
import type { AlarmKind, LockEvent } from '../../drivers/lock';
import type { Config } from '../config';

export type FeedbackConfig = Config['feedback'];

/** Alarms the buzzer sounds for (the fire alarm has the building's own sounders). */
const SOUNDED: ReadonlySet<AlarmKind> = new Set<AlarmKind>(['forced-open', 'held-open', 'tamper', 'relay-fault']);

/**
 * One output line: a steady `base` level with, at most, one pattern playing over it. A pattern is a
 * list of durations, alternately on and off, starting on; `repeat` plays it until stopped.
 */
class Indicator {
  private base = false;
  private level = false;
  private timer: TimerHandle | null = null;
  private pattern: { steps: number[]; repeat: boolean; priority: number } | null = null;

  constructor(
    private readonly out: GpioOutput | undefined,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  setBase(on: boolean): void {
    this.base = on;
    if (!this.pattern) this.drive(on);
  }

  /** Plays `steps`; a pattern of lower priority than the one playing is ignored. */
  play(steps: number[], opts: { repeat?: boolean; priority?: number } = {}): void {
    const priority = opts.priority ?? 0;
    if (!this.out || steps.length === 0) return;
    if (this.pattern && this.pattern.priority > priority) return;
    this.stopPattern();
    this.pattern = { steps, repeat: opts.repeat ?? false, priority };
    this.step(0);
  }

  /** Ends the pattern (of this priority or lower) and goes back to the base level. */
  cancel(priority = Infinity): void {
    if (!this.pattern || this.pattern.priority > priority) return;
    this.stopPattern();
    this.drive(this.base);
  }

  stop(): void {
    this.stopPattern();
    this.base = false;
    this.drive(false);
  }

  private step(i: number): void {
    const p = this.pattern;
    if (!p) return;
    if (i >= p.steps.length) {
      if (!p.repeat) {
        this.pattern = null;
        this.drive(this.base);
        return;
      }
      i = 0;
    }
    this.drive(i % 2 === 0);
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.step(i + 1);
    }, p.steps[i] as number);
  }

  private stopPattern(): void {
    this.timer?.cancel();
    this.timer = null;
    this.pattern = null;
  }

  private drive(on: boolean): void {
    if (!this.out || on === this.level) return;
    try {
      this.out.write(on);
      this.level = on;
    } catch (err) {
      this.log.warn({ output: this.out.name, error: (err as Error).name }, 'indicator write failed');
    }
  }
}

export interface FeedbackDeps {
  buzzer?: GpioOutput;
  led?: GpioOutput;
  clock: Clock;
  log: Logger;
  config: FeedbackConfig;
}

const ALARM = 2;
const TONE = 1;

export class Feedback {
  private readonly buzzer: Indicator;
  private readonly led: Indicator;
  private readonly alarms = new Set<AlarmKind>();

  constructor(private readonly deps: FeedbackDeps) {
    const log = deps.log.child({ module: 'feedback' });
    this.buzzer = new Indicator(deps.buzzer, deps.clock, log);
    this.led = new Indicator(deps.led, deps.clock, log);
  }

  start(): void {
    this.buzzer.setBase(false);
    this.led.setBase(false);
  }

  /** Both lines off, patterns stopped. */
  stop(): void {
    this.buzzer.stop();
    this.led.stop();
  }

  /** The door was released for a grant (face, credential, remote): one beep. */
  granted(): void {
    if (this.deps.config.grantBeepMs > 0) this.buzzer.play([this.deps.config.grantBeepMs], { priority: TONE });
  }

  /** A face, card, PIN or pass was refused: short beeps and blinks. */
  denied(): void {
    const c = this.deps.config;
    this.buzzer.play(tones(c.denyBeeps, c.denyToneMs), { priority: TONE });
    this.led.play(tones(c.denyBlinks, c.denyToneMs), { priority: TONE });
  }

  /** Follows the lock: LED while released, the alarm tone while a sounded alarm lasts. */
  onLock(e: LockEvent): void {
    switch (e.type) {
      case 'unlocked':
        this.led.cancel(TONE);
        this.led.setBase(true);
        return;
      case 'locked':
        this.led.setBase(false);
        return;
      case 'alarm':
      case 'alarm-cleared': {
        if (!SOUNDED.has(e.alarm)) return;
        const was = this.alarms.size > 0;
        if (e.type === 'alarm') this.alarms.add(e.alarm);
        else this.alarms.delete(e.alarm);
        const now = this.alarms.size > 0;
        if (now && !was) this.buzzer.play([this.deps.config.alarmOnMs, this.deps.config.alarmOffMs], { repeat: true, priority: ALARM });
        if (!now && was) this.buzzer.cancel(ALARM);
        return;
      }
      case 'relay-fault':
      case 'door-opened':
      case 'door-closed':
        return;
    }
  }
}

/** `n` tones of `ms` with gaps of `ms` between them. */
function tones(n: number, ms: number): number[] {
  const steps: number[] = [];
  for (let i = 0; i < n; i++) steps.push(ms, ms);
  steps.pop();
  return steps;
}
