import { TrackEvidence } from '../../../models/liveness/evidence';
import { FakeClock } from '../../../core/clock';
import { FakeIrSource } from '../../../runtime/loop/liveness-ir';
import {
  DEFAULT_FUSION_MODEL,
  DEFAULT_FUSION_MODEL_RGB,
  fusionScore,
  type FusionModel,
  LivenessFusion,
  type LivenessOutcome,
  LivenessPolicySchema,
  type LivenessPolicyInput,
  resolvePolicy,
} from '../../../runtime/loop/liveness-fusion';
import { liveTrack, photoTrack } from '../../models/liveness/face3d';

/** A transparent model for testing the rule: parallax alone decides (score 0.5 at 1% of the eye distance). */
const PARALLAX_ONLY: FusionModel = {
  ...DEFAULT_FUSION_MODEL,
  bias: 0,
  weights: { passive: 0, parallax: 4, parallaxPeak: 0, motion: 0, mouth: 0, eyeRange: 0, poseRange: 0, moire: 0, bezel: 0, flicker: 0, coupling: 0, ringMotion: 0, stillBackground: 0 },
  mean: { ...DEFAULT_FUSION_MODEL.mean, parallax: 1 },
  std: { ...DEFAULT_FUSION_MODEL.std, parallax: 1 },
};

function run(policy: LivenessPolicyInput, track: ReturnType<typeof liveTrack>): LivenessOutcome[] {
  const fusion = new LivenessFusion(policy);
  return track.map(({ t, face }) => fusion.observe({ t, face }));
}

const explicit = (over: Partial<Record<string, unknown>> = {}): Exclude<LivenessPolicyInput, string> => ({
  budgetMs: 1000,
  minFrames: 6,
  fastAccept: 0.99,
  fastReject: 0,
  minRejectMs: 0,
  threshold: 0.5,
  model: PARALLAX_ONLY,
  // the score rule alone; the still-background requirement has its own tests below
  fastPath: 'score',
  ...over,
});

describe('liveness policy', () => {
  it('accepts a preset name, a preset with overrides, or every parameter', () => {
    expect(resolvePolicy('fast').budgetMs).toBe(1000);
    const p = resolvePolicy({ preset: 'strict', budgetMs: 1800 });
    expect(p.budgetMs).toBe(1800);
    expect(p.minFrames).toBe(resolvePolicy('strict').minFrames);
    expect(resolvePolicy(explicit()).threshold).toBe(0.5);
  });

  it('rejects unknown presets, unknown keys and out-of-range values', () => {
    expect(LivenessPolicySchema.safeParse('lenient').success).toBe(false);
    expect(LivenessPolicySchema.safeParse({ preset: 'fast', budget: 10 }).success).toBe(false);
    expect(LivenessPolicySchema.safeParse({ ...explicit(), threshold: 1.5 }).success).toBe(false);
    expect(LivenessPolicySchema.safeParse({ ...explicit(), ir: { mode: 'sometimes' } }).success).toBe(false);
  });
});

