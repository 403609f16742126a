import { applyAffine, ARCFACE_TEMPLATE, fivePoints, invertAffine, type Point, umeyama } from '../../models/align';

function similarity(points: readonly Point[], s: number, theta: number, tx: number, ty: number): Point[] {
  return points.map(([x, y]) => [s * (Math.cos(theta) * x - Math.sin(theta) * y) + tx, s * (Math.sin(theta) * x + Math.cos(theta) * y) + ty]);
}

describe('umeyama alignment', () => {
  it('maps points that are a similarity transform of the ArcFace template exactly onto it', () => {
    const src = similarity(ARCFACE_TEMPLATE, 2.7, 0.35, 140, -20);
    const m = umeyama(src, ARCFACE_TEMPLATE);
    src.forEach((p, i) => {
      const [x, y] = applyAffine(m, p);
      const t = ARCFACE_TEMPLATE[i] as Point;
      expect(x).toBeCloseTo(t[0], 9);
      expect(y).toBeCloseTo(t[1], 9);
    });
  });

  it('recovers scale and rotation, never a reflection', () => {
    const src = similarity(ARCFACE_TEMPLATE, 0.5, -1.2, 3, 4);
    const [a, b, , c, d] = umeyama(src, ARCFACE_TEMPLATE);
    expect(Math.hypot(a, c)).toBeCloseTo(2, 9); // inverse of 0.5
    expect(a * d - b * c).toBeGreaterThan(0);
    expect(Math.atan2(c, a)).toBeCloseTo(1.2, 9);
  });

  it('gives the least-squares fit when the points are noisy', () => {
    const noisy: Point[] = similarity(ARCFACE_TEMPLATE, 3, 0.1, 10, 10).map(([x, y], i) => [x + (i % 2 ? 2 : -2), y + (i % 3 ? 1 : -1)]);
    const m = umeyama(noisy, ARCFACE_TEMPLATE);
    const err = (mm: typeof m): number =>
      noisy.reduce((s, p, i) => {
        const [x, y] = applyAffine(mm, p);
        const t = ARCFACE_TEMPLATE[i] as Point;
        return s + (x - t[0]) ** 2 + (y - t[1]) ** 2;
      }, 0);
    const base = err(m);
    // any small perturbation of the solution fits worse
    for (const k of [0, 1, 2, 3, 4, 5] as const) {
      const p = [...m] as [number, number, number, number, number, number];
      p[k] += 1e-3;
      expect(err(p)).toBeGreaterThan(base);
    }
  });

  it('inverts an affine map', () => {
    const m = umeyama(similarity(ARCFACE_TEMPLATE, 1.7, 0.4, 5, 6), ARCFACE_TEMPLATE);
    const [x, y] = applyAffine(invertAffine(m), applyAffine(m, [12, 34]));
    expect(x).toBeCloseTo(12, 9);
    expect(y).toBeCloseTo(34, 9);
  });

  it('refuses degenerate input', () => {
    expect(() => umeyama([[1, 1], [1, 1]], [[0, 0], [1, 1]])).toThrow(RangeError);
  });
});

describe('fivePoints', () => {
  it('takes eye centres from lid points 37,38,40,41 / 43,44,46,47, nose 30 and mouth corners mean(48,60) / mean(54,64)', () => {
    const lm = new Float32Array(136);
    const set = (i: number, x: number, y: number): void => {
      lm[2 * i] = x;
      lm[2 * i + 1] = y;
    };
    for (const i of [37, 38, 40, 41]) set(i, 10 + i, 20);
    for (const i of [43, 44, 46, 47]) set(i, 50 + i, 22);
    set(36, 999, 999); // eye corners are not part of the centre
    set(30, 33, 44);
    set(48, 10, 60);
    set(60, 14, 62);
    set(54, 40, 60);
    set(64, 36, 58);
    const [le, re, nose, ml, mr] = fivePoints(lm);
    expect(le).toEqual([10 + (37 + 38 + 40 + 41) / 4, 20]);
    expect(re).toEqual([50 + (43 + 44 + 46 + 47) / 4, 22]);
    expect(nose).toEqual([33, 44]);
    expect(ml).toEqual([12, 61]);
    expect(mr).toEqual([38, 59]);
  });
});
