/**
 * The community passphrase as the built-in root operator, without sending the passphrase to the hub.
 *
 * `provision init` (or the first `ensureRootKey`) makes an Ed25519 key kept in hub/root-auth.key,
 * encrypted under the passphrase like every key in the folder, and its public half hub/root-auth.pub.
 * A client that knows the passphrase (the `provision` command line) unlocks the key and signs, for each
 * request, a token that names the method, the path, a random nonce and an expiry at most
 * `rootTokenMaxAgeMs` (60 s) away: `Authorization: DoorwayRoot <payload>.<signature>`. The hub checks the
 * signature with the public half only, the method and path, the expiry, and that the nonce was not seen
 * (a replay within the minute is refused). A token captured from a request therefore opens nothing
 * else and nothing later; the passphrase never crosses the network. The key is separate from the roster
 * key (hub/signing.key): the terminals trust that one, and a signature made for one purpose must never
 * be valid for the other. The signed bytes start with a purpose string for the same reason.
 */
import { createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Clock } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import type { Community } from '../community';
import { loadKey, newKey, writePrivate } from '../pki';

export class RootTokenError extends TerminalError {
  readonly code = 'root-token';
}

const PURPOSE = 'doorway-root-request-v1\n';
export const ROOT_AUTH_SCHEME = 'DoorwayRoot';

export function rootKeyPaths(c: Community): { key: string; pub: string } {
  return { key: join(c.paths.dir, 'hub', 'root-auth.key'), pub: join(c.paths.dir, 'hub', 'root-auth.pub') };
}

/** The root request key (made when missing: a community from before operators); returns the private key. */
export function ensureRootKey(c: Community, passphrase: string): KeyObject {
  const p = rootKeyPaths(c);
  if (!existsSync(p.key)) {
    c.checkPassphrase(passphrase);
    writePrivate(p.key, newKey('ed25519', passphrase));
  }
  const key = loadKey(p.key, passphrase);
  if (!existsSync(p.pub)) writePrivate(p.pub, createPublicKey(key).export({ type: 'spki', format: 'pem' }));
  return key;
}

export function rootPublicKey(c: Community): KeyObject | null {
  const p = rootKeyPaths(c);
  return existsSync(p.pub) ? createPublicKey(readFileSync(p.pub)) : null;
}

const PayloadSchema = z.strictObject({
  v: z.literal(1),
  method: z.string().regex(/^[A-Z]{3,7}$/),
  path: z.string().min(1).max(2000),
  iat: z.number().int(),
  exp: z.number().int(),
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
});

const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** A token for one request (`path` without the query string). */
export function signRootToken(key: KeyObject, req: { method: string; path: string }, now: number, ttlMs = 30_000): string {
  const payload = b64(JSON.stringify({ v: 1, method: req.method.toUpperCase(), path: req.path, iat: now, exp: now + ttlMs, nonce: randomBytes(18).toString('base64url') }));
  return `${payload}.${b64(sign(null, Buffer.from(PURPOSE + payload), key))}`;
}

/** Checks tokens against the public key; remembers nonces until their tokens expire. */
export class RootTokenVerifier {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly publicKey: KeyObject | null,
    private readonly clock: Clock,
    private readonly maxAgeMs: number,
  ) {}

  verify(token: string, req: { method: string; path: string }): void {
    if (!this.publicKey) throw new RootTokenError('this community has no root request key yet (run any provision command with the passphrase)');
    const [payload, sig, extra] = token.split('.');
    if (!payload || !sig || extra !== undefined) throw new RootTokenError('malformed root token');
    if (!verify(null, Buffer.from(PURPOSE + payload), this.publicKey, Buffer.from(sig, 'base64url'))) throw new RootTokenError('bad root token signature');
    let p: z.infer<typeof PayloadSchema>;
    try {
      p = PayloadSchema.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    } catch {
      throw new RootTokenError('malformed root token');
    }
    const now = this.clock.now();
    if (p.method !== req.method.toUpperCase() || p.path !== req.path) throw new RootTokenError('root token is for another request');
    if (p.exp <= now || p.iat > now + 5000 || p.exp - p.iat > this.maxAgeMs) throw new RootTokenError('root token expired or too long-lived');
    for (const [n, exp] of this.seen) if (exp <= now) this.seen.delete(n);
    if (this.seen.has(p.nonce)) throw new RootTokenError('root token replayed');
    this.seen.set(p.nonce, p.exp);
  }
}
