/**
 * Template adaptation policy (runtime/roster/adaptation.ts): which passages teach a resident's template
 * set, the bound per person, the oldest adapted template replaced and the enrolled ones kept, operator
 * reset, and the poisoning guards, on synthetic unit vectors and on real faces (registry media).
 */
import { decodeImage } from '../../../models/decode';
import { videoFrames } from '../../../models/liveness/video';
import { FacePipeline } from '../../../models/pipeline';
import { DEFAULT_MATCH_THRESHOLD } from '../../../models/thresholds';
import type { Decision } from '../../../runtime/decision/policy';
import {
  AdaptationPolicySchema,
  AdaptedTemplates,
  considerAdaptation,
  DEFAULT_ADAPTATION,
  guardedScore,
  type Passage,
  type PersonTemplateSet,
} from '../../../runtime/roster/adaptation';
import { blend, replay } from '../../fixtures/adaptation-sim';
import { FRANCK_STILLS, FRANCK_VIDEO, OTHER_VIDEOS, testFile } from '../../fixtures/photos';

const DIM = 512;
const HOUR = 3600 * 1000;

/** A unit vector at `cos` from axis 0, leaning towards axis `towards` (so two leaning ways differ). */
function at(cos: number, towards = 1): Float32Array {
  const v = new Float32Array(DIM);
  v[0] = cos;
  v[towards] = Math.sqrt(1 - cos * cos);
  return v;
}

const ENROLLED = [at(1)];
const grant = (score: number, margin = score, alerts: Decision['alerts'] = [], personId = 'p-li'): Decision => ({
  kind: 'grant',
  personId,
  reason: 'authorised',
  match: { personId, score, margin },
  alerts,
});
const passage = (over: Partial<Passage> = {}): Passage => ({
  at: 1_000 * HOUR,
  credential: 'face',
  decision: grant(0.8),
  liveness: 'live',
  frames: [at(0.8, 2), at(0.8, 2), at(0.8, 2)],
  ...over,
});
const empty: PersonTemplateSet = { enrolled: ENROLLED, adapted: [], lastAdaptedAt: null };

