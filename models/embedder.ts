/** Face embedding (fr_feature, MobileFaceNet): aligned 112x112 face -> L2-normalised 512-d vector. */
import { ARCFACE_TEMPLATE, invertAffine, type Point, umeyama } from './align';
import { type RawFrame, warpToPlanar } from './image';
import type { LoadedModel } from './session';

const SIZE = 112;
export const EMBEDDING_DIM = 512;

export class Embedder {
  private readonly buf = new Float32Array(3 * SIZE * SIZE);

  constructor(private readonly model: LoadedModel) {}

  get modelId(): string {
    return this.model.entry.id;
  }

  async embed(frame: RawFrame, five: readonly Point[]): Promise<Float32Array> {
    const toTemplate = umeyama(five, ARCFACE_TEMPLATE);
    const input = warpToPlanar(frame, invertAffine(toTemplate), SIZE, SIZE, 'rgb', { sub: 127, mul: 1 / 128 }, this.buf);
    const raw = (await this.model.run(input))['output'] as Float32Array;
    return l2normalise(raw);
  }
}

export function l2normalise(v: Float32Array): Float32Array {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) * (v[i] as number);
  const n = Math.sqrt(s);
  const out = new Float32Array(v.length);
  if (n === 0) return out;
  for (let i = 0; i < v.length; i++) out[i] = (v[i] as number) / n;
  return out;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number, y = b[i] as number;
    dot += x * y; na += x * x; nb += y * y;
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}
