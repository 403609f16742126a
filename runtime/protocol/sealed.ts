/**
 * A sealed box: bytes encrypted to the hub, which only the hub can open (adapted templates going up,
 * issue 17). ECIES over X25519: the sender makes a fresh X25519 key pair per message, agrees a secret
 * with the hub's X25519 public key (pinned at provisioning, `hub-seal.pub` in the terminal bundle),
 * derives an AES-256-GCM key from it with HKDF-SHA256 (salt: both public keys; label
 * `doorway/sealed-box/v1`), and encrypts with a random 12-byte nonce and the caller's associated data
 * (what the bytes are about: terminal, person, message id), so a box lifted onto another message does
 * not open. The sender keeps nothing: not even it can open the box afterwards.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { TerminalError } from '../../core/errors';

/** The box did not open: another key, altered bytes, or other associated data. Nothing was read. */
export class SealedBoxError extends TerminalError {
  readonly code = 'sealed-box';
}

export const SealedBoxSchema = z.strictObject({
  /** The sender's one-time X25519 public key (raw 32 bytes, base64). */
  epk: z.base64().length(44),
  /** AES-GCM nonce, 12 bytes. */
  nonce: z.base64().length(16),
  /** Ciphertext followed by the 16-byte GCM tag, base64. */
  ct: z.base64().min(24).max(64 * 1024),
});
export type SealedBox = z.infer<typeof SealedBoxSchema>;

const LABEL = Buffer.from('doorway/sealed-box/v1');
/** DER prefix of an X25519 SubjectPublicKeyInfo: the raw 32-byte key follows. */
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

export interface SealKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateSealKeyPair(): SealKeyPair {
  return generateKeyPairSync('x25519');
}

/** The hub's sealing public key (PEM or KeyObject), checked to be X25519. */
export function loadSealPublicKey(key: string | Buffer | KeyObject): KeyObject {
  const k = typeof key === 'string' || Buffer.isBuffer(key) ? createPublicKey(key) : key;
  const pub = k.type === 'private' ? createPublicKey(k) : k;
  if (pub.asymmetricKeyType !== 'x25519') throw new SealedBoxError('the hub sealing key must be X25519');
  return pub;
}

function raw(pub: KeyObject): Buffer {
  return pub.export({ type: 'spki', format: 'der' }).subarray(X25519_SPKI_PREFIX.length);
}

function keyFor(shared: Buffer, epk: Buffer, hubPub: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([epk, hubPub]), LABEL, 32));
}

/** Encrypts `plain` so that only the holder of `hubPublicKey`'s private half can read it. */
export function sealTo(hubPublicKey: KeyObject, plain: Uint8Array, aad: string): SealedBox {
  const hub = loadSealPublicKey(hubPublicKey);
  const eph = generateKeyPairSync('x25519');
  const epk = raw(eph.publicKey);
  const key = keyFor(diffieHellman({ privateKey: eph.privateKey, publicKey: hub }), epk, raw(hub));
  const nonce = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  key.fill(0);
  return { epk: epk.toString('base64'), nonce: nonce.toString('base64'), ct: ct.toString('base64') };
}

/** Opens a box sealed to `privateKey`'s public half with the same associated data; SealedBoxError otherwise. */
export function openSealed(privateKey: KeyObject, box: SealedBox, aad: string): Buffer {
  if (privateKey.asymmetricKeyType !== 'x25519' || privateKey.type !== 'private') throw new SealedBoxError('the hub sealing key must be a private X25519 key');
  const epk = Buffer.from(box.epk, 'base64');
  const nonce = Buffer.from(box.nonce, 'base64');
  const ct = Buffer.from(box.ct, 'base64');
  if (epk.length !== 32 || nonce.length !== 12 || ct.length < 16) throw new SealedBoxError('sealed box has the wrong shape');
  let key: Buffer | null = null;
  try {
    const sender = createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, epk]), format: 'der', type: 'spki' });
    key = keyFor(diffieHellman({ privateKey, publicKey: sender }), epk, raw(createPublicKey(privateKey)));
    const d = createDecipheriv('aes-256-gcm', key, nonce);
    d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(ct.subarray(ct.length - 16));
    return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
  } catch (e) {
    throw new SealedBoxError('sealed box does not open', { cause: e });
  } finally {
    key?.fill(0);
  }
}

/** A private X25519 key from PEM (for tests and the hub's composition root). */
export function loadSealPrivateKey(pem: string | Buffer, passphrase?: string): KeyObject {
  const k = createPrivateKey(passphrase === undefined ? pem : { key: pem, format: 'pem', passphrase });
  if (k.asymmetricKeyType !== 'x25519') throw new SealedBoxError('the hub sealing key must be X25519');
  return k;
}
