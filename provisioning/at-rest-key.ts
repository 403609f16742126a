/**
 * The community's AT-REST key (issue 16, item 3): what face templates and photos are encrypted with on
 * the hub (provisioning/store/at-rest.ts). Every process that reads or writes them unlocks the
 * community with it first (`unlockCommunity`), from one of two sources:
 *
 *   hub/at-rest.key   the key (an Ed25519 seed used only as key material), PKCS#8 encrypted with scrypt
 *                     under the community passphrase like every key of the folder (pki.ts), 0600. Made
 *                     by `provision init`, or on the first unlock of a community from before.
 *   a key file       the same key unencrypted (PKCS#8 PEM), written by `provision hub key-file --out
 *                     PATH` (0600, never over an existing file), for a start without the passphrase at
 *                     hand: `provision hub --key-file PATH`. Refused when its mode lets group or others
 *                     read it. Keep it outside the community folder (another disk, a root-only
 *                     credentials folder such as systemd's LoadCredential=), or the copy protects nothing.
 *
 * Rotation (`provision hub rotate-key`, the hub stopped): a new key in hub/at-rest.key.next, every photo
 * and every sealed row sealed again with it, then the new key takes the old one's place. Key files
 * written before open nothing any more. Interrupted, it is run again and finishes; meanwhile no process
 * unlocks the community (AtRestKeyError says what to do).
 *
 * A wrong passphrase is BadPassphraseError, a key file that is not this community's key AtRestKeyError
 * (hub.db records the key's id), both before anything is read or changed.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFile } from '../core/fs';
import type { Community } from './community';
import { loadKey, newKey, writePrivate } from './pki';
import { resealPhotos } from './photos';
import { AtRestCipher, AtRestKeyError } from './store/at-rest';
import { resealRows, type SealedInPlace } from './store/at-rest-rows';

export type AtRestSource = { passphrase: string } | { keyFile: string };

export function atRestKeyPath(c: Community): string {
  return join(c.paths.dir, 'hub', 'at-rest.key');
}

function cipherOf(key: KeyObject, what: string): AtRestCipher {
  if (key.asymmetricKeyType !== 'ed25519') throw new AtRestKeyError(`${what} is not an at-rest key`);
  const seed = Buffer.from(key.export({ format: 'jwk' }).d ?? '', 'base64url');
  try {
    return new AtRestCipher(seed);
  } finally {
    seed.fill(0);
  }
}

/** Makes hub/at-rest.key under the passphrase (checked first). */
export function createAtRestKey(c: Community, passphrase: string): void {
  c.checkPassphrase(passphrase);
  writePrivate(atRestKeyPath(c), newKey('ed25519', passphrase));
}

/** The cipher from hub/at-rest.key, made first when the community has none and never had one. */
export function atRestCipherFromPassphrase(c: Community, passphrase: string): AtRestCipher {
  const file = atRestKeyPath(c);
  if (!existsSync(file)) {
    c.checkPassphrase(passphrase); // a wrong passphrase must not make a new key
    if (c.db.atRestKeyId() !== null) throw new AtRestKeyError(`${file} is missing, but the community's templates and photos are encrypted with it: restore it from a backup`);
    createAtRestKey(c, passphrase);
  }
  return cipherOf(loadKey(file, passphrase), file);
}

/** The cipher from an unencrypted key file (refused when group or others may read it). */
export function atRestCipherFromKeyFile(file: string): AtRestCipher {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new AtRestKeyError(`the key file ${file} cannot be opened (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
  }
  let pem: Buffer;
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new AtRestKeyError(`the key file ${file} is not a regular file`);
    if ((st.mode & 0o077) !== 0) throw new AtRestKeyError(`the key file ${file} may be read by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 it`);
    pem = readFileSync(fd);
  } finally {
    closeSync(fd);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new AtRestKeyError(`${file} is not an unencrypted at-rest key file (write one with provision hub key-file --out ${file})`, { cause: e });
  } finally {
    pem.fill(0);
  }
  return cipherOf(key, file);
}

/** Writes the at-rest key unencrypted to `out` (0600; never over an existing file) for `--key-file`. */
export function writeAtRestKeyFile(c: Community, passphrase: string, out: string): { keyId: string } {
  const cipher = atRestCipherFromPassphrase(c, passphrase);
  const pem = loadKey(atRestKeyPath(c), passphrase).export({ type: 'pkcs8', format: 'pem' });
  try {
    writePrivateFile(out, pem, 'wx');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new AtRestKeyError(code === 'EEXIST' ? `${out} exists already: a key file is never written over` : `the key file ${out} cannot be written (${code})`, { cause: e });
  }
  return { keyId: cipher.keyId };
}

/**
 * Gives the community its at-rest key: the store and the photo folder use it from now on. The first
 * unlock also encrypts in place what was kept in clear before; what it did is returned (null: nothing
 * left to do). Unlocking an unlocked community again does nothing.
 */
export function unlockCommunity(c: Community, source: AtRestSource, now: number): ReturnType<Community['unlock']> {
  if (c.atRestUnlocked) return null;
  if (existsSync(`${atRestKeyPath(c)}.next`)) throw new AtRestKeyError('a rotation of the at-rest key was interrupted: run provision hub rotate-key again to finish it');
  const cipher = 'passphrase' in source ? atRestCipherFromPassphrase(c, source.passphrase) : atRestCipherFromKeyFile(source.keyFile);
  return c.unlock(cipher, now);
}

/**
 * Replaces the at-rest key (the hub and every other process stopped): photos and rows sealed again with
 * a new key, which then takes the old one's place. Run again after an interruption, it finishes.
 */
export function rotateAtRestKey(c: Community, passphrase: string, now: number): SealedInPlace & { photos: number; keyId: string } {
  if (c.atRestUnlocked) throw new AtRestKeyError('rotate the at-rest key on a community not unlocked in this process');
  const current = atRestKeyPath(c);
  const next = `${current}.next`;
  const from = cipherOf(loadKey(current, passphrase), current);
  if (!existsSync(next)) {
    if (c.db.atRestKeyId() === null) throw new AtRestKeyError('the community was never unlocked: start the hub once (it encrypts what is in clear) before rotating the key');
    if (c.db.atRestKeyId() !== from.keyId) throw new AtRestKeyError(`${current} is not the key the community's values are sealed with`);
    writePrivate(next, newKey('ed25519', passphrase));
  }
  const to = cipherOf(loadKey(next, passphrase), next);
  const photos = resealPhotos(c.paths.photosDir, from, to);
  const rows = c.db.atRestKeyId() === to.keyId ? { persons: 0, adaptedTemplates: 0 } : resealRows(c.db.db, from, to, now);
  renameSync(next, current);
  return { ...rows, photos, keyId: to.keyId };
}
