/**
 * `npm run eval:adaptation [-- --json]`: what template adaptation (runtime/roster/adaptation.ts) does,
 * measured on real faces (issue 17, item 3):
 *
 * 1. TAR on time-ordered sequences of a person's captures, with and without adaptation: the person is
 *    enrolled from the first capture, then every later one is a door passage (one a day); a grant at the
 *    shipped threshold may teach the template set. Sequences: videos (time order is real): franck.mp4
 *    against one still, windows every 10 s; the other man from a frame of cap12, then windows through
 *    cap12 and cap13 (a later session); with ../shared/data also td_ph_f28's video against her selfie,
 *    the NUAA volunteers (session 1 calib photo, session 1 held-out photo, session 2), and each faces-calib
 *    identity in file order (N in IDENTITY__N.jpg: SOURCES.md gives no dates, so that order is not a
 *    verified time order). A still photo is a passage of 3 identical frames.
 * 2. Impostor scores after adaptation: every other face of every set against each person's adapted set.
 * 3. Poisoning: a look-alike drifts a resident's templates by visiting with faces morphed a little
 *    further towards himself each day (20 visits, blends of their real embeddings); then the look-alike's
 *    own real faces are scored against the resident's templates; with no guard, with the anchor only,
 *    and with all guards (the shipped policy).
 * Scores are cosine similarities; the figures printed are counts, fractions and medians.
 */
import { join } from 'node:path';
import { decodeImage } from '../models/decode';
import { cosine } from '../models/embedder';
import { videoFrames } from '../models/liveness/video';
import { FacePipeline } from '../models/pipeline';
import { DEFAULT_MATCH_THRESHOLD } from '../models/thresholds';
import { AdaptationPolicySchema, DEFAULT_ADAPTATION, guardedScore, type AdaptationPolicy } from '../runtime/roster/adaptation';
import { blend, median, replay } from '../test/fixtures/adaptation-sim';
import { facesCalib, HELD_OUT_CLIP, heldOutStills, NO_SHARED_DATA, sharedDataDir } from '../test/fixtures/calib';
import { FRANCK_STILLS, FRANCK_VIDEO, GROUP_PHOTOS, OTHER_VIDEOS, testFile } from '../test/fixtures/photos';
import { wantsJson } from './stats';

const T = DEFAULT_MATCH_THRESHOLD;
const MARGIN = 0.08; // runtime/config.ts decision.margin default
const DAY = 24 * 3600 * 1000;
const STRICT = 0.85; // a stricter threshold: these sequences are easy at T, this shows the mechanism

interface Sequence {
  name: string;
  group: string;
  identity: string;
  enrol: Float32Array[];
  /** Passages in time order, each a list of frame embeddings. */
  passages: Float32Array[][];
}

