/**
 * Plane geometry for liveness: fitting a homography to point correspondences and measuring how badly it
 * explains them. A photo or a screen is a flat object: however it is moved, its points in two views are
 * related by one homography (up to landmark noise). A real head is not flat: turning it moves the nose tip
 * against the eyes and the face contour (parallax), and speaking or blinking moves points on their own.
 */

/** Row-major 3x3 matrix [h0..h8] mapping (x, y, 1) to homogeneous (x', y', w'). */
export type Homography = Float64Array;

/** Solves A x = b (n x n, row-major, overwritten) by Gaussian elimination with partial pivoting. */
export function solveLinear(a: Float64Array, b: Float64Array, n: number): Float64Array | null {
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c] as number) > Math.abs(a[p * n + c] as number)) p = r;
    const piv = a[p * n + c] as number;
    if (Math.abs(piv) < 1e-12) return null;
    if (p !== c) {
      for (let k = 0; k < n; k++) {
        const t = a[c * n + k] as number;
        a[c * n + k] = a[p * n + k] as number;
        a[p * n + k] = t;
      }
      const t = b[c] as number;
      b[c] = b[p] as number;
      b[p] = t;
    }
    for (let r = c + 1; r < n; r++) {
      const f = (a[r * n + c] as number) / piv;
      if (f === 0) continue;
      for (let k = c; k < n; k++) a[r * n + k] = (a[r * n + k] as number) - f * (a[c * n + k] as number);
      b[r] = (b[r] as number) - f * (b[c] as number);
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r] as number;
    for (let k = r + 1; k < n; k++) s -= (a[r * n + k] as number) * (x[k] as number);
    x[r] = s / (a[r * n + r] as number);
  }
  return x;
}

interface Norm {
  cx: number;
  cy: number;
  s: number;
}

function normaliser(pts: ArrayLike<number>, idx: readonly number[]): Norm {
  let cx = 0, cy = 0;
  for (const i of idx) {
    cx += pts[2 * i] as number;
    cy += pts[2 * i + 1] as number;
  }
  cx /= idx.length;
  cy /= idx.length;
  let d = 0;
  for (const i of idx) d += Math.hypot((pts[2 * i] as number) - cx, (pts[2 * i + 1] as number) - cy);
  d /= idx.length;
  return { cx, cy, s: d > 1e-9 ? Math.SQRT2 / d : 1 };
}

/**
 * Least-squares homography (h8 = 1) from `src` to `dst` over the points `idx` (interleaved x, y arrays),
 * with Hartley normalisation. Returns null when the points are degenerate (fewer than 4, collinear).
 */
export function fitHomography(src: ArrayLike<number>, dst: ArrayLike<number>, idx: readonly number[]): Homography | null {
  if (idx.length < 4) return null;
  const ns = normaliser(src, idx);
  const nd = normaliser(dst, idx);
  const ata = new Float64Array(64);
  const atb = new Float64Array(8);
  const row = new Float64Array(8);
  const acc = (r: Float64Array, v: number): void => {
    for (let i = 0; i < 8; i++) {
      const ri = r[i] as number;
      if (ri === 0) continue;
      for (let j = 0; j < 8; j++) ata[i * 8 + j] = (ata[i * 8 + j] as number) + ri * (r[j] as number);
      atb[i] = (atb[i] as number) + ri * v;
    }
  };
  for (const i of idx) {
    const x = ((src[2 * i] as number) - ns.cx) * ns.s;
    const y = ((src[2 * i + 1] as number) - ns.cy) * ns.s;
    const u = ((dst[2 * i] as number) - nd.cx) * nd.s;
    const v = ((dst[2 * i + 1] as number) - nd.cy) * nd.s;
    row.set([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    acc(row, u);
    row.set([0, 0, 0, x, y, 1, -v * x, -v * y]);
    acc(row, v);
  }
  const h = solveLinear(ata, atb, 8);
  if (!h) return null;
  // H = Td^-1 * Hn * Ts
  const hn = [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1] as number[];
  const ts = [ns.s, 0, -ns.s * ns.cx, 0, ns.s, -ns.s * ns.cy, 0, 0, 1];
  const tdInv = [1 / nd.s, 0, nd.cx, 0, 1 / nd.s, nd.cy, 0, 0, 1];
  const out = mul3(tdInv, mul3(hn, ts));
  const k = out[8] as number;
  if (Math.abs(k) < 1e-12) return null;
  for (let i = 0; i < 9; i++) out[i] = (out[i] as number) / k;
  return out;
}

export function mul3(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const o = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += (a[r * 3 + k] as number) * (b[k * 3 + c] as number);
      o[r * 3 + c] = s;
    }
  }
  return o;
}

export function invert3(m: ArrayLike<number>): Float64Array | null {
  const [a, b, c, d, e, f, g, h, i] = Array.from(m) as [number, number, number, number, number, number, number, number, number];
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (Math.abs(det) < 1e-12) return null;
  return Float64Array.from([A, -(b * i - c * h), b * f - c * e, B, a * i - c * g, -(a * f - c * d), C, -(a * h - b * g), a * e - b * d].map((v) => v / det));
}

export function applyHomography(h: ArrayLike<number>, x: number, y: number): [number, number] {
  const w = (h[6] as number) * x + (h[7] as number) * y + (h[8] as number);
  return [((h[0] as number) * x + (h[1] as number) * y + (h[2] as number)) / w, ((h[3] as number) * x + (h[4] as number) * y + (h[5] as number)) / w];
}

/** Root-mean-square distance between H(src) and dst over `idx`, in dst pixels (Infinity when no fit). */
export function homographyResidual(src: ArrayLike<number>, dst: ArrayLike<number>, idx: readonly number[]): number {
  const h = fitHomography(src, dst, idx);
  if (!h) return Infinity;
  let s = 0;
  for (const i of idx) {
    const [x, y] = applyHomography(h, src[2 * i] as number, src[2 * i + 1] as number);
    s += (x - (dst[2 * i] as number)) ** 2 + (y - (dst[2 * i + 1] as number)) ** 2;
  }
  return Math.sqrt(s / idx.length);
}
