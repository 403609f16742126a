import { FakeClock } from '../../../core/clock';
import { gpioConfigSchema, openDoorLines } from '../../../drivers/gpio';
import { FakeGpio } from '../../../drivers/gpio/fake';

const config = gpioConfigSchema.parse({
  outputs: { lock: { line: 17 }, buzzer: { line: 27, activeLow: true } },
  inputs: { door: { line: 22, debounceMs: 50 }, exit: { line: 23, debounceMs: 0 } },
});

describe('FakeGpio', () => {
  it('reports an input change only after the level has been stable for the debounce time', () => {
    const clock = new FakeClock();
    const gpio = new FakeGpio(clock);
    const lines = openDoorLines(gpio, config, true);
    const seen: boolean[] = [];
    lines.inputs.door?.onChange((v) => seen.push(v));
    gpio.set('door', 'open');
    clock.advance(49);
    expect(seen).toEqual([]);
    expect(lines.inputs.door?.read()).toBe(false);
    clock.advance(1);
    expect(seen).toEqual([true]);
    expect(lines.inputs.door?.read()).toBe(true);
  });

  it('ignores contact bounce shorter than the debounce time', () => {
    const clock = new FakeClock();
    const gpio = new FakeGpio(clock);
    const lines = openDoorLines(gpio, config, true);
    const seen: boolean[] = [];
    lines.inputs.door?.onChange((v) => seen.push(v));
    for (let i = 0; i < 5; i++) {
      gpio.set('door', 'open');
      clock.advance(10);
      gpio.set('door', 'closed');
      clock.advance(10);
    }
    clock.advance(100);
    expect(seen).toEqual([]);
  });

  it('reports at once when the debounce time is zero', () => {
    const clock = new FakeClock();
    const gpio = new FakeGpio(clock);
    const lines = openDoorLines(gpio, config, true);
    const seen: boolean[] = [];
    lines.inputs.exit?.onChange((v) => seen.push(v));
    gpio.set('exit', 'pressed');
    gpio.set('exit', 'released');
    expect(seen).toEqual([true, false]);
  });

  it('opens only the configured lines, outputs in their initial state, and records writes with time', () => {
    const clock = new FakeClock();
    const gpio = new FakeGpio(clock);
    const lines = openDoorLines(gpio, config, true);
    expect(Object.keys(lines.inputs).sort()).toEqual(['door', 'exit']);
    expect(lines.led).toBeUndefined();
    expect(lines.relay.read()).toBe(true);
    expect(lines.buzzer?.read()).toBe(false);
    clock.advance(5);
    lines.relay.write(false);
    expect(gpio.out('lock').writes).toEqual([{ at: 5, active: false }]);
  });

  it('starts an input in a state scripted before the line was opened', () => {
    const clock = new FakeClock();
    const gpio = new FakeGpio(clock);
    gpio.set('door', 'open');
    const lines = openDoorLines(gpio, config, true);
    expect(lines.inputs.door?.read()).toBe(true);
  });

  it('rejects unknown config keys', () => {
    expect(() => gpioConfigSchema.parse({ outputs: { lock: { line: 1, pin: 2 } } })).toThrow();
  });
});