async function main(): Promise<void> {
  const p = await FacePipeline.load();
  const po = { largestOnly: true, pose: false, eyes: false, liveness: false } as const;
  const still = async (file: string): Promise<Float32Array | null> => (await p.process(await decodeImage(file), po))[0]?.embedding ?? null;
  /** Windows of 3 frames at 5 fps starting at each of `starts` (seconds). */
  const windows = async (file: string, starts: number[]): Promise<Float32Array[][]> => {
    const out: Float32Array[][] = [];
    for (const s of starts) {
      const w: Float32Array[] = [];
      for await (const f of videoFrames(file, { startS: s, durationS: 0.6, fps: 5 })) {
        const e = (await p.process(f.frame, po))[0]?.embedding;
        if (e && w.length < 3) w.push(e);
      }
      if (w.length) out.push(w);
    }
    return out;
  };
  const sequences: Sequence[] = [];
  /** Every face with its identity, for impostor scores. */
  const faces: Array<{ identity: string; emb: Float32Array }> = [];

  const f0 = await still(testFile(FRANCK_STILLS[0]!));
  const franckWin = await windows(testFile(FRANCK_VIDEO), Array.from({ length: 20 }, (_, i) => 5 + i * 10));
  if (f0) sequences.push({ name: 'franck.mp4 (one session) vs 1 still', group: 'other', identity: 'franck', enrol: [f0], passages: franckWin });
  for (const f of FRANCK_STILLS) {
    const e = await still(testFile(f));
    if (e) faces.push({ identity: 'franck', emb: e });
  }
  const cap12 = await windows(testFile(OTHER_VIDEOS[0]!), Array.from({ length: 10 }, (_, i) => 1 + i * 5));
  const cap13 = await windows(testFile(OTHER_VIDEOS[1]!), Array.from({ length: 6 }, (_, i) => 1 + i * 5));
  const otherEnrol = cap12[0]?.[0];
  if (otherEnrol) sequences.push({ name: 'other man: cap12 frame, then cap12, cap13', group: 'other', identity: 'other-man', enrol: [otherEnrol], passages: [...cap12.slice(1), ...cap13] });
  for (const w of [...cap12, ...cap13]) faces.push({ identity: 'other-man', emb: w[0]! });
  for (const g of GROUP_PHOTOS) {
    const fs = await p.process(await decodeImage(testFile(g)), { ...po, largestOnly: false });
    fs.forEach((x, i) => faces.push({ identity: `${g.file}#${i}`, emb: x.embedding! }));
  }

  const data = sharedDataDir();
  if (!data) console.log(NO_SHARED_DATA);
  else {
    const calib = facesCalib(data);
    const held = heldOutStills(data);
    const embs = new Map<string, Float32Array>();
    for (const ph of [...calib, ...held]) {
      const e = await still(join(data, ph.path));
      if (!e) continue;
      embs.set(ph.name, e);
      faces.push({ identity: ph.identity, emb: e });
    }
    const three = (e: Float32Array): Float32Array[] => [e, e, e];
    const selfie = embs.get('live__td_ph_f28_selfie');
    if (selfie) {
      const clip = await windows(join(data, HELD_OUT_CLIP.path), [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.3]);
      sequences.push({ name: 'td_ph_f28.mp4 vs selfie (held out)', group: 'east-asian', identity: 'td_ph_f28', enrol: [selfie], passages: clip });
    }
    for (const id of ['nuaa0001', 'nuaa0005']) {
      const order = [`${id}__1`, `live__${id}`, `${id}__2`].map((n) => embs.get(n)).filter((e): e is Float32Array => !!e);
      if (order.length >= 2) sequences.push({ name: `${id}: session 1, session 1, session 2`, group: 'east-asian', identity: id, enrol: [order[0]!], passages: order.slice(1).map(three) });
    }
    const ids = [...new Set(calib.filter((c) => !c.identity.startsWith('single:') && !c.identity.startsWith('nuaa')).map((c) => c.identity))];
    for (const id of ids) {
      const photos = calib.filter((c) => c.identity === id).map((c) => embs.get(c.name)).filter((e): e is Float32Array => !!e);
      if (photos.length >= 2) sequences.push({ name: `${id} (file order)`, group: calib.find((c) => c.identity === id)!.group, identity: id, enrol: [photos[0]!], passages: photos.slice(1).map(three) });
    }
  }
  await p.close();

  // --- 1 and 2: sequences with and without adaptation ---------------------------------------------
  console.log(`shipped threshold T = ${T}, margin ${MARGIN}; adaptation policy: ${JSON.stringify(DEFAULT_ADAPTATION)}`);
  console.log('one passage a day; a still photo is a passage of 3 identical frames; TAR = passages granted / passages\n');
  console.log('  sequence                                      group       passages  TAR off  TAR on  median off  median on  adapted  TAR@.85 off  TAR@.85 on  impostor max off  on  no floor  >=T off  on');
  const totals = { passages: 0, off: 0, on: 0, strictOff: 0, strictOn: 0, eaPassages: 0, eaOff: 0, eaOn: 0, impOffMax: -1, impOnMax: -1, impNoFloorMax: -1, impOffAtT: 0, impOnAtT: 0, impPairs: 0, adapted: 0 };
  for (const s of sequences) {
    const base = { personId: s.identity, enrolled: s.enrol, threshold: T, margin: MARGIN, policy: DEFAULT_ADAPTATION, stepMs: DAY };
    const off = replay(s.passages, { ...base, adapt: false });
    const on = replay(s.passages, { ...base, adapt: true });
    const strictOff = replay(s.passages, { ...base, threshold: STRICT, adapt: false });
    const strictOn = replay(s.passages, { ...base, threshold: STRICT, adapt: true });
    const tar = (st: { granted: boolean }[]): number => st.filter((x) => x.granted).length / st.length;
    const adapted = on.store.of(s.identity);
    // impostors: every face of another identity against the set before and after adaptation
    const others = faces.filter((f) => f.identity !== s.identity);
    const before = others.map((f) => guardedScore(f.emb, { enrolled: s.enrol, adapted: [] }));
    const after = others.map((f) => guardedScore(f.emb, { enrolled: s.enrol, adapted }));
    // the same without the match-time floor: what the adapted templates alone do to impostor scores
    const noFloor = AdaptationPolicySchema.parse({ enrolledFloor: -1 });
    const afterNoFloor = others.map((f) => guardedScore(f.emb, { enrolled: s.enrol, adapted }, noFloor));
    const n = s.passages.length;
    totals.passages += n;
    totals.off += tar(off.steps) * n;
    totals.on += tar(on.steps) * n;
    totals.strictOff += tar(strictOff.steps) * n;
    totals.strictOn += tar(strictOn.steps) * n;
    if (s.group === 'east-asian') {
      totals.eaPassages += n;
      totals.eaOff += tar(off.steps) * n;
      totals.eaOn += tar(on.steps) * n;
    }
    totals.impOffMax = Math.max(totals.impOffMax, ...before);
    totals.impOnMax = Math.max(totals.impOnMax, ...after);
    totals.impNoFloorMax = Math.max(totals.impNoFloorMax, ...afterNoFloor);
    totals.impOffAtT += before.filter((x) => x >= T).length;
    totals.impOnAtT += after.filter((x) => x >= T).length;
    totals.impPairs += others.length;
    totals.adapted += adapted.length;
    const pc = (x: number): string => `${(x * 100).toFixed(0)}%`;
    console.log(
      `  ${s.name.padEnd(45)} ${s.group.padEnd(10)} ${String(n).padStart(8)}  ${pc(tar(off.steps)).padStart(7)}  ${pc(tar(on.steps)).padStart(6)}  ${median(off.steps.map((x) => x.score)).toFixed(3).padStart(10)}  ${median(on.steps.map((x) => x.score)).toFixed(3).padStart(9)}  ${String(adapted.length).padStart(7)}  ` +
        `${pc(tar(strictOff.steps)).padStart(11)}  ${pc(tar(strictOn.steps)).padStart(10)}  ${Math.max(...before).toFixed(3).padStart(16)}  ${Math.max(...after).toFixed(3)}  ${Math.max(...afterNoFloor).toFixed(3).padStart(8)}  ${String(before.filter((x) => x >= T).length).padStart(7)}  ${after.filter((x) => x >= T).length}`,
    );
  }
  const frac = (a: number, b: number): number => (b ? a / b : NaN);
  const pcts = (a: number, b: number): string => (b ? `${((a / b) * 100).toFixed(1)}%` : '-');
  console.log(`\n  all ${sequences.length} sequences: ${totals.passages} passages; TAR at T without adaptation ${pcts(totals.off, totals.passages)}, with ${pcts(totals.on, totals.passages)}; ` +
    `at ${STRICT}: ${pcts(totals.strictOff, totals.passages)} -> ${pcts(totals.strictOn, totals.passages)}; East Asian ${totals.eaPassages} passages: ${pcts(totals.eaOff, totals.eaPassages)} -> ${pcts(totals.eaOn, totals.eaPassages)}`);
  console.log(`  impostors: ${totals.impPairs} (face, person) pairs; highest score before ${totals.impOffMax.toFixed(3)}, after adaptation ${totals.impOnMax.toFixed(3)} (${totals.impNoFloorMax.toFixed(3)} without the match-time floor); at or above T: ${totals.impOffAtT} before, ${totals.impOnAtT} after`);

  // --- 3: poisoning by a morphing look-alike --------------------------------------------------------
  // residents: every sequence's person; look-alike: the other identity whose face scores highest
  // against the resident's enrolment (the most dangerous one in these sets)
  const variants: Array<[string, AdaptationPolicy]> = [
    ['no guard', AdaptationPolicySchema.parse({ minEnrolledScore: -1, enrolledFloor: -1, minIntervalMs: 0 })],
    ['anchor only', AdaptationPolicySchema.parse({ enrolledFloor: -1, minIntervalMs: 0 })],
    ['all guards (shipped)', DEFAULT_ADAPTATION],
  ];
  console.log('\npoisoning: 20 daily visits with faces morphed 5% further from the resident towards the look-alike each time, then the look-alike\'s own faces (best of them):');
  console.log('  resident -> look-alike                              start  ' + variants.map(([n]) => n.padStart(22)).join(''));
  const poison: Record<string, { admitted: number; runs: number; maxAfter: number }> = {};
  for (const [n] of variants) poison[n] = { admitted: 0, runs: 0, maxAfter: -1 };
  for (const s of sequences) {
    const others = faces.filter((f) => f.identity !== s.identity && !f.identity.includes('#'));
    const lookalike = others.reduce((a, b) => (cosine(b.emb, s.enrol[0]!) > cosine(a.emb, s.enrol[0]!) ? b : a));
    const theirs = faces.filter((f) => f.identity === lookalike.identity).map((f) => f.emb);
    const start = s.passages[0] ?? [s.enrol[0]!];
    const visits = Array.from({ length: 20 }, (_, k) => start.map((f, i) => blend(f, theirs[i % theirs.length]!, (k + 1) / 20)));
    const row: string[] = [];
    const startScore = Math.max(...theirs.map((e) => guardedScore(e, { enrolled: s.enrol, adapted: [] })));
    for (const [name, policy] of variants) {
      const { store } = replay(visits, { personId: s.identity, enrolled: s.enrol, threshold: T, margin: MARGIN, policy, adapt: true, stepMs: DAY });
      const score = Math.max(...theirs.map((e) => guardedScore(e, { enrolled: s.enrol, adapted: store.of(s.identity) }, policy)));
      const r = poison[name]!;
      r.runs++;
      if (score >= T) r.admitted++;
      r.maxAfter = Math.max(r.maxAfter, score);
      row.push(`${score.toFixed(3)}${score >= T ? ' IN ' : ' out'} (${store.of(s.identity).length})`.padStart(22));
    }
    console.log(`  ${`${s.identity} -> ${lookalike.identity}`.padEnd(50)} ${startScore.toFixed(3)}  ${row.join('')}`);
  }
  console.log('  (score of the look-alike\'s best own face against the resident after the visits; IN = at or above T; in brackets: adapted templates held)');
  for (const [n] of variants) console.log(`  ${n}: look-alike admitted in ${poison[n]!.admitted} of ${poison[n]!.runs} attacks (highest score ${poison[n]!.maxAfter.toFixed(3)})`);

  if (wantsJson()) {
    console.log(JSON.stringify({
      threshold: T, sequences: sequences.length, passages: totals.passages,
      tar_without_adaptation: frac(totals.off, totals.passages), tar_with_adaptation: frac(totals.on, totals.passages),
      tar_at_0_85_without_adaptation: frac(totals.strictOff, totals.passages), tar_at_0_85_with_adaptation: frac(totals.strictOn, totals.passages),
      east_asian_passages: totals.eaPassages, east_asian_tar_without_adaptation: frac(totals.eaOff, totals.eaPassages), east_asian_tar_with_adaptation: frac(totals.eaOn, totals.eaPassages),
      adapted_templates: totals.adapted,
      impostor_pairs: totals.impPairs, impostor_max_before: totals.impOffMax, impostor_max_after: totals.impOnMax, impostor_max_after_without_floor: totals.impNoFloorMax,
      impostors_at_threshold_before: totals.impOffAtT, impostors_at_threshold_after: totals.impOnAtT,
      poisoning_attacks: poison['all guards (shipped)']!.runs,
      poisoning_admitted_no_guard: poison['no guard']!.admitted, poisoning_admitted_anchor_only: poison['anchor only']!.admitted, poisoning_admitted_shipped: poison['all guards (shipped)']!.admitted,
      poisoning_max_score_shipped: poison['all guards (shipped)']!.maxAfter,
    }));
  }
}

void main();
