import { z } from 'zod';
import type { Clock, TimerHandle } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import type { Logger } from '../../core/log';
import type { GpioInput, GpioOutput, InputName } from '../gpio';

/** The relay could not be driven. The controller reports it as a `relay-fault` event and keeps going. */
export class LockRelayError extends TerminalError {
  readonly code = 'lock-relay';
}

export const lockConfigSchema = z.strictObject({
  /**
   * fail-safe: maglock and the like, powered = locked (relay active = locked; no power = open).
   * fail-secure: electric strike, powered = unlocked (relay active = unlocked; no power = locked).
   */
  lockType: z.enum(['fail-safe', 'fail-secure']),
  /** How long a grant or exit button releases the lock if the door is not opened and closed first. */
  unlockPulseMs: z.number().int().min(100).max(120_000).default(5_000),
  /**
   * Longest release a grant may ask for itself (the hub's remote `unlock` carries a duration): a
   * longer request is cut to this. Grants that ask for nothing get `unlockPulseMs`.
   */
  maxUnlockMs: z.number().int().min(100).max(120_000).default(30_000),
  /** Door open longer than this raises a held-open alarm. */
  heldOpenAlarmMs: z.number().int().min(1_000).max(3_600_000).default(30_000),
});
export type LockConfig = z.infer<typeof lockConfigSchema>;

export type GrantSource = 'face' | 'remote' | 'pin' | 'card' | 'qr';
export type AlarmKind = 'held-open' | 'forced-open' | 'tamper' | 'fire';
export type UnlockReason = 'grant' | 'exit-button' | 'fire';
export type LockReason = 'started' | 'door-closed' | 'pulse-ended' | 'fire-cleared' | 'stopped';

/** Every transition of the controller, in the order it happened. `at` is Clock.now() (epoch ms). */
export type LockEvent =
  | { type: 'unlocked'; reason: UnlockReason; source: GrantSource | null; at: number }
  | { type: 'locked'; reason: LockReason; at: number }
  | { type: 'door-opened'; authorised: boolean; at: number }
  | { type: 'door-closed'; at: number }
  | { type: 'alarm'; alarm: AlarmKind; at: number }
  | { type: 'alarm-cleared'; alarm: AlarmKind; at: number }
  | { type: 'relay-fault'; error: LockRelayError; at: number };

export type LockState = 'stopped' | 'locked' | 'unlocked' | 'fire-release';

/**
 * What `grant()` did: `unlocked` (pulse started or restarted), or why it did nothing
 * (`bad-duration`: the requested release time was not a positive finite number; the door stays locked).
 */
export type GrantResult = 'unlocked' | 'held-by-fire' | 'not-running' | 'relay-fault' | 'bad-duration';

export interface LockControllerDeps {
  relay: GpioOutput;
  /** Optional: sounds while a door alarm (forced-open, held-open, tamper) is active. */
  buzzer?: GpioOutput;
  /** Optional: lit while the door is released (grant, exit button, fire). */
  led?: GpioOutput;
  inputs: Partial<Record<InputName, GpioInput>>;
  clock: Clock;
  config: LockConfig;
  logger: Logger;
}

/**
 * The door's lock state machine. Timings come from config; the clock is injected; every transition
 * emits a LockEvent. Rules, in order of precedence:
 *   1. Fire alarm active: the lock is released and held released until the alarm clears, whatever
 *      else happens (grants, stop(), door movements). No held-open or forced-open alarms meanwhile.
 *   2. grant(source) / exit button: release for `unlockPulseMs`; relock when the door closes after
 *      having opened, or when the pulse ends, whichever comes first. A grant during a pulse restarts it.
 *   3. Door opened while locked: forced-open alarm. Door open longer than `heldOpenAlarmMs`:
 *      held-open alarm. Both clear when the door closes. Tamper input: alarm while active.
 * stop() leaves the relay in the locked state for the lock type (unless fire holds it released)
 * and the line stays driven after the process exits: see README.md for the full relay table.
 */
export class LockController {
  private state: LockState = 'stopped';
  private doorOpen = false;
  /** The door opened during the current release (so closing it relocks at once). */
  private openedDuringRelease = false;
  private pulseTimer: TimerHandle | null = null;
  private heldTimer: TimerHandle | null = null;
  private readonly activeAlarms = new Set<AlarmKind>();
  private readonly listeners = new Set<(e: LockEvent) => void>();
  private unsubscribe: Array<() => void> = [];
  private readonly log: Logger;

