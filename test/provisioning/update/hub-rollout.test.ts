/**
 * A staged rollout run by the real hub: real mosquitto with the community's ACL, the hub (hub.db,
 * events.db) with its bundle server (mutual TLS, a port of its own) and its HTTPS API, and the
 * `provision update ...` commands as operators type them (API calls as root). Five terminals, each with
 * its own certificate, its MQTT side (a real SyncClient: heartbeats with the installed version and
 * update state, the update agent's reports through the outbox, the hub's signed `update` offers) and its
 * own update agent restarting a real stand-in terminal process through a supervisor (the service
 * manager that stands in for systemd).
 *
 * 0.2.0 crashes on t3's board. Canary t1, then waves of 50% and 100%, no failure allowed: t1 commits;
 * t2 is offline when its wave opens and catches up when it is back; t3 is offered it while its door is
 * in a passage, waits, then restarts, crashes, rolls back by itself, and the rollout halts: t4 and t5 are
 * never offered it. Pause, resume and abort go through the API.
 *
 * `DOORWAY_ROLLOUT_LOG=FILE` writes the operator's transcript and the rollout log of the run
 * (docs/update-rollout-log.txt is made so: `npm run show:rollout`).
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { BrokerProcess, startCommunityHub, type Community, type CommunityHub } from '../../../provisioning';
import { revokeTerminal } from '../../../provisioning/admin/terminals';
import { HubClient } from '../../../provisioning/api/client';
import { NoRealNameCheck } from '../../../provisioning/api/realname';
import { HubApi } from '../../../provisioning/api/server';
import { recordApiEndpoint } from '../../../provisioning/api/endpoint';
import { httpTls } from '../../../provisioning/api/tls';
import { run } from '../../../provisioning/cli';
import { ensureRootKey } from '../../../provisioning/operators/root';
import { freeLoopbackPort } from '../../../provisioning/ports';
import { buildBundle } from '../../../provisioning/update/build';
import { BundlePublishError, publishBundle, publishedVersions } from '../../../provisioning/update/bundles';
import { startHubBundleServer, type HubBundleServer } from '../../../provisioning/update/hub-bundles';
import { Rollouts } from '../../../provisioning/update/rollouts';
import { SyncClient } from '../../../runtime/sync/client';
import { openSyncDb, type SyncDb } from '../../../runtime/sync/db';
import { MemoryRosterSink, SimpleRosterBatchSchema, SimpleRosterItemSchema } from '../../../runtime/sync/roster-sink';
import { MqttTransport } from '../../../runtime/sync/transport';
import { UpdateReports } from '../../../runtime/terminal/updates';
import type { UpdateResult } from '../../../runtime/update/agent';
import { AgentLauncher } from '../../../runtime/update/launcher';
import { UpdateLink } from '../../../runtime/update/terminal-link';
import { admin } from '../../harness/admin';
import { testEnroller } from '../../harness/hub-api';
import { makeCommunity, PASSPHRASE, updateTerminal, type UpdateTerminal } from '../../harness/update-community';
import { IDLE_DOOR, rewriteBundle, editSignedBody, runtimeTree, scaled, setDoor, standInAnswer, tempDir } from '../../harness/update';
import { waitFor } from '../../harness/wait';

const IDS = ['t1', 't2', 't3', 't4', 't5'];
let c: Community;
let broker: BrokerProcess;
let hub: CommunityHub;
let api: HubApi;
let bundles: HubBundleServer;
let baseUrl: string;
const terminals = new Map<string, UpdateTerminal>();
const links = new Map<string, TerminalLink>();
const served: { cn: string; range: string | null; status: number }[] = [];
const results = new Map<string, UpdateResult>();

/** A terminal's MQTT side as far as updates go: heartbeats, the agent's reports, the hub's offers. */
class TerminalLink {
  private client: SyncClient | null = null;
  private reports: UpdateReports | null = null;
  private db: SyncDb | null = null;
  private readonly dbPath = join(tempDir('sync'), 'sync.db');

  constructor(private readonly t: UpdateTerminal) {}

