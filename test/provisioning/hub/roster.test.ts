import { decodeSigned } from '../../../runtime/protocol/codec';
import { RosterBodySchema, type RosterSnapshotChunk } from '../../../runtime/protocol/schemas';
import { generateSigningKeyPair } from '../../../runtime/protocol/signing';
import { HubRosterStore } from '../../../provisioning/hub/roster';
import { person } from '../../harness/sync-site';

const keys = generateSigningKeyPair();
const store = (o: { keepDeltas?: number; maxChunkBytes?: number } = {}): HubRosterStore =>
  new HubRosterStore({ now: () => Date.now(), signingKey: keys.privateKey, idOf: (p) => p.id, ...o });
const open = (payload: string): ReturnType<typeof RosterBodySchema.parse> =>
  decodeSigned(Buffer.from(payload), RosterBodySchema, keys.publicKey, 1e7);

test('each change gets the next version and one signed delta carrying it', () => {
  const s = store();
  const a = s.change({ upsert: [person(1)], remove: [] });
  const b = s.change({ upsert: [], remove: ['p-000001'] });
  expect([a.version, b.version, s.version()]).toEqual([1, 2, 2]);
  expect(open(b.payload)).toEqual({ v: 1, kind: 'roster.delta', epoch: s.epoch(), version: 2, batch: { version: 2, upsert: [], remove: ['p-000001'] } });
  expect(s.size()).toBe(0);
});

test('deltas after a version are replayed in order, or null once the log no longer holds them', () => {
  const s = store({ keepDeltas: 3 });
  for (let i = 1; i <= 5; i++) s.change({ upsert: [person(i)], remove: [] });
  expect(s.deltasSince(3)?.map((d) => open(d).version)).toEqual([4, 5]);
  expect(s.deltasSince(5)).toEqual([]);
  expect(s.deltasSince(1)).toBeNull();
});

test('a snapshot holds every person once, in signed chunks under the size target, all at one version', () => {
  const s = store({ maxChunkBytes: 10_000 });
  s.change({ upsert: Array.from({ length: 100 }, (_, i) => person(i)), remove: [] });
  const snap = s.snapshot();
  const bodies = snap.chunks.map((c) => open(c) as RosterSnapshotChunk);
  expect(bodies.length).toBeGreaterThan(5);
  expect(bodies.every((b) => b.version === 1 && b.count === bodies.length && b.snapshotId === snap.snapshotId)).toBe(true);
  expect(bodies.map((b) => b.index)).toEqual(bodies.map((_, i) => i));
  for (const b of bodies) expect(JSON.stringify(b.items).length).toBeLessThanOrEqual(10_000 + 2000);
  expect(bodies.flatMap((b) => b.items as { id: string }[]).map((p) => p.id).sort()).toEqual(Array.from({ length: 100 }, (_, i) => person(i).id));
});

test('chunks of a recent snapshot can be fetched again for a resume, and an unknown snapshot gives null', () => {
  const s = store({ maxChunkBytes: 5_000 });
  s.change({ upsert: Array.from({ length: 20 }, (_, i) => person(i)), remove: [] });
  const snap = s.snapshot();
  expect(s.snapshot()).toBe(snap);
  expect(s.snapshotChunks(snap.snapshotId, [2, 0])).toEqual([snap.chunks[2], snap.chunks[0]]);
  expect(s.snapshotChunks('gone', [0])).toBeNull();
});
