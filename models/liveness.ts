/**
 * Passive liveness (fr_liveness). One weak signal only: measured on this model, it does not separate
 * real faces from simple fakes (see README). The crop is the face box enlarged 2.7x, shifted to stay
 * inside the frame, resized to 128x128, raw 0..255 values in B,G,R planes (measured on the liveness
 * evaluation: per-frame AUC 0.90 with B,G,R against 0.69 with R,G,B; class 0 means live).
 */
import type { Box } from './nms';
import { type RawFrame, type Rect, sampleRegion } from './image';
import type { LoadedModel } from './session';

const SIZE = 128;
const ENLARGE = 2.7;

export function livenessCrop(box: Box, frameW: number, frameH: number): Rect {
  const bw = box[2] - box[0];
  const bh = box[3] - box[1];
  const scale = Math.min((frameH - 1) / bh, (frameW - 1) / bw, ENLARGE);
  const w = bw * scale;
  const h = bh * scale;
  let x = (box[0] + box[2]) / 2 - w / 2;
  let y = (box[1] + box[3]) / 2 - h / 2;
  // shift (not shrink) to stay inside the frame
  x = Math.min(Math.max(0, x), frameW - 1 - w);
  y = Math.min(Math.max(0, y), frameH - 1 - h);
  return { x: Math.max(0, x), y: Math.max(0, y), w, h };
}

export interface LivenessScore {
  /** Probability of the class calibrated as "live". */
  live: number;
  probs: [number, number, number];
}

export class LivenessModel {
  private readonly buf = new Float32Array(3 * SIZE * SIZE);

  constructor(
    private readonly model: LoadedModel,
    /** Index of the class that means "live", chosen by calibration (see README, liveness). */
    private readonly liveClass = 0,
  ) {}

  async score(frame: RawFrame, box: Box): Promise<LivenessScore> {
    const crop = livenessCrop(box, frame.width, frame.height);
    const input = sampleRegion(frame, crop, SIZE, SIZE, 'bgr', { sub: 0, mul: 1 }, this.buf);
    const logits = (await this.model.run(input))['output'] as Float32Array;
    const probs = softmax(logits) as [number, number, number];
    return { live: probs[this.liveClass] ?? 0, probs };
  }
}

export function softmax(v: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) max = Math.max(max, v[i] as number);
  const e: number[] = [];
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    const x = Math.exp((v[i] as number) - max);
    e.push(x);
    s += x;
  }
  return e.map((x) => x / s);
}
