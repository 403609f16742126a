import { sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { IdSchema } from './ids';

/**
 * A visitor or courier pass: a compact binary payload signed by the hub's roster-signing key (Ed25519),
 * shown as a QR code on a phone. Shared by the hub (which issues) and the terminal (which verifies
 * offline with the key it pins). Nothing personal is in it: the host's label stays in the hub database.
 *
 * Layout (big-endian), then base45 (RFC 9285) behind the prefix `DP1:`, so the whole text is in the QR
 * alphanumeric set (5.5 bits a character):
 *
 *   0   u8    format (1)
 *   1   8     pass id (random)
 *   9   u32   not before (Unix seconds, inclusive)
 *   13  u32   not after (Unix seconds, exclusive)
 *   17  u8    uses (1..255; 0 = any number within the window)
 *   18  u8    number of scope entries (1..8)
 *   19  ...   each entry: u8 (bit 7: 1 = building, 0 = door; bits 0-6: length 1..64), then the id's ASCII
 *   end 64    Ed25519 signature over PASS_DOMAIN followed by every byte before it
 *
 * The domain prefix keeps a pass signature from ever being valid for a roster body or a command signed
 * by the same key (those are JSON text, starting with '{'), and the other way round.
 */

export const PASS_PREFIX = 'DP1:';
export const PASS_FORMAT = 1;
const PASS_DOMAIN = Buffer.from('doorway/pass/v1\0', 'ascii');
const SIG_BYTES = 64;
const HEADER_BYTES = 19;
export const MAX_SCOPE_ENTRIES = 8;

/** 16 lowercase hex digits (64 random bits). */
export const PassIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'pass id: 16 hex digits');
export type PassId = z.infer<typeof PassIdSchema>;

/** Door and building ids: the one identifier rule (ids.ts), as the terminal config spells them. */
const ScopeIdSchema = IdSchema;

/** A pass as decoded from its bytes: parsed by this schema like anything else from outside. */
export const PassSchema = z
  .strictObject({
    format: z.literal(PASS_FORMAT),
    passId: PassIdSchema,
    /** Epoch ms (whole seconds), inclusive. */
    notBefore: z.number().int().nonnegative(),
    /** Epoch ms (whole seconds), exclusive. */
    notAfter: z.number().int().positive(),
    /** 0 = any number of times within the window. */
    uses: z.number().int().min(0).max(255),
    doors: z.array(ScopeIdSchema).max(MAX_SCOPE_ENTRIES),
    buildings: z.array(ScopeIdSchema).max(MAX_SCOPE_ENTRIES),
  })
  .refine((p) => p.notAfter > p.notBefore, 'notAfter must be after notBefore')
  .refine((p) => p.doors.length + p.buildings.length >= 1 && p.doors.length + p.buildings.length <= MAX_SCOPE_ENTRIES, 'one to eight doors or buildings');
export type Pass = z.infer<typeof PassSchema>;

/** What the hub asks to sign (times in epoch ms; rounded down to whole seconds in the payload). */
export type PassFields = Omit<Pass, 'format'>;

/** Why a text is not a usable pass before any rule about doors or time is applied. */
export type PassDecodeFailure = 'garbled' | 'bad-signature';

export type PassDecodeResult =
  | { ok: true; pass: Pass }
  | { ok: false; reason: PassDecodeFailure; passId: PassId | null };

/** Does this QR text claim to be one of our passes? Other QR codes (a parcel label, a URL) are not ours. */
export function isPassText(text: string): boolean {
  return text.startsWith(PASS_PREFIX);
}

/** The payload bytes without the signature. Throws RangeError for fields the layout cannot carry. */
export function passBody(fields: PassFields): Buffer {
  const pass = PassSchema.parse({ format: PASS_FORMAT, ...fields });
  const parts: Buffer[] = [];
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt8(PASS_FORMAT, 0);
  Buffer.from(pass.passId, 'hex').copy(head, 1);
  head.writeUInt32BE(Math.floor(pass.notBefore / 1000), 9);
  head.writeUInt32BE(Math.floor(pass.notAfter / 1000), 13);
  head.writeUInt8(pass.uses, 17);
  head.writeUInt8(pass.doors.length + pass.buildings.length, 18);
  parts.push(head);
  const entry = (building: boolean, id: string): void => {
    const b = Buffer.from(id, 'ascii');
    parts.push(Buffer.from([(building ? 0x80 : 0) | b.length]), b);
  };
  for (const d of pass.doors) entry(false, d);
  for (const b of pass.buildings) entry(true, b);
  return Buffer.concat(parts);
}

