/** Eye state (fr_eye): a square crop around each eye from the 68 landmarks -> probability open. */
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

export interface EyeState {
  leftOpen: number;
  rightOpen: number;
}

export class EyeModel {
  private readonly buf = new Float32Array(SIZE * SIZE);

  constructor(private readonly model: LoadedModel) {}

  async state(frame: RawFrame, lm: ArrayLike<number>): Promise<EyeState> {
    return { leftOpen: await this.openness(frame, eyeCrop(lm, 'left')), rightOpen: await this.openness(frame, eyeCrop(lm, 'right')) };
  }

  private async openness(frame: RawFrame, crop: Rect): Promise<number> {
    const input = sampleRegion(frame, crop, SIZE, SIZE, 'gray', { sub: 0, mul: 1 / 255 }, this.buf);
    const p = softmax((await this.model.run(input))['output'] as Float32Array);
    // class 0 = closed, class 1 = open
    return p[1] ?? 0;
  }
}
