/**
 * Roster epochs end to end: a real mosquitto, the hub, and a terminal's sync client over the real
 * encrypted roster store. A restored hub brings the terminal to its truth; a wiped terminal does not
 * take a replayed older snapshot; messages of an abandoned epoch are refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { generateSigningKeyPair } from '../../../runtime/protocol/signing';
import { topicsFor } from '../../../runtime/protocol/topics';
import { encodeEmbedding, type PersonUpsert } from '../../../runtime/roster/batch';
import { RosterStore } from '../../../runtime/roster/store';
import { ROSTER_STORE_SCHEMAS, RosterStoreSink } from '../../../runtime/sync/roster-store-sink';
import { Hub } from '../../../provisioning/hub/hub';
import { EventStore } from '../../../provisioning/hub/event-store';
import { HubRosterStore, ROSTER_STORE_FORMAT } from '../../../provisioning/hub/roster';
import { MosquittoBroker } from '../../harness/mosquitto';
import { sleep, waitFor } from '../../harness/wait';
import { TestPki } from '../../harness/pki';
import { makeTerminal, mqttTransport, signedCommand, type TestTerminal } from '../../harness/sync-site';

const dir = mkdtempSync(join(tmpdir(), 'sync-epochs-'));
const keys = generateSigningKeyPair();
let pki: TestPki;
let broker: MosquittoBroker;
const running: Array<{ stop: () => Promise<void> }> = [];

beforeAll(async () => {
  pki = TestPki.create(join(dir, 'pki'));
  broker = await MosquittoBroker.start(join(dir, 'broker'), pki);
});

/** Hubs of one test: stopped after it, so that two never hold the hub's session at once. */
const hubs: Array<{ stop: () => Promise<void> }> = [];
afterEach(async () => {
  for (const h of hubs.splice(0)) await h.stop().catch(() => undefined);
});

afterAll(async () => {
  for (const r of running.reverse()) await r.stop().catch(() => undefined);
  await broker.stop();
});

function resident(i: number): PersonUpsert {
  const v = new Float32Array(16).map((_, k) => Math.cos(i * 3 + k) + 0.01);
  return { personId: `p-${i}`, templates: [{ templateId: `p-${i}-t0`, modelId: 'm', embedding: encodeEmbedding(v) }], authorisations: [{ doorIds: ['door-1'], buildingIds: [] }], tags: [] };
}

function hubRoster(initial?: { from: HubRosterStore<PersonUpsert>; persons: PersonUpsert[]; version: number; deltas: Array<[number, string]> }): HubRosterStore<PersonUpsert> {
  return new HubRosterStore<PersonUpsert>({
    now: () => Date.now(),
    signingKey: keys.privateKey,
    ...ROSTER_STORE_FORMAT,
    ...(initial ? { initial: { version: initial.version, items: initial.persons, deltas: initial.deltas, epochs: initial.from.epochs() } } : {}),
  });
}

async function startHub(roster: HubRosterStore<PersonUpsert>, name: string): Promise<{ hub: Hub<PersonUpsert>; stop: () => Promise<void> }> {
  const ingest = new EventStore(join(dir, `${name}-events.db`));
  const hub = new Hub<PersonUpsert>({ transport: mqttTransport(broker, pki, 'hub'), roster, events: ingest, signingKey: keys.privateKey, clock: new SystemClock(), log: silentLogger() });
  await hub.start();
  const h = { hub, stop: async () => { await hub.stop(); ingest.close(); } };
  running.push(h);
  hubs.push(h);
  return h;
}

function terminal(id: string, heartbeatMs = 60_000): TestTerminal & { store: RosterStore } {
  // The device secret makeTerminal keeps beside the sync file, which the roster store uses too.
  const secretFile = join(dir, `${id}.db.secret`);
  writeFileSync(secretFile, randomBytes(32), { mode: 0o600 });
  const store = RosterStore.open({ path: join(dir, `${id}-roster.db`), secretFile, logger: silentLogger() });
  const t = makeTerminal({
    broker, pki, id, dbPath: join(dir, `${id}.db`), hubPublicKey: keys.publicKey,
    overrides: { roster: { sink: new RosterStoreSink(store), ...ROSTER_STORE_SCHEMAS }, timing: { heartbeatMs, ackTimeoutMs: 2000, tickMs: 100, resyncRetryMs: 500 } },
  });
  // As runtime/main.ts does on the hub's commands.
  t.client.on('command', (c) => {
    if (c.type === 'wipe') void store.wipe().then(() => t.client.rosterWiped());
    if (c.type === 'resync' && store.wipedAt() !== null) store.releaseWipeHold();
  });
  const r = { ...t, store, stop: async () => { await t.stop(); store.close(); } };
  running.push(r);
  return r;
}

/** A client with the hub-side tool identity: it publishes what an attacker with broker access could replay. */
async function replayer(): Promise<mqtt.MqttClient> {
  const cred = pki.client('hub-tool');
  const m = await mqtt.connectAsync(broker.url, { ca: pki.ca, cert: cred.cert, key: cred.key, clientId: 'hub-tool', reconnectPeriod: 0 });
  running.push({ stop: () => m.endAsync() });
  return m;
}

const status = (t: { store: RosterStore }, id: string): string => t.store.getPerson(id)?.status ?? 'unknown';

