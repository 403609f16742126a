/**
 * Raw frames and the pixel work the models need: sampling a region of a frame straight into a planar
 * float tensor (one pass, no intermediate images), and warping through an affine map for alignment.
 * These loops run on every frame, so they precompute per-column indices and avoid allocation where a
 * caller passes an output buffer.
 */
import { TerminalError } from '../core/errors';

export type PixelFormat = 'rgb24' | 'bgr24';

/** A frame as the camera delivers it: packed 8-bit pixels, 3 bytes each, rows without padding. */
export interface RawFrame {
  width: number;
  height: number;
  format: PixelFormat;
  data: Uint8Array;
}

export class FrameFormatError extends TerminalError {
  readonly code = 'frame-format';
}

export function assertFrame(f: RawFrame): void {
  if (!Number.isInteger(f.width) || !Number.isInteger(f.height) || f.width <= 0 || f.height <= 0) {
    throw new FrameFormatError(`frame size must be positive integers, got ${f.width}x${f.height}`);
  }
  if (f.format !== 'rgb24' && f.format !== 'bgr24') {
    throw new FrameFormatError(`pixel format must be rgb24 or bgr24, got ${String(f.format)}`);
  }
  const expected = f.width * f.height * 3;
  if (f.data.length !== expected) {
    throw new FrameFormatError(
      `frame buffer of ${f.data.length} bytes does not match ${f.width}x${f.height} ${f.format} (${expected} bytes)`,
    );
  }
}

/** A rectangle in frame pixels: x, y of the top-left corner, width, height (floats allowed). */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Channel layout of a planar tensor: 'rgb' / 'bgr' write three planes in that order; 'gray' writes one
 * plane with the luma weights the landmark and eye models were trained with (applied to R,G,B as
 * 0.114, 0.587, 0.299: the reference code converted BGR->GRAY on RGB data, so its weights are swapped).
 */
export type Planes = 'rgb' | 'bgr' | 'gray';

export interface Normalise {
  /** value = (pixel - sub) * mul */
  sub: number;
  mul: number;
}

