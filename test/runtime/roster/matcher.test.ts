import { silentLogger } from '../../../core/log';
import { encodeEmbedding } from '../../../runtime/roster/batch';
import { Matcher, MatcherInputError } from '../../../runtime/roster/matcher';
import { RosterStore } from '../../../runtime/roster/store';
import Database from 'better-sqlite3';
import { MODEL, bruteForce, near, person, rng, tempRoster, unitVector } from './fixtures';

type Item = { personId: string; templateId: string; embedding: Float32Array };

function population(seed: number, persons: number, perPerson: number): Item[] {
  const rand = rng(seed);
  const items: Item[] = [];
  for (let p = 0; p < persons; p++) {
    const base = unitVector(rand);
    for (let t = 0; t < perPerson; t++) items.push({ personId: `p${p}`, templateId: `p${p}-t${t}`, embedding: near(base, rand, 0.6) });
  }
  return items;
}

describe('Matcher', () => {
  it('returns exactly the float64 brute-force top-k persons, scores included', () => {
    const items = population(1, 400, 3);
    const m = new Matcher({ modelId: MODEL });
    for (const it of items) m.add({ ...it, modelId: MODEL });
    const rand = rng(99);
    for (let q = 0; q < 40; q++) {
      // Half the queries are near an enrolled person, half are strangers.
      const src = items[Math.floor(rand() * items.length)]!;
      const query = q % 2 === 0 ? near(src.embedding, rand, 0.5) : unitVector(rand);
      const got = m.search(query, 3);
      const want = bruteForce(query, items, 3);
      expect(got.map((r) => [r.personId, r.templateId])).toEqual(want.map((r) => [r.personId, r.templateId]));
      got.forEach((r, i) => expect(r.score).toBeCloseTo(want[i]!.score, 12));
    }
  });

  it('finds the runner-up person even when one person owns more templates than the candidate heap', () => {
    const rand = rng(5);
    const face = unitVector(rand);
    const m = new Matcher({ modelId: MODEL });
    const items: Item[] = [];
    for (let t = 0; t < 200; t++) items.push({ personId: 'many', templateId: `many-${t}`, embedding: near(face, rand, 0.05) });
    items.push({ personId: 'twin', templateId: 'twin-0', embedding: near(face, rand, 0.3) });
    for (let p = 0; p < 300; p++) items.push({ personId: `o${p}`, templateId: `o${p}`, embedding: unitVector(rand) });
    for (const it of items) m.add({ ...it, modelId: MODEL });
    const got = m.search(face, 2);
    expect(got.map((r) => r.personId)).toEqual(['many', 'twin']);
    expect(got.map((r) => r.templateId)).toEqual(bruteForce(face, items, 2).map((r) => r.templateId));
  });

  it('never compares templates of another model and lists their persons for re-enrolment', () => {
    const rand = rng(3);
    const v = unitVector(rand);
    const m = new Matcher({ modelId: MODEL });
    expect(m.add({ personId: 'old', templateId: 'old-0', modelId: 'other-model@1', embedding: v })).toBe(false);
    m.add({ personId: 'new', templateId: 'new-0', modelId: MODEL, embedding: unitVector(rand) });
    expect(m.search(v, 2).map((r) => r.personId)).toEqual(['new']);
    expect(m.needsReenrolment()).toEqual(['old']);
  });

  it('returns every person when k exceeds the roster, and breaks exact ties by person id', () => {
    const v = unitVector(rng(21));
    const m = new Matcher({ modelId: MODEL });
    m.add({ personId: 'zed', templateId: 'z', modelId: MODEL, embedding: v });
    m.add({ personId: 'amy', templateId: 'a', modelId: MODEL, embedding: Float32Array.from(v) });
    m.add({ personId: 'bo', templateId: 'b', modelId: MODEL, embedding: unitVector(rng(22)) });
    const got = m.search(v, 10);
    expect(got.map((r) => r.personId)).toEqual(['amy', 'zed', 'bo']);
    expect(got[0]?.score).toBe(got[1]?.score);
  });

  it('replaces a template re-added under the same id', () => {
    const rand = rng(23);
    const a = unitVector(rand);
    const b = unitVector(rand);
    const m = new Matcher({ modelId: MODEL });
    m.add({ personId: 'p', templateId: 't', modelId: MODEL, embedding: a });
    m.add({ personId: 'p', templateId: 't', modelId: MODEL, embedding: b });
    expect(m.size).toBe(1);
    expect(m.search(b, 1)[0]?.score).toBeCloseTo(1, 6);
  });

  it('rejects a query of the wrong size or without direction', () => {
    const m = new Matcher({ modelId: MODEL });
    m.add({ personId: 'a', templateId: 'a', modelId: MODEL, embedding: unitVector(rng(1)) });
    expect(() => m.search(new Float32Array(128), 1)).toThrow(MatcherInputError);
    expect(() => m.search(new Float32Array(512), 1)).toThrow(MatcherInputError);
  });

  it('forgets a removed person and keeps the others exact after slots move', () => {
    const items = population(8, 50, 2);
    const m = new Matcher({ modelId: MODEL });
    for (const it of items) m.add({ ...it, modelId: MODEL });
    m.removePerson('p3');
    m.removePerson('p0');
    const rest = items.filter((i) => i.personId !== 'p3' && i.personId !== 'p0');
    expect(m.size).toBe(rest.length);
    for (const probe of [items[0]!, items[7]!, items[60]!]) {
      const got = m.search(probe.embedding, 2);
      expect(got.map((r) => r.templateId)).toEqual(bruteForce(probe.embedding, rest, 2).map((r) => r.templateId));
    }
  });
});

