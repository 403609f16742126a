/**
 * Evidence accumulated over one face track, frame by frame, turned into a fixed feature vector that the
 * fusion rule (runtime/loop/liveness-fusion.ts) weighs. Each feature is named and documented; all are
 * cheap (the landmark ones are arithmetic on the 68 points the pipeline already found).
 */
import type { EyeState } from '../eye';
import type { HeadPose } from '../pose';
import { homographyResidual } from './homography';
import type { PixelCues } from './screen';

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);
/** Points of the 68 that move rigidly with the skull: contour, brows, nose, eyes (not the mouth). */
export const RIGID_POINTS: readonly number[] = [...range(0, 16), ...range(17, 26), ...range(27, 35), ...range(36, 47)];

export function eyeCentres(lm: ArrayLike<number>): [[number, number], [number, number]] {
  const c = (ids: number[]): [number, number] => {
    let x = 0, y = 0;
    for (const i of ids) {
      x += lm[2 * i] as number;
      y += lm[2 * i + 1] as number;
    }
    return [x / ids.length, y / ids.length];
  };
  return [c([37, 38, 40, 41]), c([43, 44, 46, 47])];
}

export function interOcular(lm: ArrayLike<number>): number {
  const [l, r] = eyeCentres(lm);
  return Math.max(1, Math.hypot(r[0] - l[0], r[1] - l[1]));
}

/** Inner-lip gap (points 62 and 66) over the inter-ocular distance. */
export function mouthGap(lm: ArrayLike<number>): number {
  return Math.hypot((lm[2 * 66] as number) - (lm[2 * 62] as number), (lm[2 * 66 + 1] as number) - (lm[2 * 62 + 1] as number)) / interOcular(lm);
}

/** Rigid-point displacement from `a` to `b` after removing translation, over the inter-ocular distance. */
export function rigidMotion(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ax = 0, ay = 0, bx = 0, by = 0;
  for (const i of RIGID_POINTS) {
    ax += a[2 * i] as number; ay += a[2 * i + 1] as number;
    bx += b[2 * i] as number; by += b[2 * i + 1] as number;
  }
  const n = RIGID_POINTS.length;
  ax /= n; ay /= n; bx /= n; by /= n;
  let s = 0;
  for (const i of RIGID_POINTS) s += ((b[2 * i] as number) - bx - (a[2 * i] as number) + ax) ** 2 + ((b[2 * i + 1] as number) - by - (a[2 * i + 1] as number) + ay) ** 2;
  return Math.sqrt(s / n) / interOcular(b);
}

/** One frame's worth of evidence about one face. */
export interface FrameEvidence {
  /** Milliseconds (any origin, increasing). */
  t: number;
  landmarks68: ArrayLike<number>;
  /** Probability of the passive model's "live" class, or null when it was not run. */
  passiveLive: number | null;
  eyes: EyeState | null;
  pose: HeadPose | null;
  cues: PixelCues | null;
}

