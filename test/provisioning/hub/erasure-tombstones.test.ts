/**
 * The hub after a revocation, on an in-memory transport: the erasure records the version of the
 * person's tombstone (roster_log names persons by id only); the terminals the tombstone was sent to
 * confirm the deletion with the roster version of their heartbeat, on this hub's history only.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { type RosterEpoch } from '../../../runtime/protocol/schemas';
import { tombstoneVersion } from '../../../provisioning/hub/erasure-tombstones';
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
  root = mkdtempSync(join(tmpdir(), 'erasure-tombstones-'));
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
  const svc = await p;
  await svc.tick();
  // Both doors ask for their roster (a scoped snapshot each): from then on they are sent deltas.
  for (const t of ['t1', 't2']) fake.deliver(`door/${t}/requests`, JSON.stringify({ v: 1, kind: 'sync', version: 0 }));
  await waitFor(() => ['t1', 't2'].every((t) => fake.published.some((m) => m.topic === `hub/${t}/roster`)), 10_000, 'both scoped snapshots', 5);
  return { svc, fake };
}

const heartbeat = (version: number, epoch: RosterEpoch | null): string =>
  JSON.stringify({ v: 1, state: 'online', at: Date.now(), health: { uptimeS: 5, rosterVersion: version, ...(epoch ? { rosterEpoch: { id: epoch.id, startedAt: epoch.startedAt } } : {}), outboxDepth: 0, outboxDropped: 0, rejectedMessages: 0, cameraFps: null, lastDecisionLatencyMs: null, softwareVersion: '0.1.0', modelVersion: 'm1' } });

describe('erasure and the roster history after a revocation', () => {
  it('records the version of the tombstone with the erasure, and roster_log names the person by id only, before and after', async () => {
    const clock = new FakeClock();
    const { svc } = await startHub(clock);
    try {
      for (const id of ['p-keep', 'p-gone', 'p-other']) {
        await addPerson(admin(c, { enroller }), { id, photos: [photo], doors: ['door-1'], label: `label of ${id}` });
        await svc.tick();
      }
      revokePerson(admin(c), { id: 'p-gone' });
      await svc.tick();
      const naming = c.db.rosterChanges(0).filter(([, ch]) => ch.persons.some((p) => p.id === 'p-gone')).map(([v]) => v);
      expect(naming).toHaveLength(2); // its upsert, then its tombstone
      const tombstone = naming[1] as number;
      expect(tombstoneVersion(c.db, 'p-gone')).toBe(tombstone);
      expect(c.db.erasures.erasure('p-gone')).toMatchObject({ version: tombstone });
      // The tombstone went to door-1's terminal only: it is the one an erasure waits for.
      expect(c.db.rosterChanges(tombstone - 1)[0]?.[1].terminals).toEqual(['t1']);
      expect(JSON.stringify(c.db.rosterChanges(0))).not.toContain('label of');
    } finally {
      await svc.stop();
    }
  });

  it("records a terminal's confirmation from a heartbeat at or past the tombstone on this hub's history, and only then", async () => {
    const { svc, fake } = await startHub(new FakeClock());
    try {
      const epoch = c.db.rosterEpochs().at(-1); // the epoch this start recorded
      if (!epoch) throw new Error('no epoch recorded');
      const tombstone = tombstoneVersion(c.db, 'p-gone');
      // t2 (door-2) never held p-gone: only t1 is waited for.
      expect(erasureStatus(admin(c), { id: 'p-gone' })).toMatchObject({ tombstoneVersion: tombstone, confirmed: [], pending: ['t1'] });
      fake.deliver('door/t1/status', heartbeat(tombstone - 1, epoch), true); // before the tombstone
      fake.deliver('door/t1/status', heartbeat(tombstone + 5, { ...epoch, id: 'AAAAAAAAAAAAAAAAAAAAAA' }), true); // not this hub's history
      expect(erasureStatus(admin(c), { id: 'p-gone' }).confirmed).toEqual([]);
      fake.deliver('door/t1/status', heartbeat(tombstone, epoch), true);
      expect(erasureStatus(admin(c), { id: 'p-gone' })).toMatchObject({ confirmed: [{ terminalId: 't1', rosterVersion: tombstone }], pending: [] });
    } finally {
      await svc.stop();
    }
  });
});
