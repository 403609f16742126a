import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { encodeEmbedding, type PersonUpsert } from '../../../runtime/roster/batch';
import { RosterStore } from '../../../runtime/roster/store';
import { generateSigningKeyPair } from '../../../runtime/protocol/signing';
import { topicsFor } from '../../../runtime/protocol/topics';
import { SyncClient } from '../../../runtime/sync/client';
import { openSyncDb } from '../../../runtime/sync/db';
import { FakeTransport } from '../../../runtime/sync/fake-transport';
import { ROSTER_STORE_SCHEMAS, RosterStoreSink } from '../../../runtime/sync/roster-store-sink';
import { HubRosterStore, ROSTER_STORE_FORMAT } from '../../../provisioning/hub/roster';
import { rng, tempRoster, unitVector } from '../roster/fixtures';

const keys = generateSigningKeyPair();
const T = topicsFor('door-1');
const rand = rng(7);
const person = (i: number): PersonUpsert => ({
  personId: `p${i}`,
  templates: [{ templateId: `p${i}-t0`, modelId: 'm1', embedding: encodeEmbedding(unitVector(rand)) }],
  authorisations: [],
  tags: [],
});

async function site(): Promise<{ store: RosterStore; client: SyncClient; transport: FakeTransport; hub: HubRosterStore<PersonUpsert>; cleanup: () => void }> {
  const env = tempRoster();
  const store = RosterStore.open({ path: env.path, secretFile: env.secretFile, logger: silentLogger() });
  const transport = new FakeTransport();
  const client = new SyncClient({
    terminalId: 'door-1',
    transport,
    clock: new FakeClock(),
    log: silentLogger(),
    db: openSyncDb(':memory:'),
    hubPublicKey: keys.publicKey,
    roster: { sink: new RosterStoreSink(store), ...ROSTER_STORE_SCHEMAS },
    health: () => ({ cameraFps: null, lastDecisionLatencyMs: null }),
    versions: { software: 't', model: 'm1' },
  });
  client.start();
  transport.connect(true);
  await new Promise((r) => setImmediate(r));
  const hub = new HubRosterStore<PersonUpsert>({ now: () => Date.now(), signingKey: keys.privateKey, maxChunkBytes: 8000, ...ROSTER_STORE_FORMAT });
  return { store, client, transport, hub, cleanup: () => { store.close(); env.cleanup(); } };
}

test('a chunked snapshot and then a revocation delta land in the encrypted roster store', async () => {
  const s = await site();
  try {
    s.hub.change({ upsert: Array.from({ length: 12 }, (_, i) => person(i)), remove: [] });
    const snap = s.hub.snapshot();
    expect(snap.chunks.length).toBeGreaterThan(1);
    for (const c of snap.chunks) s.transport.deliver(T.roster, c);
    expect(s.store.version()).toBe(1);
    expect(s.store.templateCount()).toBe(12);
    s.transport.deliver(T.rosterAll, s.hub.change({ upsert: [], remove: ['p3'] }).payload);
    expect(s.store.version()).toBe(2);
    expect(s.store.getPerson('p3')?.status).toBe('revoked');
    expect(s.client.rejectedTotal()).toBe(0);
  } finally {
    s.cleanup();
  }
});

test('a delta the store refuses is counted and leaves the store as it was', async () => {
  const s = await site();
  try {
    s.transport.deliver(T.rosterAll, s.hub.change({ upsert: [person(1)], remove: [] }).payload);
    const bad = s.hub.change({ upsert: [{ ...person(2), templates: [{ templateId: 't', modelId: 'm1', embedding: Buffer.alloc(8).toString('base64') }] }], remove: [] });
    s.transport.deliver(T.rosterAll, bad.payload);
    expect(s.client.rejected()).toEqual({ 'store-refused': 1 });
    expect(s.store.version()).toBe(1);
    expect(s.store.getPerson('p2')).toBeNull();
  } finally {
    s.cleanup();
  }
});
