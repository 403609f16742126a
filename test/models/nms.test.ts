import { iou, nms, type Box } from '../../models/nms';

describe('iou', () => {
  it('is 1 for identical boxes and 0 for disjoint ones', () => {
    expect(iou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(iou([0, 0, 10, 10], [20, 20, 30, 30])).toBe(0);
  });

  it('is intersection over union for overlapping boxes', () => {
    // overlap 5x10 = 50, union 100 + 100 - 50 = 150
    expect(iou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(1 / 3, 10);
  });
});

describe('nms', () => {
  const b = (x: number, s: number): { box: Box; score: number } => ({ box: [x, 0, x + 10, 10], score: s });

  it('keeps the highest score of an overlapping cluster even when it is not listed first', () => {
    const out = nms([b(1, 0.7), b(0, 0.9), b(2, 0.8)], 0.4);
    expect(out).toEqual([b(0, 0.9)]);
  });

  it('returns survivors in descending score order', () => {
    const out = nms([b(100, 0.5), b(0, 0.9), b(50, 0.7)], 0.4);
    expect(out.map((x) => x.score)).toEqual([0.9, 0.7, 0.5]);
  });

  it('suppresses only above the IoU threshold, not at it', () => {
    // IoU of [0,10] and [5,15] is exactly 1/3
    expect(nms([b(0, 0.9), b(5, 0.8)], 1 / 3)).toHaveLength(2);
    expect(nms([b(0, 0.9), b(5, 0.8)], 0.33)).toHaveLength(1);
  });

  it('does not let a suppressed box suppress others (greedy against kept boxes only)', () => {
    // A(0.9) suppresses B(0.8); B would suppress C(0.7), but C does not overlap A enough, so C stays.
    const A = b(0, 0.9), B = b(4, 0.8), C = b(8, 0.7);
    expect(iou(A.box, C.box)).toBeLessThan(0.4);
    expect(nms([C, B, A], 0.4)).toEqual([A, C]);
  });

  it('stops at maxOut', () => {
    expect(nms([b(0, 0.9), b(100, 0.8), b(200, 0.7)], 0.4, 2)).toHaveLength(2);
  });
});
