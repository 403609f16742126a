/**
 * What an update bundle says about itself, as zod schemas shared by the builder
 * (provisioning/update/build.ts) and the terminal (bundle.ts, agent.ts).
 *
 * A bundle is an uncompressed tar holding, in this order:
 *
 *   manifest.json     a SignedEnvelope ({v, body, sig}, runtime/protocol/schemas.ts): `body` is the exact
 *                     JSON text of an UpdateManifest, `sig` Ed25519 over those bytes by the community's
 *                     UPDATE key (never the roster key)
 *   update-key.json   optional: a SignedEnvelope whose body introduces the update key, signed by the
 *                     roster key the terminal already pins (how a terminal provisioned before update keys
 *                     existed learns one; a terminal that pins an update key ignores it)
 *   payload.tar.gz    the files (built runtime, node_modules for the target CPU, models), paths relative
 *                     to the slot; its size and sha256 and every file's size, sha256 and mode are in the
 *                     manifest
 */
import { z } from 'zod';

/** Versions are MAJOR.MINOR.PATCH, compared numerically. */
export const VersionSchema = z.string().regex(/^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/, 'a version MAJOR.MINOR.PATCH');
export type Version = z.infer<typeof VersionSchema>;

export function compareVersions(a: Version, b: Version): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 (64 lower-case hex digits)');

/** CPU names as Node's process.arch spells them (the terminals are arm64; x64 for development machines). */
export const ArchSchema = z.enum(['arm64', 'x64']);
export type Arch = z.infer<typeof ArchSchema>;

/**
 * A path inside a slot: relative, '/'-separated, no '.', '..' or empty segment, no backslash or control
 * character, so that no entry can land outside the slot it is unpacked into.
 */
export const BundlePathSchema = z
  .string()
  .min(1)
  .max(1024)
  // eslint-disable-next-line no-control-regex
  .refine((p) => !/[\u0000-\u001f\u007f\\]/.test(p) && !p.startsWith('/') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'), 'a relative path without ".", ".." or empty segments');

export const BundleFileSchema = z.strictObject({
  path: BundlePathSchema,
  size: z.number().int().nonnegative(),
  sha256,
  /** 0o755 (executable) or 0o644; nothing else is installed. */
  mode: z.union([z.literal(0o755), z.literal(0o644)]),
});
export type BundleFile = z.infer<typeof BundleFileSchema>;

/** The runtime's entry point: every bundle has it (systemd starts current/bin/doorway.js). */
export const ENTRY_POINT = 'bin/doorway.js';
export const PAYLOAD_NAME = 'payload.tar.gz';
export const MANIFEST_NAME = 'manifest.json';
export const ENDORSEMENT_NAME = 'update-key.json';
/** Largest manifest accepted (a runtime with its node_modules lists tens of thousands of files). */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;
export const MAX_ENDORSEMENT_BYTES = 16 * 1024;

export const UpdateManifestSchema = z
  .strictObject({
    v: z.literal(1),
    kind: z.literal('doorway.update'),
    version: VersionSchema,
    /** Installed versions this bundle may replace (exact versions; anything else is refused). */
    replaces: z.array(VersionSchema).min(1).max(100),
    /** The CPU its native addons and Node were built for. */
    arch: ArchSchema,
    platform: z.literal('linux'),
    /** The community it was built for: its name and the sha256 of its CA certificate (DER). */
    community: z.strictObject({ name: z.string().min(1).max(100), caSha256: sha256 }),
    /**
     * The face models the runtime in this bundle uses: the embedding model's id (templates carry it; the
     * matcher never compares templates of another model) and where its model manifest is in the bundle.
     */
    models: z.strictObject({ embed: z.string().min(1).max(128), manifestPath: BundlePathSchema }),
    createdAt: z.number().int().nonnegative(),
    payload: z.strictObject({ name: z.literal(PAYLOAD_NAME), size: z.number().int().nonnegative(), sha256 }),
    files: z.array(BundleFileSchema).min(1).max(200_000),
  })
  .refine((m) => new Set(m.files.map((f) => f.path)).size === m.files.length, 'file paths must be unique')
  .refine((m) => m.files.some((f) => f.path === ENTRY_POINT), `the bundle must hold ${ENTRY_POINT}`)
  .refine((m) => m.files.some((f) => f.path === m.models.manifestPath), 'models.manifestPath must be one of the files')
  .refine((m) => !m.replaces.includes(m.version), 'a version cannot replace itself');
export type UpdateManifest = z.infer<typeof UpdateManifestSchema>;

/**
 * Body of update-key.json: the roster key vouches that `publicKey` is this community's update key.
 * Only a terminal that pins no update key yet uses it (see runtime/update/README.md, "Migration").
 */
export const UpdateKeyEndorsementSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('doorway.update-key'),
  community: z.strictObject({ caSha256: sha256 }),
  /** SPKI PEM of the Ed25519 update key. */
  publicKey: z.string().min(32).max(1024),
  issuedAt: z.number().int().nonnegative(),
});
export type UpdateKeyEndorsement = z.infer<typeof UpdateKeyEndorsementSchema>;
