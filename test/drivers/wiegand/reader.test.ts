import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { FakeGpio } from '../../../drivers/gpio/fake';
import { cardBits, keyBits, parseFrame, PinEntry, WiegandReader, wiegandConfigSchema, type PinEntryEvent, type WiegandEvent } from '../../../drivers/wiegand';
import { bitTrain, cardTrain, keysTrain, withRinging, withStray } from '../../../drivers/wiegand/fake-reader';
import { rng } from '../../fixtures/random';

function reader(over: Partial<{ frameEndMs: number; minBitIntervalMs: number; maxBits: number }> = {}) {
  const clock = new FakeClock();
  const gpio = new FakeGpio(clock);
  const config = wiegandConfigSchema.parse({ d0: { line: 5 }, d1: { line: 6 }, ...over });
  const r = new WiegandReader(gpio, clock, config, silentLogger());
  const frames: WiegandEvent[] = [];
  r.onFrame((e) => frames.push(e));
  r.start();
  return { clock, gpio, r, frames, config };
}

const strip = (e: WiegandEvent | undefined): unknown => (e ? { ...e, at: undefined } : e);

describe('Wiegand frames', () => {
  it('reads a 26-bit card (H10301): facility and number, both parities right', () => {
    expect(parseFrame(cardBits(26, 123, 45678))).toEqual({ kind: 'card', format: 26, facility: 123, number: 45678 });
  });

  it('reads a 34-bit card (H10306) with a 16-bit facility', () => {
    expect(parseFrame(cardBits(34, 40000, 65535))).toEqual({ kind: 'card', format: 34, facility: 40000, number: 65535 });
  });

  it('refuses a card whose even parity bit, odd parity bit or any data bit was flipped', () => {
    const bits = cardBits(26, 123, 45678);
    for (const i of [0, 5, 17, 25]) {
      const b = [...bits];
      b[i] = 1 - (b[i] ?? 0);
      expect(parseFrame(b)).toEqual({ kind: 'error', reason: 'parity', bits: 26 });
    }
  });

  it('reads 4-bit and 8-bit keys, and refuses an 8-bit key whose complement nibble is wrong', () => {
    expect(parseFrame(keyBits(4, '7'))).toEqual({ kind: 'key', format: 4, key: '7' });
    expect(parseFrame(keyBits(4, '#'))).toEqual({ kind: 'key', format: 4, key: '#' });
    expect(parseFrame(keyBits(8, '*'))).toEqual({ kind: 'key', format: 8, key: '*' });
    const bad = keyBits(8, '5');
    bad[0] = 1 - (bad[0] ?? 0);
    expect(parseFrame(bad)).toEqual({ kind: 'error', reason: 'parity', bits: 8 });
    expect(parseFrame([1, 1, 1, 1])).toEqual({ kind: 'error', reason: 'parity', bits: 4 }); // 15 is no key
  });

  it('refuses frames of any other length', () => {
    expect(parseFrame(new Array(27).fill(0))).toEqual({ kind: 'error', reason: 'length', bits: 27 });
  });
});

