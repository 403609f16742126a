/**
 * Liveness as fused evidence over one face track, with a time budget.
 *
 * Per frame the caller passes the face the pipeline found (landmarks, eye state, head pose, passive model
 * probabilities), the frame's pixels (for screen cues) and, when the terminal has one, a near-infrared
 * observation. TrackEvidence turns the frames so far into features (models/liveness/evidence.ts); a
 * logistic rule weighs them into a score in 0..1 (weights fitted by `npm run eval:liveness` on its
 * calibration split). The verdict:
 * - 'live' early (fast path) when the score reaches `fastAccept` after at least `minFrames` frames;
 * - 'not-live' early when the score stays below `fastReject` after `minRejectMs`;
 * - otherwise 'pending' until `budgetMs` after the track's first frame, then 'live' when the score is at
 *   least `threshold`, else 'not-live' (fail closed).
 * A verdict once given is kept for the rest of the track. One instance per track.
 */
import { z } from 'zod';
import type { Clock } from '../../core/clock';
import type { RawFrame } from '../../models/image';
import type { FaceResult } from '../../models/pipeline';
import { FEATURE_NAMES, type FeatureName, type LivenessFeatures, TrackEvidence } from '../../models/liveness/evidence';
import { type FlowSample, RingFlow } from '../../models/liveness/flow';
import { irCues, irLiveness, type IrObservation } from '../../models/liveness/ir';
import { pixelCues, type PixelCues } from '../../models/liveness/screen';

export type LivenessVerdict = 'live' | 'not-live' | 'pending';

const FeatureWeightsSchema = z.strictObject(
  Object.fromEntries(FEATURE_NAMES.map((n) => [n, z.number()])) as Record<FeatureName, z.ZodNumber>,
);

export const FusionModelSchema = z.strictObject({
  bias: z.number(),
  /** Weight per feature (on the standardised feature). */
  weights: FeatureWeightsSchema,
  /** Mean and standard deviation of each feature on the calibration set (standardisation). */
  mean: FeatureWeightsSchema,
  std: FeatureWeightsSchema,
  /**
   * How the passive model's probabilities were calibrated: 'bgr' = B,G,R planes, passed by the caller as
   * `passiveProbs` (models/liveness/passive.ts); 'rgb' = the pipeline's own `face.liveness.probs`.
   */
  passiveOrder: z.enum(['rgb', 'bgr']),
  /** Class of the passive model that means "live" (calibrated on the evaluation set). */
  passiveLiveClass: z.number().int().min(0).max(2),
});
export type FusionModel = z.infer<typeof FusionModelSchema>;

/**
 * Fitted by `npm run eval:liveness` (sign-constrained, L2-regularised logistic regression on the
 * calibration split, every time point from the 4th frame to 2.5 s, genuine weight split evenly between
 * the two men); printed by it as `model`. The passive model's weight is 0: it separated franck's genuine
 * frames from attacks (AUC 0.93) but ranked the other man's genuine frames BELOW the attacks (B,G,R
 * class 0 AUC 0.31), and its best reading for franck changed class when only the wall behind him
 * changed; no channel order / class reaches AUC 0.8 for both men, so it reads the recording and the
 * scene, not liveness, and the eval leaves it out. The background-motion cues (coupling, ringMotion,
 * stillBackground) are anchored at 0 (ANCHORED). Re-run and paste when the features change. Weights are on standardised
 * features (value - mean) / std.
 */