  start(): void {
    const hubCfg = this.t.config.hub;
    if (!hubCfg) throw new Error('a terminal bundle without its hub section');
    const clock = new SystemClock();
    const log = silentLogger();
    const db = openSyncDb(this.dbPath, { synchronous: 'normal' });
    const reports = new UpdateReports({
      clock,
      log,
      link: new UpdateLink(this.t.stateDir, this.t.root, new AgentLauncher(this.t.agent, log, (r) => results.set(this.t.id, r))),
      store: (e) => void client.record(e),
      pollMs: 200,
    });
    const client: SyncClient = new SyncClient({
      terminalId: this.t.id,
      transport: new MqttTransport({ url: hubCfg.url, clientId: this.t.id, ca: readFileSync(hubCfg.caFile), cert: readFileSync(hubCfg.certFile), key: readFileSync(hubCfg.keyFile), reconnectMinMs: 100, reconnectMaxMs: 1000, connectTimeoutMs: 5000, keepaliveS: 30, log }),
      clock,
      log,
      db,
      hubPublicKey: createPublicKey(readFileSync(hubCfg.hubPublicKeyFile)),
      roster: { sink: new MemoryRosterSink(), batchSchema: SimpleRosterBatchSchema, itemSchema: SimpleRosterItemSchema },
      health: () => ({ cameraFps: 25, lastDecisionLatencyMs: null, ...reports.heartbeat() }),
      versions: { software: '0.1.0', model: 'test-model' },
      timing: { heartbeatMs: 300, tickMs: 100, ackTimeoutMs: 2000 },
    });
    client.on('command', (cmd) => {
      if (cmd.type === 'update') reports.install(cmd.version, cmd.url);
    });
    client.start();
    reports.start();
    Object.assign(this, { client, reports, db });
  }

  async stop(): Promise<void> {
    this.reports?.stop();
    await this.client?.stop();
    this.db?.close();
    this.client = null;
  }
}

beforeAll(async () => {
  c = makeCommunity('rollout test community', { brokerUrl: `mqtts://127.0.0.1:${await freeLoopbackPort()}`, heartbeatMs: 1000 });
  for (const id of IDS) terminals.set(id, await updateTerminal(c, id, { quirk: id === 't3' }));
  broker = new BrokerProcess(c, { listenHost: '127.0.0.1', clock: new SystemClock() });
  await broker.start();
  const clock = new SystemClock();
  const log = silentLogger();
  bundles = await startHubBundleServer(c, { passphrase: PASSPHRASE, host: '127.0.0.1', port: 0, now: clock.now(), log, onRequest: (r) => served.push(r) });
  const rollouts = new Rollouts({ community: c, clock, log, bundleUrl: (name) => bundles.url(name) });
  hub = await startCommunityHub({ community: c, passphrase: PASSPHRASE, clock, log, pollMs: 100, rollouts });
  ensureRootKey(c, PASSPHRASE);
  api = await HubApi.create({ community: c, clock, log, tls: httpTls(c, PASSPHRASE, clock.now()), realName: new NoRealNameCheck(), enroller: testEnroller, rollouts });
  baseUrl = `https://127.0.0.1:${(await api.listen('127.0.0.1', 0)).port}`;
  for (const t of terminals.values()) {
    const l = new TerminalLink(t);
    l.start();
    links.set(t.id, l);
    await standInAnswer(t.port, scaled(10_000));
  }
  process.env['PROVISION_PASSPHRASE'] = PASSPHRASE;
  recordApiEndpoint(c, '127.0.0.1', Number(new URL(baseUrl).port)); // where root on the folder finds the hub's API
}, 120_000);

afterAll(async () => {
  for (const l of links.values()) await l.stop();
  for (const t of terminals.values()) await t.service.stop();
  await api?.close();
  await bundles?.close();
  await hub?.stop();
  await broker?.stop();
  c?.close();
  delete process.env['PROVISION_PASSPHRASE'];
});

const transcript: string[] = [];

/** `provision ARGS --dir COMMUNITY`, as an operator runs it; its output goes into the transcript. */
async function provision(...argv: string[]): Promise<string> {
  const out: string[] = [];
  const code = await run([...argv, '--dir', c.paths.dir], { out: (l) => out.push(l), err: (l) => out.push(l) });
  transcript.push(`$ provision ${argv.join(' ')}`, ...out, '');
  if (code !== 0) throw new Error(`provision ${argv.join(' ')} exited ${code}: ${out.join('\n')}`);
  return out.join('\n');
}

const rollout = (): NonNullable<ReturnType<Community['db']['latestRollout']>> => {
  const r = c.db.latestRollout();
  if (!r) throw new Error('no rollout');
  return r;
};
const statusOf = (id: string): string | undefined => c.db.latestRollout()?.state.terminals[id]?.status;
const offeredTo = (): string[] => c.db.auditPage({ action: 'command.sent', limit: 100 }).filter((a) => a.detail['type'] === 'update').map((a) => a.subject).sort();

