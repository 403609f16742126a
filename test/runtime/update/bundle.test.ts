/**
 * The terminal's bundle verifier on real bundles (real tar, real Ed25519 signatures): every refusal has
 * its reason, and the update key is only learnt through the pinned roster key.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync, statSync, truncateSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from 'tar';
import type { Community } from '../../../provisioning/community';
import { buildBundle } from '../../../provisioning/update/build';
import { communityCaSha256, updateKeyPaths, updateSigningKey } from '../../../provisioning/update/keys';
import { signBody } from '../../../runtime/protocol/signing';
import { certificateSha256, unpackBundle, UpdateRefusedError, verifyBundle, type InstallTarget, type UpdateTrust } from '../../../runtime/update/bundle';
import type { UpdateManifest } from '../../../runtime/update/manifest';
import { makeCommunity, PASSPHRASE } from '../../harness/update-community';
import { editSignedBody, rewriteBundle, runtimeTree, snapshot, tempDir } from '../../harness/update';

let a: Community;
let b: Community;
let good: string;
let manifest: UpdateManifest;
const target: InstallTarget = { arch: 'arm64', installed: '0.1.0' };

function trustOf(c: Community, pinned = true): UpdateTrust {
  return {
    updateKey: pinned ? createPublicKey(readFileSync(updateKeyPaths(c).pub)) : null,
    hubKey: createPublicKey(c.signingPublicKeyPem()),
    caSha256: communityCaSha256(c),
  };
}

async function reason(file: string, trust: UpdateTrust = trustOf(a), t = target): Promise<string> {
  try {
    await verifyBundle(file, trust, t);
  } catch (e) {
    if (e instanceof UpdateRefusedError) return e.reason;
    throw e;
  }
  return 'valid';
}

beforeAll(async () => {
  a = makeCommunity('community A');
  b = makeCommunity('community B');
  const built = await buildBundle(a, { from: runtimeTree(tempDir('tree'), { version: '0.2.0' }), version: '0.2.0', replaces: ['0.1.0'], out: join(tempDir('out'), 'good.bundle'), passphrase: PASSPHRASE, now: Date.now(), actor: 'test-operator' });
  good = built.file;
  manifest = built.manifest;
}, 60_000);

afterAll(() => {
  a.close();
  b.close();
});

describe('verifyBundle', () => {
  it('accepts a bundle of its own community, CPU and a version that may replace the installed one', async () => {
    const v = await verifyBundle(good, trustOf(a), target);
    expect(v.manifest.version).toBe('0.2.0');
    expect(certificateSha256(readFileSync(a.paths.ca.cert))).toBe(v.manifest.community.caSha256);
  });

  it('refuses a manifest changed after signing: bad-signature', async () => {
    const f = await rewriteBundle(good, join(tempDir('bad'), 'x.bundle'), (e) => {
      e.set('manifest.json', editSignedBody(e.get('manifest.json') as Buffer, (m) => (m['replaces'] = ['0.0.1', '0.1.0'])));
    });
    expect(await reason(f)).toBe('bad-signature');
  });

  it('refuses a manifest signed with the roster key instead of the update key: bad-signature', async () => {
    const f = await rewriteBundle(good, join(tempDir('bad'), 'x.bundle'), (e) => {
      e.set('manifest.json', Buffer.from(signBody(manifest, a.signingKey(PASSPHRASE))));
    });
    expect(await reason(f)).toBe('bad-signature');
  });

  it('refuses a bundle built for another CPU: wrong-architecture', async () => {
    const x64 = await buildBundle(a, { from: runtimeTree(tempDir('tree'), { version: '0.2.0' }), version: '0.2.0', replaces: ['0.1.0'], out: join(tempDir('out'), 'x64.bundle'), passphrase: PASSPHRASE, arch: 'x64', now: Date.now(), actor: 'test-operator' });
    expect(await reason(x64.file)).toBe('wrong-architecture');
    expect(await reason(x64.file, trustOf(a), { arch: 'x64', installed: '0.1.0' })).toBe('valid');
  });

  it('refuses a truncated download wherever it was cut: truncated', async () => {
    const size = statSync(good).size;
    for (const cut of [100, 700, 3000, Math.floor(size / 2), size - 1024]) {
      const f = join(tempDir('cut'), 'x.bundle');
      copyFileSync(good, f);
      truncateSync(f, cut);
      expect({ cut, reason: await reason(f) }).toEqual({ cut, reason: 'truncated' });
    }
  });

  it('refuses an older, the same, or a version not listed as replaceable: downgrade, already-installed, not-replaceable', async () => {
    expect(await reason(good, trustOf(a), { arch: 'arm64', installed: '0.3.0' })).toBe('downgrade');
    expect(await reason(good, trustOf(a), { arch: 'arm64', installed: '0.2.0' })).toBe('already-installed');
    expect(await reason(good, trustOf(a), { arch: 'arm64', installed: '0.1.5' })).toBe('not-replaceable');
  });

  it('refuses a bundle of another community, whether signed by its key or by ours: other-community', async () => {
    const theirs = await buildBundle(b, { from: runtimeTree(tempDir('tree'), { version: '0.2.0' }), version: '0.2.0', replaces: ['0.1.0'], out: join(tempDir('out'), 'b.bundle'), passphrase: PASSPHRASE, now: Date.now(), actor: 'test-operator' });
    expect(await reason(theirs.file)).toBe('other-community');
    // One update key used for two communities (a vendor's): the signature holds, the community does not.
    const f = await rewriteBundle(good, join(tempDir('bad'), 'x.bundle'), (e) => {
      e.set('manifest.json', Buffer.from(signBody({ ...manifest, community: theirs.manifest.community }, updateSigningKey(a, PASSPHRASE))));
    });
    expect(await reason(f)).toBe('other-community');
  });

  it('refuses a payload that is not the one the manifest describes: file-mismatch', async () => {
    const tree = runtimeTree(tempDir('tree'), { version: '0.2.0' });
    const evil = join(tempDir('evil'), 'payload.tar.gz');
    await create({ gzip: true, file: evil, cwd: tree, portable: true }, manifest.files.map((f) => f.path));
    const f = await rewriteBundle(good, join(tempDir('bad'), 'x.bundle'), (e) => {
      const p = e.get('payload.tar.gz') as Buffer;
      const other = readFileSync(evil);
      // Same size as signed, different bytes.
      const same = Buffer.alloc(p.length);
      other.copy(same, 0, 0, Math.min(other.length, p.length));
      e.set('payload.tar.gz', same);
    });
    expect(await reason(f)).toBe('file-mismatch');
  });

  it('refuses a file that is not a bundle: malformed', async () => {
    const f = join(tempDir('junk'), 'x.bundle');
    copyFileSync(a.paths.ca.cert, f);
    expect(await reason(f)).toBe('malformed');
  });

  describe('a terminal that pins no update key yet (provisioned before update keys)', () => {
    it('learns the key from the endorsement its pinned roster key signed', async () => {
      const v = await verifyBundle(good, trustOf(a, false), target);
      expect((v.endorsedKey as KeyObject).export({ type: 'spki', format: 'pem' })).toBe(readFileSync(updateKeyPaths(a).pub, 'utf8'));
    });

    it('refuses a bundle without an endorsement, or with one its roster key did not sign: untrusted-key', async () => {
      const bare = await buildBundle(a, { from: runtimeTree(tempDir('tree'), { version: '0.2.0' }), version: '0.2.0', replaces: ['0.1.0'], out: join(tempDir('out'), 'bare.bundle'), passphrase: PASSPHRASE, endorse: false, now: Date.now(), actor: 'test-operator' });
      expect(await reason(bare.file, trustOf(a, false))).toBe('untrusted-key');
      const forged = await rewriteBundle(good, join(tempDir('bad'), 'x.bundle'), (e) => {
        e.set('update-key.json', editSignedBody(e.get('update-key.json') as Buffer, (m) => (m['issuedAt'] = 1)));
      });
      expect(await reason(forged, trustOf(a, false))).toBe('untrusted-key');
    });
  });
});

describe('unpackBundle', () => {
  it('unpacks exactly the listed files with their modes, and re-checks them on disk', async () => {
    const dir = join(tempDir('unpack'), 'slot');
    await unpackBundle(good, manifest, dir);
    const snap = snapshot(dir);
    expect(Object.keys(snap).filter((k) => snap[k]?.startsWith('file')).sort()).toEqual(manifest.files.map((f) => f.path).sort());
    expect(snap['bin/doorway.js']).toMatch(/^file 755 /);
    expect(snap['package.json']).toMatch(/^file 644 /);
  });
});
