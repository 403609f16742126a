/**
 * Face alignment: a 5-point similarity transform (rotation, uniform scale, translation) estimated with
 * Umeyama's least-squares method, mapping detected points onto the ArcFace 112x112 template.
 */
import type { Affine } from './image';

export type Point = readonly [number, number];

/** ArcFace template: left eye, right eye, nose tip, left mouth corner, right mouth corner (112x112). */
export const ARCFACE_TEMPLATE: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/**
 * Similarity transform T (as [a, b, tx, c, d, ty] with a = s*cos, b = -s*sin, c = s*sin, d = s*cos)
 * minimising sum |T(src_i) - dst_i|^2 (Umeyama 1991, 2-D, no reflection).
 */
export function umeyama(src: readonly Point[], dst: readonly Point[]): Affine {
  const n = src.length;
  if (n !== dst.length || n < 2) throw new RangeError('umeyama needs two equal lists of at least 2 points');
  let msx = 0, msy = 0, mdx = 0, mdy = 0;
  for (let i = 0; i < n; i++) {
    const s = src[i] as Point, d = dst[i] as Point;
    msx += s[0]; msy += s[1]; mdx += d[0]; mdy += d[1];
  }
  msx /= n; msy /= n; mdx /= n; mdy /= n;
  // For 2-D similarity the SVD solution reduces to: rotation angle from sums of cross/dot products,
  // scale = (sum of projected dot) / (variance of src).
  let sxx = 0, sxy = 0, varS = 0;
  for (let i = 0; i < n; i++) {
    const s = src[i] as Point, d = dst[i] as Point;
    const ux = s[0] - msx, uy = s[1] - msy;
    const vx = d[0] - mdx, vy = d[1] - mdy;
    sxx += ux * vx + uy * vy; // sum of dot products
    sxy += ux * vy - uy * vx; // sum of cross products
    varS += ux * ux + uy * uy;
  }
  if (varS === 0) throw new RangeError('umeyama: source points are all the same');
  const norm = Math.hypot(sxx, sxy);
  const cos = norm === 0 ? 1 : sxx / norm;
  const sin = norm === 0 ? 0 : sxy / norm;
  const scale = norm / varS;
  const a = scale * cos, b = -scale * sin, c = scale * sin, d = scale * cos;
  const tx = mdx - (a * msx + b * msy);
  const ty = mdy - (c * msx + d * msy);
  return [a, b, tx, c, d, ty];
}

export function applyAffine(m: Affine, p: Point): [number, number] {
  return [m[0] * p[0] + m[1] * p[1] + m[2], m[3] * p[0] + m[4] * p[1] + m[5]];
}

export function invertAffine(m: Affine): Affine {
  const [a, b, tx, c, d, ty] = m;
  const det = a * d - b * c;
  if (det === 0) throw new RangeError('affine transform is not invertible');
  const ia = d / det, ib = -b / det, ic = -c / det, id = a / det;
  return [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)];
}

/**
 * The five alignment points from the 68-point landmarks (0-based): eye centres as the mean of the
 * upper/lower lid points 37,38,40,41 and 43,44,46,47; nose tip 30; mouth corners mean(48,60) and
 * mean(54,64). `lm` is interleaved x,y (136 numbers).
 */
export function fivePoints(lm: ArrayLike<number>): Point[] {
  const p = (i: number): [number, number] => [lm[2 * i] as number, lm[2 * i + 1] as number];
  const mean = (...idx: number[]): Point => {
    let x = 0, y = 0;
    for (const i of idx) {
      const q = p(i);
      x += q[0];
      y += q[1];
    }
    return [x / idx.length, y / idx.length];
  };
  return [mean(37, 38, 40, 41), mean(43, 44, 46, 47), p(30), mean(48, 60), mean(54, 64)];
}
