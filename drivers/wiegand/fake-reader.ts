/**
 * Pulse trains as a real reader sends them, for the fake GPIO (drivers/gpio/fake.ts `play`): a bit every
 * `intervalMs` with jitter, and the noise a cable picks up (stray pulses, ringing on an edge). Seeded,
 * so a test that fails fails again.
 */
import type { TrainPulse } from '../gpio/fake';
import { cardBits, keyBits, type WiegandKey } from './frame';

export interface TrainOptions {
  /** Time between bits (readers: 1-2 ms typical, 0.2-20 ms allowed). */
  intervalMs?: number;
  /** Each interval varies by up to this fraction either way (uniform). */
  jitter?: number;
  /** Uniform random numbers in [0, 1) (seeded in tests). */
  random?: () => number;
  /** When the first bit comes, ms after the train starts. */
  startMs?: number;
  names?: { d0: string; d1: string };
}

export function bitTrain(bits: readonly number[], opts: TrainOptions = {}): TrainPulse[] {
  const interval = opts.intervalMs ?? 2;
  const jitter = opts.jitter ?? 0;
  const rand = opts.random ?? Math.random;
  const names = opts.names ?? { d0: 'wiegand.d0', d1: 'wiegand.d1' };
  const out: TrainPulse[] = [];
  let t = opts.startMs ?? 0;
  for (const b of bits) {
    out.push({ line: b === 1 ? names.d1 : names.d0, atMs: t });
    t += interval * (1 + jitter * (2 * rand() - 1));
  }
  return out;
}

export const cardTrain = (format: 26 | 34, facility: number, number: number, opts: TrainOptions = {}): TrainPulse[] =>
  bitTrain(cardBits(format, facility, number), opts);

/** Keys one after another (`gapMs` apart: a person typing), each its own frame. */
export function keysTrain(format: 4 | 8, keys: string, opts: TrainOptions & { gapMs?: number } = {}): TrainPulse[] {
  const out: TrainPulse[] = [];
  let t = opts.startMs ?? 0;
  for (const k of keys) {
    const train = bitTrain(keyBits(format, k as WiegandKey), { ...opts, startMs: t });
    out.push(...train);
    t = (train[train.length - 1]?.atMs ?? t) + (opts.gapMs ?? 300);
  }
  return out;
}

/** Adds ringing: a second pulse `afterMs` after some pulses, on the same line (share `p`). */
export function withRinging(train: readonly TrainPulse[], p: number, random: () => number, afterMs = 0.01): TrainPulse[] {
  return train.flatMap((x) => (random() < p ? [x, { line: x.line, atMs: x.atMs + afterMs }] : [x]));
}

/** Adds one stray pulse on `line` at `atMs` (interference on the cable). */
export function withStray(train: readonly TrainPulse[], line: string, atMs: number): TrainPulse[] {
  return [...train, { line, atMs }].sort((a, b) => a.atMs - b.atMs);
}
