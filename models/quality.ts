/**
 * Quality gates per face. Each gate has its own threshold and a named reason when it fails, so an
 * enrolment desk can tell a resident "turn to the camera" rather than "bad photo".
 *
 * `eyes-closed` is not judged on one frame: fr_eye reads open eyes behind glasses and narrow eyes as
 * closed, and no single-frame measure here tells them from a blink (models/eye.ts). The door loop adds it
 * over a face track with BlinkGate (`withEyesClosed`).
 */
import { z } from 'zod';
import type { Box } from './nms';
import { grayPatch, type RawFrame } from './image';
import type { Point } from './align';
import type { EyeState } from './eye';
import type { HeadPose } from './pose';

export const QualityThresholdsSchema = z.strictObject({
  /** Minimum distance between the eye centres, in frame pixels. */
  minInterEyePx: z.number().nonnegative().default(32),
  /** Minimum face box side (the smaller one), in frame pixels. */
  minFacePx: z.number().nonnegative().default(80),
  maxYawDeg: z.number().positive().default(30),
  maxPitchDeg: z.number().positive().default(25),
  maxRollDeg: z.number().positive().default(25),
  /** Minimum variance of the Laplacian over the face resampled to 64x64 gray. */
  minSharpness: z.number().nonnegative().default(40),
  /** Mean face luma window (0..255). */
  minBrightness: z.number().min(0).max(255).default(50),
  maxBrightness: z.number().min(0).max(255).default(215),
  /** Largest fraction of face pixels that may be clipped (<= 5 or >= 250). */
  maxClippedFraction: z.number().min(0).max(1).default(0.25),
  /** fr_eye reads an eye closed when its open probability is below this (used over a track only). */
  minEyeOpen: z.number().min(0).max(1).default(0.5),
  /**
   * A tracked frame is eyes-closed when fr_eye reads both eyes closed and the landmarks' eye aspect ratio
   * is at least this fraction below the track's open-eye baseline (models/eye.ts, BlinkGate).
   */
  blinkAspectDrop: z.number().min(0).max(1).default(0.2),
});
export type QualityThresholds = z.infer<typeof QualityThresholdsSchema>;
export const DEFAULT_QUALITY: QualityThresholds = QualityThresholdsSchema.parse({});

export type QualityReason =
  | 'face-too-small'
  | 'eyes-too-close'
  | 'yaw-too-large'
  | 'pitch-too-large'
  | 'roll-too-large'
  | 'blurry'
  | 'too-dark'
  | 'too-bright'
  | 'clipped-exposure'
  | 'eyes-closed';

export interface QualityVerdict {
  ok: boolean;
  reasons: QualityReason[];
  interEyePx: number;
  facePx: number;
  sharpness: number;
  brightness: number;
  clippedFraction: number;
  pose: HeadPose | null;
  eyes: EyeState | null;
}

export interface QualityMeasures {
  interEyePx: number;
  facePx: number;
  sharpness: number;
  brightness: number;
  clippedFraction: number;
}

/** Measures size, sharpness and exposure on the face (the central part of the box, hair excluded). */
export function measure(frame: RawFrame, box: Box, five: readonly Point[]): QualityMeasures {
  const le = five[0] as Point, re = five[1] as Point;
  const interEyePx = Math.hypot(re[0] - le[0], re[1] - le[1]);
  const w = box[2] - box[0], h = box[3] - box[1];
  const inner = { x: box[0] + w * 0.15, y: box[1] + h * 0.15, w: w * 0.7, h: h * 0.7 };
  const N = 64;
  const g = grayPatch(frame, inner, N, N);
  let sum = 0, clipped = 0;
  for (let i = 0; i < g.length; i++) {
    const v = g[i] as number;
    sum += v;
    if (v <= 5 || v >= 250) clipped++;
  }
  // variance of the 4-neighbour Laplacian
  let ls = 0, ls2 = 0, n = 0;
  for (let y = 1; y < N - 1; y++) {
    for (let x = 1; x < N - 1; x++) {
      const i = y * N + x;
      const l = (g[i - 1] as number) + (g[i + 1] as number) + (g[i - N] as number) + (g[i + N] as number) - 4 * (g[i] as number);
      ls += l;
      ls2 += l * l;
      n++;
    }
  }
  const mean = ls / n;
  return {
    interEyePx,
    facePx: Math.min(w, h),
    sharpness: ls2 / n - mean * mean,
    brightness: sum / g.length,
    clippedFraction: clipped / g.length,
  };
}

export function judge(m: QualityMeasures, pose: HeadPose | null, eyes: EyeState | null, t: QualityThresholds): QualityVerdict {
  const reasons: QualityReason[] = [];
  if (m.facePx < t.minFacePx) reasons.push('face-too-small');
  if (m.interEyePx < t.minInterEyePx) reasons.push('eyes-too-close');
  if (pose) {
    if (Math.abs(pose.yaw) > t.maxYawDeg) reasons.push('yaw-too-large');
    if (Math.abs(pose.pitch) > t.maxPitchDeg) reasons.push('pitch-too-large');
    if (Math.abs(pose.roll) > t.maxRollDeg) reasons.push('roll-too-large');
  }
  if (m.sharpness < t.minSharpness) reasons.push('blurry');
  if (m.brightness < t.minBrightness) reasons.push('too-dark');
  if (m.brightness > t.maxBrightness) reasons.push('too-bright');
  if (m.clippedFraction > t.maxClippedFraction) reasons.push('clipped-exposure');
  return { ok: reasons.length === 0, reasons, ...m, pose, eyes };
}

/** The verdict with `eyes-closed` added when a track's BlinkGate found this frame's eyes closed. */
export function withEyesClosed(v: QualityVerdict, closed: boolean): QualityVerdict {
  if (!closed || v.reasons.includes('eyes-closed')) return v;
  return { ...v, ok: false, reasons: [...v.reasons, 'eyes-closed'] };
}