describe('Matcher built from the roster store', () => {
  let env: ReturnType<typeof tempRoster>;
  beforeEach(() => (env = tempRoster()));
  afterEach(() => env.cleanup());

  it('cannot match a revoked person once the batch is applied, and picks up upserts incrementally', () => {
    const rand = rng(11);
    const alice = unitVector(rand);
    const bob = unitVector(rand);
    const store = RosterStore.open({ path: env.path, secretFile: env.secretFile, logger: silentLogger() });
    store.applyBatch({ version: 1, upserts: [person('alice', [alice]), person('bob', [bob])] });
    const m = Matcher.fromStore(store, { modelId: MODEL });
    expect(m.search(alice, 1)[0]?.personId).toBe('alice');

    store.applyBatch({ version: 2, revocations: ['alice'] });
    expect(m.search(alice, 2).map((r) => r.personId)).toEqual(['bob']);

    const carol = unitVector(rand);
    store.applyBatch({ version: 3, upserts: [person('carol', [carol])] });
    expect(m.search(carol, 1)[0]).toMatchObject({ personId: 'carol', templateId: 'carol-t0' });
    expect(m.search(carol, 1)[0]?.score).toBeCloseTo(1, 6);
    m.close();
    store.close();
  });

  it('indexes a local (in-memory) template next to stored ones, rescores it exactly and removes it by id', () => {
    const rand = rng(12);
    const alice = unitVector(rand);
    const store = RosterStore.open({ path: env.path, secretFile: env.secretFile, logger: silentLogger() });
    store.applyBatch({ version: 1, upserts: [person('alice', [alice])] });
    const m = Matcher.fromStore(store, { modelId: MODEL });
    const learnt = near(alice, rand, 0.8);
    expect(() => m.add({ personId: 'alice', templateId: 'adapted:alice:1', modelId: MODEL, embedding: learnt })).toThrow(MatcherInputError);
    expect(m.add({ personId: 'alice', templateId: 'adapted:alice:1', modelId: MODEL, embedding: learnt, local: true })).toBe(true);
    expect(m.size).toBe(2);
    const [hit] = m.search(learnt, 1);
    expect(hit).toMatchObject({ personId: 'alice', templateId: 'adapted:alice:1' });
    expect(hit?.score).toBeCloseTo(1, 9);
    expect(m.removeTemplate('adapted:alice:1')).toBe(true);
    expect(m.removeTemplate('adapted:alice:1')).toBe(false);
    expect(m.search(learnt, 1)[0]?.templateId).toBe('alice-t0');
    m.close();
    store.close();
  });

  it('drops a template whose row was tampered with after loading and keeps matching the others', () => {
    const rand = rng(12);
    const a = unitVector(rand);
    const b = unitVector(rand);
    const store = RosterStore.open({ path: env.path, secretFile: env.secretFile, logger: silentLogger() });
    store.applyBatch({ version: 1, upserts: [person('a', [a]), person('b', [b])] });
    const m = Matcher.fromStore(store, { modelId: MODEL });
    const raw = new Database(env.path);
    raw.prepare("UPDATE template SET sealed = (SELECT sealed FROM template WHERE template_id = 'b-t0') WHERE template_id = 'a-t0'").run();
    raw.close();
    expect(m.search(a, 2).map((r) => r.personId)).toEqual(['b']);
    expect(m.size).toBe(1);
    expect(store.quarantined().map((q) => q.subject)).toEqual(['a-t0']);
    expect(m.search(b, 1)[0]?.personId).toBe('b');
    m.close();
    store.close();
  });

  it('indexes only the configured model and reports the rest for re-enrolment', () => {
    const rand = rng(13);
    const store = RosterStore.open({ path: env.path, secretFile: env.secretFile, logger: silentLogger() });
    const old = person('old', [unitVector(rand)]);
    old.templates[0]!.modelId = 'legacy@0.1';
    store.applyBatch({ version: 1, upserts: [old, person('new', [unitVector(rand)])] });
    const m = Matcher.fromStore(store, { modelId: MODEL });
    expect(m.size).toBe(1);
    expect(m.needsReenrolment()).toEqual(['old']);
    expect(store.personsNeedingReenrolment(MODEL)).toEqual(['old']);
    m.close();
    store.close();
  });

  it('encodes embeddings as little-endian float32 base64', () => {
    expect(encodeEmbedding(Float32Array.from([1, -2]))).toBe(Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]).toString('base64'));
  });
});
