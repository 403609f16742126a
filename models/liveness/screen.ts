/**
 * Pixel cues of a screen or a print, computed on one frame around one face:
 * - moire: a display's pixel grid sampled by the camera beats into a periodic pattern: a sharp peak in
 *   the high-frequency power spectrum of the face at native resolution (skin texture spreads its power);
 * - bezel: a phone, a monitor or a sheet of paper has long straight edges around the face; the strongest
 *   coherent straight edge (any angle within +-12 degrees of horizontal or vertical) outside the face;
 * - luma: mean face brightness, whose frame-to-frame jitter is a flicker cue (refresh banding, PWM).
 */
import type { Box } from '../nms';
import { grayPatch, type RawFrame } from '../image';

export interface PixelCues {
  /** log10(peak / median) of the high-frequency power spectrum of the face (native pixels). */
  moire: number;
  /** Coherent straight-edge strength outside the face, relative to the mean gradient (0..~1). */
  bezel: number;
  /** Mean face luma, 0..255. */
  luma: number;
}

const N = 64;

/** In-place radix-2 complex FFT of length n (a power of two) over re/im at the given offset and stride. */
function fft(re: Float64Array, im: Float64Array, off: number, stride: number, n: number): void {
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const a = off + i * stride, b = off + j * stride;
      let t = re[a] as number; re[a] = re[b] as number; re[b] = t;
      t = im[a] as number; im[a] = im[b] as number; im[b] = t;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang), wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1, ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = off + (i + k) * stride, b = off + (i + k + len / 2) * stride;
        const xr = (re[b] as number) * cr - (im[b] as number) * ci;
        const xi = (re[b] as number) * ci + (im[b] as number) * cr;
        re[b] = (re[a] as number) - xr; im[b] = (im[a] as number) - xi;
        re[a] = (re[a] as number) + xr; im[a] = (im[a] as number) + xi;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}

const HANN = Float64Array.from({ length: N }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (N - 1)));

/** Moire score of a 64x64 native-resolution window at the face centre. */
export function moireScore(frame: RawFrame, box: Box): number {
  const cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
  const g = grayPatch(frame, { x: Math.round(cx - N / 2), y: Math.round(cy - N / 2), w: N, h: N }, N, N);
  let mean = 0;
  for (let i = 0; i < g.length; i++) mean += g[i] as number;
  mean /= g.length;
  const re = new Float64Array(N * N), im = new Float64Array(N * N);
  for (let y = 0; y < N; y++) for (let x = 0; x < N; x++) re[y * N + x] = ((g[y * N + x] as number) - mean) * (HANN[x] as number) * (HANN[y] as number);
  for (let y = 0; y < N; y++) fft(re, im, y * N, 1, N);
  for (let x = 0; x < N; x++) fft(re, im, x, N, N);
  const band: number[] = [];
  let peak = 0;
  for (let v = 0; v < N; v++) {
    const fv = v <= N / 2 ? v : v - N;
    for (let u = 0; u <= N / 2; u++) {
      const r = Math.hypot(u, fv);
      if (r < 10 || r > N / 2) continue;
      // the 8x8 block grid of the camera's own codec is not a screen
      if (u % 8 === 0 && fv % 8 === 0) continue;
      const p = (re[v * N + u] as number) ** 2 + (im[v * N + u] as number) ** 2;
      band.push(p);
      if (p > peak) peak = p;
    }
  }
  band.sort((a, b) => a - b);
  const median = band[band.length >> 1] ?? 0;
  return Math.log10((peak + 1e-6) / (median + 1e-6));
}

const M = 128;
const ANGLES = [-12, -6, 0, 6, 12].map((d) => Math.tan((d * Math.PI) / 180));

/** Bezel / paper-edge score: strongest coherent straight edge in the box enlarged 2.6x, outside the face. */
export function bezelScore(frame: RawFrame, box: Box): number {
  const w = box[2] - box[0], h = box[3] - box[1];
  const side = Math.max(w, h) * 2.6;
  const cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
  const g = grayPatch(frame, { x: cx - side / 2, y: cy - side / 2, w: side, h: side }, M, M);
  // face span inside the patch (rows / columns to skip)
  const f0 = Math.floor(M / 2 - (M * h) / side / 2), f1 = Math.ceil(M / 2 + (M * h) / side / 2);
  const e0 = Math.floor(M / 2 - (M * w) / side / 2), e1 = Math.ceil(M / 2 + (M * w) / side / 2);
  let absSum = 0;
  const gy = new Float32Array(M * M), gx = new Float32Array(M * M);
  for (let y = 1; y < M - 1; y++) {
    for (let x = 1; x < M - 1; x++) {
      const i = y * M + x;
      gy[i] = (g[i + M] as number) - (g[i - M] as number);
      gx[i] = (g[i + 1] as number) - (g[i - 1] as number);
      absSum += Math.abs(gy[i]) + Math.abs(gx[i]);
    }
  }
  const meanAbs = absSum / (2 * (M - 2) * (M - 2)) + 2;
  let best = 0;
  const acc = new Float64Array(2 * M);
  for (const t of ANGLES) {
    // horizontal lines: y = y0 + t*(x - M/2)
    acc.fill(0);
    for (let y = 1; y < M - 1; y++) {
      for (let x = 1; x < M - 1; x++) {
        const y0 = Math.round(y - t * (x - M / 2)) + M / 2;
        if (y0 >= 0 && y0 < 2 * M) acc[y0] = (acc[y0] as number) + (gy[y * M + x] as number);
      }
    }
    for (let k = 0; k < 2 * M; k++) {
      const y0 = k - M / 2;
      if (y0 >= f0 - 2 && y0 <= f1 + 2) continue;
      best = Math.max(best, Math.abs(acc[k] as number) / (M - 2) / meanAbs);
    }
    acc.fill(0);
    for (let y = 1; y < M - 1; y++) {
      for (let x = 1; x < M - 1; x++) {
        const x0 = Math.round(x - t * (y - M / 2)) + M / 2;
        if (x0 >= 0 && x0 < 2 * M) acc[x0] = (acc[x0] as number) + (gx[y * M + x] as number);
      }
    }
    for (let k = 0; k < 2 * M; k++) {
      const x0 = k - M / 2;
      if (x0 >= e0 - 2 && x0 <= e1 + 2) continue;
      best = Math.max(best, Math.abs(acc[k] as number) / (M - 2) / meanAbs);
    }
  }
  return best;
}

export function faceLuma(frame: RawFrame, box: Box): number {
  const w = box[2] - box[0], h = box[3] - box[1];
  const g = grayPatch(frame, { x: box[0] + w * 0.2, y: box[1] + h * 0.2, w: w * 0.6, h: h * 0.6 }, 16, 16);
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] as number;
  return s / g.length;
}

export function pixelCues(frame: RawFrame, box: Box): PixelCues {
  return { moire: moireScore(frame, box), bezel: bezelScore(frame, box), luma: faceLuma(frame, box) };
}
