/**
 * Synthetic face tracks for liveness unit tests: a crude 3-D head (68 points in the usual order: jaw,
 * brows, nose, eyes, mouth) projected by a pinhole camera, and the same face as a flat photo moved in
 * 3-D (all its points on one plane). No pixels, no models: milliseconds per track.
 */
import type { FaceResult } from '../../../models/pipeline';

export type P3 = [number, number, number];

export function head(eyeOpen = 1, mouthOpen = 0): P3[] {
  const pts: P3[] = [];
  for (let i = 0; i <= 16; i++) {
    const a = -Math.PI / 2 + (Math.PI * i) / 16;
    pts.push([70 * Math.sin(a), 80 * Math.cos(a) - 10, -55 * Math.abs(Math.sin(a))]);
  }
  for (let i = 0; i < 5; i++) pts.push([-60 + i * 12, -45 - 4 * Math.sin((Math.PI * i) / 4), -5]);
  for (let i = 0; i < 5; i++) pts.push([12 + i * 12, -45 - 4 * Math.sin((Math.PI * i) / 4), -5]);
  for (let i = 0; i < 4; i++) pts.push([0, -30 + i * 13, 10 + i * 9]);
  for (let i = 0; i < 5; i++) pts.push([-16 + i * 8, 22, 22 - Math.abs(i - 2) * 4]);
  const eye = (cx: number): void => {
    const h = 5 * eyeOpen + 0.3;
    pts.push([cx - 13, -20, -5], [cx - 5, -20 - h, -4], [cx + 5, -20 - h, -4], [cx + 13, -20, -5], [cx + 5, -20 + h, -4], [cx - 5, -20 + h, -4]);
  };
  eye(-32);
  eye(32);
  for (let i = 0; i < 12; i++) {
    const a = (2 * Math.PI * i) / 12;
    pts.push([-25 * Math.cos(a), 48 - (8 + mouthOpen * 4) * Math.sin(a), 8 - 6 * Math.abs(Math.cos(a))]);
  }
  for (let i = 0; i < 8; i++) {
    const a = (2 * Math.PI * i) / 8;
    pts.push([-15 * Math.cos(a), 48 - (0.5 + mouthOpen * 6) * Math.sin(a), 8]);
  }
  return pts;
}

export interface View {
  yaw: number;
  pitch: number;
  roll: number;
  tx: number;
  ty: number;
  /** Distance of the object from the camera (its units). */
  dist: number;
}

export function project(pts: readonly P3[], v: View, noise = 0, rnd: () => number = Math.random): Float32Array {
  const [a, b, c] = [v.yaw, v.pitch, v.roll].map((d) => (d * Math.PI) / 180) as [number, number, number];
  const out = new Float32Array(pts.length * 2);
  pts.forEach(([x0, y0, z0], i) => {
    // yaw about y, pitch about x, roll about z
    let x = x0 * Math.cos(a) + z0 * Math.sin(a);
    let z = -x0 * Math.sin(a) + z0 * Math.cos(a);
    let y = y0 * Math.cos(b) - z * Math.sin(b);
    z = y0 * Math.sin(b) + z * Math.cos(b);
    const xr = x * Math.cos(c) - y * Math.sin(c);
    y = x * Math.sin(c) + y * Math.cos(c);
    x = xr;
    const depth = v.dist - z;
    out[2 * i] = 180 + (500 * (x + v.tx)) / depth + noise * (rnd() - 0.5) * 2;
    out[2 * i + 1] = 144 + (500 * (y + v.ty)) / depth + noise * (rnd() - 0.5) * 2;
  });
  return out;
}

/** The frontal head flattened onto a plane: what a printed photo of it carries. */
export function flatten(pts: readonly P3[]): P3[] {
  return pts.map(([x, y]) => [x, y, 0]);
}

export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function fakeFace(lm: Float32Array, o: { eyeOpen?: number; passiveLive?: number; yaw?: number } = {}): FaceResult {
  let x1 = Infinity, y1 = Infinity, x2 = -Infinity, y2 = -Infinity;
  for (let i = 0; i < lm.length; i += 2) {
    x1 = Math.min(x1, lm[i] as number); x2 = Math.max(x2, lm[i] as number);
    y1 = Math.min(y1, lm[i + 1] as number); y2 = Math.max(y2, lm[i + 1] as number);
  }
  const live = o.passiveLive ?? 0.5;
  const eye = o.eyeOpen ?? 0.95;
  return {
    box: [x1, y1, x2, y2],
    score: 0.99,
    landmarks68: lm,
    landmarks5: [],
    quality: {
      ok: true, reasons: [], interEyePx: 60, facePx: x2 - x1, sharpness: 100, brightness: 120, clippedFraction: 0,
      pose: { yaw: o.yaw ?? 0, pitch: 0, roll: 0 },
      eyes: { leftOpen: eye, rightOpen: eye, aspect: 0.12 + 0.2 * eye },
    },
    liveness: { live, probs: [live, 1 - live, 0] },
    embedding: null,
    model: 'test',
  };
}

/** A live head: turns a little, blinks once, speaks; `n` frames at 24 fps. */
export function liveTrack(n: number, seed = 1): Array<{ t: number; face: FaceResult }> {
  const r = seeded(seed);
  return Array.from({ length: n }, (_, k) => {
    const s = k / 24;
    const blink = k >= 8 && k <= 10 ? 0.05 : 1;
    const v: View = { yaw: 12 * Math.sin(2 * Math.PI * 0.7 * s), pitch: 5 * Math.sin(2 * Math.PI * 0.5 * s), roll: 2, tx: 3 * s, ty: 0, dist: 600 };
    const lm = project(head(blink, 0.5 + 0.5 * Math.sin(2 * Math.PI * 2 * s)), v, 0.4, r);
    return { t: (k * 1000) / 24, face: fakeFace(lm, { eyeOpen: blink > 0.5 ? 0.95 : 0.05, passiveLive: 0.6, yaw: v.yaw }) };
  });
}

/** A printed photo of the same head, moved by hand: tilts of the paper plane, drift. */
export function photoTrack(n: number, seed = 2): Array<{ t: number; face: FaceResult }> {
  const r = seeded(seed);
  const flat = flatten(head(1, 0.3));
  return Array.from({ length: n }, (_, k) => {
    const s = k / 24;
    const v: View = { yaw: 15 * Math.sin(2 * Math.PI * 0.7 * s), pitch: 8 * Math.sin(2 * Math.PI * 0.5 * s), roll: 2 + 3 * s, tx: 10 * s, ty: 2, dist: 600 };
    return { t: (k * 1000) / 24, face: fakeFace(project(flat, v, 0.4, r), { eyeOpen: 0.95, passiveLive: 0.3, yaw: v.yaw * 0.5 }) };
  });
}
