/**
 * Files holding personal data or keys are 0600 and their folders 0700 from creation, on the hub and on
 * a terminal, whatever the process umask (issue 16, item 3: systemd's UMask is not relied on). Run under
 * umask 022, the common default: a community made and run by the real functions (init, a terminal, a
 * resident with photos, a registration with its ID photo, the broker's configuration and a run of
 * mosquitto, the hub with its event store, the API with its TLS key, the update key), and a terminal's
 * data folder opened by its real parts from the bundle the hub wrote. Every file and folder is walked;
 * only the files public by nature (PUBLIC_FILES: certificates, public keys) may be readable by others.
 */
import Database from 'better-sqlite3';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FakeClock, SystemClock } from '../../core/clock';
import { ensurePrivateDir, preparePrivateDatabase, writePrivateFile } from '../../core/fs';
import { silentLogger } from '../../core/log';
import { FakeGpio } from '../../drivers/gpio/fake';
import { realParts } from '../../runtime/main';
import { loadConfig } from '../../runtime/config';
import { encodeEmbedding, type TemplateIn } from '../../runtime/roster/batch';
import { FakeTransport } from '../../runtime/sync/fake-transport';
import { addPerson, addTerminal, BrokerProcess, initCommunity, registerPerson, startCommunityHub, type Community, type Enroller } from '../../provisioning';
import { serveApi } from '../../provisioning/api/endpoint';
import { saveIdPhoto } from '../../provisioning/api/id-photo';
import { FakeRealNameCheck } from '../../provisioning/api/realname';
import { PUBLIC_FILES } from '../../provisioning/community';
import { freeLoopbackPort } from '../../provisioning/ports';
import { ensureUpdateKey } from '../../provisioning/update/keys';
import { FRANCK_STILLS, testFile } from '../fixtures/photos';
import { admin } from '../harness/admin';
import { waitFor } from '../harness/wait';

const PASS = 'private-files-pass';

const enroller: Enroller = {
  templates: (photos, idPrefix): Promise<TemplateIn[]> =>
    Promise.resolve(photos.map((_, i) => ({ templateId: `${idPrefix}-t${i + 1}`, modelId: 'test-model', embedding: encodeEmbedding(new Float32Array(512).fill(0.1 * (i + 1))) }))),
};

interface Entry {
  path: string;
  kind: 'file' | 'dir';
  mode: number;
}

/** Every file and folder under `dir` (the folder itself first), links not followed. */
function walk(dir: string, root = dir): Entry[] {
  const out: Entry[] = [{ path: relative(root, dir) || '.', kind: 'dir', mode: lstatSync(dir).mode & 0o777 }];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p, root));
    else out.push({ path: relative(root, p), kind: 'file', mode: lstatSync(p).mode & 0o777 });
  }
  return out;
}

