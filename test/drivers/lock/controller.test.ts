import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { gpioConfigSchema, openDoorLines } from '../../../drivers/gpio';
import { FakeGpio } from '../../../drivers/gpio/fake';
import { LockController, lockConfigSchema, type LockConfig, type LockEvent } from '../../../drivers/lock';

const PULSE = 5_000;
const HELD = 30_000;
const DEBOUNCE = 20;
const RETRY = 1_000;

function setup(lockType: LockConfig['lockType'] = 'fail-safe', preset?: (g: FakeGpio) => void) {
  const clock = new FakeClock();
  const gpio = new FakeGpio(clock);
  preset?.(gpio);
  const gpioConfig = gpioConfigSchema.parse({
    outputs: { lock: { line: 17 }, buzzer: { line: 27 }, led: { line: 5 } },
    inputs: {
      door: { line: 22, debounceMs: DEBOUNCE },
      exit: { line: 23, debounceMs: DEBOUNCE },
      fire: { line: 24, debounceMs: DEBOUNCE },
      tamper: { line: 25, debounceMs: DEBOUNCE },
    },
  });
  const config = lockConfigSchema.parse({ lockType, unlockPulseMs: PULSE, heldOpenAlarmMs: HELD });
  const lines = openDoorLines(gpio, gpioConfig, LockController.relayActiveWhen(lockType, true));
  const lock = new LockController({ relay: lines.relay, inputs: lines.inputs, clock, config, logger: silentLogger() });
  const events: LockEvent[] = [];
  lock.onEvent((e) => events.push(e));
  const relay = gpio.out('lock');
  /** Sets an input and lets the debounce settle. */
  const input = (...args: Parameters<FakeGpio['set']>): void => {
    gpio.set(...args);
    clock.advance(DEBOUNCE);
  };
  const types = (): string[] =>
    events.map((e) => [e.type, 'reason' in e ? e.reason : 'alarm' in e ? e.alarm : 'authorised' in e ? String(e.authorised) : ''].filter(Boolean).join(':'));
  const isLocked = (): boolean => relay.read() === LockController.relayActiveWhen(lockType, true);
  return { clock, gpio, lock, events, relay, input, types, isLocked };
}