describe('liveness fusion', () => {
  it('stays pending until it has minFrames frames', () => {
    const outs = run(explicit({ fastAccept: 0.01 }), liveTrack(10));
    expect(outs.slice(0, 5).map((o) => o.verdict)).toEqual(Array(5).fill('pending'));
    expect(outs[5]?.verdict).toBe('live');
    expect(outs[5]?.framesUsed).toBe(6);
  });

  it('takes the fast path for a turning head before the budget is used', () => {
    const outs = run(explicit({ fastAccept: 0.9 }), liveTrack(30));
    const first = outs.find((o) => o.verdict !== 'pending');
    expect(first?.verdict).toBe('live');
    expect(first?.reasons[0]).toBe('fast-path');
    expect(first?.elapsedMs).toBeLessThan(1000);
    expect(first?.reasons).toContain('parallax:live');
  });

  it('waits for the budget and then denies a photo moved by hand (flat motion)', () => {
    const outs = run(explicit(), photoTrack(30));
    const pending = outs.filter((o) => o.elapsedMs < 1000);
    expect(pending.every((o) => o.verdict === 'pending')).toBe(true);
    const final = outs.find((o) => o.verdict !== 'pending');
    expect(final?.verdict).toBe('not-live');
    expect(final?.reasons[0]).toBe('budget-used');
    expect(final?.elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(final?.reasons).toContain('parallax:attack');
  });

  it('denies early on strong attack evidence when the policy allows it', () => {
    const outs = run(explicit({ fastReject: 0.45, minRejectMs: 400 }), photoTrack(30));
    const final = outs.find((o) => o.verdict !== 'pending');
    expect(final?.verdict).toBe('not-live');
    expect(final?.reasons[0]).toBe('strong-attack-evidence');
    expect(final?.elapsedMs).toBeGreaterThanOrEqual(400);
    expect(final?.elapsedMs).toBeLessThan(1000);
  });

  it('keeps its verdict for the rest of the track', () => {
    const fusion = new LivenessFusion(explicit({ fastAccept: 0.01 }));
    const photo = photoTrack(40);
    const outs = liveTrack(6).concat(photo.slice(6)).map(({ t, face }) => fusion.observe({ t, face }));
    expect(outs.slice(5).every((o) => o.verdict === 'live')).toBe(true);
    // the verdict reports the frames it was based on
    expect(outs[39]?.framesUsed).toBe(6);
  });

  it('never calls a face live that has not moved at all, however high its score', () => {
    const still = liveTrack(1)[0]!;
    const fusion = new LivenessFusion(explicit({ fastAccept: 0.01, threshold: 0.01, minMotion: 0.5 }));
    const outs = Array.from({ length: 30 }, (_, k) => fusion.observe({ t: (k * 1000) / 24, face: still.face }));
    expect(outs.slice(0, 23).every((o) => o.verdict === 'pending')).toBe(true);
    const final = outs.find((o) => o.verdict !== 'pending');
    expect(final?.verdict).toBe('not-live');
    expect(final?.reasons).toContain('no-motion');
    // the same gate lets a moving head through
    expect(run(explicit({ fastAccept: 0.01, minMotion: 0.5 }), liveTrack(30)).some((o) => o.verdict === 'live')).toBe(true);
  });

  it('gives no credit for the absence of an attack cue, only blame for its presence', () => {
    const m = DEFAULT_FUSION_MODEL;
    const base = { frames: 10, spanMs: 400, blink: false, backgroundStill: false, facePixels: { pairs: 0, energy: 0 }, values: { ...m.mean } };
    const plain = fusionScore(m, base, null).score;
    expect(fusionScore(m, { ...base, values: { ...m.mean, bezel: 0, flicker: 0 } }, null).score).toBeCloseTo(plain, 12);
    expect(fusionScore(m, { ...base, values: { ...m.mean, bezel: m.mean.bezel + 3 * m.std.bezel } }, null).score).toBeLessThan(plain);
    expect(fusionScore(m, { ...base, values: { ...m.mean, passive: NaN } }, null).score).toBeCloseTo(plain, 12);
  });

  it('uses the main model with B,G,R passive probabilities, and the fallback on the pipeline\'s own otherwise', () => {
    const { t, face } = liveTrack(1)[0]!;
    const withProbs = new LivenessFusion('balanced').observe({ t, face, passiveProbs: [0.9, 0.05, 0.05] });
    const without = new LivenessFusion('balanced').observe({ t, face });
    const features = (live: number): ReturnType<TrackEvidence['features']> => {
      const ev = new TrackEvidence();
      ev.push({ t, landmarks68: face.landmarks68, passiveLive: live, eyes: face.quality.eyes, pose: face.quality.pose, cues: null });
      return ev.features();
    };
    expect(withProbs.score).toBeCloseTo(fusionScore(DEFAULT_FUSION_MODEL, features(0.9), null).score, 12);
    // fakeFace gives the pipeline probabilities [live, 1 - live, 0]: class 2 (the fallback's live class) is 0
    expect(without.score).toBeCloseTo(fusionScore(DEFAULT_FUSION_MODEL_RGB, features(0), null).score, 12);
  });

  it('takes the fast path by default only when the face moved against a background that stayed still', () => {
    const face: [number, number] = [1.5, -0.8];
    const still = { face, ring: [[0.02, -0.01], [0, 0.01], null, [-0.01, 0]] as Array<[number, number] | null> };
    const carried = { face, ring: still.ring.map((b) => (b ? face : null)) };
    const verdicts = (flow: typeof still | null, over = {}): LivenessOutcome | undefined => {
      const fusion = new LivenessFusion(explicit({ fastAccept: 0.9, fastPath: 'still-background', ...over }));
      return liveTrack(30).map(({ t, face: f }) => fusion.observe({ t, face: f, flow })).find((o) => o.verdict !== 'pending');
    };
    const withStill = verdicts(still);
    expect(withStill?.reasons[0]).toBe('fast-path');
    expect(withStill?.reasons).toContain('background-still');
    expect(withStill?.elapsedMs).toBeLessThan(500);
    // the same head with no background measurement (a plain wall), or with a background that moves with
    // it (a photo or phone moved by hand), waits for the budget
    for (const flow of [null, carried]) {
      const out = verdicts(flow);
      expect(out?.reasons[0]).toBe('budget-used');
      expect(out?.elapsedMs).toBeGreaterThanOrEqual(1000);
    }
    expect(verdicts(null, { fastPath: 'score' })?.reasons[0]).toBe('fast-path');
  });

  it('never calls a face live whose pixels did not move, however its landmarks jitter', () => {
    // liveTrack's landmarks turn and blink; the face block's measured shift says whether pixels moved
    const verdict = (shift: [number, number]): LivenessOutcome | undefined => {
      const fusion = new LivenessFusion(explicit({ fastAccept: 0.01, threshold: 0.01 }));
      return liveTrack(30).map(({ t, face }) => fusion.observe({ t, face, flow: { face: shift, ring: [] } })).find((o) => o.verdict !== 'pending');
    };
    const still = verdict([0.002, -0.001]);
    expect(still?.verdict).toBe('not-live');
    expect(still?.reasons).toContain('no-motion');
    expect(verdict([0.05, 0.02])?.verdict).toBe('live');
  });

  it('counts a still background and an unmeasurable one the same, and a background moving with the face against it', () => {
    const m = DEFAULT_FUSION_MODEL;
    const base = { frames: 10, spanMs: 400, blink: false, backgroundStill: false, facePixels: { pairs: 0, energy: 0 }, values: { ...m.mean, coupling: NaN, ringMotion: NaN } };
    const plain = fusionScore(m, base, null).score;
    expect(fusionScore(m, { ...base, values: { ...base.values, coupling: 0, ringMotion: 0 } }, null).score).toBeCloseTo(plain, 12);
    expect(fusionScore(m, { ...base, values: { ...base.values, coupling: 1, ringMotion: 10 } }, null).score).toBeLessThan(plain - 0.1);
  });

  it('reads the injected clock when a frame has no timestamp', () => {
    const clock = new FakeClock();
    const fusion = new LivenessFusion(explicit({ minFrames: 2, budgetMs: 500 }), clock);
    const [a, b] = photoTrack(2);
    expect(fusion.observe({ face: a!.face }).verdict).toBe('pending');
    clock.advance(499);
    expect(fusion.observe({ face: b!.face }).verdict).toBe('pending');
    clock.advance(1);
    expect(fusion.observe({ face: b!.face }).verdict).toBe('not-live');
  });
});

describe('near-infrared evidence in the fusion', () => {
  function withIr(scene: 'live' | 'screen' | 'print' | 'none', policy: LivenessPolicyInput, track = liveTrack(30)): LivenessOutcome | undefined {
    const ir = new FakeIrSource(360, 288);
    const fusion = new LivenessFusion(policy);
    let out: LivenessOutcome | undefined;
    for (const { t, face } of track) {
      ir.set(scene, face.box);
      out = fusion.observe({ t, face, ir: ir.observation() });
      if (out.verdict !== 'pending') break;
    }
    return out;
  }

  it('denies a turning head whose face is dark in NIR (a screen emits none)', () => {
    const out = withIr('screen', explicit({ fastAccept: 0.9 }));
    expect(out?.verdict).toBe('not-live');
    expect(out?.reasons[0]).toBe('ir-veto');
  });

  it('ignores NIR when the policy turns it off', () => {
    expect(withIr('screen', explicit({ fastAccept: 0.9, ir: { mode: 'off' } }))?.verdict).toBe('live');
  });

  it('accepts a live face on the fast path with skin-like NIR', () => {
    const out = withIr('live', explicit({ fastAccept: 0.9 }));
    expect(out?.verdict).toBe('live');
    expect(out?.reasons).toContain('ir:live');
  });

  it('denies a flat print in NIR (lit but without skin texture)', () => {
    const out = withIr('print', explicit({ fastAccept: 0.9 }));
    expect(out?.verdict).toBe('not-live');
    expect(out?.reasons[0]).toBe('ir-veto');
  });

  it('denies at the budget when NIR is required and the NIR camera gives nothing', () => {
    const out = withIr('none', explicit({ fastAccept: 0.5, ir: { mode: 'required' } }));
    expect(out?.verdict).toBe('not-live');
    expect(out?.reasons[0]).toBe('ir-missing');
  });
});
