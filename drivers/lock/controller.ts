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
  /**
   * Relay writes tried at once (each read back) before the relay counts as faulty. A write that
   * throws, or a line that reads back another level than the one written, is a failed attempt.
   */
  relayAttempts: z.number().int().min(1).max(10).default(3),
  /** While the relay is faulty, the level the door needs is written again this often. */
  relayRetryMs: z.number().int().min(50).max(60_000).default(1_000),
});
export type LockConfig = z.infer<typeof lockConfigSchema>;

export type GrantSource = 'face' | 'remote' | 'pin' | 'card' | 'qr';
/** `relay-fault`: the relay is not (read back) at the level the door needs; cleared when it is. */
export type AlarmKind = 'held-open' | 'forced-open' | 'tamper' | 'fire' | 'relay-fault';
export type UnlockReason = 'grant' | 'exit-button' | 'fire';
/** `relay-recovered`: a relock that had failed went through on a later attempt. */
export type LockReason = 'started' | 'door-closed' | 'pulse-ended' | 'fire-cleared' | 'stopped' | 'relay-recovered';
/** The relay level a transition needs. */
export type RelayIntent = 'locked' | 'released';

/** Every transition of the controller, in the order it happened. `at` is Clock.now() (epoch ms). */
export type LockEvent =
  | { type: 'unlocked'; reason: UnlockReason; source: GrantSource | null; at: number }
  | { type: 'locked'; reason: LockReason; at: number }
  | { type: 'door-opened'; authorised: boolean; at: number }
  | { type: 'door-closed'; at: number }
  | { type: 'alarm'; alarm: AlarmKind; at: number }
  | { type: 'alarm-cleared'; alarm: AlarmKind; at: number }
  /** The relay could not be brought to `intended` (every attempt failed or read back wrong). */
  | { type: 'relay-fault'; intended: RelayIntent; error: LockRelayError; at: number };

/**
 * `relay-fault`: the relay is not confirmed at the level the door needs (a relock or a fire release
 * that failed): the controller keeps trying every `relayRetryMs` and says nothing else meanwhile.
 */
export type LockState = 'stopped' | 'locked' | 'unlocked' | 'fire-release' | 'relay-fault';

/**
 * What `grant()` did: `unlocked` (pulse started or restarted), or why it did nothing
 * (`bad-duration`: the requested release time was not a positive finite number; the door stays locked).
 */
export type GrantResult = 'unlocked' | 'held-by-fire' | 'not-running' | 'relay-fault' | 'bad-duration';

export interface LockControllerDeps {
  relay: GpioOutput;
  inputs: Partial<Record<InputName, GpioInput>>;
  clock: Clock;
  config: LockConfig;
  logger: Logger;
}

/** What the controller is doing; the relay must be (read back) at this mode's level, or it is faulty. */
type Mode = 'stopped' | 'locked' | 'unlocked' | 'fire';

/**
 * The door's lock state machine. Timings come from config; the clock is injected; every transition
 * emits a LockEvent. Rules, in order of precedence:
 *   1. Fire alarm active: the lock is released and held released until the alarm clears, whatever
 *      else happens (grants, stop(), door movements). No held-open or forced-open alarms meanwhile.
 *   2. grant(source) / exit button: release for `unlockPulseMs`; relock when the door closes after
 *      having opened, or when the pulse ends, whichever comes first. A grant during a pulse restarts it.
 *   3. Door opened while locked: forced-open alarm. Door open longer than `heldOpenAlarmMs`:
 *      held-open alarm. Both clear when the door closes. Tamper input: alarm while active.
 * Every relay write is read back and tried up to `relayAttempts` times. A release that fails changes
 * nothing (the door stays locked, and is checked to be); a relock or fire release that fails puts the
 * controller in `relay-fault` (never `locked` or `fire-release` while the relay is not at that level),
 * raises the `relay-fault` alarm and writes again every `relayRetryMs` until the line reads back right.
 * stop() leaves the relay in the locked state for the lock type (unless fire holds it released)
 * and the line stays driven after the process exits: see README.md for the full relay table.
 */
