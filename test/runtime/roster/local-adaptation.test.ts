/**
 * Template adaptation on a terminal (runtime/roster/local-adaptation.ts) with the real encrypted roster
 * store and matcher: a qualifying passage is indexed, the match-time floor applies to search results,
 * and adapted templates are forgotten on an operator reset, a re-enrolment, a revocation and a wipe.
 */
import { silentLogger } from '../../../core/log';
import type { Decision } from '../../../runtime/decision/policy';
import { DEFAULT_ADAPTATION, type Passage } from '../../../runtime/roster/adaptation';
import { LocalAdaptation } from '../../../runtime/roster/local-adaptation';
import { Matcher } from '../../../runtime/roster/matcher';
import { RosterStore } from '../../../runtime/roster/store';
import { MODEL, person, tempRoster } from './fixtures';

const DIM = 512;
const DAY = 24 * 3600 * 1000;

/** Unit vector at `cos` from axis 0, leaning towards axis `towards`. */
function at(cos: number, towards = 1): Float32Array {
  const v = new Float32Array(DIM);
  v[0] = cos;
  v[towards] = Math.sqrt(1 - cos * cos);
  return v;
}

/** Unit vector at `cos` from axis 5 (the other resident), leaning towards axis 6. */
function wuAt(cos: number): Float32Array {
  const v = new Float32Array(DIM);
  v[5] = cos;
  v[6] = Math.sqrt(1 - cos * cos);
  return v;
}

/** A unit vector with cosine `a` to axis 0 and `b` to axis 2 (axis 3 takes the rest). */
function mix(a: number, b: number): Float32Array {
  const v = new Float32Array(DIM);
  v[0] = a;
  v[2] = b;
  v[3] = Math.sqrt(1 - a * a - b * b);
  return v;
}

const grant = (personId: string, score: number): Decision => ({ kind: 'grant', personId, reason: 'authorised', match: { personId, score, margin: score }, alerts: [] });
const passage = (personId: string, frame: Float32Array, at: number, score = 0.8): Passage => ({ at, credential: 'face', decision: grant(personId, score), liveness: 'live', frames: [frame, frame, frame] });

describe('LocalAdaptation', () => {
  let env: ReturnType<typeof tempRoster>;
  let store: RosterStore;
  let matcher: Matcher;
  let local: LocalAdaptation;

  beforeEach(() => {
    env = tempRoster();
    store = RosterStore.open({ path: env.path, secretFile: env.secretFile, logger: silentLogger() });
    store.applyBatch({ version: 1, upserts: [person('li', [at(1)]), person('wu', [wuAt(1)])] });
    matcher = Matcher.fromStore(store, { modelId: MODEL });
    local = new LocalAdaptation(store, matcher, silentLogger());
    local.start();
  });

  afterEach(() => {
    local.stop();
    matcher.close();
    store.close();
    env.cleanup();
  });

  it('indexes a qualifying capture and finds the resident through it', () => {
    const capture = at(0.75, 2); // his face at the door: 0.75 against his enrolment
    local.learn(passage('li', capture, DAY));
    expect(local.size).toBe(1);
    expect(matcher.size).toBe(3);
    const later = mix(0.7, 0.66); // months later, closer to the capture than to the enrolment
    const [hit] = local.search(later, 2);
    expect(hit?.personId).toBe('li');
    expect(hit?.templateId).toMatch(/^adapted:li:/);
    expect(hit?.score).toBeGreaterThan(0.9);
  });

  it('does not learn from a denial, and keeps at most the bound per person', () => {
    local.learn({ ...passage('li', at(0.75, 2), DAY), decision: { kind: 'deny', reason: 'ambiguous', alerts: [] } });
    expect(local.size).toBe(0);
    for (let k = 0; k < 5; k++) local.learn(passage('li', at(0.75, 2 + k), (k + 1) * DAY));
    expect(local.size).toBe(DEFAULT_ADAPTATION.maxPerPerson);
    expect(matcher.size).toBe(2 + DEFAULT_ADAPTATION.maxPerPerson);
  });

  it('lets an adapted template count only for a face the enrolment scores at least the floor', () => {
    local.learn(passage('li', at(0.55, 2), DAY));
    // a face 0.99 from the adapted template, but only 0.37 from the enrolment (below the 0.40 floor)
    const lookalike = mix(0.37, 0.5);
    const raw = matcher.search(lookalike, 2)[0];
    expect(raw?.templateId).toMatch(/^adapted:li:/);
    expect(raw?.score).toBeGreaterThan(0.5);
    const [hit] = local.search(lookalike, 2);
    expect(hit?.personId).toBe('li');
    expect(hit?.score).toBeCloseTo(0.37, 6);
  });

  it('forgets adapted templates on an operator reset, a re-enrolment, a revocation and a wipe', async () => {
    const learn = (id: 'li' | 'wu', day: number): void => local.learn(passage(id, id === 'li' ? at(0.75, 2) : wuAt(0.75), day * DAY));
    learn('li', 1);
    learn('wu', 1);
    expect(local.size).toBe(2);
    expect(local.reset('li')).toBe(1);
    expect(matcher.size).toBe(3);
    learn('li', 2);
    store.applyBatch({ version: 2, upserts: [person('li', [at(1)])] }); // re-enrolled
    expect(local.size).toBe(1);
    expect(matcher.size).toBe(3);
    store.applyBatch({ version: 3, revocations: ['wu'] });
    expect(local.size).toBe(0);
    learn('li', 3);
    expect(local.size).toBe(1);
    await store.wipe();
    expect(local.size).toBe(0);
    expect(matcher.size).toBe(0);
  });
});