export const DEFAULT_FUSION_MODEL: FusionModel = {
  bias: 0.8582,
  weights: { passive: 0, parallax: 0.0509, parallaxPeak: 0.0055, motion: 0.4232, mouth: 0.2801, eyeRange: 0, poseRange: 0, moire: 0, bezel: -2.3564, flicker: -2.174, coupling: -1.2165, ringMotion: -1.3877, stillBackground: 1.0166 },
  mean: { passive: -3.3443, parallax: 1.7685, parallaxPeak: 2.3934, motion: 2.5069, mouth: 0.3854, eyeRange: 0.1788, poseRange: 0.8382, moire: 2.28, bezel: 47.6259, flicker: 0.4382, coupling: 0, ringMotion: 0, stillBackground: 0 },
  std: { passive: 2.7994, parallax: 1.5817, parallaxPeak: 2.2066, motion: 0.9439, mouth: 0.5716, eyeRange: 0.3326, poseRange: 0.5258, moire: 0.2416, bezel: 27.7457, flicker: 0.3774, coupling: 0.7887, ringMotion: 10.5556, stillBackground: 0.2617 },
  passiveOrder: 'bgr',
  passiveLiveClass: 0,
};

/**
 * Fallback when no B,G,R passive probabilities are passed: the same features with the pipeline's own
 * passive probabilities (R,G,B planes). Fitted by `npm run eval:liveness`; with the passive weight at 0
 * it gives the same verdicts as the main model.
 */
export const DEFAULT_FUSION_MODEL_RGB: FusionModel = {
  bias: 0.8582,
  weights: { passive: 0, parallax: 0.0509, parallaxPeak: 0.0055, motion: 0.4232, mouth: 0.2801, eyeRange: 0, poseRange: 0, moire: 0, bezel: -2.3564, flicker: -2.174, coupling: -1.2165, ringMotion: -1.3877, stillBackground: 1.0166 },
  mean: { passive: 3.4857, parallax: 1.7685, parallaxPeak: 2.3934, motion: 2.5069, mouth: 0.3854, eyeRange: 0.1788, poseRange: 0.8382, moire: 2.28, bezel: 47.6259, flicker: 0.4382, coupling: 0, ringMotion: 0, stillBackground: 0 },
  std: { passive: 4.0028, parallax: 1.5817, parallaxPeak: 2.2066, motion: 0.9439, mouth: 0.5716, eyeRange: 0.3326, poseRange: 0.5258, moire: 0.2416, bezel: 27.7457, flicker: 0.3774, coupling: 0.7887, ringMotion: 10.5556, stillBackground: 0.2617 },
  passiveOrder: 'rgb',
  passiveLiveClass: 0,
};

const IrPolicySchema = z.strictObject({
  /** 'off': ignore NIR; 'optional': use it when present; 'required': no NIR frame means not live. */
  mode: z.enum(['off', 'optional', 'required']).default('optional'),
  /** Logit weight of the NIR evidence (irLiveness mapped to -1..1). */
  weight: z.number().nonnegative().default(6),
  /** Mean NIR liveness (0..1) below which the track is not live whatever else it shows. */
  vetoBelow: z.number().min(0).max(1).default(0.1),
  /** NIR frames needed before the veto or the NIR term counts. */
  minFrames: z.number().int().min(1).default(3),
});

const ExplicitPolicySchema = z.strictObject({
  /** From the track's first frame to the final verdict. */
  budgetMs: z.number().int().min(50).max(30_000),
  /** Frames needed before any verdict. */
  minFrames: z.number().int().min(2).max(200),
  /** Score for the fast path (an early 'live'). */
  fastAccept: z.number().min(0).max(1),
  /** Score below which the track is denied early, after minRejectMs. */
  fastReject: z.number().min(0).max(1),
  minRejectMs: z.number().int().min(0).max(30_000),
  /** Score needed for 'live' when the budget is used up. */
  threshold: z.number().min(0).max(1),
  /**
   * Rigid face motion (the 'motion' feature: % of the eye distance, capped) needed before any 'live': a
   * face that has not moved at all is a still image, however real it looks to the passive model.
   */
  minMotion: z.number().min(0).max(100).default(0),
  /**
   * What an early 'live' (the fast path) needs besides the score: 'still-background' = the face moved
   * while every measured block of the textured background beside it stayed still (a hand-held photo or
   * phone moves its own surroundings; models/liveness/flow.ts), so in front of a plain wall the track
   * always waits for the budget; 'score' = the score alone (faster in front of plain walls, and
   * weaker: early on the attack cues have had little time to show).
   */
  fastPath: z.enum(['still-background', 'score']).default('still-background'),
  /**
   * Pixel motion of the face needed before any 'live' (sum of squared frame-to-frame shifts of the face
   * block, px^2; 0 = off), when the face block was measured in at least 3 frame pairs. A photo on a stand
   * measured at most 0.0012 over a clip through sensor noise and H.264, a live face at least 0.015 (eval:liveness);
   * landmarks alone jitter past the minMotion gate on a still image.
   */
  minPixelMotion: z.number().min(0).max(100).default(0.004),
  ir: IrPolicySchema.prefault({}),
  model: FusionModelSchema.optional(),
});
export type LivenessPolicy = z.infer<typeof ExplicitPolicySchema>;

