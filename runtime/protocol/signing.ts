import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { SCHEMA_VERSION, type SignedEnvelope } from './schemas';

/**
 * Ed25519 signing of hub messages. The signature covers the exact UTF-8 bytes of `body` (the JSON
 * text as produced by the signer); verification happens on those bytes before any parsing.
 */

export interface SigningKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey };
}

/** Load a pinned hub public key (PEM or KeyObject) and check it is Ed25519. */
export function loadPublicKey(key: string | Buffer | KeyObject): KeyObject {
  const k = typeof key === 'string' || Buffer.isBuffer(key) ? createPublicKey(key) : key;
  const pub = k.type === 'private' ? createPublicKey(k) : k;
  if (pub.asymmetricKeyType !== 'ed25519') throw new TypeError('hub key must be Ed25519');
  return pub;
}

export function loadPrivateKey(key: string | Buffer | KeyObject): KeyObject {
  const k = typeof key === 'string' || Buffer.isBuffer(key) ? createPrivateKey(key) : key;
  if (k.asymmetricKeyType !== 'ed25519' || k.type !== 'private') throw new TypeError('signing key must be a private Ed25519 key');
  return k;
}

/** Serialise `body` once, sign those bytes, and return the envelope's JSON text. */
export function signBody(body: unknown, privateKey: KeyObject): string {
  const text = JSON.stringify(body);
  const sig = sign(null, Buffer.from(text, 'utf8'), privateKey).toString('base64');
  const env: SignedEnvelope = { v: SCHEMA_VERSION, body: text, sig };
  return JSON.stringify(env);
}

export function verifyEnvelope(env: SignedEnvelope, publicKey: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(env.body, 'utf8'), publicKey, Buffer.from(env.sig, 'base64'));
  } catch {
    return false;
  }
}
