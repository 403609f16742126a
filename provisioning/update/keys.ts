/**
 * The community's UPDATE key: Ed25519, kept apart from the roster-signing key (hub/signing.key) in
 * its own scrypt-encrypted file under the community passphrase:
 *
 *   update/signing.key   PKCS#8, encrypted, 0600
 *   update/signing.pub   SPKI PEM: pinned by every terminal bundle written from now on (update-signing.pub)
 *
 * It is made on first use (`provision update build`, `provision update key`, `provision terminal add`),
 * so communities created before it existed get one without a migration step on the hub.
 * Terminals provisioned before it existed learn it from an endorsement signed by the roster key they
 * already pin (`updateKeyEndorsement`, carried in every bundle; runtime/update/README.md, Migration).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TerminalError } from '../../core/errors';
import { signBody } from '../../runtime/protocol/signing';
import { certificateSha256 } from '../../runtime/update/bundle';
import type { UpdateKeyEndorsement } from '../../runtime/update/manifest';
import type { Community } from '../community';
import { loadKey, newKey, writePrivate } from '../pki';

export class UpdateKeyError extends TerminalError {
  readonly code = 'update-key';
}

export interface UpdateKeyPaths {
  dir: string;
  key: string;
  pub: string;
}

export function updateKeyPaths(c: Community): UpdateKeyPaths {
  const dir = join(c.paths.dir, 'update');
  return { dir, key: join(dir, 'signing.key'), pub: join(dir, 'signing.pub') };
}

/** Makes the update key if the community has none yet; returns whether it did. Checks the passphrase. */
export function ensureUpdateKey(c: Community, passphrase: string): { created: boolean; paths: UpdateKeyPaths } {
  const paths = updateKeyPaths(c);
  c.checkPassphrase(passphrase);
  if (existsSync(paths.key)) {
    if (!existsSync(paths.pub)) writePrivate(paths.pub, publicPem(loadKey(paths.key, passphrase)));
    return { created: false, paths };
  }
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  writePrivate(paths.key, newKey('ed25519', passphrase));
  writePrivate(paths.pub, publicPem(loadKey(paths.key, passphrase)));
  return { created: true, paths };
}

export function updateSigningKey(c: Community, passphrase: string): KeyObject {
  const { paths } = ensureUpdateKey(c, passphrase);
  const k = loadKey(paths.key, passphrase);
  if (k.asymmetricKeyType !== 'ed25519') throw new UpdateKeyError(`${paths.key} is not an Ed25519 key`);
  return k;
}

export function updatePublicKeyPem(c: Community, passphrase: string): string {
  return readFileSync(ensureUpdateKey(c, passphrase).paths.pub, 'utf8');
}

/** The community's identity in bundles: sha256 of its CA certificate (DER), which every terminal holds. */
export function communityCaSha256(c: Community): string {
  return certificateSha256(readFileSync(c.paths.ca.cert));
}

/** The roster key vouches for the update key (a SignedEnvelope's JSON text), for terminals that pin none. */
export function updateKeyEndorsement(c: Community, passphrase: string, now: number): string {
  const body: UpdateKeyEndorsement = {
    v: 1,
    kind: 'doorway.update-key',
    community: { caSha256: communityCaSha256(c) },
    publicKey: updatePublicKeyPem(c, passphrase),
    issuedAt: now,
  };
  return signBody(body, c.signingKey(passphrase));
}

function publicPem(k: KeyObject): string {
  return createPublicKey(k).export({ type: 'spki', format: 'pem' }).toString();
}
