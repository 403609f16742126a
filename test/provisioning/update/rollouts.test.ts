/**
 * The hub's rollouts over a real hub.db, without a broker: what a start checks and stores, the offers it
 * queues as signed `update` commands, and a restart of the hub finding the rollout where it was.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { addPerson } from '../../../provisioning/admin/persons';
import { addTerminal } from '../../../provisioning/admin/terminals';
import type { Community } from '../../../provisioning/community';
import { buildBundle } from '../../../provisioning/update/build';
import { publishBundle } from '../../../provisioning/update/bundles';
import { RolloutRefusedError, Rollouts } from '../../../provisioning/update/rollouts';
import type { Health } from '../../../runtime/protocol/schemas';
import { testEnroller } from '../../harness/hub-api';
import { admin } from '../../harness/admin';
import { makeCommunity, PASSPHRASE } from '../../harness/update-community';
import { modelManifestWithEmbed, runtimeTree, tempDir } from '../../harness/update';

let c: Community;
const clock = new FakeClock(Date.now());
const url = (name: string): string => `https://hub.test:8443/updates/${name}`;
const health = (version: string): Health => ({ uptimeS: 1, rosterVersion: 0, outboxDepth: 0, outboxDropped: 0, rejectedMessages: 0, cameraFps: 25, lastDecisionLatencyMs: null, softwareVersion: version, modelVersion: 'test-model', faults: [] });

async function publish(version: string, embed: string | null): Promise<void> {
  const tree = runtimeTree(tempDir('tree'), { version, ...(embed ? { files: { 'dist/models/manifest.json': modelManifestWithEmbed(embed) } } : {}) });
  const b = await buildBundle(c, { from: tree, version, replaces: ['0.1.0'], out: join(tempDir('b'), `${version}.bundle`), passphrase: PASSPHRASE, now: clock.now(), actor: 'it-wang' });
  await publishBundle(c, b.file, { arch: 'arm64', actor: 'it-wang', now: clock.now() });
}

beforeAll(async () => {
  c = makeCommunity('rollouts test community');
  for (const id of ['t1', 't2']) addTerminal(admin(c, { passphrase: PASSPHRASE }), { id, doorId: `door-${id}`, out: join(tempDir('terminal'), id) });
  const photo = join(tempDir('photo'), 'face.jpg');
  writeFileSync(photo, 'jpeg bytes');
  // a resident whose templates are all of 'test-model'
  await addPerson(admin(c, { enroller: testEnroller }), { id: 'p-ana', photos: [photo], doors: ['door-t1'] });
  c.db.saveStatus('t1', 'online', health('0.1.0'), clock.now());
  c.db.saveStatus('t2', 'offline', health('0.1.0'), clock.now());
}, 60_000);

afterAll(() => c.close());

describe('rollouts in the hub', () => {
  it("refuses a bundle whose embedding model no active person has templates of, and nothing is stored or queued", async () => {
    await publish('0.2.0', null); // the runtime's own model manifest: not 'test-model'
    const rollouts = new Rollouts({ community: c, clock, log: silentLogger(), bundleUrl: url });
    expect(() => rollouts.start({ version: '0.2.0' }, 'it-wang')).toThrow(/1 active person\(s\) have face templates but none of the bundle's embedding model/);
    expect(c.db.latestRollout()).toBeNull();
    expect(c.db.queuedCommands()).toEqual([]);
  }, 60_000);

  it('refuses a version that is not published, and any start on a hub that serves no bundles', () => {
    expect(() => new Rollouts({ community: c, clock, log: silentLogger(), bundleUrl: url }).start({ version: '9.9.9' }, 'it-wang')).toThrow(/no bundle of 9\.9\.9 is published/);
    expect(() => new Rollouts({ community: c, clock, log: silentLogger(), bundleUrl: null }).start({ version: '0.2.0' }, 'it-wang')).toThrow(RolloutRefusedError);
    expect(() => new Rollouts({ community: c, clock, log: silentLogger(), bundleUrl: null }).start({ version: '0.2.0' }, 'it-wang')).toThrow(/serves no bundles/);
  });

  it('offers the first wave as signed update commands with the bundle URL, waits for the offline terminal, and a restarted hub goes on from the stored state', async () => {
    await publish('0.3.0', 'test-model');
    const first = new Rollouts({ community: c, clock, log: silentLogger(), bundleUrl: url });
    const r = first.start({ version: '0.3.0', waves: [100] }, 'it-wang');
    expect(r.state.terminals).toMatchObject({ t1: { status: 'offered' }, t2: { status: 'waiting', reason: 'offline' } });
    expect(c.db.queuedCommands().map((q) => [q.terminalId, q.command, q.requestedBy])).toEqual([['t1', { type: 'update', version: '0.3.0', url: url('doorway-0.3.0.bundle') }, 'it-wang']]);
    expect(() => first.start({ version: '0.3.0' }, 'it-wang')).toThrow(/rollout 1 of 0\.3\.0 is running: abort it first/);

    // the hub restarts: a new Rollouts on the same hub.db hears t1's report and t2 coming back
    const again = new Rollouts({ community: c, clock, log: silentLogger(), bundleUrl: url });
    again.outcome('t1', { outcome: 'committed', version: '0.3.0', reason: null });
    again.heartbeat('t2', true, '0.1.0');
    expect(c.db.latestRollout()?.state.terminals).toMatchObject({ t1: { status: 'committed' }, t2: { status: 'offered' } });
    expect(c.db.queuedCommands().map((q) => q.terminalId)).toEqual(['t1', 't2']);
    again.heartbeat('t2', true, '0.3.0');
    expect(c.db.latestRollout()?.state.phase).toBe('done');
    expect(again.logLines(r.id).map((l) => l.line)).toEqual([
      'rollout 0.3.0: wave 1 [t1,t2]; max failures 0',
      'wave 1 opens: t1, t2',
      't1: offered 0.3.0',
      't2: offline; offered when it is back',
      't1: committed 0.3.0',
      't2: back online; catching up',
      't2: offered 0.3.0',
      't2: runs 0.3.0',
      'done: 2 terminals on 0.3.0',
    ]);
    expect(c.db.auditPage({ limit: 20, action: 'update.rollout.done' }).map((a) => a.actor)).toEqual(['hub']);
  });
});
