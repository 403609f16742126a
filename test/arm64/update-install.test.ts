/**
 * The update install step on the CPU it runs on: under `npm run test:arm64` that is the ARM64 Node
 * (qemu), which reads and checks the bundle (tar, gzip, sha256, Ed25519), unpacks it into the inactive
 * slot, switches `current`, restarts the terminal process (an ARM64 child) and passes or fails its
 * health check. A bundle built for the other CPU is refused and nothing changes. In the x86 suite the
 * same file runs on x64.
 */
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SystemClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import type { Community } from '../../provisioning/community';
import { freeLoopbackPort } from '../../provisioning/ports';
import { buildBundle } from '../../provisioning/update/build';
import { communityCaSha256, updateKeyPaths } from '../../provisioning/update/keys';
import { UpdateAgent } from '../../runtime/update/agent';
import { ArchSchema, type Arch } from '../../runtime/update/manifest';
import { HttpTerminalProbe } from '../../runtime/update/probe';
import type { ProcessServiceManager } from '../../runtime/update/service';
import { Slots } from '../../runtime/update/slots';
import { makeCommunity, PASSPHRASE } from '../harness/update-community';
import { IDLE_DOOR, runtimeTree, scaled, setDoor, snapshot, standInAnswer, standInService, tempDir, type Behaviour } from '../harness/update';

const arch: Arch = ArchSchema.parse(process.arch);
const otherArch: Arch = arch === 'arm64' ? 'x64' : 'arm64';
let c: Community;
const bundles: Record<string, string> = {};
const services: ProcessServiceManager[] = [];

async function bundle(name: string, behaviour: Behaviour, a: Arch): Promise<void> {
  bundles[name] = (await buildBundle(c, { from: runtimeTree(tempDir('tree'), { version: '0.2.0', behaviour }), version: '0.2.0', replaces: ['0.1.0'], out: join(tempDir('out'), `${name}.bundle`), passphrase: PASSPHRASE, arch: a, now: Date.now(), actor: 'test-operator' })).file;
}

beforeAll(async () => {
  c = makeCommunity();
  await bundle('good', { mode: 'healthy' }, arch);
  await bundle('crashes', { mode: 'crash-after', ms: 500 }, arch);
  await bundle('other-cpu', { mode: 'healthy' }, otherArch);
}, 60_000);

afterAll(async () => {
  for (const s of services) await s.stop();
  c.close();
});

async function terminal(): Promise<{ root: string; port: number; agent: UpdateAgent; service: ProcessServiceManager }> {
  const root = tempDir('root');
  new Slots(root).adopt(runtimeTree(tempDir('installed'), { version: '0.1.0' }));
  const port = await freeLoopbackPort();
  const doorFile = join(tempDir('door'), 'door.json');
  setDoor(doorFile, IDLE_DOOR);
  const service = standInService(root, { port, doorFile });
  services.push(service);
  service.start();
  await standInAnswer(port, scaled(10_000));
  const agent = new UpdateAgent({
    clock: new SystemClock(),
    log: silentLogger(),
    slots: new Slots(root),
    stateDir: tempDir('state'),
    service,
    probe: new HttpTerminalProbe('127.0.0.1', port, scaled(2000)),
    trust: { configuredKey: createPublicKey(readFileSync(updateKeyPaths(c).pub)), hubKey: createPublicKey(c.signingPublicKeyPem()), caSha256: communityCaSha256(c) },
    arch,
    baseVersion: '0.1.0',
    required: ['loopRunning', 'cameraFresh', 'modelsLoaded', 'rosterLoaded', 'lockOk', 'hubConnected'],
    timing: {
      gate: { startTimeoutMs: scaled(10_000), windowMs: scaled(1500), pollMs: 100, failAfterProbes: 3 },
      door: { pollMs: 100, idleTimeoutMs: scaled(10_000) },
      download: { attempts: 1, retryMs: 0, idleTimeoutMs: scaled(5000) },
    },
  });
  return { root, port, agent, service };
}

describe(`update install on ${process.arch}`, () => {
  it('refuses a bundle built for the other CPU and changes nothing', async () => {
    const t = await terminal();
    const before = snapshot(t.root);
    const r = await t.agent.install(bundles['other-cpu'] as string);
    expect(r).toMatchObject({ outcome: 'refused', reason: 'wrong-architecture', running: '0.1.0' });
    expect(snapshot(t.root)).toEqual(before);
  }, 30_000);

  it('installs, restarts into the new slot and commits; the new process runs on this CPU', async () => {
    const t = await terminal();
    const r = await t.agent.install(bundles['good'] as string);
    expect(r).toMatchObject({ outcome: 'committed', version: '0.2.0', slot: 'b' });
    expect(await standInAnswer(t.port, scaled(5000))).toMatchObject({ version: '0.2.0', arch: process.arch, ok: true });
  }, 60_000);

  it('rolls back by itself a version that crashes in its health window', async () => {
    const t = await terminal();
    const r = await t.agent.install(bundles['crashes'] as string);
    expect(r).toMatchObject({ outcome: 'rolled-back', reason: 'crashed', running: '0.1.0', slot: 'a' });
    expect(await standInAnswer(t.port, scaled(10_000))).toMatchObject({ version: '0.1.0', arch: process.arch });
  }, 60_000);
});
