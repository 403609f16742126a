/**
 * Four terminals' update agents on one machine, as on a site: each terminal provisioned by `provision
 * terminal add` (its own certificate from the community CA, its pinned keys), its own slot root with a
 * real process running from ROOT/current (a stand-in terminal serving /healthz, supervised like a
 * systemd unit and restarted by the agent), and one real HTTPS bundle server with mutual TLS.
 *
 * The hub's rollout is next round; here the pure rollout state machine (provisioning/update/rollout.ts)
 * decides who is offered the bundle and the test carries out its offers. Version 0.2.0 crashes on
 * t3's board: t3 rolls back by itself, the wave halts, t4 is never offered it; t1's download is cut
 * and resumes; t2's door is in a passage when it is offered, so it waits before restarting.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Community } from '../../../provisioning/community';
import { issueCert, newKey } from '../../../provisioning/pki';
import { buildBundle } from '../../../provisioning/update/build';
import { startRollout, stepRollout, type RolloutAction, type RolloutState } from '../../../provisioning/update/rollout';
import { bundleRequestHandler } from '../../../provisioning/update/server';
import { UpdateOutcomeSchema } from '../../../runtime/protocol/schemas';
import type { UpdateResult } from '../../../runtime/update/agent';
import { Slots } from '../../../runtime/update/slots';
import { makeCommunity, PASSPHRASE, updateTerminal, type UpdateTerminal } from '../../harness/update-community';
import { IDLE_DOOR, runtimeTree, scaled, setDoor, snapshot, standInAnswer, tempDir } from '../../harness/update';

const IDS = ['t1', 't2', 't3', 't4'];
let c: Community;
let server: Server;
let url: string;
const sites = new Map<string, UpdateTerminal>();
const served: { cn: string; range: string | null; status: number }[] = [];
let cutT1 = true;

beforeAll(async () => {
  c = makeCommunity('fleet test community');
  // the bundle: version 0.2.0 crashes 800 ms after start on boards with the quirk (t3's)
  const bundles = tempDir('bundles');
  await buildBundle(c, { from: runtimeTree(tempDir('tree'), { version: '0.2.0', behaviour: { mode: 'crash-on-quirk', ms: 800 }, files: { 'models/fr_feature.onnx': randomBytes(1536 * 1024) } }), version: '0.2.0', replaces: ['0.1.0'], out: join(bundles, 'doorway-0.2.0.bundle'), passphrase: PASSPHRASE, now: Date.now(), actor: 'test-operator' });
  // the hub side: the handler on an HTTPS server with a certificate from the community CA
  const key = newKey('ec');
  const { cert } = issueCert(c.paths.ca, key, { cn: 'updates', usage: 'server', altNames: ['IP:127.0.0.1'] }, PASSPHRASE);
  const handler = bundleRequestHandler({
    dir: bundles,
    authorize: (cn) => c.db.terminal(cn)?.status === 'active',
    onRequest: (r) => served.push({ cn: r.cn, range: r.range, status: r.status }),
  });
  server = createServer({ ca: readFileSync(c.paths.ca.cert), cert, key, crl: readFileSync(c.paths.ca.crl), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const peer = (req.socket as unknown as { getPeerCertificate(): { subject?: { CN?: string } } }).getPeerCertificate();
    if (cutT1 && peer.subject?.CN === 't1') {
      // t1's first transfer is cut after 256 KB, as a flaky link would
      cutT1 = false;
      let sent = 0;
      const write = res.write.bind(res) as (b: Buffer) => boolean;
      res.write = ((b: Buffer) => {
        sent += b.length;
        if (sent > 256 * 1024) {
          res.socket?.destroy();
          return false;
        }
        return write(b);
      }) as typeof res.write;
    }
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/updates/doorway-0.2.0.bundle`;

  for (const id of IDS) sites.set(id, await updateTerminal(c, id, { quirk: id === 't3' }));
  for (const s of sites.values()) await standInAnswer(s.port, scaled(10_000));
}, 120_000);

afterAll(async () => {
  for (const s of sites.values()) await s.service.stop();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  c.close();
});

const site = (id: string): UpdateTerminal => sites.get(id) as UpdateTerminal;

describe('a rollout over four terminals with their own agents', () => {
  it('commits where the version is healthy, rolls back by itself where it crashes, and the wave halts', async () => {
    const log: string[] = [];
    const at = (): number => served.length; // a monotonic stand-in for time in the rollout's log
    let step = startRollout({ version: '0.2.0', terminals: IDS, canary: ['t1'], waves: [75, 100], maxFailures: 0 }, Object.fromEntries(IDS.map((t) => [t, { online: true, version: '0.1.0' }])), at());
    let state: RolloutState = step.state;
    log.push(...step.log);
    // t2's door is in a passage when its wave opens
    setDoor(site('t2').doorFile, { lock: 'locked', doorOpen: false, passage: true });
    const t2PidBefore = (await site('t2').service.status()).pid;

    const results = new Map<string, UpdateResult>();
    const running = new Map<string, Promise<{ id: string; r: UpdateResult }>>();
    const carryOut = (actions: RolloutAction[]): void => {
      for (const a of actions) running.set(a.terminal, site(a.terminal).agent.installFromUrl(url).then((r) => ({ id: a.terminal, r })));
    };
    carryOut(step.actions);
    while (running.size > 0) {
      const { id, r } = await Promise.race(running.values());
      running.delete(id);
      results.set(id, r);
      log.push(`${id}: agent says ${r.outcome}${r.reason ? ` (${r.reason}: ${r.detail ?? ''})` : ''}; running ${r.running ?? '-'} from slot ${r.slot ?? '-'}`);
      step = stepRollout(state, { type: 'outcome', terminal: id, version: r.version, outcome: r.outcome, reason: r.reason }, at());
      state = step.state;
      log.push(...step.log);
      carryOut(step.actions);
      if (id === 't3') {
        // t2 has waited for its door all along: not restarted, still on slot a
        expect((await site('t2').service.status()).pid).toBe(t2PidBefore);
        expect(new Slots(site('t2').root).current()).toBe('a');
        setDoor(site('t2').doorFile, IDLE_DOOR);
      }
    }
    if (process.env['DOORWAY_ROLLOUT_LOG']) writeFileSync(process.env['DOORWAY_ROLLOUT_LOG'], `${log.join('\n')}\n`);

    expect(results.get('t1')).toMatchObject({ outcome: 'committed', running: '0.2.0', slot: 'b' });
    expect(results.get('t2')).toMatchObject({ outcome: 'committed', running: '0.2.0', slot: 'b' });
    expect(results.get('t3')).toMatchObject({ outcome: 'rolled-back', reason: 'crashed', running: '0.1.0', slot: 'a', restored: true });
    expect(results.has('t4')).toBe(false);
    expect(state.phase).toBe('halted');
    expect(log).toContain('halted in wave 2: more failures than allowed; no further terminal is offered 0.2.0');

    // what really runs now, asked of each terminal process
    const live = await Promise.all(IDS.map(async (id) => [id, (await standInAnswer(site(id).port, scaled(10_000))).version]));
    expect(Object.fromEntries(live)).toEqual({ t1: '0.2.0', t2: '0.2.0', t3: '0.1.0', t4: '0.1.0' });
    // t4 was never offered: its root is as it was
    expect(snapshot(site('t4').root)['current']).toBe('link slots/a');
    // t1's first transfer was cut and the agent asked for the rest only
    const t1 = served.filter((s) => s.cn === 't1');
    expect(t1.map((s) => s.status)).toEqual([200, 206]);
    expect(t1[1]?.range).toMatch(/^bytes=\d+-$/);
    // each agent left its report for its terminal's outbox
    for (const [id, outcome] of [['t1', 'committed'], ['t2', 'committed'], ['t3', 'rolled-back']] as const) {
      const dir = join(site(id).stateDir, 'reports');
      const files = readdirSync(dir);
      expect(files.map((f) => UpdateOutcomeSchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8'))).outcome)).toEqual([outcome]);
    }
  }, 120_000);
});
