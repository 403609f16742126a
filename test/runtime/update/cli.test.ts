/**
 * `doorway update verify|status` on the config file `provision terminal add` writes (its pinned update
 * key, its CA, its hub key), against real bundles of the same and of another community.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Community } from '../../../provisioning/community';
import { addTerminal } from '../../../provisioning/admin/terminals';
import { buildBundle } from '../../../provisioning/update/build';
import { updateKeyPaths } from '../../../provisioning/update/keys';
import { runningVersion, updateCommand } from '../../../runtime/update/cli';
import { Slots } from '../../../runtime/update/slots';
import { makeCommunity, PASSPHRASE } from '../../harness/update-community';
import { runtimeTree, tempDir } from '../../harness/update';
import { admin } from '../../harness/admin';

let c: Community;
let configFile: string;
let good: string;
let x64: string;
let foreign: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await updateCommand()(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

beforeAll(async () => {
  c = makeCommunity();
  const bundleDir = join(tempDir('terminal'), 't1');
  const t = addTerminal(admin(c, { passphrase: PASSPHRASE }), { id: 't1', doorId: 'door-1', out: bundleDir });
  configFile = t.configFile;
  // the terminal's install root, on the slot layout, running 0.1.0
  const root = tempDir('root');
  new Slots(root).adopt(runtimeTree(tempDir('installed'), { version: '0.1.0' }));
  const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as { update: Record<string, unknown> };
  cfg.update['root'] = root;
  writeFileSync(configFile, JSON.stringify(cfg));
  const out = tempDir('bundles');
  good = (await buildBundle(c, { from: runtimeTree(tempDir('tree'), { version: '0.2.0' }), version: '0.2.0', replaces: ['0.1.0'], out: join(out, 'good.bundle'), passphrase: PASSPHRASE, now: Date.now(), actor: 'test-operator' })).file;
  x64 = (await buildBundle(c, { from: runtimeTree(tempDir('tree'), { version: '0.2.0' }), version: '0.2.0', replaces: ['0.1.0'], out: join(out, 'x64.bundle'), passphrase: PASSPHRASE, arch: 'x64', now: Date.now(), actor: 'test-operator' })).file;
  const other = makeCommunity('another community');
  foreign = (await buildBundle(other, { from: runtimeTree(tempDir('tree'), { version: '0.2.0' }), version: '0.2.0', replaces: ['0.1.0'], out: join(out, 'foreign.bundle'), passphrase: PASSPHRASE, now: Date.now(), actor: 'test-operator' })).file;
  other.close();
}, 120_000);

afterAll(() => c.close());

describe('doorway update verify', () => {
  it('pins the update key in the terminal bundle that provision terminal add writes', () => {
    const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as { update: { publicKeyFile: string } };
    expect(readFileSync(join(configFile, '..', cfg.update.publicKeyFile), 'utf8')).toBe(readFileSync(updateKeyPaths(c).pub, 'utf8'));
  });

  it('prints exactly {"valid","reason","version"} for a bundle this terminal would install', async () => {
    const r = await cli('verify', '--config', configFile, '--arch', 'arm64', good);
    expect(r).toEqual({ code: 0, out: ['{"valid":true,"reason":null,"version":"0.2.0"}'], err: [] });
  });

  it('says why a bundle is refused, with exit status 1', async () => {
    expect((await cli('verify', '--config', configFile, '--arch', 'arm64', x64)).out).toEqual(['{"valid":false,"reason":"wrong-architecture","version":"0.2.0"}']);
    const f = await cli('verify', '--config', configFile, '--arch', 'arm64', foreign);
    expect(f.code).toBe(1);
    expect(f.out).toEqual(['{"valid":false,"reason":"other-community","version":"0.2.0"}']);
    expect(f.err[0]).toMatch(/another community/);
  });

  it('checks on a terminal provisioned before update keys through the roster key\'s endorsement', async () => {
    const cfg = JSON.parse(readFileSync(configFile, 'utf8')) as { update: Record<string, unknown> };
    const old = join(tempDir('old'), 'terminal.json');
    const dir = join(configFile, '..');
    delete cfg.update['publicKeyFile'];
    // the older terminal's files, referred to from another folder
    const hub = (cfg as unknown as { hub: Record<string, string> }).hub;
    for (const k of ['caFile', 'certFile', 'keyFile', 'hubPublicKeyFile']) hub[k] = join(dir, hub[k] as string);
    (cfg as unknown as { paths: Record<string, string> }).paths = { dataDir: join(tempDir('data'), 'd'), secretFile: join(dir, 'device.secret') };
    writeFileSync(old, JSON.stringify(cfg));
    expect((await cli('verify', '--config', old, '--arch', 'arm64', good)).out).toEqual(['{"valid":true,"reason":null,"version":"0.2.0"}']);
  });

  it('reports the slot layout and the installed version', async () => {
    const r = await cli('status', '--config', configFile);
    expect(JSON.parse(r.out[0] as string)).toMatchObject({ current: 'a', installed: '0.1.0' });
  });

  it('refuses a call without a bundle as a usage error', async () => {
    await expect(cli('verify', '--config', configFile)).rejects.toThrow(/give one bundle file/);
  });

  it('runs through the doorway command line', () => {
    const r = spawnSync(process.execPath, [join(__dirname, '../../../bin/doorway.js'), 'update', 'verify', '--config', configFile, '--arch', 'arm64', good], { encoding: 'utf8' });
    expect({ status: r.status, out: r.stdout.trim() }).toEqual({ status: 0, out: '{"valid":true,"reason":null,"version":"0.2.0"}' });
  });

  it('knows the version of the code running it', () => {
    expect(runningVersion()).toBe((JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as { version: string }).version);
  });
});
