/** Score-sorted greedy non-maximum suppression over axis-aligned boxes [x1, y1, x2, y2]. */
export type Box = [number, number, number, number];

export interface ScoredBox {
  box: Box;
  score: number;
}

export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const areaA = Math.max(0, a[2] - a[0]) * Math.max(0, a[3] - a[1]);
  const areaB = Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
  const union = areaA + areaB - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Keeps the highest-scoring box, drops every remaining box whose IoU with a kept box exceeds
 * `iouThreshold`, repeats. Output is in descending score order; ties keep input order.
 */
export function nms<T extends ScoredBox>(items: readonly T[], iouThreshold: number, maxOut = Infinity): T[] {
  const order = items
    .map((item, i) => ({ item, i }))
    .sort((p, q) => q.item.score - p.item.score || p.i - q.i)
    .map((x) => x.item);
  const kept: T[] = [];
  for (const cand of order) {
    if (kept.length >= maxOut) break;
    if (kept.every((k) => iou(k.box, cand.box) <= iouThreshold)) kept.push(cand);
  }
  return kept;
}
