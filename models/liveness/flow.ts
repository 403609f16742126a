/**
 * Face-against-background motion: the terminal's camera is fixed to the wall, so the scene beside a real
 * visitor's head does not move when the head does. A photo or a phone held in front of the camera moves
 * as one piece: the printed or displayed background around the face moves WITH the face (the hand's
 * motion). This is the motion-correlation cue of Anjos & Marcel (IJCB 2011) for hand-held attacks.
 *
 * Per frame, RingFlow measures the translation since the previous frame of
 * - the face (one block over eyes and nose), and
 * - up to eight blocks beside the face (left and right, from eye to mouth level, at least 0.4 face widths
 *   out so hair and ears stay outside; above the head is hair, below is the body: both left out),
 * by iterative Lucas-Kanade on a half-resolution, smoothed luma image. A block without texture (a plain
 * wall, a blue screen) gives no measurement (null) rather than a wrong one; the cue is then absent, never
 * live. TrackEvidence (evidence.ts) turns the sequence into the 'coupling' and 'ringMotion' features.
 *
 * Limits (physics, not tuning): a phone replay standing still on a stand shows a face moving against its
 * own still background and passes this cue; so would a cut-out face moved in front of a real background.
 */
import type { RawFrame } from '../image';
import type { Box } from '../nms';

/** Translation of one block since the previous frame, full-resolution pixels (x, y). */
export type Shift = readonly [number, number];

export interface FlowSample {
  /** Face block translation since the previous observed frame, or null (first frame, no texture). */
  face: Shift | null;
  /** Each beside-the-face block's translation (null: no texture, outside the frame or did not converge). */
  ring: Array<Shift | null>;
}

/** Half-resolution luma, smoothed with a [1 2 1] binomial filter (kills most sensor noise). */
export interface HalfGray {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * The half-resolution smoothed luma of a frame. `into` (its data reused when the size fits) and `scratch`
 * (at least a quarter of the frame's pixels) let a caller that runs per frame keep its buffers: each
 * image is 300 KB at 640x480, three of them a frame otherwise.
 */
export function halfGray(frame: RawFrame, into?: HalfGray, scratch?: Float32Array): HalfGray {
  const w = frame.width >> 1, h = frame.height >> 1;
  const src = frame.data, s = frame.width * 3;
  const [ri, bi] = frame.format === 'rgb24' ? [0, 2] : [2, 0];
  // the output holds the unsmoothed luma first (read only by the horizontal pass), then the result
  const out = into && into.data.length === w * h ? into.data : new Float32Array(w * h);
  const tmp = scratch && scratch.length >= w * h ? scratch : new Float32Array(w * h);
  const raw = out;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let dy = 0; dy < 2; dy++) {
        const o = (2 * y + dy) * s + 2 * x * 3;
        acc += 0.299 * (src[o + ri] as number) + 0.587 * (src[o + 1] as number) + 0.114 * (src[o + bi] as number);
        acc += 0.299 * (src[o + 3 + ri] as number) + 0.587 * (src[o + 4] as number) + 0.114 * (src[o + 3 + bi] as number);
      }
      raw[y * w + x] = acc / 4;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const l = raw[x > 0 ? i - 1 : i] as number, r = raw[x < w - 1 ? i + 1 : i] as number;
      tmp[i] = (l + 2 * (raw[i] as number) + r) / 4;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const u = tmp[y > 0 ? i - w : i] as number, d = tmp[y < h - 1 ? i + w : i] as number;
      out[i] = (u + 2 * (tmp[i] as number) + d) / 4;
    }
  }
  if (into && into.data === out) {
    into.width = w;
    into.height = h;
    return into;
  }
  return { width: w, height: h, data: out };
}

function sample(g: HalfGray, x: number, y: number): number {
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const fx = x - x0, fy = y - y0;
  const w = g.width, d = g.data;
  const i = y0 * w + x0;
  return (d[i] as number) * (1 - fx) * (1 - fy) + (d[i + 1] as number) * fx * (1 - fy) + (d[i + w] as number) * (1 - fx) * fy + (d[i + w + 1] as number) * fx * fy;
}

/**
 * Mean squared gradient (per pixel, along the weakest direction) a block needs to be measured: sensor noise
 * left after the smoothing gives well under 1; a plain wall under the codec about 1; texture 5 and more.
 */
export const MIN_TEXTURE = 3;
const ITERATIONS = 6;

