/**
 * `provision update build`: a signed bundle from a built runtime folder, with the community's update key
 * (made on first use, apart from the roster key), read back with the terminal's own verifier.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { list } from 'tar';
import { run } from '../../../provisioning/cli';
import { buildBundle, BundleBuildError } from '../../../provisioning/update/build';
import { communityCaSha256, updateKeyPaths } from '../../../provisioning/update/keys';
import type { Community } from '../../../provisioning/community';
import { verifyBundle } from '../../../runtime/update/bundle';
import { makeCommunity, PASSPHRASE } from '../../harness/update-community';
import { runtimeTree, tempDir } from '../../harness/update';

let c: Community;

beforeAll(() => {
  c = makeCommunity();
});

afterAll(() => c.close());

function trust(): { updateKey: ReturnType<typeof createPublicKey>; hubKey: ReturnType<typeof createPublicKey>; caSha256: string } {
  return {
    updateKey: createPublicKey(readFileSync(updateKeyPaths(c).pub)),
    hubKey: createPublicKey(c.signingPublicKeyPem()),
    caSha256: communityCaSha256(c),
  };
}

describe('provision update build', () => {
  it('makes the update key on first use, encrypted, 0600, and different from the roster key', async () => {
    const from = runtimeTree(tempDir('tree'), { version: '0.2.0' });
    await buildBundle(c, { from, version: '0.2.0', replaces: ['0.1.0'], out: join(tempDir('out'), 'a.bundle'), passphrase: PASSPHRASE, now: Date.now(), actor: 'test-operator' });
    const k = updateKeyPaths(c);
    expect(statSync(k.key).mode & 0o777).toBe(0o600);
    expect(readFileSync(k.key, 'utf8')).toMatch(/BEGIN ENCRYPTED PRIVATE KEY/);
    expect(readFileSync(k.pub, 'utf8')).not.toBe(c.signingPublicKeyPem());
  });

  it('writes manifest, endorsement and payload in that order, and the terminal verifies every file', async () => {
    const from = runtimeTree(tempDir('tree'), { version: '0.2.0' });
    const out = join(tempDir('out'), 'doorway-0.2.0.bundle');
    const b = await buildBundle(c, { from, version: '0.2.0', replaces: ['0.1.0', '0.1.1'], out, passphrase: PASSPHRASE, arch: 'arm64', now: Date.now(), actor: 'test-operator' });
    const names: string[] = [];
    await list({ file: out, onReadEntry: (e) => names.push(e.path) });
    expect(names).toEqual(['manifest.json', 'update-key.json', 'payload.tar.gz']);
    expect(b.manifest).toMatchObject({ version: '0.2.0', replaces: ['0.1.0', '0.1.1'], arch: 'arm64', platform: 'linux', community: { name: c.config.name, caSha256: communityCaSha256(c) } });
    expect(b.manifest.models).toEqual({ embed: 'faceplugin@0.0.1/fr_feature', manifestPath: 'dist/models/manifest.json' });
    expect(b.manifest.files.map((f) => f.path)).toEqual(['behaviour.json', 'bin/doorway.js', 'dist/models/manifest.json', 'dist/runtime.js', 'node_modules/left-pad/index.js', 'package.json']);
    expect(b.manifest.files.find((f) => f.path === 'bin/doorway.js')?.mode).toBe(0o755);
    const v = await verifyBundle(out, trust(), { arch: 'arm64', installed: '0.1.1' });
    expect(v.manifest).toEqual(b.manifest);
    expect(v.endorsedKey).toBeNull();
  });

  it('builds the same bytes twice from the same folder (sorted entries, fixed times, no owners)', async () => {
    const from = runtimeTree(tempDir('tree'), { version: '0.2.0' });
    const dir = tempDir('out');
    const a = await buildBundle(c, { from, version: '0.2.0', replaces: ['0.1.0'], out: join(dir, 'a.bundle'), passphrase: PASSPHRASE, now: 1, actor: 'test-operator' });
    const b = await buildBundle(c, { from, version: '0.2.0', replaces: ['0.1.0'], out: join(dir, 'b.bundle'), passphrase: PASSPHRASE, now: 1, actor: 'test-operator' });
    expect(a.manifest.payload.sha256).toBe(b.manifest.payload.sha256);
  });

  it('refuses a version that is not the folder\'s package.json version', async () => {
    const from = runtimeTree(tempDir('tree'), { version: '0.2.0' });
    await expect(buildBundle(c, { from, version: '0.3.0', replaces: ['0.2.0'], out: join(tempDir('out'), 'x.bundle'), passphrase: PASSPHRASE, now: Date.now(), actor: 'test-operator' })).rejects.toThrow(/says version 0\.2\.0, not 0\.3\.0/);
  });

  it('refuses a native addon built for another CPU than the bundle\'s', async () => {
    const elf = Buffer.alloc(64);
    elf.writeUInt32BE(0x7f454c46, 0);
    elf.writeUInt16LE(62, 18); // x86-64
    const from = runtimeTree(tempDir('tree'), { version: '0.2.0', files: { 'node_modules/sqlite/build/Release/sqlite.node': elf } });
    const out = join(tempDir('out'), 'x.bundle');
    await expect(buildBundle(c, { from, version: '0.2.0', replaces: ['0.1.0'], out, passphrase: PASSPHRASE, arch: 'arm64', now: Date.now(), actor: 'test-operator' })).rejects.toThrow(BundleBuildError);
    await expect(buildBundle(c, { from, version: '0.2.0', replaces: ['0.1.0'], out, passphrase: PASSPHRASE, arch: 'x64', now: Date.now(), actor: 'test-operator' })).resolves.toMatchObject({ manifest: { arch: 'x64' } });
  });

  it('refuses a symbolic link, but leaves node_modules/.bin out', async () => {
    const from = runtimeTree(tempDir('tree'), { version: '0.2.0', files: { 'node_modules/.bin/tool': 'x' } });
    const out = join(tempDir('out'), 'x.bundle');
    const b = await buildBundle(c, { from, version: '0.2.0', replaces: ['0.1.0'], out, passphrase: PASSPHRASE, now: Date.now(), actor: 'test-operator' });
    expect(b.manifest.files.some((f) => f.path.includes('.bin'))).toBe(false);
    symlinkSync('/etc/passwd', join(from, 'dist', 'passwd'));
    await expect(buildBundle(c, { from, version: '0.2.0', replaces: ['0.1.0'], out, passphrase: PASSPHRASE, now: Date.now(), actor: 'test-operator' })).rejects.toThrow(/dist\/passwd is a symbolic link/);
  });

  it('runs from the command line and records the build in the audit log', async () => {
    const from = runtimeTree(tempDir('tree'), { version: '0.4.0' });
    const out = join(tempDir('out'), 'doorway-0.4.0.bundle');
    const lines: string[] = [];
    const errs: string[] = [];
    process.env['PROVISION_PASSPHRASE'] = PASSPHRASE;
    try {
      const code = await run(['update', 'build', '--dir', c.paths.dir, '--from', from, '--version', '0.4.0', '--replaces', '0.3.0,0.2.0', '--out', out, '--json'], { out: (l) => lines.push(l), err: (l) => errs.push(l) });
      expect({ code, errs }).toEqual({ code: 0, errs: [] });
    } finally {
      delete process.env['PROVISION_PASSPHRASE'];
    }
    expect(existsSync(out)).toBe(true);
    expect(JSON.parse(lines.join('\n'))).toMatchObject({ file: out, version: '0.4.0', arch: 'arm64', replaces: ['0.3.0', '0.2.0'], files: 6 });
    expect(c.db.auditLog(10).some((a) => a.action === 'update.build' && a.subject === '0.4.0')).toBe(true);
  });

  it('shows the update key\'s public half with provision update key', async () => {
    const lines: string[] = [];
    process.env['PROVISION_PASSPHRASE'] = PASSPHRASE;
    try {
      expect(await run(['update', 'key', '--dir', c.paths.dir, '--json'], { out: (l) => lines.push(l), err: () => undefined })).toBe(0);
    } finally {
      delete process.env['PROVISION_PASSPHRASE'];
    }
    expect(JSON.parse(lines[0] as string)).toEqual({ publicKeyFile: updateKeyPaths(c).pub, created: false });
  });

  it('refuses a bad passphrase before writing anything', async () => {
    const from = runtimeTree(tempDir('tree'), { version: '0.2.0' });
    const out = join(tempDir('out'), 'x.bundle');
    writeFileSync(join(from, 'extra.txt'), 'x');
    await expect(buildBundle(c, { from, version: '0.2.0', replaces: ['0.1.0'], out, passphrase: 'wrong passphrase', now: Date.now(), actor: 'test-operator' })).rejects.toThrow(/passphrase/);
    expect(existsSync(out)).toBe(false);
  });
});
