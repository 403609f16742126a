/**
 * Card numbers and PINs are never stored, sent or logged: only their digests. A digest is a keyed slow
 * hash, the same on the hub (which computes it when a card or PIN is set) and on every terminal (which
 * computes it from what was presented):
 *
 *   digest = scrypt(password = "doorway/credential/v1|<kind>|<value>", salt = K, N = 2^14, r = 8, p = 1, 32 bytes)
 *
 * K is HKDF-SHA256 over the community's credential secret (`credential.secret`, 32 random bytes, 0600,
 * made by `provision init` and copied into each terminal's bundle). K is a pepper: digests leaked without
 * it (a hub database backup, a roster captured in transit) cannot be tested against guesses at all.
 * With it (a stolen terminal, whose disk holds the secret), every guess costs one scrypt run, and the PIN
 * and 26-bit card spaces are small: README "Cards and PINs" says what that means and what limits it.
 *
 * scrypt runs on libuv's thread pool (async), so the event loop (GPIO, the face loop) never waits for it.
 */
import { hkdfSync, scrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TerminalError } from '../../core/errors';
import { deriveKeyFromSecretFile } from '../roster/crypto';

export type CredentialKind = 'card' | 'pin';

/** scrypt cost: about 50 ms on one x86_64 core here (bench), a few times that on an ARM board. */
export const SCRYPT = { N: 2 ** 14, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const INFO = 'doorway credential digest v1';
const SALT = Buffer.from('doorway/credential', 'ascii');

/** The credential secret file cannot be used. */
export class CredentialKeyError extends TerminalError {
  readonly code = 'credential-key';
}

/** The pepper K from the community credential secret file (0600, at least 32 bytes). */
export function credentialKeyFromFile(file: string): Buffer {
  return Buffer.from(deriveKeyFromSecretFile(file, SALT, INFO).export());
}

/** The same from the secret's bytes (the hub, which holds them encrypted in its folder). */
export function credentialKeyFromSecret(secret: Uint8Array): Buffer {
  if (secret.length < 32) throw new CredentialKeyError('credential secret holds fewer than 32 bytes');
  return Buffer.from(hkdfSync('sha256', secret, SALT, INFO, 32));
}

/** Reads a secret file's raw bytes (for the hub copying it into a bundle). */
export function readCredentialSecret(file: string): Buffer {
  return readFileSync(file);
}

/** A card as the reader sees it: facility code and number, in decimal. */
export function cardValue(facility: number, number: number): string {
  return `${facility}:${number}`;
}

export function credentialDigest(kind: CredentialKind, value: string, key: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    scrypt(`doorway/credential/v1|${kind}|${value}`, key, 32, SCRYPT, (err, out) => (err ? reject(err) : resolve(out.toString('base64'))));
  });
}