describe('considerAdaptation', () => {
  it('adapts a confident, live face grant: the capture is the mean of its frames and takes a free place', () => {
    const o = considerAdaptation(passage({ frames: [at(0.8, 2), at(0.8, 3), at(0.8, 4)] }), empty);
    expect(o.kind).toBe('adapt');
    if (o.kind !== 'adapt') return;
    expect(o.personId).toBe('p-li');
    expect(o.replaces).toBeNull();
    // mean of three frames leaning three different ways: closer to axis 0 than any one frame
    expect(o.embedding[0]).toBeGreaterThan(0.8);
    expect(o.enrolledScore).toBeCloseTo(o.embedding[0] ?? 0, 6);
  });

  it.each([
    ['a denial', { decision: { kind: 'deny', reason: 'unknown', alerts: [] } as Decision }, 'not-granted'],
    ['a grant that raised an alert', { decision: grant(0.8, 0.8, [{ tag: 'missing-person', personId: 'p-li' }]) }, 'alert'],
    ['a QR pass', { credential: 'qr' as const }, 'not-face'],
    ['a PIN', { credential: 'pin' as const }, 'not-face'],
    ['a remote unlock', { credential: 'remote' as const }, 'not-face'],
    ['a passage not judged live', { liveness: 'not-live' as const }, 'not-live'],
    ['a passage whose liveness was still pending', { liveness: 'pending' as const }, 'not-live'],
    ['too few usable frames', { frames: [at(0.8, 2), at(0.8, 2)] }, 'too-few-frames'],
    ['frames of two different faces', { frames: [at(0.8, 2), at(0.8, 2), at(-0.2, 3)] }, 'frames-disagree'],
  ])('never adapts from %s', (_what, over, reason) => {
    expect(considerAdaptation(passage(over), empty)).toEqual({ kind: 'skip', reason });
  });

  it('needs the score and the margin well above the door thresholds, exactly at the configured values', () => {
    const p = DEFAULT_ADAPTATION;
    expect(considerAdaptation(passage({ decision: grant(p.minScore) }), empty).kind).toBe('adapt');
    expect(considerAdaptation(passage({ decision: grant(p.minScore - 1e-9) }), empty)).toEqual({ kind: 'skip', reason: 'low-score' });
    expect(considerAdaptation(passage({ decision: grant(0.9, p.minMargin) }), empty).kind).toBe('adapt');
    expect(considerAdaptation(passage({ decision: grant(0.9, p.minMargin - 1e-9) }), empty)).toEqual({ kind: 'skip', reason: 'low-margin' });
  });

  it('refuses a capture the enrolled templates alone score below the anchor, whatever the passage scored', () => {
    const far = at(DEFAULT_ADAPTATION.minEnrolledScore - 0.01, 2);
    const o = considerAdaptation(passage({ decision: grant(0.95), frames: [far, far, far] }), { ...empty, adapted: [{ templateId: 'a1', embedding: far, addedAt: 0 }] });
    expect(o).toEqual({ kind: 'skip', reason: 'far-from-enrolment' });
    const near = at(DEFAULT_ADAPTATION.minEnrolledScore + 0.01, 2);
    expect(considerAdaptation(passage({ frames: [near, near, near] }), empty).kind).toBe('adapt');
  });

  it('does not add a capture it already holds', () => {
    const c = at(0.8, 2);
    const held = { ...empty, adapted: [{ templateId: 'a1', embedding: c, addedAt: 0 }] };
    expect(considerAdaptation(passage({ frames: [c, c, c] }), held)).toEqual({ kind: 'skip', reason: 'redundant' });
    expect(considerAdaptation(passage({ frames: [at(0.97), at(0.97), at(0.97)] }), empty)).toEqual({ kind: 'skip', reason: 'redundant' });
  });

  it('adapts a person at most once per interval', () => {
    const last = 1_000 * HOUR;
    const set = { ...empty, lastAdaptedAt: last };
    const i = DEFAULT_ADAPTATION.minIntervalMs;
    expect(considerAdaptation(passage({ at: last + i - 1 }), set)).toEqual({ kind: 'skip', reason: 'too-soon' });
    expect(considerAdaptation(passage({ at: last + i }), set).kind).toBe('adapt');
  });

  it('is off when disabled or bounded to zero', () => {
    const off = AdaptationPolicySchema.parse({ enabled: false });
    expect(considerAdaptation(passage(), empty, off)).toEqual({ kind: 'skip', reason: 'disabled' });
    expect(considerAdaptation(passage(), empty, AdaptationPolicySchema.parse({ maxPerPerson: 0 }))).toEqual({ kind: 'skip', reason: 'disabled' });
  });

  it('refuses unknown settings in its config', () => {
    expect(AdaptationPolicySchema.safeParse({ maxPerPersn: 3 }).success).toBe(false);
  });
});

describe('AdaptedTemplates', () => {
  it('keeps at most the bound per person, replaces the oldest adapted one and never touches the enrolled ones', () => {
    const store = new AdaptedTemplates();
    const enrolled = [at(1)];
    const before = Float32Array.from(enrolled[0]!);
    const ids: string[] = [];
    for (let k = 0; k < 5; k++) {
      const f = at(0.75, 2 + k); // each passage leans another way: never redundant
      const { outcome, added } = store.learn(passage({ at: k * 24 * HOUR, frames: [f, f, f] }), enrolled);
      expect(outcome.kind).toBe('adapt');
      if (outcome.kind === 'adapt') expect(outcome.replaces).toBe(k < 3 ? null : ids[k - 3]);
      ids.push(added!.templateId);
      expect(store.of('p-li').length).toBe(Math.min(k + 1, DEFAULT_ADAPTATION.maxPerPerson));
    }
    expect(store.of('p-li').map((a) => a.templateId)).toEqual(ids.slice(2));
    expect(enrolled).toHaveLength(1);
    expect(enrolled[0]).toEqual(before);
  });

  it('forgets a person on an operator reset, and everyone on a reset of all', () => {
    const store = new AdaptedTemplates();
    store.learn(passage(), ENROLLED);
    store.learn(passage({ decision: grant(0.8, 0.8, [], 'p-wu') }), ENROLLED);
    expect(store.persons()).toEqual(['p-li', 'p-wu']);
    expect(store.reset('p-li')).toHaveLength(1);
    expect(store.of('p-li')).toEqual([]);
    expect(store.lastAdaptedAt('p-li')).toBeNull();
    store.resetAll();
    expect(store.persons()).toEqual([]);
  });
});

