/**
 * Evidence accumulated over one face track, frame by frame, turned into a fixed feature vector that the
 * fusion rule (runtime/loop/liveness-fusion.ts) weighs. Each feature is named and documented; all are
 * cheap (the landmark ones are arithmetic on the 68 points the pipeline already found).
 */
import type { EyeState } from '../eye';
import type { HeadPose } from '../pose';
import type { FlowSample, Shift } from './flow';
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
  eyes: Pick<EyeState, 'leftOpen' | 'rightOpen'> | null;
  pose: HeadPose | null;
  cues: PixelCues | null;
  /** Face and beside-the-face translations since the previous frame (RingFlow), or null when not measured. */
  flow?: FlowSample | null;
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
  'coupling', // how much the background beside the face moves WITH the face: sum(ring . face) / sum(|face|^2) (NaN: not measurable)
  'ringMotion', // median speed of the background beside the face, % of the inter-ocular distance per 100 ms (NaN: not measurable)
  'stillBackground', // 1 when the face moved while every measured block beside it stayed still (backgroundStill), else 0
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

export interface LivenessFeatures {
  frames: number;
  spanMs: number;
  values: Record<FeatureName, number>;
  /** A closed-then-open (or open-then-closed-then-open) eye sequence was seen. */
  blink: boolean;
  /**
   * The face moved against a background that stayed still: at least STILL_MIN_BLOCKS blocks beside the
   * face were measured over MIN_RING_PAIRS frame pairs while the face moved, and EVERY one of them stayed
   * still (coupling at most STILL_MAX_COUPLING, speed at most STILL_MAX_SPEED). Stricter than the median
   * the 'coupling' feature uses: a photo or phone covering part of a still wall leaves some blocks still
   * and moves the others, and that is not a still background.
   */
  backgroundStill: boolean;
  /**
   * Pixel motion of the face block (flow.ts): frame pairs in which it was measured, and the sum of its
   * squared frame-to-frame shifts (px^2). Landmarks jitter on a still image; these pixels do not.
   */
  facePixels: { pairs: number; energy: number };
}

const LAG = 6;
/** Frame pairs with a measured background needed before 'coupling' and 'ringMotion' count. */
export const MIN_RING_PAIRS = 3;
/** Face motion (sum of squared frame-to-frame shifts, px^2) needed before 'coupling' means anything. */
export const MIN_FACE_ENERGY = 1;
export const STILL_MIN_BLOCKS = 2;
export const STILL_MAX_COUPLING = 0.25;
/** % of the inter-ocular distance per 100 ms (the unit of 'ringMotion'). */
export const STILL_MAX_SPEED = 1;

/** Component-wise median of the measured beside-the-face shifts (robust to a block on hair or a passer-by). */
export function ringShift(ring: ReadonlyArray<Shift | null>): Shift | null {
  const ok = ring.filter((r): r is Shift => r !== null);
  if (ok.length === 0) return null;
  const med = (xs: number[]): number => {
    const s = xs.sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
  };
  return [med(ok.map((r) => r[0])), med(ok.map((r) => r[1]))];
}
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
  /** Per frame pair with a measured face and background: face shift, background shift, ms, inter-ocular px. */
  private readonly pairs: Array<{ face: Shift; ring: Shift; dt: number; iod: number }> = [];
  private facePairs = 0;
  private faceEnergy = 0;
  /** Per beside-the-face block: its measured pairs (face shift, block shift, speed in 'ringMotion' units). */
  private readonly blocks: Array<Array<{ face: Shift; shift: Shift; speed: number }>> = [];

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
      const prev = this.frames[this.frames.length - 2] as FrameEvidence;
      const ring = f.flow ? ringShift(f.flow.ring) : null;
      const face = f.flow?.face;
      if (face) {
        this.facePairs++;
        this.faceEnergy += face[0] ** 2 + face[1] ** 2;
      }
      if (face && ring && f.t > prev.t) {
        const dt = f.t - prev.t;
        this.pairs.push({ face, ring, dt, iod });
        f.flow?.ring.forEach((b, k) => {
          if (!b) return;
          (this.blocks[k] ??= []).push({ face, shift: b, speed: (Math.hypot(b[0], b[1]) / iod / dt) * 100 * 100 });
        });
      }
    }
  }

  features(): LivenessFeatures {
    const fr = this.frames;
    const passive = fr.filter((f) => f.passiveLive !== null).map((f) => logit(f.passiveLive as number));
    const mouth = fr.map((f) => mouthGap(f.landmarks68));
    const eyes = fr.flatMap((f) => (f.eyes ? [Math.min(f.eyes.leftOpen, f.eyes.rightOpen)] : []));
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
    let coupling = NaN, ringMotion = NaN;
    const pairs = this.pairs;
    if (pairs.length >= MIN_RING_PAIRS) {
      let sff = 0, srf = 0;
      for (const p of pairs) {
        sff += p.face[0] ** 2 + p.face[1] ** 2;
        srf += p.ring[0] * p.face[0] + p.ring[1] * p.face[1];
      }
      if (sff >= MIN_FACE_ENERGY) coupling = Math.max(-1, Math.min(2, srf / sff));
      ringMotion = quantile(pairs.map((p) => (Math.hypot(p.ring[0], p.ring[1]) / p.iod / p.dt) * 100 * 100), 0.5);
    }
    let stillBlocks = 0, movedBlocks = 0, faceEnergy = 0;
    for (const p of pairs) faceEnergy += p.face[0] ** 2 + p.face[1] ** 2;
    for (const b of this.blocks) {
      if (!b || b.length < MIN_RING_PAIRS) continue;
      let sff = 0, srf = 0;
      for (const p of b) {
        sff += p.face[0] ** 2 + p.face[1] ** 2;
        srf += p.shift[0] * p.face[0] + p.shift[1] * p.face[1];
      }
      const still = sff > 0 && Math.abs(srf / sff) <= STILL_MAX_COUPLING && quantile(b.map((p) => p.speed), 0.5) <= STILL_MAX_SPEED;
      if (still) stillBlocks++;
      else movedBlocks++;
    }
    const backgroundStill = faceEnergy >= MIN_FACE_ENERGY && stillBlocks >= STILL_MIN_BLOCKS && movedBlocks === 0;
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
      backgroundStill,
      facePixels: { pairs: this.facePairs, energy: this.faceEnergy },
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
        coupling,
        ringMotion,
        stillBackground: backgroundStill ? 1 : 0,
      },
    };
  }
}
