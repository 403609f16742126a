/** Face detector (fr_detect): whole frame -> face boxes in frame pixels, score-sorted after NMS. */
import { type RawFrame, sampleRegion } from './image';
import type { LoadedModel } from './session';
import { type Box, nms } from './nms';

export interface Detection {
  box: Box;
  score: number;
}

export interface DetectorOptions {
  scoreThreshold: number;
  iouThreshold: number;
  maxFaces: number;
}

export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = { scoreThreshold: 0.65, iouThreshold: 0.4, maxFaces: 20 };

const IN_W = 320;
const IN_H = 240;

export class FaceDetector {
  private readonly buf = new Float32Array(3 * IN_W * IN_H);

  constructor(
    private readonly model: LoadedModel,
    private readonly opts: DetectorOptions = DEFAULT_DETECTOR_OPTIONS,
  ) {}

  async detect(frame: RawFrame): Promise<Detection[]> {
    const input = sampleRegion(frame, { x: 0, y: 0, w: frame.width, h: frame.height }, IN_W, IN_H, 'bgr', { sub: 127, mul: 1 / 128 }, this.buf);
    const out = await this.model.run(input);
    return decodeDetections(out['scores'] as Float32Array, out['boxes'] as Float32Array, frame.width, frame.height, this.opts);
  }
}

/** Threshold, scale to frame pixels (clipped), NMS. Exported for tests. */
export function decodeDetections(
  scores: Float32Array,
  boxes: Float32Array,
  width: number,
  height: number,
  opts: DetectorOptions,
): Detection[] {
  const n = scores.length / 2;
  const cands: Detection[] = [];
  for (let i = 0; i < n; i++) {
    const s = scores[2 * i + 1] as number;
    if (s < opts.scoreThreshold) continue;
    const x1 = clamp((boxes[4 * i] as number) * width, 0, width);
    const y1 = clamp((boxes[4 * i + 1] as number) * height, 0, height);
    const x2 = clamp((boxes[4 * i + 2] as number) * width, 0, width);
    const y2 = clamp((boxes[4 * i + 3] as number) * height, 0, height);
    if (x2 - x1 < 2 || y2 - y1 < 2) continue;
    cands.push({ box: [x1, y1, x2, y2], score: s });
  }
  return nms(cands, opts.iouThreshold, opts.maxFaces);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
