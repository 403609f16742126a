/** 68-point landmarks (fr_landmark) on a square crop around the face box. */
import type { Box } from './nms';
import { type RawFrame, type Rect, sampleRegion } from './image';
import type { LoadedModel } from './session';

const SIZE = 64;

/** The square crop the landmark model sees: centred on the box, side = the box's larger side. */
export function landmarkCrop(box: Box): Rect {
  const w = box[2] - box[0];
  const h = box[3] - box[1];
  const side = Math.max(w, h);
  const cx = (box[0] + box[2]) / 2;
  const cy = (box[1] + box[3]) / 2;
  return { x: cx - side / 2, y: cy - side / 2, w: side, h: side };
}

export class LandmarkModel {
  private readonly buf = new Float32Array(SIZE * SIZE);

  constructor(private readonly model: LoadedModel) {}

  /** 136 numbers, interleaved x,y, in frame pixels. */
  async landmarks(frame: RawFrame, box: Box): Promise<Float32Array> {
    const crop = landmarkCrop(box);
    const input = sampleRegion(frame, crop, SIZE, SIZE, 'gray', { sub: 0, mul: 1 / 256 }, this.buf);
    const out = (await this.model.run(input))['output'] as Float32Array;
    const pts = new Float32Array(136);
    for (let i = 0; i < 68; i++) {
      pts[2 * i] = crop.x + (out[2 * i] as number) * crop.w;
      pts[2 * i + 1] = crop.y + (out[2 * i + 1] as number) * crop.h;
    }
    return pts;
  }
}
