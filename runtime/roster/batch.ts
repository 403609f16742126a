import { z } from 'zod';
import { IdSchema } from '../protocol/ids';
import { PassIdSchema } from '../protocol/pass';

/**
 * Roster changes as the hub sends them (inside a signed MQTT envelope, see runtime/protocol). Plain
 * JSON: embeddings are base64 of little-endian float32 values, instants are ISO 8601 with offset.
 */

/** Template ids are keys inside the roster only (never a path or topic); they embed the person id. */
const TemplateId = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:@-]+$/, 'letters, digits and . _ : @ - only');

/**
 * A person id as hubs wrote them before the identifier rule (runtime/protocol/ids.ts): accepted only
 * where a person is revoked, so a terminal can still delete a person it may hold from then. A
 * revocation deletes; it never names a file, topic or certificate.
 */
export const RevokedPersonIdSchema = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:@-]+$/, 'letters, digits and . _ : @ - only');
const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'HH:MM, 00:00 to 24:00');

/**
 * A weekly window in the door's local time (the door's IANA time zone). Days are ISO weekdays
 * (1 = Monday .. 7 = Sunday) on which the window starts; start inclusive, end exclusive. An end at or
 * before the start crosses midnight into the next day (22:00-06:00).
 */
export const WeeklyWindowSchema = z.strictObject({
  days: z.array(z.number().int().min(1).max(7)).min(1).max(7),
  start: HHMM,
  end: HHMM,
});

/**
 * Where and when a person may enter: any listed door or any door of a listed building, from
 * validFrom (inclusive) to validUntil (exclusive), within any window (no windows = at any time).
 */
export const AuthorisationSchema = z.strictObject({
  doorIds: z.array(IdSchema).max(1000).default([]),
  buildingIds: z.array(IdSchema).max(1000).default([]),
  validFrom: z.iso.datetime({ offset: true }).optional(),
  validUntil: z.iso.datetime({ offset: true }).optional(),
  windows: z.array(WeeklyWindowSchema).max(50).optional(),
});

/**
 * Adapted templates (issue 17: learnt at a door from a confident capture, checked by the hub against
 * the enrolment) are named `adapted:<personId>:<ULID of when they were learnt>` and marked `adapted`;
 * a terminal gives them the match-time floor (runtime/roster/adaptation.ts), never the weight of an
 * enrolled template. Enrolled templates never carry the prefix.
 */
export const ADAPTED_PREFIX = 'adapted:';

export function isAdaptedTemplateId(templateId: string): boolean {
  return templateId.startsWith(ADAPTED_PREFIX);
}

export function adaptedTemplateId(personId: string, ulid: string): string {
  return `${ADAPTED_PREFIX}${personId}:${ulid}`;
}

export const TemplateSchema = z
  .strictObject({
    templateId: TemplateId,
    modelId: z.string().min(1).max(128),
    embedding: z.base64().max(64 * 1024),
    /** An adapted template (see ADAPTED_PREFIX); absent for an enrolled one. */
    adapted: z.literal(true).optional(),
  })
  .refine((t) => (t.adapted === true) === isAdaptedTemplateId(t.templateId), { path: ['templateId'], message: 'an adapted template, and only one, is named adapted:<personId>:<id>' });

/** An alert category such as missing-person: the one identifier rule. */
export const TagSchema = IdSchema;

/** A credential digest (runtime/access/digest.ts): base64 of 32 bytes. Never a card number or a PIN. */
export const CredentialDigestSchema = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'base64 of a 32-byte digest');

/**
 * A person's non-face credentials, as keyed slow hashes computed by the hub (runtime/access/digest.ts):
 * card digests, the PIN's, and a duress PIN's (opens the door and raises a silent alarm).
 */
export const CredentialsSchema = z.strictObject({
  cards: z.array(CredentialDigestSchema).max(8).default([]),
  pin: CredentialDigestSchema.optional(),
  duressPin: CredentialDigestSchema.optional(),
});

/** A person as a whole: an upsert replaces every template, authorisation, tag and credential of the person. */
export const PersonUpsertSchema = z.strictObject({
  personId: IdSchema,
  label: z.string().max(200).optional(),
  templates: z.array(TemplateSchema).max(64),
  authorisations: z.array(AuthorisationSchema).max(100).default([]),
  tags: z.array(TagSchema).max(20).default([]),
  credentials: CredentialsSchema.optional(),
});

/**
 * A visitor pass revoked before its end (runtime/protocol/pass.ts). `notAfter` (epoch ms) is the end of
 * the pass's validity: after it the pass is refused as expired anyway, so the entry can be forgotten.
 */
export const PassRevocationSchema = z.strictObject({
  passId: PassIdSchema,
  notAfter: z.number().int().positive(),
});

/** One delta: applied whole or not at all, only onto roster version `version - 1`. */
export const RosterBatchSchema = z.strictObject({
  version: z.number().int().positive(),
  upserts: z.array(PersonUpsertSchema).default([]),
  revocations: z.array(RevokedPersonIdSchema).default([]),
  passRevocations: z.array(PassRevocationSchema).max(10_000).default([]),
});

/**
 * A full roster: replaces everything; `revoked` keeps tombstones so a revoked face is told apart.
 * Version 0 is the empty roster of a hub that has published nothing yet in a new epoch.
 */
export const RosterSnapshotSchema = z.strictObject({
  version: z.number().int().nonnegative(),
  persons: z.array(PersonUpsertSchema),
  revoked: z.array(RevokedPersonIdSchema).default([]),
  revokedPasses: z.array(PassRevocationSchema).default([]),
});

export type PassRevocation = z.infer<typeof PassRevocationSchema>;
export type Credentials = z.infer<typeof CredentialsSchema>;
export type WeeklyWindowIn = z.infer<typeof WeeklyWindowSchema>;
export type AuthorisationIn = z.infer<typeof AuthorisationSchema>;
export type TemplateIn = z.infer<typeof TemplateSchema>;
export type PersonUpsert = z.infer<typeof PersonUpsertSchema>;
export type RosterBatch = z.infer<typeof RosterBatchSchema>;
export type RosterSnapshot = z.infer<typeof RosterSnapshotSchema>;
/** What a sender writes (defaults not yet applied). */
export type RosterBatchInput = z.input<typeof RosterBatchSchema>;
export type RosterSnapshotInput = z.input<typeof RosterSnapshotSchema>;

/** base64 of the float32 little-endian bytes of an embedding (for senders and tests). */
export function encodeEmbedding(v: Float32Array): string {
  const b = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i] ?? 0, i * 4);
  return b.toString('base64');
}

/** The inverse of encodeEmbedding; null when the bytes are not a finite, non-zero float32 vector. */
export function decodeEmbedding(b64: string): Float32Array | null {
  const b = Buffer.from(b64, 'base64');
  return embeddingFromBytes(b);
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export function embeddingFromBytes(b: Uint8Array): Float32Array | null {
  if (b.length === 0 || b.length % 4 !== 0) return null;
  const v = new Float32Array(b.length / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(v.buffer).set(b);
  } else {
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < v.length; i++) v[i] = view.getFloat32(i * 4, true);
  }
  let sq = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] ?? NaN;
    if (!Number.isFinite(x)) return null;
    sq += x * x;
  }
  return sq > 0 ? v : null;
}