export const LIVENESS_PRESETS = {
  /** Longest wait, highest bar: for doors where a false accept costs most (main gates). */
  strict: { budgetMs: 2400, minFrames: 8, fastAccept: 0.97, fastReject: 0.02, minRejectMs: 1500, threshold: 0.6, minMotion: 0.44, fastPath: 'still-background', minPixelMotion: 0.004, ir: { mode: 'optional', weight: 6, vetoBelow: 0.1, minFrames: 3 } },
  /** The default. */
  balanced: { budgetMs: 2000, minFrames: 4, fastAccept: 0.6, fastReject: 0.02, minRejectMs: 1200, threshold: 0.6, minMotion: 0.44, fastPath: 'still-background', minPixelMotion: 0.004, ir: { mode: 'optional', weight: 6, vetoBelow: 0.1, minFrames: 3 } },
  /** Shortest wait: for low-risk doors (bike store, inner doors). */
  fast: { budgetMs: 1000, minFrames: 4, fastAccept: 0.6, fastReject: 0.05, minRejectMs: 600, threshold: 0.6, minMotion: 0.44, fastPath: 'still-background', minPixelMotion: 0.004, ir: { mode: 'optional', weight: 6, vetoBelow: 0.1, minFrames: 3 } },
} as const satisfies Record<string, LivenessPolicy>;
export type LivenessPreset = keyof typeof LIVENESS_PRESETS;

/**
 * Per-door liveness policy in the terminal config: a preset name, or a preset with some parameters
 * overridden ({ preset: 'balanced', budgetMs: 1500 }), or every parameter explicit.
 */
export const LivenessPolicySchema = z.union([
  z.enum(['strict', 'balanced', 'fast']),
  ExplicitPolicySchema.partial().extend({ preset: z.enum(['strict', 'balanced', 'fast']) }).strict(),
  ExplicitPolicySchema,
]);
export type LivenessPolicyInput = z.input<typeof LivenessPolicySchema>;

/** Parses and resolves a policy (preset names and overrides) into explicit parameters. */
export function resolvePolicy(input: LivenessPolicyInput): LivenessPolicy {
  const p = LivenessPolicySchema.parse(input);
  if (typeof p === 'string') return ExplicitPolicySchema.parse(LIVENESS_PRESETS[p]);
  if ('preset' in p) {
    const { preset, ...over } = p;
    const clean = Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined));
    return ExplicitPolicySchema.parse({ ...LIVENESS_PRESETS[preset], ...clean });
  }
  return p;
}

/** One frame of a track as the frame loop sees it. */
export interface LivenessObservation {
  /** Capture time, ms (monotonic); when omitted the fusion's clock is read. */
  t?: number;
  /** The colour frame; needed for the screen cues (skipped when absent or when `cues` is given). */
  frame?: RawFrame;
  face: FaceResult;
  ir?: IrObservation;
  /** Pixel cues computed elsewhere (the evaluation caches them). */
  cues?: PixelCues;
  /**
   * Face and background shifts since the previous observation, computed elsewhere (the evaluation caches
   * them); otherwise measured here from `frame` (needs consecutive frames of the same camera).
   */
  flow?: FlowSample | null;
  /**
   * Passive model probabilities with B,G,R planes (PassiveBgr.probs), for a model calibrated that way.
   * Without them such a model treats the passive evidence as absent (neutral), never as live.
   */
  passiveProbs?: readonly number[];
}