describe('guardedScore', () => {
  it('counts an adapted template only when the enrolled templates score the face at least the floor', () => {
    const adapted = [{ templateId: 'a1', embedding: at(0.6, 2), addedAt: 0 }];
    const floor = DEFAULT_ADAPTATION.enrolledFloor;
    // faces leaning the adapted template's way: it scores them far higher than the enrolment does
    const f = at(floor + 0.02, 2);
    expect(guardedScore(f, { enrolled: ENROLLED, adapted })).toBeGreaterThan(floor + 0.5);
    const g = at(floor - 0.02, 2);
    expect(guardedScore(g, { enrolled: ENROLLED, adapted })).toBeCloseTo(floor - 0.02, 6);
    expect(guardedScore(g, { enrolled: ENROLLED, adapted: [] })).toBeCloseTo(floor - 0.02, 6);
  });
});

describe('adaptation on real faces', () => {
  let franckEnrolled: Float32Array[];
  let franckFrames: Float32Array[];
  let otherFrames: Float32Array[];

  beforeAll(async () => {
    const p = await FacePipeline.load();
    const po = { largestOnly: true, pose: false, eyes: false, liveness: false } as const;
    franckEnrolled = [];
    for (const f of FRANCK_STILLS.slice(0, 3)) franckEnrolled.push((await p.process(await decodeImage(testFile(f)), po))[0]!.embedding!);
    const grab = async (file: string, startS: number): Promise<Float32Array[]> => {
      const out: Float32Array[] = [];
      for await (const f of videoFrames(file, { startS, durationS: 4, fps: 3 })) {
        const e = (await p.process(f.frame, po))[0]?.embedding;
        if (e) out.push(e);
      }
      return out;
    };
    franckFrames = await grab(testFile(FRANCK_VIDEO), 20);
    otherFrames = await grab(testFile(OTHER_VIDEOS[0]!), 5);
    await p.close();
  }, 120_000);

  const T = DEFAULT_MATCH_THRESHOLD;
  const passagesOf = (frames: Float32Array[]): Float32Array[][] => frames.slice(0, 9).reduce<Float32Array[][]>((acc, f, i) => (i % 3 === 0 ? [...acc, [f]] : (acc[acc.length - 1]!.push(f), acc)), []);

  it("learns franck's door captures and keeps the other man's scores below the threshold", () => {
    const { steps, store } = replay(passagesOf(franckFrames), { personId: 'franck', enrolled: franckEnrolled, threshold: T, margin: 0.08, policy: DEFAULT_ADAPTATION, adapt: true, stepMs: 24 * HOUR });
    expect(steps.every((s) => s.granted)).toBe(true);
    expect(store.of('franck').length).toBeGreaterThanOrEqual(1);
    const set = { enrolled: franckEnrolled, adapted: store.of('franck') };
    for (const f of otherFrames) expect(guardedScore(f, set)).toBeLessThan(T);
  });

  it('stops a look-alike morphing a template towards himself; without the guards the same morph lets him in', () => {
    // the other man drifts franck's template: each visit a face a little further from franck (a morph of
    // their real frames), one visit a day; then his own real frames (not used in the morph) are tried
    const visits: Float32Array[][] = [];
    for (let k = 1; k <= 20; k++) {
      const a = k / 20;
      visits.push([0, 1, 2].map((i) => blend(franckFrames[i]!, otherFrames[i]!, a)));
    }
    const own = otherFrames.slice(3);
    const attack = (policy: typeof DEFAULT_ADAPTATION): number => {
      const { store } = replay(visits, { personId: 'franck', enrolled: franckEnrolled, threshold: T, margin: 0.08, policy, adapt: true, stepMs: 24 * HOUR });
      const set = { enrolled: franckEnrolled, adapted: store.of('franck') };
      return Math.max(...own.map((f) => guardedScore(f, set, policy)));
    };
    const unguarded = AdaptationPolicySchema.parse({ minEnrolledScore: -1, enrolledFloor: -1 });
    const before = Math.max(...own.map((f) => guardedScore(f, { enrolled: franckEnrolled, adapted: [] })));
    expect(before).toBeLessThan(T);
    expect(attack(unguarded)).toBeGreaterThanOrEqual(T);
    expect(attack(DEFAULT_ADAPTATION)).toBeLessThan(T);
  });
});