  constructor(private readonly deps: LockControllerDeps) {
    this.log = deps.logger.child({ module: 'lock' });
  }

  /** Relay level (active?) that keeps the door locked / released for this lock type. */
  static relayActiveWhen(lockType: LockConfig['lockType'], locked: boolean): boolean {
    return lockType === 'fail-safe' ? locked : !locked;
  }

  onEvent(listener: (e: LockEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  getState(): { state: LockState; doorOpen: boolean; alarms: AlarmKind[] } {
    return { state: this.state, doorOpen: this.doorOpen, alarms: [...this.activeAlarms] };
  }

  start(): void {
    if (this.state !== 'stopped') return;
    const { inputs } = this.deps;
    this.doorOpen = inputs.door?.read() ?? false;
    this.state = 'locked';
    if (inputs.fire?.read()) {
      this.enterFire();
    } else {
      this.driveLocked();
      this.emit({ type: 'locked', reason: 'started', at: this.now() });
      if (this.doorOpen) this.startHeldTimer();
    }
    if (inputs.tamper?.read()) this.raise('tamper');
    this.watch('door', (open) => this.onDoor(open));
    this.watch('exit', (pressed) => { if (pressed) this.release('exit-button', null); });
    this.watch('fire', (alarm) => (alarm ? this.enterFire() : this.leaveFire()));
    this.watch('tamper', (t) => (t ? this.raise('tamper') : this.clear('tamper')));
  }

  /**
   * A decision (face, PIN, card, signed remote command) grants entry: one unlock pulse of
   * `unlockPulseMs`, or of `durationMs` when given (a remote unlock), cut to `maxUnlockMs`. A duration
   * that is not a positive finite number unlocks nothing (fail closed).
   */
  grant(source: GrantSource, durationMs?: number): GrantResult {
    if (this.state === 'stopped') return 'not-running';
    if (this.state === 'fire-release') return 'held-by-fire';
    let pulseMs = this.deps.config.unlockPulseMs;
    if (durationMs !== undefined) {
      if (!Number.isFinite(durationMs) || durationMs <= 0) {
        this.log.warn({ source }, 'grant with an invalid release time refused');
        return 'bad-duration';
      }
      pulseMs = Math.min(Math.ceil(durationMs), this.deps.config.maxUnlockMs);
    }
    return this.release('grant', source, pulseMs) ? 'unlocked' : 'relay-fault';
  }

  /**
   * Stops watching inputs and timers and leaves the relay locked for the lock type, except while the
   * fire alarm is active, when it stays released. The relay line stays driven after this.
   */
  stop(): void {
    if (this.state === 'stopped') return;
    for (const u of this.unsubscribe.splice(0)) u();
    this.cancelPulse();
    this.cancelHeld();
    if (this.state !== 'fire-release') {
      this.driveLocked();
      this.emit({ type: 'locked', reason: 'stopped', at: this.now() });
    }
    this.state = 'stopped';
    this.indicator(this.deps.buzzer, false);
  }

  /**
   * Last-gasp synchronous write for process exit paths (uncaught exception, 'exit' handler): puts the
   * relay in the locked level unless the fire input is active. Never throws.
   */
  emergencySafeState(): void {
    try {
      const fire = this.deps.inputs.fire?.read() ?? false;
      this.deps.relay.write(LockController.relayActiveWhen(this.deps.config.lockType, !fire));
    } catch {
      // Nothing left to do on this path; the supervisor restarts the process and start() relocks.
    }
  }

  private release(reason: 'grant' | 'exit-button', source: GrantSource | null, pulseMs = this.deps.config.unlockPulseMs): boolean {
    if (this.state === 'stopped' || this.state === 'fire-release') return false;
    if (!this.drive(false)) return false;
    const wasLocked = this.state === 'locked';
    this.state = 'unlocked';
    this.openedDuringRelease = false;
    this.cancelPulse();
    this.pulseTimer = this.deps.clock.setTimeout(() => {
      this.pulseTimer = null;
      this.relock('pulse-ended');
    }, pulseMs);
    this.emit({ type: 'unlocked', reason, source, at: this.now() });
    if (!wasLocked) this.log.debug({ reason }, 'unlock pulse restarted');
    return true;
  }

  private relock(reason: LockReason): void {
    if (this.state !== 'unlocked') return;
    this.cancelPulse();
    this.state = 'locked';
    this.driveLocked();
    this.emit({ type: 'locked', reason, at: this.now() });
  }

  private onDoor(open: boolean): void {
    if (open === this.doorOpen) return;
    this.doorOpen = open;
    if (open) {
      const authorised = this.state !== 'locked';
      if (this.state === 'unlocked') this.openedDuringRelease = true;
      this.emit({ type: 'door-opened', authorised, at: this.now() });
      if (!authorised) this.raise('forced-open');
      if (this.state !== 'fire-release') this.startHeldTimer();
      return;
    }
    this.cancelHeld();
    this.emit({ type: 'door-closed', at: this.now() });
    this.clear('held-open');
    this.clear('forced-open');
    if (this.state === 'unlocked' && this.openedDuringRelease) this.relock('door-closed');
  }

  private enterFire(): void {
    if (this.state === 'stopped' || this.state === 'fire-release') return;
    this.cancelPulse();
    this.cancelHeld();
    this.clear('held-open');
    this.state = 'fire-release';
    this.drive(false);
    this.raise('fire');
    this.emit({ type: 'unlocked', reason: 'fire', source: null, at: this.now() });
  }

  private leaveFire(): void {
    if (this.state !== 'fire-release') return;
    this.state = 'locked';
    this.driveLocked();
    this.clear('fire');
    this.emit({ type: 'locked', reason: 'fire-cleared', at: this.now() });
    if (this.doorOpen) this.startHeldTimer();
  }

  private startHeldTimer(): void {
    this.cancelHeld();
    this.heldTimer = this.deps.clock.setTimeout(() => {
      this.heldTimer = null;
      if (this.doorOpen && this.state !== 'fire-release') this.raise('held-open');
    }, this.deps.config.heldOpenAlarmMs);
  }

  private raise(alarm: AlarmKind): void {
    if (this.activeAlarms.has(alarm)) return;
    this.activeAlarms.add(alarm);
    this.updateBuzzer();
    this.emit({ type: 'alarm', alarm, at: this.now() });
  }

  private clear(alarm: AlarmKind): void {
    if (!this.activeAlarms.delete(alarm)) return;
    this.updateBuzzer();
    this.emit({ type: 'alarm-cleared', alarm, at: this.now() });
  }

  private updateBuzzer(): void {
    const doorAlarm = ['forced-open', 'held-open', 'tamper'].some((a) => this.activeAlarms.has(a as AlarmKind));
    this.indicator(this.deps.buzzer, doorAlarm && this.state !== 'stopped');
  }

  /** Buzzer and LED are best effort: a failing indicator never blocks the lock. */
  private indicator(out: GpioOutput | undefined, on: boolean): void {
    if (!out || out.read() === on) return;
    try {
      out.write(on);
    } catch (err) {
      this.log.warn({ output: out.name, err: err instanceof Error ? err.message : String(err) }, 'indicator write failed');
    }
  }

  private driveLocked(): void {
    this.drive(true);
  }

  /** Drives the relay to the locked or released level; reports a failure as an event. */
  private drive(locked: boolean): boolean {
    try {
      this.deps.relay.write(LockController.relayActiveWhen(this.deps.config.lockType, locked));
      this.indicator(this.deps.led, !locked);
      return true;
    } catch (err) {
      const error = new LockRelayError(`could not ${locked ? 'lock' : 'release'} the door relay`, { cause: err });
      this.log.error({ err: err instanceof Error ? err.message : String(err), locked }, 'relay write failed');
      this.emit({ type: 'relay-fault', error, at: this.now() });
      return false;
    }
  }

  private watch(name: InputName, fn: (active: boolean) => void): void {
    const input = this.deps.inputs[name];
    if (input) this.unsubscribe.push(input.onChange(fn));
  }

  private cancelPulse(): void {
    this.pulseTimer?.cancel();
    this.pulseTimer = null;
  }

  private cancelHeld(): void {
    this.heldTimer?.cancel();
    this.heldTimer = null;
  }

  private now(): number {
    return this.deps.clock.now();
  }

  private emit(e: LockEvent): void {
    this.log.info({ event: e.type, ...('reason' in e ? { reason: e.reason } : {}), ...('alarm' in e ? { alarm: e.alarm } : {}) }, 'lock event');
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'lock event listener failed');
      }
    }
  }
}
