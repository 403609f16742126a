/**
 * Wiegand frames: the bits a reader sends for one card or one key, and what they mean. Pure functions.
 *
 *   26 bits  P FFFFFFFF NNNNNNNNNNNNNNNN P   even parity over bits 1-12, odd over bits 13-24 (H10301)
 *   34 bits  P FFFF..16 NNNN..16 P           even parity over bits 1-16, odd over bits 17-32 (H10306)
 *    4 bits  the key: 0-9, 10 = '*', 11 = '#'                          (keypad, "4-bit burst")
 *    8 bits  the key in the low nibble, its complement in the high one (keypad, "8-bit burst")
 *
 * Bits are in transmission order (first bit first; most significant first within each field).
 */

export type WiegandKey = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#';

export type WiegandFrame =
  | { kind: 'card'; format: 26 | 34; facility: number; number: number }
  | { kind: 'key'; format: 4 | 8; key: WiegandKey }
  | { kind: 'error'; reason: 'parity' | 'length' | 'noise'; bits: number };

const KEYS: readonly WiegandKey[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#'];

function value(bits: readonly number[], from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) v = v * 2 + (bits[i] ?? 0);
  return v;
}

function ones(bits: readonly number[], from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n += bits[i] ?? 0;
  return n;
}

/** Reads one frame. A frame the reader marked as noisy (`noisy`) is an error whatever its bits. */
export function parseFrame(bits: readonly number[], noisy = false): WiegandFrame {
  if (noisy) return { kind: 'error', reason: 'noise', bits: bits.length };
  switch (bits.length) {
    case 26:
    case 34: {
      const n = bits.length;
      const half = (n - 2) / 2;
      const evenOk = ((bits[0] ?? 0) + ones(bits, 1, 1 + half)) % 2 === 0;
      const oddOk = ((bits[n - 1] ?? 0) + ones(bits, 1 + half, n - 1)) % 2 === 1;
      if (!evenOk || !oddOk) return { kind: 'error', reason: 'parity', bits: n };
      const facilityBits = n === 26 ? 8 : 16;
      return { kind: 'card', format: n, facility: value(bits, 1, 1 + facilityBits), number: value(bits, 1 + facilityBits, n - 1) };
    }
    case 4: {
      const key = KEYS[value(bits, 0, 4)];
      return key ? { kind: 'key', format: 4, key } : { kind: 'error', reason: 'parity', bits: 4 };
    }
    case 8: {
      const hi = value(bits, 0, 4);
      const lo = value(bits, 4, 8);
      const key = KEYS[lo];
      return key && hi === (~lo & 0xf) ? { kind: 'key', format: 8, key } : { kind: 'error', reason: 'parity', bits: 8 };
    }
    default:
      return { kind: 'error', reason: 'length', bits: bits.length };
  }
}

/** The bits a reader sends for a card (facility and number within the format's ranges). */
export function cardBits(format: 26 | 34, facility: number, number: number): number[] {
  const fBits = format === 26 ? 8 : 16;
  if (!Number.isInteger(facility) || facility < 0 || facility >= 2 ** fBits) throw new RangeError(`facility code out of range for ${format} bits`);
  if (!Number.isInteger(number) || number < 0 || number >= 2 ** 16) throw new RangeError('card number out of range (16 bits)');
  const payload = [...toBits(facility, fBits), ...toBits(number, 16)];
  const half = payload.length / 2;
  const even = ones(payload, 0, half) % 2;
  const odd = 1 - (ones(payload, half, payload.length) % 2);
  return [even, ...payload, odd];
}

/** The bits a keypad sends for one key. */
export function keyBits(format: 4 | 8, key: WiegandKey): number[] {
  const v = KEYS.indexOf(key);
  return format === 4 ? toBits(v, 4) : [...toBits(~v & 0xf, 4), ...toBits(v, 4)];
}

function toBits(v: number, n: number): number[] {
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(Math.floor(v / 2 ** i) % 2);
  return out;
}
