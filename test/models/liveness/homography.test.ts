import { applyHomography, fitHomography, homographyResidual } from '../../../models/liveness/homography';
import { flatten, head, project } from './face3d';

const ALL = Array.from({ length: 68 }, (_, i) => i);

describe('homography fitting', () => {
  it('recovers a known homography from exact correspondences', () => {
    const H = [1.1, 0.05, 12, -0.03, 0.95, -7, 0.0004, -0.0002, 1];
    const src = new Float32Array(20);
    for (let i = 0; i < 10; i++) {
      src[2 * i] = 40 + 23 * i;
      src[2 * i + 1] = 30 + ((i * 37) % 90);
    }
    const dst = new Float32Array(20);
    for (let i = 0; i < 10; i++) [dst[2 * i], dst[2 * i + 1]] = applyHomography(H, src[2 * i] as number, src[2 * i + 1] as number);
    const fit = fitHomography(src, dst, Array.from({ length: 10 }, (_, i) => i));
    expect(fit).not.toBeNull();
    for (let i = 0; i < 9; i++) expect(fit?.[i]).toBeCloseTo(H[i] as number, 4);
  });

  it('returns no fit for fewer than four points', () => {
    expect(fitHomography([0, 0, 1, 0, 0, 1], [0, 0, 1, 0, 0, 1], [0, 1, 2])).toBeNull();
    expect(homographyResidual([0, 0, 1, 0, 0, 1], [0, 0, 1, 0, 0, 1], [0, 1, 2])).toBe(Infinity);
  });

  it('explains a flat face turned in 3-D exactly, but not a real head turned the same way', () => {
    const frontal = { yaw: 0, pitch: 0, roll: 0, tx: 0, ty: 0, dist: 600 };
    const turned = { yaw: 15, pitch: 8, roll: 3, tx: 10, ty: -5, dist: 600 };
    const flat = flatten(head());
    const flatResidual = homographyResidual(project(flat, frontal), project(flat, turned), ALL);
    const headResidual = homographyResidual(project(head(), frontal), project(head(), turned), ALL);
    expect(flatResidual).toBeLessThan(1e-3);
    expect(headResidual).toBeGreaterThan(1);
  });
});
