import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { TerminalError } from '../../core/errors';

/** The device secret file is readable by group or others (mode & 0o077 != 0): refused, never read. */
export class InsecureSecretFileError extends TerminalError {
  readonly code = 'insecure-secret-file';
  constructor(readonly mode: number) {
    super(`device secret file mode ${(mode & 0o777).toString(8)} allows group/other access; chmod 600 it`);
  }
}

/** The device secret file is missing, unreadable or too short to derive a key from. */
export class SecretFileError extends TerminalError {
  readonly code = 'secret-file';
}

/** A sealed value did not authenticate (wrong key, altered bytes, or moved to another row). */
export class SealError extends TerminalError {
  readonly code = 'seal-failed';
}

export const MIN_SECRET_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** HKDF info label of the roster store's key; other users of the device secret pass their own label. */
export const ROSTER_HKDF_INFO = 'doorway roster encryption v1';

/**
 * Reads the device secret once, checks its permissions on the open descriptor (no race with a chmod
 * between check and read), derives the AES-256 key with HKDF-SHA256 and wipes the secret bytes.
 * Only the derived key object leaves this function; it prints as `KeyObject { type: 'secret' }`.
 * `info` separates the keys derived from the one secret (roster store, sync staging): each user has
 * its own label, so no two of them ever share a key.
 */
export function deriveKeyFromSecretFile(secretFile: string, salt: Uint8Array, info: string = ROSTER_HKDF_INFO): KeyObject {
  let fd: number;
  try {
    fd = openSync(secretFile, 'r');
  } catch (e) {
    throw new SecretFileError('device secret file cannot be opened', { cause: e });
  }
  const secret = Buffer.alloc(4096);
  try {
    const st = fstatSync(fd);
    if ((st.mode & 0o077) !== 0) throw new InsecureSecretFileError(st.mode);
    if (!st.isFile()) throw new SecretFileError('device secret path is not a regular file');
    const n = readSync(fd, secret, 0, secret.length, 0);
    if (n < MIN_SECRET_BYTES) throw new SecretFileError(`device secret file holds fewer than ${MIN_SECRET_BYTES} bytes`);
    const okm = Buffer.from(hkdfSync('sha256', secret.subarray(0, n), salt, info, 32));
    const key = createSecretKey(okm);
    okm.fill(0);
    return key;
  } finally {
    secret.fill(0);
    closeSync(fd);
  }
}

/** AES-256-GCM with a fresh random 96-bit nonce per seal; blob = nonce | ciphertext | tag. */
export class Sealer {
  constructor(private readonly key: KeyObject) {}

  seal(plain: Uint8Array, aad: string): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const c = createCipheriv('aes-256-gcm', this.key, nonce);
    c.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([nonce, body, c.getAuthTag()]);
  }

  open(blob: Uint8Array, aad: string): Buffer {
    if (blob.length < NONCE_BYTES + TAG_BYTES) throw new SealError('sealed value is truncated');
    const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
    const d = createDecipheriv('aes-256-gcm', this.key, buf.subarray(0, NONCE_BYTES));
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
    try {
      const plain = d.update(buf.subarray(NONCE_BYTES, buf.length - TAG_BYTES));
      d.final(); // GCM yields no bytes here; it throws when the tag does not authenticate
      return plain;
    } catch (e) {
      throw new SealError('sealed value failed authentication', { cause: e });
    }
  }
}
