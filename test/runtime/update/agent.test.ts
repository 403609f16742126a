/**
 * The update agent on a fake clock: real bundles, real slot folders and `current` link, real state and
 * report files; the service manager is the in-memory fake and the terminal a simulation that answers
 * /healthz-like probes as the runtime in `current` would (its behaviour.json says how).
 */
import { createPublicKey } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, readdirSync, rmSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import type { Community } from '../../../provisioning/community';
import { buildBundle } from '../../../provisioning/update/build';
import { communityCaSha256, updateKeyPaths } from '../../../provisioning/update/keys';
import { UpdateOutcomeSchema } from '../../../runtime/protocol/schemas';
import { UpdateAgent, UpdateInProgressError, type AgentTiming, type UpdateResult } from '../../../runtime/update/agent';
import type { DoorActivity, TerminalHealth, TerminalProbe } from '../../../runtime/update/probe';
import { FakeServiceManager } from '../../../runtime/update/service';
import { Slots } from '../../../runtime/update/slots';
import { makeCommunity, PASSPHRASE } from '../../harness/update-community';
import { editSignedBody, modelManifestWithEmbed, rewriteBundle, runtimeTree, snapshot, tempDir, type Behaviour } from '../../harness/update';

const TIMING: AgentTiming = {
  gate: { startTimeoutMs: 10_000, windowMs: 30_000, pollMs: 500, failAfterProbes: 3 },
  door: { pollMs: 500, idleTimeoutMs: 20_000 },
  download: { attempts: 3, retryMs: 1000, idleTimeoutMs: 5000 },
};
const BOOT_MS = 1500;
const REQUIRED = ['loopRunning', 'cameraFresh', 'modelsLoaded', 'rosterLoaded', 'lockOk', 'hubConnected'];

/** Answers as the runtime in `current` would, BOOT_MS after each (re)start. */
class SimulatedTerminal implements TerminalProbe {
  door: DoorActivity = { lock: 'locked', doorOpen: false, passage: false };
  probes = 0;
  private startedAt: number;

  constructor(
    private readonly clock: FakeClock,
    private readonly slots: Slots,
    private readonly service: FakeServiceManager,
  ) {
    this.startedAt = clock.monotonic();
    service.onRestart = () => (this.startedAt = clock.monotonic());
  }

  private behaviour(): Behaviour {
    return JSON.parse(readFileSync(join(this.slots.currentLink, 'behaviour.json'), 'utf8')) as Behaviour;
  }

  health(): Promise<TerminalHealth> {
    this.probes++;
    const b = this.behaviour();
    const since = this.clock.monotonic() - this.startedAt;
    const none: TerminalHealth = { reachable: false, checks: {}, door: null, reenrolment: null };
    if (b.mode === 'never-listens' || since < BOOT_MS) return Promise.resolve(none);
    if (b.mode === 'crash-after' && since >= b.ms) {
      this.service.crash();
      this.startedAt = this.clock.monotonic();
      return Promise.resolve(none);
    }
    const camera = b.mode !== 'camera-dead' && !(b.mode === 'camera-dies-after' && since >= b.ms);
    return Promise.resolve({
      reachable: true,
      checks: { loopRunning: true, cameraFresh: camera, modelsLoaded: true, rosterLoaded: true, lockOk: true, hubConnected: true },
      door: { ...this.door },
      reenrolment: b.reenrolment ?? 0,
    });
  }
}

interface Rig {
  clock: FakeClock;
  root: string;
  slots: Slots;
  stateDir: string;
  service: FakeServiceManager;
  terminal: SimulatedTerminal;
  agent: UpdateAgent;
}

let c: Community;
const bundles: Record<string, string> = {};

async function bundle(name: string, version: string, behaviour: Behaviour, o: { arch?: 'arm64' | 'x64'; replaces?: string[]; embed?: string; community?: Community } = {}): Promise<void> {
  const files: Record<string, string> = o.embed ? { 'dist/models/manifest.json': modelManifestWithEmbed(o.embed) } : {};
  const b = await buildBundle(o.community ?? c, { from: runtimeTree(tempDir('tree'), { version, behaviour, files }), version, replaces: o.replaces ?? ['0.1.0'], out: join(tempDir('out'), `${name}.bundle`), passphrase: PASSPHRASE, arch: o.arch ?? 'arm64', now: Date.now(), actor: 'test-operator' });
  bundles[name] = b.file;
}

