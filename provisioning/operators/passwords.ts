/**
 * Operator passwords: argon2id (@node-rs/argon2: prebuilt binaries for linux x64 and arm64, gnu and
 * musl, so nothing compiles on the hub or on an ARM64 box) with the OWASP minimum for argon2id: 19 MiB,
 * 2 passes, 1 lane, about 20-40 ms on this kind of machine. One-time passwords are 20 random characters
 * from an alphabet without look-alikes (about 100 bits).
 */
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';

const ARGON2ID = 2 as Algorithm; // Algorithm.Argon2id (a const enum: isolatedModules cannot read it)
const PARAMS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** What a new password must be: 12 to 256 characters (a passphrase of words is welcome). */
export const PasswordSchema = z.string().min(12, 'at least 12 characters').max(256, 'at most 256 characters');

export function hashPassword(password: string): Promise<string> {
  return hash(password, PARAMS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false; // a malformed stored hash never lets anyone in
  }
}

/** A hash of a password nobody has, verified for unknown accounts so that they take as long as known ones. */
let decoy: Promise<string> | null = null;
export async function verifyDecoy(password: string): Promise<void> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(await decoy, password);
}

const ALPHABET = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A one-time password for a new operator or a reset (must be changed at first login). */
export function oneTimePassword(length = 20): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 256 - (256 % ALPHABET.length) && out.length < length) out += ALPHABET[b % ALPHABET.length];
    }
  }
  return out;
}