export class LockController {
  private mode: Mode = 'stopped';
  /** The relay was read back at the current mode's level. */
  private relayOk = true;
  /** What the relay was last asked for and failed to reach (for the fault event). */
  private faultIntent: RelayIntent | null = null;
  private doorOpen = false;
  /** The door opened during the current release (so closing it relocks at once). */
  private openedDuringRelease = false;
  private pulseTimer: TimerHandle | null = null;
  private heldTimer: TimerHandle | null = null;
  private retryTimer: TimerHandle | null = null;
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
    return { state: this.state(), doorOpen: this.doorOpen, alarms: [...this.activeAlarms] };
  }

  start(): void {
    if (this.mode !== 'stopped') return;
    const { inputs } = this.deps;
    this.doorOpen = inputs.door?.read() ?? false;
    this.mode = 'locked';
    if (inputs.fire?.read()) {
      this.enterFire();
    } else {
      if (this.settle('locked')) this.emit({ type: 'locked', reason: 'started', at: this.now() });
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
    if (this.mode === 'stopped') return 'not-running';
    if (this.mode === 'fire') return 'held-by-fire';
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
   * fire alarm is active, when it stays released. The relay line stays driven after this. A relock
   * that fails here is reported (`relay-fault`), not claimed; the exit guard tries once more.
   */
  stop(): void {
    if (this.mode === 'stopped') return;
    for (const u of this.unsubscribe.splice(0)) u();
    this.cancelPulse();
    this.cancelHeld();
    this.cancelRetry();
    if (this.mode !== 'fire') {
      this.mode = 'locked';
      if (this.drive('locked')) this.emit({ type: 'locked', reason: 'stopped', at: this.now() });
      else this.reportFault('locked');
    }
    this.mode = 'stopped';
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

  private state(): LockState {
    if (this.mode === 'stopped') return 'stopped';
    if (!this.relayOk) return 'relay-fault';
    return this.mode === 'fire' ? 'fire-release' : this.mode;
  }

  private release(reason: 'grant' | 'exit-button', source: GrantSource | null, pulseMs = this.deps.config.unlockPulseMs): boolean {
    if (this.mode === 'stopped' || this.mode === 'fire') return false;
    if (!this.drive('released')) {
      // Nothing is claimed. The alarm is raised, and cleared again once the relay is read back at the
      // level the current mode needs (or stays, with retries, if it is not).
      this.reportFault('released');
      this.raise('relay-fault');
      this.settle(this.mode === 'unlocked' ? 'released' : 'locked');
      return false;
    }
    const wasLocked = this.mode === 'locked';
    this.mode = 'unlocked';
    this.confirm();
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
    if (this.mode !== 'unlocked') return;
    this.cancelPulse();
    this.mode = 'locked';
    if (this.settle('locked')) this.emit({ type: 'locked', reason, at: this.now() });
  }

  private onDoor(open: boolean): void {
    if (open === this.doorOpen) return;
    this.doorOpen = open;
    if (open) {
      const authorised = this.mode !== 'locked';
      if (this.mode === 'unlocked') this.openedDuringRelease = true;
      this.emit({ type: 'door-opened', authorised, at: this.now() });
      if (!authorised) this.raise('forced-open');
      if (this.mode !== 'fire') this.startHeldTimer();
      return;
    }
    this.cancelHeld();
    this.emit({ type: 'door-closed', at: this.now() });
    this.clear('held-open');
    this.clear('forced-open');
    if (this.mode === 'unlocked' && this.openedDuringRelease) this.relock('door-closed');
  }

  private enterFire(): void {
    if (this.mode === 'stopped' || this.mode === 'fire') return;
    this.cancelPulse();
    this.cancelHeld();
    this.clear('held-open');
    this.mode = 'fire';
    this.raise('fire');
    if (this.settle('released')) this.emit({ type: 'unlocked', reason: 'fire', source: null, at: this.now() });
  }

  private leaveFire(): void {
    if (this.mode !== 'fire') return;
    this.mode = 'locked';
    this.clear('fire');
    if (this.settle('locked')) this.emit({ type: 'locked', reason: 'fire-cleared', at: this.now() });
    if (this.doorOpen) this.startHeldTimer();
  }

  /**
   * Brings the relay to the level the current mode needs. True when it is read back there; otherwise
   * the controller is in relay-fault (alarm raised, retries on the clock) and false is returned.
   */
  private settle(intent: RelayIntent): boolean {
    if (this.drive(intent)) {
      this.confirm();
      return true;
    }
    this.relayOk = false;
    this.reportFault(intent);
    this.raise('relay-fault');
    this.scheduleRetry();
    return false;
  }

  /** The relay is read back at the mode's level: a fault (if any) is over. */
  private confirm(): void {
    this.relayOk = true;
    this.faultIntent = null;
    this.cancelRetry();
    this.clear('relay-fault');
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.mode === 'stopped') return;
    this.retryTimer = this.deps.clock.setInterval(() => this.retry(), this.deps.config.relayRetryMs);
  }

  private retry(): void {
    if (this.mode === 'stopped' || this.relayOk) return this.cancelRetry();
    const intent: RelayIntent = this.mode === 'locked' ? 'locked' : 'released';
    if (!this.drive(intent)) return;
    this.log.warn({ intent }, 'relay recovered');
    this.confirm();
    if (this.mode === 'locked') this.emit({ type: 'locked', reason: 'relay-recovered', at: this.now() });
    else if (this.mode === 'fire') this.emit({ type: 'unlocked', reason: 'fire', source: null, at: this.now() });
  }

  private reportFault(intended: RelayIntent): void {
    if (this.faultIntent === intended) return; // already reported; retries are quiet
    this.faultIntent = intended;
    const error = new LockRelayError(`could not ${intended === 'locked' ? 'lock' : 'release'} the door relay`);
    this.log.error({ intended, attempts: this.deps.config.relayAttempts }, 'relay not at the level written');
    this.emit({ type: 'relay-fault', intended, error, at: this.now() });
  }

  private startHeldTimer(): void {
    this.cancelHeld();
    this.heldTimer = this.deps.clock.setTimeout(() => {
      this.heldTimer = null;
      if (this.doorOpen && this.mode !== 'fire') this.raise('held-open');
    }, this.deps.config.heldOpenAlarmMs);
  }

  private raise(alarm: AlarmKind): void {
    if (this.activeAlarms.has(alarm)) return;
    this.activeAlarms.add(alarm);
    this.emit({ type: 'alarm', alarm, at: this.now() });
  }

  private clear(alarm: AlarmKind): void {
    if (!this.activeAlarms.delete(alarm)) return;
    this.emit({ type: 'alarm-cleared', alarm, at: this.now() });
  }

  /**
   * Writes the level for `intent` and reads it back, up to `relayAttempts` times. True once the line
   * reads back at that level; false when every attempt threw or read back another level.
   */
  private drive(intent: RelayIntent): boolean {
    const level = LockController.relayActiveWhen(this.deps.config.lockType, intent === 'locked');
    const attempts = this.deps.config.relayAttempts;
    for (let i = 1; i <= attempts; i++) {
      try {
        this.deps.relay.write(level);
        if (this.deps.relay.read() === level) return true;
        this.log.warn({ intent, attempt: i }, 'relay read back another level than written');
      } catch (err) {
        this.log.warn({ intent, attempt: i, err: err instanceof Error ? err.message : String(err) }, 'relay write failed');
      }
    }
    return false;
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

  private cancelRetry(): void {
    this.retryTimer?.cancel();
    this.retryTimer = null;
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
