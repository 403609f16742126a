/** Head pose (fr_pose): yaw, pitch, roll in degrees from 66-bin classifiers (expectation*3-99). */
import type { Box } from './nms';
import { type RawFrame, sampleRegion } from './image';
import { softmax } from './liveness';
import type { LoadedModel } from './session';

const SIZE = 224;

export interface HeadPose {
  yaw: number;
  pitch: number;
  roll: number;
}

export class PoseModel {
  private readonly buf = new Float32Array(3 * SIZE * SIZE);

  constructor(private readonly model: LoadedModel) {}

  async pose(frame: RawFrame, box: Box): Promise<HeadPose> {
    const w = box[2] - box[0];
    const h = box[3] - box[1];
    const region = { x: box[0] - w / 4, y: box[1] - h / 4, w: w * 1.5, h: h * 1.5 };
    const input = sampleRegion(frame, region, SIZE, SIZE, 'rgb', { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }, this.buf);
    const out = await this.model.run(input);
    return {
      yaw: binsToDegrees(out['output'] as Float32Array),
      pitch: binsToDegrees(out['617'] as Float32Array),
      roll: binsToDegrees(out['618'] as Float32Array),
    };
  }
}

export function binsToDegrees(logits: ArrayLike<number>): number {
  const p = softmax(logits);
  let e = 0;
  for (let i = 0; i < p.length; i++) e += (p[i] as number) * i;
  return e * 3 - 99;
}