export interface LivenessOutcome {
  verdict: LivenessVerdict;
  /** 0..1, higher = more likely live. */
  score: number;
  /** Why, strongest first: e.g. 'fast-path', 'budget-used', 'parallax:live', 'bezel:attack', 'ir:attack'. */
  reasons: string[];
  /** Frames observed so far in this track. */
  framesUsed: number;
  /** ms from the track's first frame to this verdict. */
  elapsedMs: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Attack cues (a screen's moire, a bezel or paper edge, flicker) can only count against liveness: their
 * absence is no evidence of life (a close-up print shows no edge; a still image does not flicker). Their
 * standardised value is floored at 0, in the fit (bench/eval-liveness.ts) as here.
 */
export const ONE_SIDED: ReadonlySet<FeatureName> = new Set<FeatureName>(['moire', 'bezel', 'flicker', 'coupling', 'ringMotion']);

/**
 * Background-motion cues are anchored at 0 (their mean is fixed at 0 in the fit): a background beside the
 * face that does not move, and one that cannot be measured (a plain wall: NaN), both count 0. Otherwise a
 * model calibrated where walls are textured would lean on "background still" as evidence of life and
 * refuse residents in front of plain walls, where the cue is silent.
 */
export const ANCHORED: ReadonlySet<FeatureName> = new Set<FeatureName>(['coupling', 'ringMotion', 'stillBackground']);

/** The standardised value of a feature as the model weighs it (NaN = absent). */
export function standardise(m: FusionModel, n: FeatureName, v: number): number {
  const z = (v - m.mean[n]) / (m.std[n] || 1);
  return ONE_SIDED.has(n) ? Math.max(0, z) : z;
}

/** Score of a feature set under a model (and optional NIR term), with per-feature contributions. */
export function fusionScore(m: FusionModel, f: LivenessFeatures, ir: { live: number; weight: number } | null): { score: number; contributions: Array<[string, number]> } {
  let z = m.bias;
  const contributions: Array<[string, number]> = [];
  for (const n of FEATURE_NAMES) {
    // absent evidence (NaN: e.g. no passive score) counts for nothing either way
    const c = Number.isNaN(f.values[n]) ? 0 : m.weights[n] * standardise(m, n, f.values[n]);
    z += c;
    contributions.push([n, c]);
  }
  if (ir) {
    const c = ir.weight * (2 * ir.live - 1);
    z += c;
    contributions.push(['ir', c]);
  }
  contributions.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  return { score: sigmoid(z), contributions };
}

/** Frame pairs with a measured face block before the pixel-motion gate applies. */
export const PIXEL_MOTION_MIN_PAIRS = 3;

/** The motion gates of a policy: landmark motion, and pixel motion of the face when it was measured. */
export function hasMoved(f: LivenessFeatures, p: Pick<LivenessPolicy, 'minMotion' | 'minPixelMotion'>): boolean {
  const pixelsMeasured = f.facePixels.pairs >= PIXEL_MOTION_MIN_PAIRS;
  return f.values.motion >= p.minMotion && (!pixelsMeasured || f.facePixels.energy >= p.minPixelMotion);
}

export class LivenessFusion {
  readonly policy: LivenessPolicy;
  private model: FusionModel | null = null;
  private readonly evidence = new TrackEvidence();
  private readonly flow = new RingFlow();
  private t0: number | null = null;
  private final: LivenessOutcome | null = null;
  private irSum = 0;
  private irN = 0;

  constructor(
    policy: LivenessPolicyInput = 'balanced',
    private readonly clock?: Clock,
    /**
     * Channel order the pipeline's own liveness stage uses (`face.liveness.probs`). When it matches the
     * model's calibration those probabilities are used if the caller passes no `passiveProbs`.
     */
    private readonly pipelinePassiveOrder: 'rgb' | 'bgr' = 'rgb',
  ) {
    this.policy = resolvePolicy(policy);
    this.model = this.policy.model ?? null;
  }

  observe(obs: LivenessObservation): LivenessOutcome {
    const t = obs.t ?? this.clock?.monotonic() ?? 0;
    if (this.t0 === null) this.t0 = t;
    const elapsedMs = t - this.t0;
    if (this.final) return { ...this.final, framesUsed: this.evidence.length };
    const f = obs.face;
    // the model is chosen on the track's first frame: B,G,R passive probabilities passed (or a B,G,R
    // pipeline) -> the main model; otherwise the fallback fitted on the pipeline's R,G,B probabilities
    const model = (this.model ??= obs.passiveProbs || this.pipelinePassiveOrder === 'bgr' ? DEFAULT_FUSION_MODEL : DEFAULT_FUSION_MODEL_RGB);
    const fromPipeline = this.pipelinePassiveOrder === model.passiveOrder ? f.liveness?.probs : undefined;
    const probs = model.passiveOrder === 'bgr' ? (obs.passiveProbs ?? fromPipeline) : fromPipeline;
    this.evidence.push({
      t,
      landmarks68: f.landmarks68,
      passiveLive: probs ? (probs[model.passiveLiveClass] ?? null) : null,
      eyes: f.quality.eyes,
      pose: f.quality.pose,
      cues: obs.cues ?? (obs.frame ? pixelCues(obs.frame, f.box) : null),
      flow: obs.flow !== undefined ? obs.flow : obs.frame ? this.flow.observe(obs.frame, f.box) : null,
    });
    const p = this.policy;
    if (p.ir.mode !== 'off' && obs.ir) {
      this.irSum += irLiveness(irCues(obs.ir.frame, obs.ir.box ?? f.box));
      this.irN++;
    }
    const n = this.evidence.length;
    const feats = this.evidence.features();
    const irReady = this.irN >= p.ir.minFrames;
    const ir = irReady ? { live: this.irSum / this.irN, weight: p.ir.weight } : null;
    const { score, contributions } = fusionScore(model, feats, ir);
    const why = contributions.slice(0, 3).map(([name, c]) => `${name}:${c >= 0 ? 'live' : 'attack'}`);
    if (feats.blink) why.push('blink');
    if (feats.backgroundStill) why.push('background-still');
    const out = (verdict: LivenessVerdict, lead: string[]): LivenessOutcome => ({ verdict, score, reasons: [...lead, ...why], framesUsed: n, elapsedMs });
    if (p.ir.mode === 'required' && this.irN < p.ir.minFrames && elapsedMs >= p.budgetMs) return (this.final = out('not-live', ['ir-missing']));
    if (ir && ir.live < p.ir.vetoBelow) return (this.final = out('not-live', ['ir-veto']));
    if (n < p.minFrames) return out('pending', ['collecting']);
    const irOk = p.ir.mode !== 'required' || irReady;
    const moved = hasMoved(feats, p);
    const fastOk = p.fastPath === 'score' || feats.backgroundStill;
    if (irOk && moved && fastOk && score >= p.fastAccept) return (this.final = out('live', ['fast-path']));
    if (score < p.fastReject && elapsedMs >= p.minRejectMs) return (this.final = out('not-live', ['strong-attack-evidence']));
    if (elapsedMs >= p.budgetMs) {
      if (!moved) return (this.final = out('not-live', ['budget-used', 'no-motion']));
      return (this.final = out(irOk && score >= p.threshold ? 'live' : 'not-live', ['budget-used']));
    }
    return out('pending', ['waiting-for-evidence']);
  }
}