describe('WiegandReader on the fake GPIO', () => {
  it('decodes a card played with 2 ms bits and 30% jitter, at the inter-bit timeout: 1 ms before nothing, 1 ms after the card', () => {
    const s = reader();
    const last = s.gpio.play(cardTrain(26, 12, 3456, { intervalMs: 2, jitter: 0.3, random: rng(1) }));
    s.clock.advance(last + s.config.frameEndMs - 1);
    expect(s.frames).toEqual([]);
    s.clock.advance(2);
    expect(s.frames.map(strip)).toEqual([{ kind: 'card', format: 26, facility: 12, number: 3456, at: undefined }]);
  });

  it('decodes a slow reader (19 ms between bits), and splits a frame whose bits stop for longer than the timeout', () => {
    const s = reader();
    s.clock.advance(s.gpio.play(cardTrain(34, 7, 9, { intervalMs: 19 })) + 30);
    expect(s.frames.map(strip)).toEqual([{ kind: 'card', format: 34, facility: 7, number: 9, at: undefined }]);
    const t = reader();
    const bits = cardBits(26, 1, 2);
    const train = [...bitTrain(bits.slice(0, 10)), ...bitTrain(bits.slice(10), { startMs: 18 + 26 })];
    t.clock.advance(t.gpio.play(train) + 30);
    expect(t.frames.map((f) => f.kind === 'error' && f.reason)).toEqual(['length', 'length']);
  });

  it('ignores ringing on an edge (a second pulse on the same line 10 us later) and still reads the card', () => {
    const s = reader();
    const rand = rng(2);
    const train = withRinging(cardTrain(26, 200, 1000, { intervalMs: 1, jitter: 0.2, random: rand }), 0.3, rand);
    expect(train.length).toBeGreaterThan(26);
    s.clock.advance(s.gpio.play(train) + 30);
    expect(s.frames.map(strip)).toEqual([{ kind: 'card', format: 26, facility: 200, number: 1000, at: undefined }]);
    expect(s.r.ringing).toBe(train.length - 26);
  });

  it('refuses a frame with a stray pulse between two bits (27 bits), and one with pulses on both lines at once (noise)', () => {
    const s = reader();
    s.clock.advance(s.gpio.play(withStray(cardTrain(26, 5, 6, { intervalMs: 2 }), 'wiegand.d1', 7)) + 30);
    expect(s.frames.map(strip)).toEqual([{ kind: 'error', reason: 'length', bits: 27, at: undefined }]);
    const t = reader();
    t.clock.advance(t.gpio.play(withStray(cardTrain(26, 5, 6, { intervalMs: 2 }), 'wiegand.d1', 8.05)) + 30);
    expect(t.frames.map(strip)).toEqual([{ kind: 'error', reason: 'noise', bits: 27, at: undefined }]);
  });

  it('refuses a card whose parity a flipped bit on the cable broke (a 1 sent as 0)', () => {
    const s = reader();
    const bits = cardBits(26, 99, 12345);
    bits[3] = 1 - (bits[3] ?? 0);
    s.clock.advance(s.gpio.play(bitTrain(bits, { intervalMs: 2, jitter: 0.3, random: rng(3) })) + 30);
    expect(s.frames.map(strip)).toEqual([{ kind: 'error', reason: 'parity', bits: 26, at: undefined }]);
  });

  it('refuses an endless train as too long once it stops', () => {
    const s = reader({ maxBits: 40 });
    s.clock.advance(s.gpio.play(bitTrain(new Array(100).fill(1))) + 30);
    expect(s.frames.map(strip)).toEqual([{ kind: 'error', reason: 'length', bits: 41, at: undefined }]);
  });

  it('reads typed keys as one frame each (8-bit keypad, 300 ms between keys)', () => {
    const s = reader();
    s.clock.advance(s.gpio.play(keysTrain(8, '1234#', { intervalMs: 1.5, jitter: 0.2, random: rng(4) })) + 30);
    expect(s.frames.map((f) => (f.kind === 'key' ? f.key : f.kind))).toEqual(['1', '2', '3', '4', '#']);
  });

  it('hears nothing after stop()', () => {
    const s = reader();
    s.r.stop();
    s.clock.advance(s.gpio.play(cardTrain(26, 1, 1)) + 30);
    expect(s.frames).toEqual([]);
  });
});

describe('PinEntry', () => {
  function entry() {
    const clock = new FakeClock();
    const out: PinEntryEvent[] = [];
    const p = new PinEntry(clock, () => ({ entryTimeoutMs: 10_000, minDigits: 4, maxDigits: 8 }), (e) => out.push(e));
    return { clock, p, out, type: (s: string) => [...s].forEach((k) => p.key(k as never)) };
  }

  it("gives the digits typed before '#', and '*' starts again", () => {
    const e = entry();
    e.type('99*4821#');
    expect(e.out).toEqual([{ kind: 'entry', digits: '4821', at: e.clock.now() }]);
  });

  it('drops what was typed when no key follows within the timeout: 1 ms before it still waits', () => {
    const e = entry();
    e.type('482');
    e.clock.advance(9_999);
    expect(e.out).toEqual([]);
    e.type('1');
    e.clock.advance(9_999);
    e.type('#');
    expect(e.out.map((x) => x.kind)).toEqual(['entry']);
    e.type('12');
    e.clock.advance(10_000);
    expect(e.out[1]).toMatchObject({ kind: 'abandoned', reason: 'timeout' });
    expect(e.p.pending()).toBe(false);
  });

  it('refuses entries shorter or longer than allowed', () => {
    const e = entry();
    e.type('123#123456789#');
    expect(e.out.map((x) => x.kind === 'abandoned' && x.reason)).toEqual(['too-short', 'too-long']);
  });
});
