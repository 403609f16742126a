import { generateKeyPairSync } from 'node:crypto';
import { z } from 'zod';
import { decodePlain, decodeSigned, ProtocolRejectError, type RejectReason } from '../../../runtime/protocol/codec';
import { AcksMessageSchema, CommandBodySchema, RosterBodySchema } from '../../../runtime/protocol/schemas';
import { generateSigningKeyPair, loadPublicKey, signBody } from '../../../runtime/protocol/signing';

const keys = generateSigningKeyPair();
const other = generateSigningKeyPair();

function reason(fn: () => unknown): RejectReason | 'none' {
  try {
    fn();
    return 'none';
  } catch (e) {
    if (e instanceof ProtocolRejectError) return e.reason;
    throw e;
  }
}

const delta = { v: 1, kind: 'roster.delta', version: 4, batch: { anything: true } };

test('a signed body verifies against the pinned key and parses to its schema', () => {
  const payload = Buffer.from(signBody(delta, keys.privateKey));
  expect(decodeSigned(payload, RosterBodySchema, keys.publicKey, 1e6)).toEqual(delta);
});

test('the signature covers the exact body text: the same data written differently does not verify', () => {
  const env = JSON.parse(signBody(delta, keys.privateKey)) as { body: string };
  const respaced = JSON.stringify({ ...env, body: JSON.stringify(delta, null, 1) });
  expect(reason(() => decodeSigned(Buffer.from(respaced), RosterBodySchema, keys.publicKey, 1e6))).toBe('signature');
});

test('another key, a bit flip in the signature and a missing signature are rejected', () => {
  const p = signBody(delta, other.privateKey);
  expect(reason(() => decodeSigned(Buffer.from(p), RosterBodySchema, keys.publicKey, 1e6))).toBe('signature');
  const env = JSON.parse(signBody(delta, keys.privateKey)) as { v: number; body: string; sig: string };
  const flipped = { ...env, sig: (env.sig[0] === 'A' ? 'B' : 'A') + env.sig.slice(1) };
  expect(reason(() => decodeSigned(Buffer.from(JSON.stringify(flipped)), RosterBodySchema, keys.publicKey, 1e6))).toBe('signature');
  expect(reason(() => decodeSigned(Buffer.from(JSON.stringify({ v: 1, body: env.body })), RosterBodySchema, keys.publicKey, 1e6))).toBe('schema');
});

test('size is checked before anything is parsed', () => {
  const p = Buffer.from(signBody(delta, keys.privateKey));
  expect(reason(() => decodeSigned(p, RosterBodySchema, keys.publicKey, p.length - 1))).toBe('too-large');
  expect(reason(() => decodePlain(Buffer.alloc(10 * 1024 * 1024, 0x7b), AcksMessageSchema, 4 * 1024 * 1024))).toBe('too-large');
});

test('bad JSON, unknown fields and an unknown schema version are rejected', () => {
  const id = '01HZY0000000000000000000AB';
  expect(reason(() => decodePlain(Buffer.from('{"v":1,'), AcksMessageSchema, 1e6))).toBe('bad-json');
  expect(reason(() => decodePlain(Buffer.from(JSON.stringify({ v: 1, ids: [id], more: 1 })), AcksMessageSchema, 1e6))).toBe('schema');
  expect(reason(() => decodePlain(Buffer.from(JSON.stringify({ v: 2, ids: [id] })), AcksMessageSchema, 1e6))).toBe('schema');
  expect(decodePlain(Buffer.from(JSON.stringify({ v: 1, ids: [id] })), AcksMessageSchema, 1e6)).toEqual({ v: 1, ids: [id] });
  const cmd = signBody({ v: 1, kind: 'command', terminalId: 'd', nonce: 'n'.repeat(16), issuedAt: 1, expiresAt: 2, command: { type: 'open' } }, keys.privateKey);
  expect(reason(() => decodeSigned(Buffer.from(cmd), CommandBodySchema, keys.publicKey, 1e6))).toBe('schema');
});

test('an error message names the failing field but never quotes the value', () => {
  try {
    decodePlain(Buffer.from(JSON.stringify({ secret: 'SECRET-VALUE' })), z.strictObject({ a: z.string() }), 1e6);
    throw new Error('no error');
  } catch (e) {
    expect(String(e)).not.toContain('SECRET-VALUE');
    expect(String(e)).toContain('schema');
  }
});

test('a public key in PEM form loads and a non-Ed25519 key is refused', () => {
  const pem = keys.publicKey.export({ type: 'spki', format: 'pem' });
  expect(loadPublicKey(pem).asymmetricKeyType).toBe('ed25519');
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  expect(() => loadPublicKey(ec.publicKey)).toThrow(TypeError);
});
