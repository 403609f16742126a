/**
 * Eye state: fr_eye's probability that each eye is open (a square crop around the eye from the 68
 * landmarks), plus the eye aspect ratio of the landmarks themselves, and the blink gate that combines
 * them over a face track.
 *
 * Why both, and why over a track: fr_eye reads open eyes behind glasses and narrow eyes as closed
 * (open probability 0.00-0.11 on frontal, open-eyed faces of Chinese men; issue 17), and the landmark
 * model's eye aspect ratio of a narrow open eye (0.17-0.19 measured) is as low as a blink's (0.17-0.22).
 * Neither tells a narrow open eye from a closed one in one frame. Over a track they do: in a blink the
 * eye model reads closed *and* the aspect ratio falls well below what the same face showed while the
 * model read its eyes open (franck.mp4: 0.35 -> 0.18-0.20; the other man's webcam video: 0.26 -> 0.17).
 * A face whose eyes the model never reads open has no such baseline and is never refused for its eyes.
 */
import { type RawFrame, type Rect, sampleRegion } from './image';
import { softmax } from './liveness';
import type { LoadedModel } from './session';

const SIZE = 24;
const PADDING = 1.6;

/** Square eye crop: centre = mean of the lid points, side = 1.6 x the corner-to-corner width. */
export function eyeCrop(lm: ArrayLike<number>, which: 'left' | 'right'): Rect {
  const [c0, lids, c1] = which === 'left' ? [36, [37, 38, 40, 41], 39] : [42, [43, 44, 46, 47], 45];
  let cx = 0, cy = 0;
  for (const i of lids) {
    cx += lm[2 * i] as number;
    cy += lm[2 * i + 1] as number;
  }
  cx /= lids.length;
  cy /= lids.length;
  const side = Math.max(2, ((lm[2 * c1] as number) - (lm[2 * c0] as number)) * PADDING);
  return { x: cx - side / 2, y: cy - side / 2, w: side, h: side };
}

/**
 * Eye aspect ratio of one eye (Soukupova and Cech, 2016): the two lid gaps (37-41, 38-40 for the left
 * eye, 0-based) over twice the corner-to-corner width (36-39). 0 when the width is 0.
 */
export function eyeAspectRatio(lm: ArrayLike<number>, which: 'left' | 'right'): number {
  const [c0, u1, u2, c1, l2, l1] = which === 'left' ? [36, 37, 38, 39, 40, 41] : [42, 43, 44, 45, 46, 47];
  const d = (a: number, b: number): number => Math.hypot((lm[2 * a] as number) - (lm[2 * b] as number), (lm[2 * a + 1] as number) - (lm[2 * b + 1] as number));
  const width = d(c0, c1);
  return width > 0 ? (d(u1, l1) + d(u2, l2)) / (2 * width) : 0;
}

export interface EyeState {
  /** fr_eye's probability that the eye is open, 0..1. */
  leftOpen: number;
  rightOpen: number;
  /** Mean eye aspect ratio of both eyes from the 68 landmarks (no model run). */
  aspect: number;
}

export interface BlinkGateOptions {
  /** An eye reads closed to fr_eye when its open probability is below this. */
  minEyeOpen: number;
  /**
   * A frame counts as eyes-closed only when its aspect ratio is at least this fraction below the track's
   * open-eye baseline (median aspect of the frames where fr_eye read at least one eye open: it misreads
   * one eye of some faces as closed in every frame).
   */
  aspectDrop: number;
}

export const DEFAULT_BLINK_GATE: BlinkGateOptions = { minEyeOpen: 0.5, aspectDrop: 0.2 };

/**
 * Eyes-closed frames of one face track: fr_eye reads both eyes closed AND the landmarks' aspect ratio has
 * dropped by `aspectDrop` below the same face's open-eye baseline seen earlier in the track. Before any
 * open reading there is no baseline and no frame is refused. One instance per track; pure (no model).
 */
export class BlinkGate {
  private readonly openAspects: number[] = [];

  constructor(private readonly opts: BlinkGateOptions = DEFAULT_BLINK_GATE) {}

  /** The open-eye baseline so far (null until fr_eye has read an eye open once). */
  get baseline(): number | null {
    if (this.openAspects.length === 0) return null;
    const s = [...this.openAspects].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
  }

  /** Feeds one frame's eye state; true when this frame's eyes are closed (a blink: not usable). */
  observe(eyes: EyeState | null): boolean {
    if (!eyes || !Number.isFinite(eyes.aspect)) return false;
    const t = this.opts;
    if (eyes.leftOpen >= t.minEyeOpen || eyes.rightOpen >= t.minEyeOpen) {
      this.openAspects.push(eyes.aspect);
      return false;
    }
    const base = this.baseline;
    return base !== null && eyes.aspect <= base * (1 - t.aspectDrop);
  }
}

export class EyeModel {
  private readonly buf = new Float32Array(SIZE * SIZE);

  constructor(private readonly model: LoadedModel) {}

  async state(frame: RawFrame, lm: ArrayLike<number>): Promise<EyeState> {
    return {
      leftOpen: await this.openness(frame, eyeCrop(lm, 'left')),
      rightOpen: await this.openness(frame, eyeCrop(lm, 'right')),
      aspect: (eyeAspectRatio(lm, 'left') + eyeAspectRatio(lm, 'right')) / 2,
    };
  }

  private async openness(frame: RawFrame, crop: Rect): Promise<number> {
    const input = sampleRegion(frame, crop, SIZE, SIZE, 'gray', { sub: 0, mul: 1 / 255 }, this.buf);
    const p = softmax((await this.model.run(input))['output'] as Float32Array);
    // class 0 = closed, class 1 = open
    return p[1] ?? 0;
  }
}
