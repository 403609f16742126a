/**
 * Roster messages sealed to one terminal (issue 16): what the hub sends on `hub/<id>/roster` (deltas,
 * catch-ups, snapshot chunks) is encrypted with that terminal's roster key, a random 32-byte key the
 * hub creates with the terminal and delivers in its bundle (`roster.key`, 0600), so that neither the
 * broker's persistence nor another terminal can read a template.
 *
 * The roster body (a RosterDelta or RosterSnapshotChunk as JSON text) is encrypted with AES-256-GCM
 * (the Sealer of runtime/roster/crypto.ts: fresh 96-bit nonce, nonce | ciphertext | tag) and the
 * message's other fields (`v`, `kind`, `to`) bound as associated data; the hub then signs the sealed
 * message as it signs any roster body (runtime/protocol/signing.ts), so the signature covers exactly
 * what is sent. A terminal verifies the signature first, then opens the box with its own key only
 * when the box names it; a box for another terminal, or one that does not open, changes nothing.
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { z } from 'zod';
import { TerminalError } from '../../core/errors';
import { Sealer, SealError } from '../roster/crypto';
import { decodeSigned, ProtocolRejectError } from './codec';
import { MAX_PAYLOAD_BYTES } from './limits';
import { RosterDeltaSchema, RosterSnapshotChunkSchema, SCHEMA_VERSION, TerminalIdSchema, type RosterBody } from './schemas';

/** The roster key file is missing, not 32 bytes, not a file, or readable by group or others. */
export class RosterKeyError extends TerminalError {
  readonly code = 'roster-key';
}

export const ROSTER_KEY_BYTES = 32;

export const RosterSealedSchema = z.strictObject({
  v: z.literal(SCHEMA_VERSION),
  kind: z.literal('roster.sealed'),
  /** The terminal whose roster key opens it. */
  to: TerminalIdSchema,
  /** base64 of nonce | ciphertext | GCM tag. */
  ct: z.base64().min(40).max(MAX_PAYLOAD_BYTES),
});
export type RosterSealed = z.infer<typeof RosterSealedSchema>;

/** What a roster topic carries once the signature holds: a sealed box or (from a hub fed by hand, or before sealing) a plain body. */
export const RosterWireSchema = z.discriminatedUnion('kind', [RosterDeltaSchema, RosterSnapshotChunkSchema, RosterSealedSchema]);
export type RosterWire = z.infer<typeof RosterWireSchema>;

function aad(v: number, to: string): string {
  return `doorway/roster-sealed/v1|${v}|roster.sealed|${to}`;
}

/** A roster key from its 32 raw bytes (the caller wipes the bytes). */
export function rosterKeyOf(raw: Uint8Array): KeyObject {
  if (raw.length !== ROSTER_KEY_BYTES) throw new RosterKeyError(`a roster key is ${ROSTER_KEY_BYTES} bytes, not ${raw.length}`);
  return createSecretKey(raw);
}

/** Seals one roster body (the exact JSON text the terminal will parse) to terminal `to`. */
export function sealRosterBody(bodyText: string, to: string, key: KeyObject): RosterSealed {
  const ct = new Sealer(key).seal(Buffer.from(bodyText, 'utf8'), aad(SCHEMA_VERSION, to));
  return { v: SCHEMA_VERSION, kind: 'roster.sealed', to, ct: ct.toString('base64') };
}

/**
 * The roster body inside a verified sealed message for `terminalId`, parsed and checked; a box for
 * another terminal or one that does not open with `key` is refused (`roster-unsealed`).
 */
export function openRosterBody(msg: RosterSealed, terminalId: string, key: KeyObject): RosterBody {
  if (msg.to !== terminalId) throw new ProtocolRejectError('wrong-terminal', 'roster sealed to another terminal');
  let text: string;
  try {
    text = new Sealer(key).open(Buffer.from(msg.ct, 'base64'), aad(msg.v, msg.to)).toString('utf8');
  } catch (e) {
    if (e instanceof SealError) throw new ProtocolRejectError('roster-unsealed', 'sealed roster does not open with this terminal\'s key');
    throw e;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ProtocolRejectError('bad-json', 'sealed roster body is not JSON');
  }
  const r = z.discriminatedUnion('kind', [RosterDeltaSchema, RosterSnapshotChunkSchema]).safeParse(raw);
  if (!r.success) throw new ProtocolRejectError('schema', 'sealed roster body');
  return r.data;
}

/**
 * Reads a terminal's roster key file once, checking on the open descriptor that it is a regular file
 * that neither group nor others may read, and holds exactly 32 bytes; the bytes are wiped.
 */
export function loadRosterKeyFile(path: string): KeyObject {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new RosterKeyError('roster key file cannot be opened', { cause: e });
  }
  const buf = Buffer.alloc(ROSTER_KEY_BYTES + 1);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new RosterKeyError('roster key path is not a regular file');
    if ((st.mode & 0o077) !== 0) throw new RosterKeyError(`roster key file mode ${(st.mode & 0o777).toString(8)} allows group/other access; chmod 600 it`);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return rosterKeyOf(buf.subarray(0, n));
  } finally {
    buf.fill(0);
    closeSync(fd);
  }
}

/**
 * A roster message as a terminal receives it: the signature checked first (decodeSigned), then, for a
 * terminal holding a roster key, the box opened; a plain body is refused by such a terminal (fail
 * closed: a hub that should seal never sends one). A terminal without a key (a bundle from before
 * sealing, a hub fed by hand) takes plain bodies and cannot open a box.
 */
export function decodeRoster(payload: Buffer, hubPublicKey: KeyObject, maxBytes: number, terminalId: string, rosterKey: KeyObject | null): RosterBody {
  const msg = decodeSigned(payload, RosterWireSchema, hubPublicKey, maxBytes);
  if (msg.kind !== 'roster.sealed') {
    if (rosterKey !== null) throw new ProtocolRejectError('roster-unsealed', 'roster data not sealed to this terminal');
    return msg;
  }
  if (rosterKey === null) throw new ProtocolRejectError('roster-unsealed', 'sealed roster but this terminal has no roster key');
  return openRosterBody(msg, terminalId, rosterKey);
}