beforeAll(async () => {
  c = makeCommunity();
  await bundle('good', '0.2.0', { mode: 'healthy' });
  await bundle('crashes', '0.2.0', { mode: 'crash-after', ms: 5000 });
  await bundle('no-camera', '0.2.0', { mode: 'camera-dead' });
  await bundle('camera-dies', '0.2.0', { mode: 'camera-dies-after', ms: 8000 });
  await bundle('silent', '0.2.0', { mode: 'never-listens' });
  await bundle('x64', '0.2.0', { mode: 'healthy' }, { arch: 'x64' });
  await bundle('old', '0.0.9', { mode: 'healthy' }, { replaces: ['0.0.8'] });
  await bundle('new-model-ready', '0.2.0', { mode: 'healthy' }, { embed: 'faceplugin@0.0.2/fr_feature' });
  await bundle('new-model-missing', '0.2.0', { mode: 'healthy', reenrolment: 40 }, { embed: 'faceplugin@0.0.2/fr_feature' });
  const other = makeCommunity('another community');
  await bundle('foreign', '0.2.0', { mode: 'healthy' }, { community: other });
  other.close();
  bundles['forged'] = await rewriteBundle(bundles['good'] as string, join(tempDir('bad'), 'forged.bundle'), (e) => {
    e.set('manifest.json', editSignedBody(e.get('manifest.json') as Buffer, (m) => (m['replaces'] = ['0.1.0', '0.0.1'])));
  });
  const cut = join(tempDir('bad'), 'cut.bundle');
  copyFileSync(bundles['good'] as string, cut);
  truncateSync(cut, Math.floor(statSync(cut).size * 0.6));
  bundles['truncated'] = cut;
}, 120_000);

afterAll(() => c.close());

function rig(o: { pinned?: boolean } = {}): Rig {
  const clock = new FakeClock();
  const root = tempDir('root');
  const slots = new Slots(root);
  slots.adopt(runtimeTree(tempDir('installed'), { version: '0.1.0' }));
  const stateDir = tempDir('state');
  const service = new FakeServiceManager(clock);
  const terminal = new SimulatedTerminal(clock, slots, service);
  const agent = new UpdateAgent({
    clock,
    log: silentLogger(),
    slots,
    stateDir,
    service,
    probe: terminal,
    trust: {
      configuredKey: o.pinned === false ? null : createPublicKey(readFileSync(updateKeyPaths(c).pub)),
      hubKey: createPublicKey(c.signingPublicKeyPem()),
      caSha256: communityCaSha256(c),
    },
    arch: 'arm64',
    baseVersion: '0.1.0',
    required: REQUIRED,
    timing: TIMING,
  });
  return { clock, root, slots, stateDir, service, terminal, agent };
}

/** Runs `p` to completion, moving the fake clock in small steps while it waits; returns when it settled. */
async function drive<T>(clock: FakeClock, p: Promise<T>, until: () => boolean = () => false): Promise<{ value: T | undefined; at: number }> {
  let done = false;
  let value: T | undefined;
  const failed: { error?: Error } = {};
  let at = 0;
  p.then(
    (v) => {
      done = true;
      value = v;
      at = clock.monotonic();
    },
    (e: unknown) => {
      done = true;
      failed.error = e instanceof Error ? e : new Error(String(e));
    },
  );
  for (let i = 0; i < 20_000 && !done && !until(); i++) {
    await new Promise((r) => setImmediate(r));
    if (!done && !until()) clock.advance(100);
  }
  if (failed.error) throw failed.error;
  return { value, at };
}