/**
 * Translation (half-resolution px) that moves block (bx, by, size) of `prev` onto `cur`, by inverse
 * compositional Lucas-Kanade; null when the block lacks texture, leaves the frame or does not converge.
 */
export function blockShift(prev: HalfGray, cur: HalfGray, bx: number, by: number, size: number): Shift | null {
  const margin = 2;
  if (bx < margin || by < margin || bx + size >= prev.width - margin || by + size >= prev.height - margin) return null;
  const n = size * size;
  const gx = new Float32Array(n), gy = new Float32Array(n), t = new Float32Array(n);
  let a = 0, b = 0, c = 0;
  const w = prev.width, d = prev.data;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (by + y) * w + bx + x, k = y * size + x;
      const ix = ((d[i + 1] as number) - (d[i - 1] as number)) / 2, iy = ((d[i + w] as number) - (d[i - w] as number)) / 2;
      gx[k] = ix;
      gy[k] = iy;
      t[k] = d[i] as number;
      a += ix * ix;
      b += ix * iy;
      c += iy * iy;
    }
  }
  // weakest direction of the structure tensor: a straight edge alone cannot tell motion along it
  const tr = (a + c) / 2, det = a * c - b * b;
  const minEig = tr - Math.sqrt(Math.max(0, tr * tr - det));
  if (minEig / n < MIN_TEXTURE) return null;
  let dx = 0, dy = 0;
  for (let it = 0; it < ITERATIONS; it++) {
    if (bx + dx < margin || by + dy < margin || bx + dx + size >= cur.width - margin || by + dy + size >= cur.height - margin) return null;
    let ex = 0, ey = 0;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const k = y * size + x;
        const e = sample(cur, bx + x + dx, by + y + dy) - (t[k] as number);
        ex += (gx[k] as number) * e;
        ey += (gy[k] as number) * e;
      }
    }
    const sx = -(c * ex - b * ey) / det, sy = -(a * ey - b * ex) / det;
    dx += sx;
    dy += sy;
    if (Math.abs(dx) > size / 2 || Math.abs(dy) > size / 2) return null;
    if (sx * sx + sy * sy < 1e-4) break;
  }
  return [dx, dy];
}

/** Blocks for one face box (full-resolution box; returned in half-resolution px): the face, then the ring. */
export function flowBlocks(box: Box): { face: [number, number, number]; ring: Array<[number, number, number]> } {
  const [x1, y1, x2, y2] = box.map((v) => v / 2) as [number, number, number, number];
  const fw = x2 - x1, fh = y2 - y1;
  const faceSize = Math.max(6, Math.round(Math.min(0.6 * fw, 0.5 * fh)));
  const face: [number, number, number] = [Math.round((x1 + x2) / 2 - faceSize / 2), Math.round(y1 + 0.15 * fh), faceSize];
  const s = Math.max(6, Math.min(24, Math.round(0.3 * fw)));
  const ring: Array<[number, number, number]> = [];
  for (const row of [y1 + 0.05 * fh, y1 + 0.05 * fh + s]) {
    for (const k of [0, 1]) {
      ring.push([Math.round(x1 - 0.4 * fw - (k + 1) * s), Math.round(row), s]);
      ring.push([Math.round(x2 + 0.4 * fw + k * s), Math.round(row), s]);
    }
  }
  return { face, ring };
}

/**
 * Frame-to-frame face and background translations over one face track. One instance per track; it keeps
 * two half-resolution images (this frame's and the previous one's, swapped each frame) and one scratch
 * image, allocated on its first frame, not per frame.
 */
export class RingFlow {
  private prev: HalfGray | null = null;
  private spare: HalfGray | undefined;
  private scratch: Float32Array | undefined;

  observe(frame: RawFrame, box: Box): FlowSample {
    const n = (frame.width >> 1) * (frame.height >> 1);
    if (!this.scratch || this.scratch.length < n) this.scratch = new Float32Array(n);
    const cur = halfGray(frame, this.spare, this.scratch);
    const prev = this.prev;
    this.prev = cur;
    this.spare = prev ?? undefined;
    const blocks = flowBlocks(box);
    if (!prev || prev.width !== cur.width || prev.height !== cur.height) return { face: null, ring: blocks.ring.map(() => null) };
    const full = (s: Shift | null): Shift | null => (s ? [s[0] * 2, s[1] * 2] : null);
    return {
      face: full(blockShift(prev, cur, ...blocks.face)),
      ring: blocks.ring.map((b) => full(blockShift(prev, cur, ...b))),
    };
  }
}
