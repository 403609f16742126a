/**
 * A hub restored from an older backup of hub.db brings its terminals to its truth: the community's
 * mosquitto (generated configuration), the hub service, and a terminal's sync client on its bundle's
 * credentials with the real encrypted roster store.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey } from 'node:crypto';
import { SystemClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { encodeEmbedding, type TemplateIn } from '../../runtime/roster/batch';
import { loadRosterKeyFile } from '../../runtime/protocol/roster-seal';
import { RosterStore } from '../../runtime/roster/store';
import { SyncClient } from '../../runtime/sync/client';
import { openSyncDb } from '../../runtime/sync/db';
import { ROSTER_STORE_SCHEMAS, RosterStoreSink } from '../../runtime/sync/roster-store-sink';
import { MqttTransport } from '../../runtime/sync/transport';
import { addPerson, addTerminal, BrokerProcess, Community, fleetStatus, startCommunityHub, initCommunity, revokePerson, type Enroller, type TerminalBundle } from '../../provisioning';
import { freeLoopbackPort } from '../../provisioning/ports';
import { waitFor } from '../harness/wait';
import { admin } from '../harness/admin';

const PASS = 'restore-test-pass';
const enroller: Enroller = {
  templates: (photos, idPrefix): Promise<TemplateIn[]> =>
    Promise.resolve(photos.map((_, i) => ({ templateId: `${idPrefix}-t${i + 1}`, modelId: 'test-model', embedding: encodeEmbedding(new Float32Array(8).fill(1)) }))),
};

let root: string;
let c: Community;
let broker: BrokerProcess;
let bundle: TerminalBundle;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'provision-restore-'));
  c = initCommunity({ dir: join(root, 'c'), passphrase: PASS, brokerUrl: `mqtts://127.0.0.1:${await freeLoopbackPort()}`, now: Date.now(), actor: 'test-operator' });
  bundle = addTerminal(admin(c, { passphrase: PASS }), { id: 't1', doorId: 'door-1', out: join(root, 't1') });
  broker = new BrokerProcess(c, { listenHost: '127.0.0.1', clock: new SystemClock() });
  await broker.start();
}, 60_000);

afterAll(async () => {
  await broker.stop();
  c.close();
});

function terminal(): { client: SyncClient; store: RosterStore; stop: () => Promise<void> } {
  const f = (n: string): Buffer => readFileSync(join(bundle.dir, n));
  const store = RosterStore.open({ path: join(root, 't1-roster.db'), secretFile: join(bundle.dir, 'device.secret'), logger: silentLogger() });
  const db = openSyncDb(join(root, 't1-sync.db'), { synchronous: 'normal' });
  const client = new SyncClient({
    terminalId: 't1',
    transport: new MqttTransport({ url: c.config.brokerUrl, clientId: 't1', ca: f('ca.crt'), cert: f('device.crt'), key: f('device.key'), reconnectMinMs: 100, reconnectMaxMs: 1000, connectTimeoutMs: 5000, keepaliveS: 30, log: silentLogger() }),
    clock: new SystemClock(),
    log: silentLogger(),
    db,
    hubPublicKey: createPublicKey(f('hub-signing.pub')),
    rosterKey: loadRosterKeyFile(join(bundle.dir, 'roster.key')),
    roster: { sink: new RosterStoreSink(store), ...ROSTER_STORE_SCHEMAS },
    health: () => ({ cameraFps: null, lastDecisionLatencyMs: null }),
    versions: { software: 'test', model: 'test-model' },
    timing: { heartbeatMs: 500, tickMs: 100, resyncRetryMs: 500 },
  });
  client.start();
  return { client, store, stop: async () => { await client.stop(); db.close(); store.close(); } };
}

const status = (store: RosterStore, id: string): string => store.getPerson(id)?.status ?? 'unknown';

test('revocations made on a hub restored from an older backup reach the terminal, which takes the restored roster', async () => {
  const photo = join(root, 'p.jpg');
  copyFileSync(__filename, photo);
  let hub = await startCommunityHub({ clock: new SystemClock(), community: c, passphrase: PASS, pollMs: 50, log: silentLogger() });
  const t = terminal();
  try {
    await addPerson(admin(c, { enroller }), { id: 'p-1', photos: [photo], doors: ['door-1'] });
    await addPerson(admin(c, { enroller }), { id: 'p-2', photos: [photo], doors: ['door-1'] });
    await waitFor(() => status(t.store, 'p-2') === 'active', 10_000, 'p-1 and p-2 on the terminal');

    // The nightly backup, then a day of changes the backup will not have.
    const backup = join(root, 'hub-backup.db');
    c.db.db.exec(`VACUUM INTO '${backup}'`);
    revokePerson(admin(c), { id: 'p-1' });
    await addPerson(admin(c, { enroller }), { id: 'p-3', photos: [photo], doors: ['door-1'] });
    await waitFor(() => status(t.store, 'p-3') === 'active' && status(t.store, 'p-1') === 'revoked', 10_000, 'the day of changes on the terminal');
    const before = t.store.rosterPosition();

    // The hub's disk dies; hub.db comes back from the backup.
    await hub.stop();
    c.close();
    for (const f of ['hub.db', 'hub.db-wal', 'hub.db-shm']) rmSync(join(c.paths.dir, f), { force: true });
    copyFileSync(backup, c.paths.hubDb);
    c = Community.open(c.paths.dir);
    hub = await startCommunityHub({ clock: new SystemClock(), community: c, passphrase: PASS, pollMs: 50, log: silentLogger() });
    expect(hub.version()).toBeLessThan(before.version);

    // An operator revokes p-2 on the restored hub: the terminal takes the restored hub's roster. p-2 is
    // a tombstone when the revocation came as a delta after the restored snapshot, or simply absent
    // from the snapshot of the door's scope when that snapshot came after it.
    revokePerson(admin(c), { id: 'p-2' });
    await waitFor(() => status(t.store, 'p-2') !== 'active' && t.store.rosterPosition().version === hub.version(), 10_000, 'the revocation made after the restore');
    expect(['revoked', 'unknown']).toContain(status(t.store, 'p-2'));
    expect(status(t.store, 'p-1')).toBe('active'); // as in the restored truth
    expect(status(t.store, 'p-3')).toBe('unknown'); // never in the restored truth
    expect(t.store.rosterPosition().epoch?.id).not.toBe(before.epoch?.id);
    expect(t.store.rosterPosition().version).toBe(hub.version());
    await waitFor(() => fleetStatus(admin(c)).find((r) => r.terminalId === 't1')?.rosterEpoch === 'current', 5000, 'fleet status showing the current epoch');
  } finally {
    await t.stop();
    await hub.stop();
  }
}, 60_000);