function reports(stateDir: string): unknown[] {
  const dir = join(stateDir, 'reports');
  return existsSync(dir) ? readdirSync(dir).sort().map((f) => UpdateOutcomeSchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8')))) : [];
}

describe('update agent', () => {
  it('installs into the inactive slot, switches current, restarts, and commits only after the health window', async () => {
    const r = rig();
    const { value, at } = await drive(r.clock, r.agent.install(bundles['good'] as string));
    expect(value).toMatchObject({ outcome: 'committed', version: '0.2.0', running: '0.2.0', slot: 'b', reason: null });
    expect(r.slots.current()).toBe('b');
    expect(readFileSync(join(r.root, 'current', 'package.json'), 'utf8')).toContain('"0.2.0"');
    expect(r.service.restartCalls).toHaveLength(1);
    // healthy BOOT_MS after the restart, then the whole window without a crash
    expect(at - (r.service.restartCalls[0] as number)).toBeGreaterThanOrEqual(BOOT_MS + TIMING.gate.windowMs);
    expect(r.agent.state.read()).toMatchObject({ committed: 'b', trial: null, slots: { a: { version: '0.1.0' }, b: { version: '0.2.0', embedModel: 'faceplugin@0.0.1/fr_feature' } } });
    expect(reports(r.stateDir)).toEqual([expect.objectContaining({ type: 'update.outcome', outcome: 'committed', version: '0.2.0', running: '0.2.0', reason: null })]);
  });

  it('rolls back by itself when the new version crashes within the window, and says so', async () => {
    const r = rig();
    const before = snapshot(join(r.root, 'slots', 'a'));
    const { value } = await drive(r.clock, r.agent.install(bundles['crashes'] as string));
    expect(value).toMatchObject({ outcome: 'rolled-back', version: '0.2.0', running: '0.1.0', slot: 'a', reason: 'crashed', restored: true });
    expect((value as UpdateResult).detail).toMatch(/restarted it 1 time/);
    expect(r.slots.current()).toBe('a');
    expect(snapshot(join(r.root, 'slots', 'a'))).toEqual(before);
    expect(r.service.restartCalls).toHaveLength(2);
    expect(r.agent.state.read()).toMatchObject({ committed: 'a', trial: null, last: { outcome: 'rolled-back', reason: 'crashed' } });
    expect(reports(r.stateDir)).toEqual([expect.objectContaining({ outcome: 'rolled-back', version: '0.2.0', running: '0.1.0', reason: 'crashed' })]);
  });

  it('rolls back a version whose camera frames never arrive (did-not-start, naming the check)', async () => {
    const r = rig();
    const { value } = await drive(r.clock, r.agent.install(bundles['no-camera'] as string));
    expect(value).toMatchObject({ outcome: 'rolled-back', reason: 'did-not-start', running: '0.1.0' });
    expect((value as UpdateResult).detail).toMatch(/cameraFresh/);
  });

  it('rolls back a version that never answers at all', async () => {
    const r = rig();
    const { value } = await drive(r.clock, r.agent.install(bundles['silent'] as string));
    expect(value).toMatchObject({ outcome: 'rolled-back', reason: 'did-not-start', running: '0.1.0', restored: true });
    expect((value as UpdateResult).detail).toMatch(/no-answer/);
  });

  it('rolls back a version that turns unhealthy during the window (failAfterProbes in a row)', async () => {
    const r = rig();
    const { value } = await drive(r.clock, r.agent.install(bundles['camera-dies'] as string));
    expect(value).toMatchObject({ outcome: 'rolled-back', reason: 'unhealthy', running: '0.1.0' });
    expect((value as UpdateResult).detail).toMatch(/3 probes in a row failed: cameraFresh/);
  });

  describe('never restarts a busy door', () => {
    for (const [what, door] of [
      ['released', { lock: 'unlocked', doorOpen: false, passage: false }],
      ['held released by the fire alarm', { lock: 'fire-release', doorOpen: false, passage: false }],
      ['open', { lock: 'locked', doorOpen: true, passage: false }],
      ['in a passage', { lock: 'locked', doorOpen: false, passage: true }],
    ] as const) {
      it(`waits while the door is ${what}, then restarts once it is idle`, async () => {
        const r = rig();
        r.terminal.door = { ...door };
        const p = r.agent.install(bundles['good'] as string);
        const busyProbes = (): boolean => r.terminal.probes >= 10;
        await drive(r.clock, p, busyProbes);
        expect(r.service.restartCalls).toEqual([]);
        expect(r.slots.current()).toBe('a');
        r.terminal.door = { lock: 'locked', doorOpen: false, passage: false };
        const { value } = await drive(r.clock, p);
        expect(value).toMatchObject({ outcome: 'committed' });
        expect(r.service.restartCalls).toHaveLength(1);
      });
    }

    it('gives up after door.idleTimeoutMs without switching or restarting: door-busy', async () => {
      const r = rig();
      r.terminal.door = { lock: 'locked', doorOpen: false, passage: true };
      const { value } = await drive(r.clock, r.agent.install(bundles['good'] as string));
      expect(value).toMatchObject({ outcome: 'refused', reason: 'door-busy', running: '0.1.0' });
      expect(r.service.restartCalls).toEqual([]);
      expect(r.slots.current()).toBe('a');
    });
  });

  describe('refuses bad input with its reason and changes nothing in the slots or current', () => {
    for (const [name, reason] of [
      ['forged', 'bad-signature'],
      ['x64', 'wrong-architecture'],
      ['truncated', 'truncated'],
      ['old', 'downgrade'],
      ['foreign', 'other-community'],
    ] as const) {
      it(`${name}: ${reason}`, async () => {
        const r = rig();
        const before = snapshot(r.root);
        const { value } = await drive(r.clock, r.agent.install(bundles[name] as string));
        expect(value).toMatchObject({ outcome: 'refused', reason, running: '0.1.0', slot: 'a' });
        expect(snapshot(r.root)).toEqual(before);
        expect(r.service.restartCalls).toEqual([]);
        expect(reports(r.stateDir)).toEqual([expect.objectContaining({ outcome: 'refused', reason })]);
      });
    }

    it('refuses the same version again once it is installed', async () => {
      const r = rig();
      await drive(r.clock, r.agent.install(bundles['good'] as string));
      const before = snapshot(r.root);
      const { value } = await drive(r.clock, r.agent.install(bundles['good'] as string));
      expect(value).toMatchObject({ outcome: 'refused', reason: 'already-installed' });
      expect(snapshot(r.root)).toEqual(before);
    });
  });

  describe('model changes', () => {
    it('rolls back a runtime whose embedding model finds no templates of its own for the enrolled persons', async () => {
      const r = rig();
      const { value } = await drive(r.clock, r.agent.install(bundles['new-model-missing'] as string));
      expect(value).toMatchObject({ outcome: 'rolled-back', reason: 'did-not-start' });
      expect((value as UpdateResult).detail).toMatch(/reenrolment\(40>0\)/);
    });

    it('commits one whose templates are already there, and reports the model change', async () => {
      const r = rig();
      const { value } = await drive(r.clock, r.agent.install(bundles['new-model-ready'] as string));
      expect(value).toMatchObject({ outcome: 'committed', detail: 'embedding model faceplugin@0.0.1/fr_feature -> faceplugin@0.0.2/fr_feature' });
      expect(r.agent.state.read()?.slots.b?.embedModel).toBe('faceplugin@0.0.2/fr_feature');
    });
  });

  describe('a terminal provisioned before update keys', () => {
    it('accepts the endorsed key once, pins it, and needs no endorsement afterwards', async () => {
      const r = rig({ pinned: false });
      const { value } = await drive(r.clock, r.agent.install(bundles['good'] as string));
      expect(value).toMatchObject({ outcome: 'committed' });
      expect(readFileSync(r.agent.pinnedKeyFile, 'utf8')).toBe(readFileSync(updateKeyPaths(c).pub, 'utf8'));
    });
  });

  describe('interruptions', () => {
    it('finishes a trial the agent did not live to finish (power cut after the switch): health check again, then commit', async () => {
      const r = rig();
      // The first agent switches and restarts, then "dies" in the middle of its health window.
      void r.agent.install(bundles['good'] as string).catch(() => undefined);
      await drive(r.clock, new Promise<void>(() => undefined), () => r.service.restartCalls.length > 0);
      expect(r.agent.state.read()?.trial).toMatchObject({ slot: 'b', version: '0.2.0', from: 'a' });
      rmSync(join(r.stateDir, 'agent.lock')); // what a reboot leaves: a lock whose process is gone
      const clock = new FakeClock();
      const service = new FakeServiceManager(clock);
      const again = new UpdateAgent({ clock, log: silentLogger(), slots: r.slots, stateDir: r.stateDir, service, probe: new SimulatedTerminal(clock, r.slots, service), trust: { configuredKey: createPublicKey(readFileSync(updateKeyPaths(c).pub)), hubKey: createPublicKey(c.signingPublicKeyPem()), caSha256: communityCaSha256(c) }, arch: 'arm64', baseVersion: '0.1.0', required: REQUIRED, timing: TIMING });
      const { value } = await drive(clock, again.resume());
      expect(value).toMatchObject({ outcome: 'committed', version: '0.2.0', slot: 'b' });
      expect(again.state.read()?.trial).toBeNull();
    });

    it('says nothing to resume when no trial is open', async () => {
      const r = rig();
      const { value } = await drive(r.clock, r.agent.resume());
      expect(value).toBeNull();
    });

    it('lets one agent at a time work on a terminal', async () => {
      const r = rig();
      const first = r.agent.install(bundles['good'] as string);
      await expect(r.agent.install(bundles['good'] as string)).rejects.toThrow(UpdateInProgressError);
      await drive(r.clock, first);
    });
  });
});