const isPublic = (path: string): boolean =>
  PUBLIC_FILES.some((pattern) => new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+')}$`).test(path));

/** The entries whose mode is not the private one (public files aside), as "path mode" lines. */
function wider(entries: readonly Entry[]): string[] {
  return entries
    .filter((e) => (e.kind === 'dir' ? e.mode !== 0o700 : e.mode !== 0o600 && !isPublic(e.path)))
    .map((e) => `${e.path} ${e.mode.toString(8)}`);
}

let umaskBefore: number;
let root: string;

beforeAll(() => {
  umaskBefore = process.umask(0o022); // what a process gets without systemd's UMask=0077
  root = mkdtempSync(join(tmpdir(), 'private-files-'));
});

afterAll(() => {
  process.umask(umaskBefore);
});

describe('files holding personal data or keys', () => {
  let c: Community | null = null;

  afterEach(() => c?.close());

  it('are 0600 in 0700 folders throughout a community folder made and run under umask 022, public certificates and keys aside', async () => {
    const mqttPort = await freeLoopbackPort();
    c = initCommunity({ dir: join(root, 'community'), passphrase: PASS, brokerUrl: `mqtts://127.0.0.1:${mqttPort}`, webhookUrl: 'https://alerts.example/hook?token=secret', now: Date.now(), actor: 'test-operator' });
    const clock = new FakeClock(Date.now());
    const asRoot = admin(c, { clock, passphrase: PASS, enroller });
    addTerminal(asRoot, { id: 't1', doorId: 'door-1', out: join(root, 'bundle-t1') });
    const photo = testFile(FRANCK_STILLS[0]!);
    await addPerson(asRoot, { id: 'p-1', photos: [photo], doors: ['door-1'] });
    const pending = await registerPerson(asRoot, { id: 'p-2', photos: [photo] });
    saveIdPhoto(c, pending.photoKey, { contentType: 'image/jpeg', data: Buffer.from('id photo bytes') });
    ensureUpdateKey(c, PASS);

    const broker = new BrokerProcess(c, { listenHost: '127.0.0.1', clock: new SystemClock() });
    await broker.start();
    const fake = new FakeTransport();
    const starting = startCommunityHub({ community: c, passphrase: PASS, transport: fake, clock, log: silentLogger(), pollMs: 60_000 });
    await waitFor(() => fake.started, 20_000, 'the hub to start its transport', 5);
    fake.connect();
    const hub = await starting;
    const served = await serveApi({ community: c, passphrase: PASS, clock, log: silentLogger(), realName: new FakeRealNameCheck([]), enroller, host: '127.0.0.1', port: 0 });
    try {
      await hub.tick();
      // While everything runs: the databases' -wal and -shm exist, and must be private too.
      const running = walk(c.paths.dir);
      expect(running.map((e) => e.path)).toEqual(expect.arrayContaining(['hub.db', 'hub.db-wal', 'hub.db-shm', 'events.db', 'events.db-wal', 'events.db-shm', 'community.json', 'hub/at-rest.key', 'broker/mosquitto.conf']));
      expect(running.filter((e) => e.path.startsWith('photos/') && e.kind === 'file').length).toBeGreaterThanOrEqual(3);
      expect(wider(running)).toEqual([]);
    } finally {
      await served.api.close();
      await hub.stop();
      await broker.stop();
    }
    // After the broker saved its persistence (retained rosters) and wrote its log.
    const stopped = walk(c.paths.dir);
    expect(stopped.map((e) => e.path)).toEqual(expect.arrayContaining(['broker/data', 'broker/mosquitto.log']));
    expect(wider(stopped)).toEqual([]);
    // The terminal's bundle, as the hub wrote it: the folder and every file private.
    expect(wider(walk(join(root, 'bundle-t1')))).toEqual([]);
  }, 120_000);

  it('are 0600 in a 0700 data folder on a terminal opened by its real parts under umask 022', () => {
    const bundle = join(root, 'bundle-t1');
    const config = loadConfig(join(bundle, 'terminal.json'));
    const parts = realParts(config, new SystemClock(), silentLogger(), new FakeGpio(new SystemClock()));
    const events = parts.openEventStore();
    const roster = parts.openRoster();
    try {
      const data = walk(config.paths.dataDir);
      expect(data.map((e) => e.path)).toEqual(expect.arrayContaining(['.', 'roster.db', 'roster.db-wal', 'roster.db-shm', 'sync.db', 'sync.db-wal', 'sync.db-shm']));
      expect(wider(data)).toEqual([]);
    } finally {
      roster.close();
      events.db.close();
    }
    expect(wider(walk(config.paths.dataDir))).toEqual([]);
  });

  it('are narrowed when made wider by an older build, and SQLite alone would have made them 0644', () => {
    const dir = join(root, 'older');
    mkdirSync(dir, { mode: 0o755 });
    const plain = new Database(join(dir, 'plain.db')); // what SQLite does by itself under umask 022
    plain.pragma('journal_mode = WAL');
    plain.exec('CREATE TABLE t (x)');
    expect(wider(walk(dir)).sort()).toEqual(['. 755', 'plain.db 644', 'plain.db-shm 644', 'plain.db-wal 644']);
    plain.close();
    writeFileSync(join(dir, 'community.json'), '{}', { mode: 0o644 });
    ensurePrivateDir(dir);
    preparePrivateDatabase(join(dir, 'plain.db'));
    writePrivateFile(join(dir, 'community.json'), '{"v":1}');
    expect(wider(walk(dir))).toEqual([]);
  });
});