/** Names of the features, in the order of `LivenessFeatures.values`. */
export const FEATURE_NAMES = [
  'passive', // mean logit of the passive model's live probability (NaN when it was not run)
  'parallax', // median homography residual of the rigid landmarks (ref and lagged frame -> now), / inter-ocular
  'parallaxPeak', // 80th percentile of the same
  'motion', // 80th percentile of rigid motion from the first frame, % of inter-ocular, capped at MOTION_CAP
  'mouth', // range of the inner-lip gap
  'eyeRange', // range of min(left, right) eye-open probability
  'poseRange', // range of yaw plus range of pitch, degrees / 10, capped at POSE_CAP
  'moire', // median moire score
  'bezel', // median straight-edge score
  'flicker', // relative second-difference jitter of face luma
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

export interface LivenessFeatures {
  frames: number;
  spanMs: number;
  values: Record<FeatureName, number>;
  /** A closed-then-open (or open-then-closed-then-open) eye sequence was seen. */
  blink: boolean;
}

const LAG = 6;
/**
 * Motion and pose change are capped: a little of them separates a face from a still image, but more of
 * them says nothing about liveness (a visitor may walk up fast; a hand-held photo also moves).
 */
export const MOTION_CAP = 3;
export const POSE_CAP = 1.5;

function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

const logit = (p: number): number => {
  const c = Math.min(1 - 1e-4, Math.max(1e-4, p));
  return Math.log(c / (1 - c));
};

/** Accumulates evidence for one face track. Not thread-safe; one per track. */
export class TrackEvidence {
  private readonly frames: FrameEvidence[] = [];
  private readonly residuals: number[] = [];
  private readonly motions: number[] = [];

  get length(): number {
    return this.frames.length;
  }

  push(f: FrameEvidence): void {
    this.frames.push(f);
    const first = this.frames[0] as FrameEvidence;
    if (this.frames.length > 1) {
      const iod = interOcular(f.landmarks68);
      const lagged = this.frames[Math.max(0, this.frames.length - 1 - LAG)] as FrameEvidence;
      const r = Math.max(
        homographyResidual(first.landmarks68, f.landmarks68, RIGID_POINTS),
        homographyResidual(lagged.landmarks68, f.landmarks68, RIGID_POINTS),
      );
      this.residuals.push(Number.isFinite(r) ? r / iod : 0);
      this.motions.push(rigidMotion(first.landmarks68, f.landmarks68));
    }
  }

  features(): LivenessFeatures {
    const fr = this.frames;
    const passive = fr.filter((f) => f.passiveLive !== null).map((f) => logit(f.passiveLive as number));
    const mouth = fr.map((f) => mouthGap(f.landmarks68));
    const eyes = fr.filter((f) => f.eyes).map((f) => Math.min((f.eyes as EyeState).leftOpen, (f.eyes as EyeState).rightOpen));
    const yaw = fr.filter((f) => f.pose).map((f) => (f.pose as HeadPose).yaw);
    const pitch = fr.filter((f) => f.pose).map((f) => (f.pose as HeadPose).pitch);
    const cues = fr.filter((f) => f.cues).map((f) => f.cues as PixelCues);
    const spread = (xs: number[]): number => (xs.length ? Math.max(...xs) - Math.min(...xs) : 0);
    const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
    let flicker = 0;
    if (cues.length >= 3) {
      const l = cues.map((c) => c.luma);
      const d: number[] = [];
      for (let i = 1; i < l.length - 1; i++) d.push(Math.abs((l[i] as number) - ((l[i - 1] as number) + (l[i + 1] as number)) / 2));
      flicker = (mean(d) / Math.max(1, mean(l))) * 100;
    }
    let blink = false;
    let seenOpen = false, seenClosed = false;
    for (const e of eyes) {
      if (e > 0.7) {
        if (seenOpen && seenClosed) blink = true;
        seenOpen = true;
      } else if (e < 0.3 && seenOpen) seenClosed = true;
    }
    return {
      frames: fr.length,
      spanMs: fr.length ? (fr[fr.length - 1] as FrameEvidence).t - (fr[0] as FrameEvidence).t : 0,
      blink,
      values: {
        passive: passive.length ? mean(passive) : NaN,
        parallax: quantile(this.residuals, 0.5) * 100,
        parallaxPeak: quantile(this.residuals, 0.8) * 100,
        motion: Math.min(MOTION_CAP, quantile(this.motions, 0.8) * 100),
        mouth: spread(mouth) * 10,
        eyeRange: spread(eyes),
        poseRange: Math.min(POSE_CAP, (spread(yaw) + spread(pitch)) / 10),
        moire: quantile(cues.map((c) => c.moire), 0.5),
        bezel: quantile(cues.map((c) => c.bezel), 0.5) * 10,
        flicker,
      },
    };
  }
}
