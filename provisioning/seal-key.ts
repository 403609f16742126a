/**
 * The hub's SEALING key (issue 17): X25519, for adapted templates the terminals send up sealed to the
 * hub (runtime/protocol/sealed.ts). Kept apart from the roster-signing key in its own scrypt-encrypted
 * file under the community passphrase:
 *
 *   hub/seal.key   PKCS#8, encrypted, 0600
 *   hub/seal.pub   SPKI PEM: pinned by every terminal bundle written from now on (hub-seal.pub)
 *
 * Made on first use (`provision terminal add`, the hub's start), so communities created before it get
 * one without a migration step. Terminals provisioned before it have no hub-seal.pub: they keep their
 * adapted templates to themselves until they are provisioned again.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Community } from './community';
import { encryptKey, loadKey, writePrivate } from './pki';

export function sealKeyPaths(c: Community): { key: string; pub: string } {
  const dir = join(c.paths.dir, 'hub');
  return { key: join(dir, 'seal.key'), pub: join(dir, 'seal.pub') };
}

/** The hub's sealing key pair, made first if the community has none (the passphrase is checked). */
export function ensureSealKey(c: Community, passphrase: string): { privateKey: KeyObject; publicKeyPem: string } {
  const paths = sealKeyPaths(c);
  if (!existsSync(paths.key)) {
    c.checkPassphrase(passphrase);
    const { privateKey } = generateKeyPairSync('x25519');
    writePrivate(paths.key, encryptKey(privateKey.export({ type: 'pkcs8', format: 'pem' }), passphrase));
    writePrivate(paths.pub, createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }));
  }
  const privateKey = loadKey(paths.key, passphrase);
  return { privateKey, publicKeyPem: readFileSync(paths.pub, 'utf8') };
}
