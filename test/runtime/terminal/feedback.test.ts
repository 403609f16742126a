import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { FakeGpio } from '../../../drivers/gpio/fake';
import type { LockEvent } from '../../../drivers/lock';
import { ConfigSchema } from '../../../runtime/config';
import { Feedback } from '../../../runtime/terminal/feedback';

type LockEventBody = LockEvent extends infer E ? (E extends LockEvent ? Omit<E, 'at'> : never) : never;

const config = ConfigSchema.shape.feedback.parse({ grantBeepMs: 200, denyBeeps: 2, denyBlinks: 3, denyToneMs: 100, alarmOnMs: 500, alarmOffMs: 300 });

function setup() {
  const clock = new FakeClock();
  const gpio = new FakeGpio(clock);
  const buzzer = gpio.output('buzzer', { line: 27, activeLow: false }, false);
  const led = gpio.output('led', { line: 22, activeLow: false }, false);
  const fb = new Feedback({ buzzer, led, clock, log: silentLogger(), config });
  fb.start();
  const lock = (e: LockEventBody): void => fb.onLock({ ...e, at: clock.now() });
  return { clock, buzzer, led, fb, lock };
}

describe('Feedback (buzzer and status LED)', () => {
  it('beeps once for grantBeepMs when the door is released for a grant', () => {
    const s = setup();
    s.fb.granted();
    expect(s.buzzer.read()).toBe(true);
    s.clock.advance(199);
    expect(s.buzzer.read()).toBe(true);
    s.clock.advance(1);
    expect(s.buzzer.read()).toBe(false);
    s.clock.advance(10_000);
    expect(s.buzzer.writes.map((w) => w.active)).toEqual([true, false]);
  });

  it('lights the LED while the door is released and puts it out when it locks', () => {
    const s = setup();
    s.lock({ type: 'unlocked', reason: 'exit-button', source: null });
    expect(s.led.read()).toBe(true);
    s.lock({ type: 'locked', reason: 'pulse-ended' });
    expect(s.led.read()).toBe(false);
  });

  it('sounds the alarm pattern while a door alarm lasts, over a grant beep, and stops when the last alarm clears', () => {
    const s = setup();
    s.lock({ type: 'alarm', alarm: 'forced-open' });
    s.lock({ type: 'alarm', alarm: 'tamper' });
    expect(s.buzzer.read()).toBe(true);
    s.fb.granted(); // a beep does not interrupt the alarm
    s.clock.advance(499);
    expect(s.buzzer.read()).toBe(true);
    s.clock.advance(1);
    expect(s.buzzer.read()).toBe(false);
    s.clock.advance(300);
    expect(s.buzzer.read()).toBe(true);
    s.lock({ type: 'alarm-cleared', alarm: 'forced-open' });
    expect(s.buzzer.read()).toBe(true); // tamper still active
    s.lock({ type: 'alarm-cleared', alarm: 'tamper' });
    expect(s.buzzer.read()).toBe(false);
    s.clock.advance(5_000);
    expect(s.buzzer.read()).toBe(false);
  });

  it('does not sound for the fire alarm (the building has its own sounders) but lights the LED for the release', () => {
    const s = setup();
    s.lock({ type: 'alarm', alarm: 'fire' });
    s.lock({ type: 'unlocked', reason: 'fire', source: null });
    s.clock.advance(2_000);
    expect(s.buzzer.writes).toEqual([]);
    expect(s.led.read()).toBe(true);
  });

  it('keeps going when an indicator line cannot be written, and leaves both lines off on stop', () => {
    const s = setup();
    s.buzzer.failWrites(1);
    expect(() => s.fb.denied()).not.toThrow();
    s.clock.advance(100);
    expect(s.led.read()).toBe(false); // the LED blinks on its own line
    s.clock.advance(100);
    expect(s.buzzer.read()).toBe(true); // the second beep
    expect(s.led.read()).toBe(true);
    s.fb.stop();
    expect(s.buzzer.read()).toBe(false);
    expect(s.led.read()).toBe(false);
    s.clock.advance(10_000);
    expect(s.buzzer.read()).toBe(false);
  });
});
