/**
 * Near-infrared evidence. Many terminals have an NIR camera (with an 850 nm illuminator) beside the colour
 * one. Under NIR, skin reflects strongly and shows texture; a phone or monitor emits no NIR, so a face on
 * a screen is dark; a print reflects NIR as flat paper, with little of the skin's texture. This file
 * measures those two things on the face region of one NIR frame. The thresholds are placeholders, not
 * calibrated on a real NIR camera (none is available here); see the README.
 */
import type { Box } from '../nms';

/** One NIR frame: 8-bit gray, rows without padding. */
export interface IrFrame {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface IrObservation {
  frame: IrFrame;
  /** Face box in IR pixels; when absent the colour box is used (cameras registered to the same view). */
  box?: Box;
}

export interface IrCues {
  /** Mean NIR level of the central face, 0..255. */
  level: number;
  /** Face level minus the level of a ring around it. */
  contrast: number;
  /** Local texture: mean absolute difference between horizontal neighbours in the face, 0..255. */
  texture: number;
}

function mean(f: IrFrame, x0: number, y0: number, x1: number, y1: number, inner?: [number, number, number, number]): { mean: number; texture: number } {
  const xa = Math.max(0, Math.floor(x0)), ya = Math.max(0, Math.floor(y0));
  const xb = Math.min(f.width - 1, Math.ceil(x1)), yb = Math.min(f.height - 1, Math.ceil(y1));
  let s = 0, n = 0, tex = 0, tn = 0;
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      if (inner && x >= inner[0] && x <= inner[2] && y >= inner[1] && y <= inner[3]) continue;
      const v = f.data[y * f.width + x] as number;
      s += v;
      n++;
      if (x > xa) {
        tex += Math.abs(v - (f.data[y * f.width + x - 1] as number));
        tn++;
      }
    }
  }
  return { mean: n ? s / n : 0, texture: tn ? tex / tn : 0 };
}

export function irCues(f: IrFrame, box: Box): IrCues {
  const w = box[2] - box[0], h = box[3] - box[1];
  const inner: [number, number, number, number] = [box[0] + w * 0.2, box[1] + h * 0.2, box[2] - w * 0.2, box[3] - h * 0.2];
  const face = mean(f, ...inner);
  const ring = mean(f, box[0] - w * 0.5, box[1] - h * 0.3, box[2] + w * 0.5, box[3] + h * 0.3, [box[0], box[1], box[2], box[3]]);
  return { level: face.mean, contrast: face.mean - ring.mean, texture: face.texture };
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Probability-like IR liveness: lit (reflects NIR) and textured (skin, not paper). */
export function irLiveness(c: IrCues): number {
  return sigmoid((c.level - 50) / 10) * sigmoid((c.texture - 3) / 1);
}