describe('LockController', () => {
  it('locks on start and emits a started event', () => {
    const t = setup();
    t.lock.start();
    expect(t.isLocked()).toBe(true);
    expect(t.types()).toEqual(['locked:started']);
    expect(t.lock.getState()).toEqual({ state: 'locked', doorOpen: false, alarms: [] });
  });

  it('relocks when the unlock pulse ends if the door was never opened', () => {
    const t = setup();
    t.lock.start();
    expect(t.lock.grant('face')).toBe('unlocked');
    expect(t.isLocked()).toBe(false);
    expect(t.events.at(-1)).toMatchObject({ type: 'unlocked', reason: 'grant', source: 'face' });
    t.clock.advance(PULSE - 1);
    expect(t.isLocked()).toBe(false);
    t.clock.advance(2);
    expect(t.isLocked()).toBe(true);
    expect(t.types()).toEqual(['locked:started', 'unlocked:grant', 'locked:pulse-ended']);
  });

  it('relocks as soon as the door closes after being opened during the pulse', () => {
    const t = setup();
    t.lock.start();
    t.lock.grant('face');
    t.input('door', 'open');
    expect(t.isLocked()).toBe(false);
    t.input('door', 'closed');
    expect(t.isLocked()).toBe(true);
    expect(t.types()).toEqual(['locked:started', 'unlocked:grant', 'door-opened:true', 'door-closed', 'locked:door-closed']);
    t.clock.advance(PULSE);
    expect(t.types()).toHaveLength(5);
    expect(t.clock.pending()).toBe(0);
  });

  it('relocks at the end of the pulse while the door is still open, without a forced-open alarm when it closes', () => {
    const t = setup();
    t.lock.start();
    t.lock.grant('pin');
    t.input('door', 'open');
    t.clock.advance(PULSE);
    expect(t.isLocked()).toBe(true);
    t.input('door', 'closed');
    expect(t.types()).toEqual(['locked:started', 'unlocked:grant', 'door-opened:true', 'locked:pulse-ended', 'door-closed']);
  });

  it('restarts the pulse when a second grant arrives during the first', () => {
    const t = setup();
    t.lock.start();
    t.lock.grant('face');
    t.clock.advance(3_000);
    t.lock.grant('face');
    t.clock.advance(PULSE - 1);
    expect(t.isLocked()).toBe(false);
    t.clock.advance(2);
    expect(t.isLocked()).toBe(true);
  });

  it('gives an unlock pulse when the exit button is pressed', () => {
    const t = setup();
    t.lock.start();
    t.input('exit', 'pressed');
    expect(t.isLocked()).toBe(false);
    expect(t.events.at(-1)).toMatchObject({ type: 'unlocked', reason: 'exit-button', source: null });
    t.input('exit', 'released');
    t.clock.advance(PULSE - DEBOUNCE - 1);
    expect(t.isLocked()).toBe(false);
    t.clock.advance(2);
    expect(t.isLocked()).toBe(true);
  });

  it('takes a remote unlock through the same path as a grant', () => {
    const t = setup();
    t.lock.start();
    expect(t.lock.grant('remote')).toBe('unlocked');
    expect(t.events.at(-1)).toMatchObject({ type: 'unlocked', reason: 'grant', source: 'remote' });
    t.clock.advance(PULSE);
    expect(t.isLocked()).toBe(true);
  });


  it('holds a remote unlock for the duration it asks for instead of the configured pulse', () => {
    const t = setup();
    t.lock.start();
    expect(t.lock.grant('remote', 12_000)).toBe('unlocked');
    t.clock.advance(11_999);
    expect(t.isLocked()).toBe(false);
    t.clock.advance(1);
    expect(t.isLocked()).toBe(true);
    expect(t.types().at(-1)).toBe('locked:pulse-ended');
  });

  it('cuts a requested release longer than maxUnlockMs to maxUnlockMs', () => {
    const t = setup();
    expect(lockConfigSchema.parse({ lockType: 'fail-safe' }).maxUnlockMs).toBe(30_000);
    t.lock.start();
    expect(t.lock.grant('remote', 3_600_000)).toBe('unlocked');
    t.clock.advance(29_999);
    expect(t.isLocked()).toBe(false);
    t.clock.advance(1);
    expect(t.isLocked()).toBe(true);
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY])('refuses a grant asking for a release time of %s and keeps the door locked', (ms) => {
    const t = setup();
    t.lock.start();
    expect(t.lock.grant('remote', ms)).toBe('bad-duration');
    expect(t.isLocked()).toBe(true);
    expect(t.types()).toEqual(['locked:started']);
  });
  it('raises a held-open alarm when the door stays open past the limit and clears it when the door closes', () => {
    const t = setup();
    t.lock.start();
    t.lock.grant('face');
    t.gpio.set('door', 'open');
    t.clock.advance(DEBOUNCE);
    t.clock.advance(HELD - 1);
    expect(t.types()).not.toContain('alarm:held-open');
    t.clock.advance(2);
    expect(t.types()).toContain('alarm:held-open');
    expect(t.lock.getState().alarms).toEqual(['held-open']);
    t.input('door', 'closed');
    expect(t.types().slice(-2)).toEqual(['door-closed', 'alarm-cleared:held-open']);
  });

  it('raises a forced-open alarm when the door opens while locked', () => {
    const t = setup();
    t.lock.start();
    t.input('door', 'open');
    expect(t.types()).toEqual(['locked:started', 'door-opened:false', 'alarm:forced-open']);
    expect(t.isLocked()).toBe(true);
    t.input('door', 'closed');
    expect(t.types().slice(-2)).toEqual(['door-closed', 'alarm-cleared:forced-open']);
  });

  it('ignores door bounce shorter than the debounce time', () => {
    const t = setup();
    t.lock.start();
    t.gpio.set('door', 'open');
    t.clock.advance(DEBOUNCE - 1);
    t.gpio.set('door', 'closed');
    t.clock.advance(DEBOUNCE * 5);
    expect(t.types()).toEqual(['locked:started']);
  });

  it('raises a tamper alarm while the tamper input is active', () => {
    const t = setup();
    t.lock.start();
    t.input('tamper', 'active');
    expect(t.types().at(-1)).toBe('alarm:tamper');
    t.input('tamper', 'inactive');
    expect(t.types().at(-1)).toBe('alarm-cleared:tamper');
  });

  it('releases the lock on fire alarm and holds it released through grants, pulses, door movements and stop', () => {
    const t = setup();
    t.lock.start();
    t.lock.grant('face');
    t.input('fire', 'alarm');
    expect(t.isLocked()).toBe(false);
    expect(t.types().slice(-2)).toEqual(['alarm:fire', 'unlocked:fire']);
    t.clock.advance(PULSE * 2);
    expect(t.isLocked()).toBe(false);
    expect(t.lock.grant('face')).toBe('held-by-fire');
    t.input('door', 'open');
    t.clock.advance(HELD * 2);
    t.input('door', 'closed');
    expect(t.isLocked()).toBe(false);
    expect(t.types()).not.toContain('alarm:forced-open');
    expect(t.types()).not.toContain('alarm:held-open');
    t.lock.stop();
    expect(t.isLocked()).toBe(false);
  });

  it('relocks when the fire alarm clears', () => {
    const t = setup();
    t.lock.start();
    t.input('fire', 'alarm');
    t.input('fire', 'clear');
    expect(t.isLocked()).toBe(true);
    expect(t.types().slice(-2)).toEqual(['alarm-cleared:fire', 'locked:fire-cleared']);
    t.input('door', 'open');
    expect(t.types()).toContain('alarm:forced-open');
  });

  it('starts released when the fire alarm is already active at start', () => {
    const t = setup('fail-safe', (g) => g.set('fire', 'alarm'));
    t.lock.start();
    expect(t.isLocked()).toBe(false);
    expect(t.types()).toEqual(['alarm:fire', 'unlocked:fire']);
  });

  it('starts the held-open timer when the door is already open at start', () => {
    const t = setup('fail-safe', (g) => g.set('door', 'open'));
    t.lock.start();
    t.clock.advance(HELD - 1);
    expect(t.types()).toEqual(['locked:started']);
    t.clock.advance(1);
    expect(t.types()).toEqual(['locked:started', 'alarm:held-open']);
  });

  it('drives the relay with the inverse levels for a fail-secure strike', () => {
    const t = setup('fail-secure');
    t.lock.start();
    expect(t.relay.read()).toBe(false);
    t.lock.grant('card');
    expect(t.relay.read()).toBe(true);
    t.clock.advance(PULSE);
    expect(t.relay.read()).toBe(false);
  });

  it.each([
    ['fail-safe', true],
    ['fail-secure', false],
  ] as const)('leaves a %s lock relocked (relay active: %s) on stop, with no timers left', (lockType, active) => {
    const t = setup(lockType);
    t.lock.start();
    t.lock.grant('face');
    t.input('door', 'open');
    t.lock.stop();
    expect(t.relay.read()).toBe(active);
    expect(t.types().at(-1)).toBe('locked:stopped');
    expect(t.clock.pending()).toBe(0);
    expect(t.lock.grant('face')).toBe('not-running');
    t.input('door', 'closed');
    expect(t.types().at(-1)).toBe('locked:stopped');
  });

  it('reports a release that fails every attempt as a relay-fault event, does not claim the door unlocked, and checks it is still locked', () => {
    const t = setup();
    t.lock.start();
    t.relay.failWrites(3); // relayAttempts: every write of the release fails; the check that follows works
    expect(t.lock.grant('face')).toBe('relay-fault');
    expect(t.events.at(-3)).toMatchObject({ type: 'relay-fault', intended: 'released' });
    // The alarm is raised and cleared again once the relay reads back locked.
    expect(t.types().slice(-2)).toEqual(['alarm:relay-fault', 'alarm-cleared:relay-fault']);
    expect(t.types()).not.toContain('unlocked:grant');
    expect(t.lock.getState()).toMatchObject({ state: 'locked', alarms: [] });
    expect(t.isLocked()).toBe(true);
  });

  it('absorbs a single failed relay write with the next attempt, read back', () => {
    const t = setup();
    t.lock.start();
    t.relay.failNextWrite = new Error('EIO');
    expect(t.lock.grant('face')).toBe('unlocked');
    expect(t.isLocked()).toBe(false);
    expect(t.types()).toEqual(['locked:started', 'unlocked:grant']);
  });

  it('never reports a fail-secure strike locked while its relay is still energised after a failed relock', () => {
    const t = setup('fail-secure');
    t.lock.start();
    t.lock.grant('face');
    expect(t.relay.read()).toBe(true); // energised = released
    t.relay.failNextWrite = new Error('EIO'); // the relock at the end of the pulse fails once
    t.clock.advance(PULSE);
    const { state } = t.lock.getState();
    // Whatever the controller says, it must not say locked while the strike is energised.
    expect(state === 'locked' && t.relay.read()).toBe(false);
    // The write is tried again at once and read back: the door is locked, and says so.
    expect(t.relay.read()).toBe(false);
    expect(state).toBe('locked');
  });

  it('keeps a relock that still fails as a relay-fault alarm, tries again on the clock, and clears it once the relay is read back locked', () => {
    const t = setup('fail-secure');
    t.lock.start();
    t.lock.grant('face');
    t.relay.failWrites(Infinity);
    t.clock.advance(PULSE);
    expect(t.relay.read()).toBe(true); // still energised: the strike is released
    expect(t.lock.getState()).toMatchObject({ state: 'relay-fault', alarms: ['relay-fault'] });
    expect(t.types().slice(-2)).toEqual(['relay-fault', 'alarm:relay-fault']);
    expect(t.events.at(-2)).toMatchObject({ type: 'relay-fault', intended: 'locked' });
    expect(t.types()).not.toContain('locked:pulse-ended');
    const attempts = t.relay.attempts;
    t.relay.failWrites(0);
    t.clock.advance(RETRY - 1);
    expect(t.relay.attempts).toBe(attempts);
    expect(t.lock.getState().state).toBe('relay-fault');
    t.clock.advance(1);
    expect(t.relay.read()).toBe(false);
    expect(t.lock.getState()).toMatchObject({ state: 'locked', alarms: [] });
    expect(t.types().slice(-2)).toEqual(['alarm-cleared:relay-fault', 'locked:relay-recovered']);
  });

  it('reports a relay that stays stuck energised (writes succeed, read-back disagrees) as a relay fault, not as locked', () => {
    const t = setup('fail-secure');
    t.lock.start();
    t.lock.grant('face');
    t.relay.stick(true);
    t.clock.advance(PULSE);
    expect(t.relay.read()).toBe(true);
    expect(t.lock.getState().state).toBe('relay-fault');
    t.clock.advance(RETRY * 3);
    expect(t.lock.getState().state).toBe('relay-fault');
    t.relay.stick(null);
    t.clock.advance(RETRY);
    expect(t.lock.getState().state).toBe('locked');
    expect(t.relay.read()).toBe(false);
  });

  it('keeps trying to release a fail-safe maglock for a fire alarm when the release write fails, and only then says released', () => {
    const t = setup('fail-safe');
    t.lock.start();
    t.relay.failWrites(Infinity);
    t.input('fire', 'alarm');
    expect(t.relay.read()).toBe(true); // still energised: the maglock holds
    expect(t.lock.getState()).toMatchObject({ state: 'relay-fault', alarms: expect.arrayContaining(['fire', 'relay-fault']) as unknown });
    expect(t.types()).not.toContain('unlocked:fire');
    expect(t.events.find((e) => e.type === 'relay-fault')).toMatchObject({ intended: 'released' });
    t.relay.failWrites(0);
    t.clock.advance(RETRY);
    expect(t.relay.read()).toBe(false);
    expect(t.lock.getState()).toMatchObject({ state: 'fire-release', alarms: ['fire'] });
    expect(t.types().slice(-2)).toEqual(['alarm-cleared:relay-fault', 'unlocked:fire']);
  });

  it('still releases for the exit button while a relock keeps failing, and answers a grant it cannot carry out with relay-fault', () => {
    const t = setup('fail-safe');
    t.lock.start();
    t.relay.failWrites(Infinity);
    expect(t.lock.grant('face')).toBe('relay-fault');
    expect(t.relay.read()).toBe(true); // maglock still locked
    expect(t.lock.getState().state).toBe('relay-fault');
    t.relay.failWrites(0);
    t.input('exit', 'pressed');
    expect(t.relay.read()).toBe(false);
    expect(t.lock.getState()).toMatchObject({ state: 'unlocked', alarms: [] });
    expect(t.types().slice(-2)).toEqual(['alarm-cleared:relay-fault', 'unlocked:exit-button']);
  });

  it('keeps delivering events to other listeners when one listener throws', () => {
    const t = setup();
    t.lock.onEvent(() => {
      throw new Error('bad listener');
    });
    t.lock.start();
    t.lock.grant('face');
    expect(t.types()).toEqual(['locked:started', 'unlocked:grant']);
  });

  it('rejects a config without a lock type or with unknown keys', () => {
    expect(() => lockConfigSchema.parse({ unlockPulseMs: 5000 })).toThrow();
    expect(() => lockConfigSchema.parse({ lockType: 'fail-safe', pulse: 1 })).toThrow();
  });
});