export interface PerChannelNormalise {
  /** per output plane (after ordering): value = (pixel/255 - mean[c]) / std[c] */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

const GRAY_W_R = 0.114;
const GRAY_W_G = 0.587;
const GRAY_W_B = 0.299;

interface Axis {
  i0: Int32Array;
  i1: Int32Array;
  w: Float32Array;
}

function axis(src0: number, srcLen: number, outLen: number, limit: number): Axis {
  const i0 = new Int32Array(outLen);
  const i1 = new Int32Array(outLen);
  const w = new Float32Array(outLen);
  const scale = srcLen / outLen;
  for (let o = 0; o < outLen; o++) {
    // pixel-centre mapping, as cv.resize INTER_LINEAR does
    let s = src0 + (o + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    if (s > limit - 1) s = limit - 1;
    const a = Math.floor(s);
    const b = Math.min(a + 1, limit - 1);
    i0[o] = a;
    i1[o] = b;
    w[o] = s - a;
  }
  return { i0, i1, w };
}

/** Byte offsets of R, G, B inside a pixel of the given format. */
function channelOffsets(format: PixelFormat): [number, number, number] {
  return format === 'rgb24' ? [0, 1, 2] : [2, 1, 0];
}

/**
 * Bilinear resample of `region` of the frame into an outW x outH planar float tensor. The region may
 * extend past the frame: samples are clamped to the edge. Returns `out` (allocated when not given).
 */
export function sampleRegion(
  frame: RawFrame,
  region: Rect,
  outW: number,
  outH: number,
  planes: Planes,
  norm: Normalise | PerChannelNormalise,
  out?: Float32Array,
): Float32Array {
  const nPlanes = planes === 'gray' ? 1 : 3;
  const size = outW * outH;
  const dst = out ?? new Float32Array(size * nPlanes);
  const xs = axis(region.x, region.w, outW, frame.width);
  const ys = axis(region.y, region.h, outH, frame.height);
  const [oR, oG, oB] = channelOffsets(frame.format);
  const src = frame.data;
  const stride = frame.width * 3;
  // plane order: index p of output -> byte offset of that colour inside the pixel
  const order = planes === 'bgr' ? [oB, oG, oR] : [oR, oG, oB];
  const [c0, c1, c2] = order as [number, number, number];
  let sub0 = 0, sub1 = 0, sub2 = 0, mul0 = 1, mul1 = 1, mul2 = 1;
  if ('sub' in norm) {
    sub0 = sub1 = sub2 = norm.sub;
    mul0 = mul1 = mul2 = norm.mul;
  } else {
    // (p/255 - m)/s == (p - 255m) * (1/(255s))
    sub0 = norm.mean[0] * 255; mul0 = 1 / (255 * norm.std[0]);
    sub1 = norm.mean[1] * 255; mul1 = 1 / (255 * norm.std[1]);
    sub2 = norm.mean[2] * 255; mul2 = 1 / (255 * norm.std[2]);
  }
  const xi0 = xs.i0, xi1 = xs.i1, xw = xs.w;
  for (let oy = 0; oy < outH; oy++) {
    const r0 = (ys.i0[oy] as number) * stride;
    const r1 = (ys.i1[oy] as number) * stride;
    const wy = ys.w[oy] as number;
    const wy0 = 1 - wy;
    const rowOut = oy * outW;
    for (let ox = 0; ox < outW; ox++) {
      const a = (xi0[ox] as number) * 3;
      const b = (xi1[ox] as number) * 3;
      const wx = xw[ox] as number;
      const wx0 = 1 - wx;
      const w00 = wx0 * wy0, w01 = wx * wy0, w10 = wx0 * wy, w11 = wx * wy;
      const p00 = r0 + a, p01 = r0 + b, p10 = r1 + a, p11 = r1 + b;
      const v0 = (src[p00 + c0] as number) * w00 + (src[p01 + c0] as number) * w01 + (src[p10 + c0] as number) * w10 + (src[p11 + c0] as number) * w11;
      const v1 = (src[p00 + c1] as number) * w00 + (src[p01 + c1] as number) * w01 + (src[p10 + c1] as number) * w10 + (src[p11 + c1] as number) * w11;
      const v2 = (src[p00 + c2] as number) * w00 + (src[p01 + c2] as number) * w01 + (src[p10 + c2] as number) * w10 + (src[p11 + c2] as number) * w11;
      const o = rowOut + ox;
      if (nPlanes === 1) {
        // order is R,G,B here (planes === 'gray' keeps rgb order)
        dst[o] = (v0 * GRAY_W_R + v1 * GRAY_W_G + v2 * GRAY_W_B - sub0) * mul0;
      } else {
        dst[o] = (v0 - sub0) * mul0;
        dst[size + o] = (v1 - sub1) * mul1;
        dst[2 * size + o] = (v2 - sub2) * mul2;
      }
    }
  }
  return dst;
}

/**
 * 2x3 affine matrix [a, b, tx, c, d, ty] mapping output (u, v) to source (x, y):
 * x = a*u + b*v + tx, y = c*u + d*v + ty.
 */
export type Affine = readonly [number, number, number, number, number, number];

/** Warps the frame through `inv` (output -> source) into an outW x outH planar tensor, bilinear. */
export function warpToPlanar(
  frame: RawFrame,
  inv: Affine,
  outW: number,
  outH: number,
  planes: 'rgb' | 'bgr',
  norm: Normalise,
  out?: Float32Array,
): Float32Array {
  const size = outW * outH;
  const dst = out ?? new Float32Array(size * 3);
  const [oR, oG, oB] = channelOffsets(frame.format);
  const [c0, c1, c2] = (planes === 'bgr' ? [oB, oG, oR] : [oR, oG, oB]);
  const [a, b, tx, c, d, ty] = inv;
  const W = frame.width, H = frame.height, stride = W * 3, src = frame.data;
  const { sub, mul } = norm;
  for (let v = 0; v < outH; v++) {
    for (let u = 0; u < outW; u++) {
      let x = a * u + b * v + tx;
      let y = c * u + d * v + ty;
      const o = v * outW + u;
      if (x < -1 || y < -1 || x > W || y > H) {
        // outside the frame: black, as cv.warpAffine's constant border
        dst[o] = (0 - sub) * mul;
        dst[size + o] = (0 - sub) * mul;
        dst[2 * size + o] = (0 - sub) * mul;
        continue;
      }
      if (x < 0) x = 0;
      if (y < 0) y = 0;
      if (x > W - 1) x = W - 1;
      if (y > H - 1) y = H - 1;
      const x0 = Math.floor(x), y0 = Math.floor(y);
      const x1 = Math.min(x0 + 1, W - 1), y1 = Math.min(y0 + 1, H - 1);
      const fx = x - x0, fy = y - y0;
      const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      const p00 = y0 * stride + x0 * 3, p01 = y0 * stride + x1 * 3, p10 = y1 * stride + x0 * 3, p11 = y1 * stride + x1 * 3;
      dst[o] = ((src[p00 + c0] as number) * w00 + (src[p01 + c0] as number) * w01 + (src[p10 + c0] as number) * w10 + (src[p11 + c0] as number) * w11 - sub) * mul;
      dst[size + o] = ((src[p00 + c1] as number) * w00 + (src[p01 + c1] as number) * w01 + (src[p10 + c1] as number) * w10 + (src[p11 + c1] as number) * w11 - sub) * mul;
      dst[2 * size + o] = ((src[p00 + c2] as number) * w00 + (src[p01 + c2] as number) * w01 + (src[p10 + c2] as number) * w10 + (src[p11 + c2] as number) * w11 - sub) * mul;
    }
  }
  return dst;
}

/** Gray (0..255 luma) patch of a region, for quality measures (sharpness, exposure). */
export function grayPatch(frame: RawFrame, region: Rect, outW: number, outH: number): Float32Array {
  // standard luma weights here (this is for measuring, not for a model)
  const rgb = sampleRegion(frame, region, outW, outH, 'rgb', { sub: 0, mul: 1 });
  const n = outW * outH;
  const g = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    g[i] = 0.299 * (rgb[i] as number) + 0.587 * (rgb[n + i] as number) + 0.114 * (rgb[2 * n + i] as number);
  }
  return g;
}