test('a hub restored from an older backup brings a terminal to its truth at its next heartbeat, before any change', async () => {
  const a = hubRoster();
  const hubA = await startHub(a, 'a');
  const t = terminal('door-r', 300);
  t.client.start();
  await waitFor(() => t.client.connected(), 5000, 'connected');
  for (let i = 1; i <= 3; i++) await hubA.hub.publishChange({ upsert: [resident(i)], remove: [] });
  const backup = { from: a, persons: [1, 2, 3].map(resident), version: a.version(), deltas: [1, 2, 3].map((v) => [v, a.deltasSince(v - 1)?.[0] ?? ''] as [number, string]) };
  await hubA.hub.publishChange({ upsert: [], remove: ['p-1'] });
  await hubA.hub.publishChange({ upsert: [resident(4)], remove: [] });
  await waitFor(() => t.store.version() === 5, 5000, 'version 5');
  await hubA.stop();

  const b = hubRoster(backup);
  await startHub(b, 'b');
  await waitFor(() => status(t, 'p-4') === 'unknown', 5000, "the restored hub's snapshot");
  expect(status(t, 'p-1')).toBe('active');
  expect(t.store.rosterPosition()).toEqual({ epoch: { id: b.epoch().id, startedAt: b.epoch().startedAt }, version: 3, highWater: 3 });
}, 30_000);

test('a wiped terminal refuses a replayed older snapshot of its epoch and takes the current one after the resync', async () => {
  const roster = hubRoster();
  const { hub } = await startHub(roster, 'w');
  const t = terminal('door-w');
  t.client.start();
  await waitFor(() => t.client.connected(), 5000, 'connected');
  await hub.publishChange({ upsert: [resident(1), resident(2)], remove: [] });
  const old = roster.snapshot(); // signed while p-2 was still a resident
  await hub.publishChange({ upsert: [], remove: ['p-2'] });
  await waitFor(() => status(t, 'p-2') === 'revoked', 5000, 'the revocation');
  await hub.stop(); // nobody answers the terminal's snapshot request but this test

  const raw = await replayer();
  const T = topicsFor('door-w');
  const clock = new SystemClock();
  await raw.publishAsync(T.commands, signedCommand({ type: 'wipe' }, clock, keys.privateKey, { terminalId: 'door-w' }), { qos: 1 });
  await waitFor(() => t.store.version() === 0 && t.store.wipedAt() !== null && !t.store.wipeInProgress(), 10_000, 'the wipe');
  await raw.publishAsync(T.commands, signedCommand({ type: 'resync' }, clock, keys.privateKey, { terminalId: 'door-w' }), { qos: 1 });
  await waitFor(() => t.store.wipedAt() === null, 5000, 'the hold released');
  const stale = (): number => t.client.rejected()['stale-version'] ?? 0;
  const before = stale();
  for (const chunk of old.chunks) await raw.publishAsync(T.roster, chunk, { qos: 1 });
  await waitFor(() => stale() >= before + old.chunks.length, 5000, 'the replay refused');
  // Nothing of it applied: p-2, revoked since, is not back.
  expect([t.store.version(), status(t, 'p-1'), status(t, 'p-2')]).toEqual([0, 'unknown', 'unknown']);
  // The current snapshot on the same path is taken.
  for (const chunk of roster.snapshot().chunks) await raw.publishAsync(T.roster, chunk, { qos: 1 });
  await waitFor(() => t.store.version() === roster.version(), 5000, 'the current snapshot');
  expect([status(t, 'p-1'), status(t, 'p-2')]).toEqual(['active', 'unknown']);
}, 30_000);

test('a terminal refuses the deltas and snapshots of an abandoned epoch and goes on with the current one', async () => {
  const a = hubRoster();
  const hubA = await startHub(a, 'x');
  const t = terminal('door-x');
  t.client.start();
  await waitFor(() => t.client.connected(), 5000, 'connected');
  await hubA.hub.publishChange({ upsert: [resident(1), resident(2)], remove: [] });
  await waitFor(() => t.store.version() === 1, 5000, 'version 1');
  await hubA.stop();
  // The hub restarts (a new epoch continuing the first at version 1)...
  const b = hubRoster({ from: a, persons: [resident(1), resident(2)], version: 1, deltas: [[1, a.deltasSince(0)?.[0] ?? '']] });
  const hubB = await startHub(b, 'y');
  await hubB.hub.publishChange({ upsert: [resident(3)], remove: [] });
  await waitFor(() => status(t, 'p-3') === 'active', 5000, "the new epoch's delta");
  // ...while messages of the abandoned epoch are replayed: a delta that would follow the terminal's
  // version, and a snapshot at a higher version.
  const forkDelta = a.change({ upsert: [], remove: ['p-1'] }).payload; // version 2 of the old epoch
  a.change({ upsert: [resident(9)], remove: [] });
  a.change({ upsert: [resident(10)], remove: [] });
  const forkSnapshot = a.snapshot(); // version 4 of the old epoch
  const raw = await replayer();
  const T = topicsFor('door-x');
  await raw.publishAsync(T.roster, forkDelta, { qos: 1 });
  for (const chunk of forkSnapshot.chunks) await raw.publishAsync(T.roster, chunk, { qos: 1 });
  await waitFor(() => (t.client.rejected()['stale-epoch'] ?? 0) >= 1 + forkSnapshot.chunks.length, 5000, 'the replays refused');
  expect(t.client.rejected()['stale-epoch']).toBe(1 + forkSnapshot.chunks.length);
  await hubB.hub.publishChange({ upsert: [resident(4)], remove: [] });
  await waitFor(() => status(t, 'p-4') === 'active', 5000, "the current epoch's next delta");
  await sleep(100);
  expect([status(t, 'p-1'), status(t, 'p-9'), status(t, 'p-10')]).toEqual(['active', 'unknown', 'unknown']);
  expect(t.store.version()).toBe(b.version());
}, 30_000);