describe('a staged rollout through the hub', () => {
  it('commits on the canary, catches up a terminal that was offline, rolls back where the version crashes, halts the wave, and obeys pause, resume and abort', async () => {
    // The release: built and published on the hub's shelf in one step (checked as a terminal would first).
    const tree = runtimeTree(tempDir('tree'), { version: '0.2.0', behaviour: { mode: 'crash-on-quirk', ms: 800 } });
    await provision('update', 'build', '--from', tree, '--version', '0.2.0', '--replaces', '0.1.0', '--out', join(tempDir('out'), 'doorway-0.2.0.bundle'), '--publish');
    expect(publishedVersions(c)).toEqual(['0.2.0']);

    // t2 is off the network when its wave opens; t3's door is in a passage when it is offered the version.
    await links.get('t2')?.stop();
    await waitFor(() => c.db.statuses().find((s) => s.terminalId === 't2')?.state === 'offline', 10_000, 't2 offline at the hub');
    setDoor(terminals.get('t3')?.doorFile ?? '', { lock: 'locked', doorOpen: false, passage: true });

    await provision('update', 'rollout', '--version', '0.2.0', '--canary', 't1', '--waves', '50%,100%', '--max-failures', '0');
    expect(rollout().state.waves).toEqual([['t1'], ['t2', 't3'], ['t4', 't5']]);

    // The canary installs, passes its health check and commits; only then does the second wave open.
    await waitFor(() => statusOf('t1') === 'committed', scaled(60_000), 't1 committed');
    await waitFor(() => statusOf('t3') === 'offered' && statusOf('t2') === 'waiting', 10_000, 'wave 2 open: t3 offered, t2 waiting');
    expect(rollout().state.terminals['t2']?.reason).toBe('offline');

    // t2 is back: offered at its next heartbeat, it catches up and commits.
    links.get('t2')?.start();
    await waitFor(() => statusOf('t2') === 'committed', scaled(60_000), 't2 caught up and committed');

    // Pause and resume while t3 still waits for its door.
    await provision('update', 'pause');
    expect(rollout().state.phase).toBe('paused');
    await provision('update', 'resume');
    expect(rollout().state.phase).toBe('running');
    expect(results.has('t3')).toBe(false);
    expect(new Set(served.filter((s) => s.cn === 't3').map((s) => s.status))).toEqual(new Set([200])); // downloaded, waiting

    // The passage ends: t3 restarts into 0.2.0, which crashes on its board; the agent rolls back by itself.
    setDoor(terminals.get('t3')?.doorFile ?? '', IDLE_DOOR);
    await waitFor(() => rollout().state.phase === 'halted', scaled(60_000), 'the rollout halted');
    expect(results.get('t3')).toMatchObject({ outcome: 'rolled-back', reason: 'crashed', running: '0.1.0', slot: 'a', restored: true });
    expect(rollout().state.terminals['t3']).toMatchObject({ status: 'failed', reason: 'crashed' });

    // t4 and t5 were never offered it; what each terminal process runs now, asked of it:
    expect(offeredTo()).toEqual(['t1', 't2', 't3']);
    expect(served.some((s) => s.cn === 't4' || s.cn === 't5')).toBe(false);
    const live = await Promise.all(IDS.map(async (id) => [id, (await standInAnswer(terminals.get(id)?.port ?? 0, scaled(10_000))).version]));
    expect(Object.fromEntries(live)).toEqual({ t1: '0.2.0', t2: '0.2.0', t3: '0.1.0', t4: '0.1.0', t5: '0.1.0' });

    // Fleet status (API and CLI) shows each terminal's version and update state from its heartbeats.
    const fleet = new HubClient({ baseUrl, ca: readFileSync(c.paths.ca.cert), credential: { kind: 'root', key: ensureRootKey(c, PASSPHRASE) } });
    await waitFor(async () => {
      const rows = (await fleet.terminals()).items as Array<{ terminalId: string; version: string | null; update: { state: string } | null }>;
      const seen = Object.fromEntries(rows.map((r) => [r.terminalId, `${r.version ?? '-'} ${r.update?.state ?? '-'}`]));
      return seen['t1'] === '0.2.0 committed' && seen['t2'] === '0.2.0 committed' && seen['t3'] === '0.1.0 rolled-back' && seen['t4'] === '0.1.0 idle' ? seen : null;
    }, 10_000, 'fleet status with versions and update states', 200);
    await provision('fleet', 'status');

    const status = await provision('update', 'status', '--log');
    expect(status).toMatch(/rollout 1 of 0\.2\.0 \(doorway-0\.2\.0\.bundle\): halted; wave 2 of 3; failures 1 of at most 0/);
    expect(status).toMatch(/^t3\t2\tfailed\tcrashed\tonline\t0\.1\.0\trolled-back$/m);
    expect(status).toMatch(/^t4\t3\tqueued\t-\tonline\t0\.1\.0\tidle$/m);
    expect(status).toContain('t2: back online; catching up');
    expect(status).toContain('halted in wave 2: more failures than allowed; no further terminal is offered 0.2.0');

    await provision('update', 'abort');
    expect(rollout().state.phase).toBe('aborted');
    // the operators' actions are in the audit log under their name, the end of the rollout under the hub's
    const audited = c.db.auditPage({ limit: 200 }).filter((a) => a.action.startsWith('update.')).map((a) => `${a.actor} ${a.action}`).reverse();
    expect(audited).toEqual(['root update.build', 'root update.publish', 'root update.rollout', 'root update.pause', 'root update.resume', 'hub update.rollout.halted', 'root update.abort']);

    if (process.env['DOORWAY_ROLLOUT_LOG']) {
      writeFileSync(
        process.env['DOORWAY_ROLLOUT_LOG'],
        `# A staged rollout on one machine, written by test/provisioning/update/hub-rollout.test.ts (npm run show:rollout).\n# Five terminals, real mosquitto and hub; 0.2.0 crashes on t3's board. Times are the run's.\n\n${transcript.join('\n')}`,
      );
    }
  }, 240_000);

  it("serves bundles only to active terminals: resumable with Range, and 403 to a terminal revoked while the server runs", async () => {
    const get = (id: string, headers: Record<string, string> = {}): Promise<{ status: number; length: number; range: string | undefined }> => {
      const hubCfg = terminals.get(id)?.config.hub;
      if (!hubCfg) throw new Error('no hub section');
      return new Promise((resolve, reject) => {
        const req = request(bundles.url('doorway-0.2.0.bundle'), { ca: readFileSync(hubCfg.caFile), cert: readFileSync(hubCfg.certFile), key: readFileSync(hubCfg.keyFile), headers }, (res) => {
          let length = 0;
          res.on('data', (d: Buffer) => (length += d.length));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, length, range: res.headers['content-range'] }));
        });
        req.on('error', reject);
        req.end();
      });
    };
    const whole = await get('t4');
    expect(whole.status).toBe(200);
    expect(await get('t4', { range: 'bytes=1000-' })).toEqual({ status: 206, length: whole.length - 1000, range: `bytes 1000-${whole.length - 1}/${whole.length}` });
    revokeTerminal(admin(c, { passphrase: PASSPHRASE }), { id: 't5' });
    expect((await get('t5')).status).toBe(403);
  }, 60_000);
});

