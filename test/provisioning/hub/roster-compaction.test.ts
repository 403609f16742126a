/**
 * The hub after a revocation, on an in-memory transport: the recorded deltas that carried the person
 * are deleted (hub.db and the deltas kept for replay), a terminal that would need one gets a snapshot,
 * one past them still gets deltas; terminals confirm the deletion with the roster version of their
 * heartbeat, on this hub's history only.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { RosterDeltaSchema, SignedEnvelopeSchema, type RosterEpoch } from '../../../runtime/protocol/schemas';
import { encodeEmbedding, type TemplateIn } from '../../../runtime/roster/batch';
import { FakeTransport } from '../../../runtime/sync/fake-transport';
import { addPerson, addTerminal, erasureStatus, initCommunity, revokePerson, startCommunityHub, type Community, type CommunityHub, type Enroller } from '../../../provisioning';
import { admin } from '../../harness/admin';
import { waitFor } from '../../harness/wait';

const PASS = 'compaction-test-pass';
let root: string;
let c: Community;
let photo: string;

const enroller: Enroller = {
  templates: (photos, idPrefix): Promise<TemplateIn[]> =>
    Promise.resolve(photos.map((_, i) => ({ templateId: `${idPrefix}-t${i + 1}`, modelId: 'test-model', embedding: encodeEmbedding(new Float32Array(8).fill(0.25)) }))),
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'roster-compaction-'));
  c = initCommunity({ dir: join(root, 'c'), passphrase: PASS, now: Date.now(), actor: 'test-operator' });
  addTerminal(admin(c, { passphrase: PASS }), { id: 't1', doorId: 'door-1', out: join(root, 't1') });
  addTerminal(admin(c, { passphrase: PASS }), { id: 't2', doorId: 'door-2', out: join(root, 't2') });
  photo = join(root, 'p.jpg');
  writeFileSync(photo, 'x');
}, 30_000);

afterAll(() => c.close());

async function startHub(clock: FakeClock): Promise<{ svc: CommunityHub; fake: FakeTransport }> {
  const fake = new FakeTransport();
  const p = startCommunityHub({ community: c, passphrase: PASS, transport: fake, clock, log: silentLogger(), webhookUrl: null, pollMs: 60_000 });
  await waitFor(() => fake.started, 10_000, 'the hub to start its transport', 5);
  fake.connect();
  return { svc: await p, fake };
}

const kinds = (fake: FakeTransport, from: number, topic: string): string[] =>
  fake.published.slice(from).filter((m) => m.topic === topic).map((m) => (JSON.parse(SignedEnvelopeSchema.parse(JSON.parse(m.payload)).body) as { kind: string; version?: number }))
    .map((b) => `${b.kind}${b.kind === 'roster.delta' ? ` ${b.version ?? ''}` : ''}`);

const heartbeat = (version: number, epoch: RosterEpoch | null): string =>
  JSON.stringify({ v: 1, state: 'online', at: Date.now(), health: { uptimeS: 5, rosterVersion: version, ...(epoch ? { rosterEpoch: { id: epoch.id, startedAt: epoch.startedAt } } : {}), outboxDepth: 0, outboxDropped: 0, rejectedMessages: 0, cameraFps: null, lastDecisionLatencyMs: null, softwareVersion: '0.1.0', modelVersion: 'm1' } });

describe('roster compaction after a revocation', () => {
  it('deletes the deltas that carried the person, sends a snapshot to a terminal that needed one, and deltas to one past them', async () => {
    const clock = new FakeClock();
    const { svc, fake } = await startHub(clock);
    try {
      for (const id of ['p-keep', 'p-gone', 'p-other']) {
        await addPerson(admin(c, { enroller }), { id, photos: [photo], doors: ['door-1'], label: `label of ${id}` });
        await svc.tick();
      }
      const epoch = JSON.parse(SignedEnvelopeSchema.parse(JSON.parse(fake.published.at(-1)?.payload ?? '{}')).body) as { epoch: RosterEpoch };
      expect(c.db.rosterLog(0).map(([v]) => v)).toEqual([1, 2, 3]);
      revokePerson(admin(c), { id: 'p-gone' });
      await svc.tick();
      // Version 2 carried p-gone's templates and label: gone from hub.db; the tombstone (4) stays.
      expect(c.db.rosterLog(0).map(([v]) => v)).toEqual([1, 3, 4]);
      expect(c.db.rosterLog(0).some(([, p]) => p.includes('label of p-gone'))).toBe(false);
      expect(RosterDeltaSchema.parse(JSON.parse(SignedEnvelopeSchema.parse(JSON.parse(c.db.rosterLog(3)[0]?.[1] ?? '{}')).body))).toMatchObject({ version: 4 });
      expect(c.db.erasures.erasure('p-gone')).toMatchObject({ version: 4, compactedDeltas: 1 });

      const held = { id: epoch.epoch.id, startedAt: epoch.epoch.startedAt };
      let mark = fake.published.length;
      fake.deliver('door/t1/requests', JSON.stringify({ v: 1, kind: 'sync', version: 1, epoch: held }));
      expect(kinds(fake, mark, 'hub/t1/roster')[0]).toBe('roster.snapshot');
      mark = fake.published.length;
      fake.deliver('door/t1/requests', JSON.stringify({ v: 1, kind: 'sync', version: 2, epoch: held }));
      expect(kinds(fake, mark, 'hub/t1/roster')).toEqual(['roster.delta 3', 'roster.delta 4']);
    } finally {
      await svc.stop();
    }
  });

  it('after a restart, replays only the deltas still recorded: the compacted one is not kept in memory again', async () => {
    const { svc, fake } = await startHub(new FakeClock());
    try {
      const first = c.db.rosterEpochs()[0];
      if (!first) throw new Error('no epoch');
      fake.deliver('door/t2/requests', JSON.stringify({ v: 1, kind: 'sync', version: 1, epoch: { id: first.id, startedAt: first.startedAt } }));
      expect(kinds(fake, 0, 'hub/t2/roster')[0]).toBe('roster.snapshot');
    } finally {
      await svc.stop();
    }
  });

  it("records a terminal's confirmation from a heartbeat at or past the tombstone on this hub's history, and only then", async () => {
    const { svc, fake } = await startHub(new FakeClock());
    try {
      const epoch = c.db.rosterEpochs().at(-1); // the epoch this start recorded
      if (!epoch) throw new Error('no epoch recorded');
      expect(erasureStatus(admin(c), { id: 'p-gone' })).toMatchObject({ tombstoneVersion: 4, confirmed: [], pending: ['t1', 't2'] });
      fake.deliver('door/t1/status', heartbeat(3, epoch), true); // before the tombstone
      fake.deliver('door/t2/status', heartbeat(9, { ...epoch, id: 'AAAAAAAAAAAAAAAAAAAAAA' }), true); // not this hub's history
      expect(erasureStatus(admin(c), { id: 'p-gone' }).confirmed).toEqual([]);
      fake.deliver('door/t1/status', heartbeat(4, epoch), true);
      expect(erasureStatus(admin(c), { id: 'p-gone' })).toMatchObject({ confirmed: [{ terminalId: 't1', rosterVersion: 4 }], pending: ['t2'] });
    } finally {
      await svc.stop();
    }
  });
});
