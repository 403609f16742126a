import type { KeyObject } from 'node:crypto';
import type { z } from 'zod';
import { TerminalError } from '../../core/errors';
import { MAX_PAYLOAD_BYTES } from './limits';
import { SignedEnvelopeSchema } from './schemas';
import { verifyEnvelope } from './signing';

/** Why an incoming message was refused; used as a counter key and in logs (never the payload). */
export type RejectReason =
  | 'too-large'
  | 'bad-json'
  | 'schema'
  | 'signature'
  | 'unknown-topic'
  | 'stale-version'
  /** Roster data from an older epoch than the one held, or from before epochs once one is held. */
  | 'stale-epoch'
  | 'wrong-terminal'
  | 'expired'
  | 'replayed-nonce'
  | 'retained'
  | 'snapshot-invalid'
  | 'store-refused'
  /** Roster data for a terminal wiped by the hub, before the hub ordered a resync. */
  | 'roster-held'
  /** A snapshot chunk staged on disk no longer authenticated (altered file, rotated device secret). */
  | 'staged-chunk-unreadable'
  /** A renewed certificate that is not for this terminal, its CA or its key, not valid now, or older. */
  | 'certificate-refused'
  /** Roster data not sealed to this terminal while it holds a roster key, or a sealed box that does not open. */
  | 'roster-unsealed';

/** An incoming MQTT payload was refused. `reason` is stable; the message never quotes the payload. */
export class ProtocolRejectError extends TerminalError {
  readonly code = 'protocol-reject';

  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    super(`message rejected (${reason}): ${detail}`);
  }
}

/** Default limit on one payload: the protocol's (runtime/protocol/limits.ts), which the brokers enforce too. */
export const DEFAULT_MAX_PAYLOAD_BYTES = MAX_PAYLOAD_BYTES;

function firstIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`)
    .join('; ');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolRejectError('bad-json', 'not valid JSON');
  }
}

/** Size check, JSON parse and schema check of an unsigned payload. */
export function decodePlain<S extends z.ZodType>(payload: Buffer, schema: S, maxBytes: number): z.infer<S> {
  if (payload.length > maxBytes) throw new ProtocolRejectError('too-large', `${payload.length} bytes > ${maxBytes}`);
  const raw = parseJson(payload.toString('utf8'));
  const r = schema.safeParse(raw);
  if (!r.success) throw new ProtocolRejectError('schema', firstIssues(r.error));
  return r.data;
}

/**
 * Size check, envelope parse, Ed25519 verification of the exact body bytes against the pinned key,
 * then body parse and schema check. Nothing is parsed from the body before the signature holds.
 */
export function decodeSigned<S extends z.ZodType>(
  payload: Buffer,
  schema: S,
  publicKey: KeyObject,
  maxBytes: number,
): z.infer<S> {
  const env = decodePlain(payload, SignedEnvelopeSchema, maxBytes);
  if (!verifyEnvelope(env, publicKey)) throw new ProtocolRejectError('signature', 'Ed25519 signature does not verify');
  const r = schema.safeParse(parseJson(env.body));
  if (!r.success) throw new ProtocolRejectError('schema', firstIssues(r.error));
  return r.data;
}

/** Validate with a caller-supplied schema (roster batch, snapshot item), mapping failure to a reject. */
export function checkWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ProtocolRejectError('schema', `${what}: ${firstIssues(r.error)}`);
  return r.data;
}