describe('publishing a bundle on the hub', () => {
  it('refuses a bundle with a bad signature, for another community or another CPU, with the reason, and leaves the shelf as it was', async () => {
    const home = makeCommunity('home community');
    const other = makeCommunity('another community');
    try {
      const tree = runtimeTree(tempDir('tree'), { version: '0.3.0' });
      const built = (cc: Community, arch: 'arm64' | 'x64'): Promise<string> =>
        buildBundle(cc, { from: tree, version: '0.3.0', replaces: ['0.2.0'], out: join(tempDir('b'), `doorway-0.3.0-${arch}.bundle`), arch, passphrase: PASSPHRASE, now: Date.now(), actor: 'test-operator' }).then((b) => b.file);
      const good = await built(home, 'arm64');
      const forged = await rewriteBundle(good, join(tempDir('forged'), 'x.bundle'), (e) => e.set('manifest.json', editSignedBody(e.get('manifest.json') ?? Buffer.alloc(0), (b) => (b['replaces'] = ['0.1.0']))));
      const refusal = async (file: string): Promise<string> => {
        try {
          await publishBundle(home, file, { arch: 'arm64', actor: 'test-operator', now: Date.now() });
          return 'published';
        } catch (e) {
          if (e instanceof BundlePublishError) return e.reason;
          throw e;
        }
      };
      expect(await refusal(forged)).toBe('bad-signature');
      expect(await refusal(await built(other, 'arm64'))).toBe('other-community');
      expect(await refusal(await built(home, 'x64'))).toBe('wrong-architecture');
      expect(publishedVersions(home)).toEqual([]);
      expect(await refusal(good)).toBe('published');
      expect(publishedVersions(home)).toEqual(['0.3.0']);
    } finally {
      home.close();
      other.close();
    }
  }, 60_000);
});