/** Signs a pass with the hub's key; returns the QR text (`DP1:` + base45). */
export function encodePass(fields: PassFields, privateKey: KeyObject): string {
  const body = passBody(fields);
  const sig = sign(null, Buffer.concat([PASS_DOMAIN, body]), privateKey);
  return PASS_PREFIX + base45Encode(Buffer.concat([body, sig]));
}

/**
 * Decodes a QR text and checks its signature before reading any field (the layout is only trusted
 * once the hub's key vouches for it). `garbled`: not base45, too short, or a signed payload that does not
 * parse; `bad-signature`: the bytes were not signed by this key (forged, altered, another community).
 */
export function decodePass(text: string, publicKey: KeyObject): PassDecodeResult {
  if (!isPassText(text)) return { ok: false, reason: 'garbled', passId: null };
  const bytes = base45Decode(text.slice(PASS_PREFIX.length));
  if (bytes === null || bytes.length < HEADER_BYTES + 2 + SIG_BYTES) return { ok: false, reason: 'garbled', passId: null };
  const body = bytes.subarray(0, bytes.length - SIG_BYTES);
  const sig = bytes.subarray(bytes.length - SIG_BYTES);
  // The id is read for the report only; it means nothing until the signature holds.
  const claimedId = body.subarray(1, 9).toString('hex');
  let good = false;
  try {
    good = verify(null, Buffer.concat([PASS_DOMAIN, body]), publicKey, sig);
  } catch {
    good = false;
  }
  if (!good) return { ok: false, reason: 'bad-signature', passId: claimedId };
  const fields = parseBody(body);
  if (fields === null) return { ok: false, reason: 'garbled', passId: claimedId };
  const r = PassSchema.safeParse(fields);
  if (!r.success) return { ok: false, reason: 'garbled', passId: claimedId };
  return { ok: true, pass: r.data };
}

function parseBody(body: Buffer): unknown {
  if (body.readUInt8(0) !== PASS_FORMAT) return null;
  const count = body.readUInt8(18);
  const doors: string[] = [];
  const buildings: string[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at >= body.length) return null;
    const tag = body.readUInt8(at++);
    const len = tag & 0x7f;
    if (len === 0 || at + len > body.length) return null;
    const id = body.subarray(at, at + len).toString('latin1');
    at += len;
    ((tag & 0x80) !== 0 ? buildings : doors).push(id);
  }
  if (at !== body.length) return null;
  return {
    format: PASS_FORMAT,
    passId: body.subarray(1, 9).toString('hex'),
    notBefore: body.readUInt32BE(9) * 1000,
    notAfter: body.readUInt32BE(13) * 1000,
    uses: body.readUInt8(17),
    doors,
    buildings,
  };
}

// --- base45 (RFC 9285) ------------------------------------------------------------------------------

const B45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
const B45_INDEX = new Map([...B45].map((c, i) => [c, i]));

export function base45Encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    let n = (bytes[i] ?? 0) * 256 + (bytes[i + 1] ?? 0);
    const c = n % 45;
    n = (n - c) / 45;
    const d = n % 45;
    const e = (n - d) / 45;
    out += (B45[c] ?? '') + (B45[d] ?? '') + (B45[e] ?? '');
  }
  if (bytes.length % 2 === 1) {
    const n = bytes[bytes.length - 1] ?? 0;
    out += (B45[n % 45] ?? '') + (B45[Math.floor(n / 45)] ?? '');
  }
  return out;
}

/** null when the text is not valid base45 (a character outside the set, a bad length, a value overflow). */
export function base45Decode(text: string): Buffer | null {
  if (text.length % 3 === 1) return null;
  const out: number[] = [];
  for (let i = 0; i < text.length; i += 3) {
    const chunk = text.slice(i, i + 3);
    const v = [...chunk].map((c) => B45_INDEX.get(c));
    if (v.some((x) => x === undefined)) return null;
    const [c = 0, d = 0, e = 0] = v as number[];
    if (chunk.length === 3) {
      const n = c + d * 45 + e * 45 * 45;
      if (n > 0xffff) return null;
      out.push(n >> 8, n & 0xff);
    } else {
      const n = c + d * 45;
      if (n > 0xff) return null;
      out.push(n);
    }
  }
  return Buffer.from(out);
}
