/**
 * The hub's shelf of bundles: `update/bundles/doorway-VERSION.bundle` in the community folder, what the
 * bundle server (server.ts) serves and a rollout offers, with NAME.json beside it (what was checked:
 * version, CPU, the versions it replaces, its embedding model, its sha256). A bundle gets there only through
 * `publishBundle` (`provision update publish FILE`, or `update build --publish`), which checks it as a
 * terminal will before accepting it: the update key's signature, this community, the CPU, every file's
 * sha256. A refused bundle leaves the shelf as it was and says why (the terminal's reasons).
 */
import { createPublicKey } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { ensurePrivateDir, writePrivateFile } from '../../core/fs';
import { join } from 'node:path';
import { TerminalError } from '../../core/errors';
import { UpdateRefusedError, verifyBundle } from '../../runtime/update/bundle';
import { z } from 'zod';
import { ArchSchema, VersionSchema, type Arch, type UpdateManifest } from '../../runtime/update/manifest';
import type { UpdateReason } from '../../runtime/protocol/schemas';
import type { Community } from '../community';
import { sha256File } from './build';
import { communityCaSha256, updateKeyPaths } from './keys';

export class BundlePublishError extends TerminalError {
  readonly code = 'bundle-publish';
  constructor(
    /** The terminal's reason for refusing it, or `exists` (another bundle of that version is published), `no-update-key`. */
    readonly reason: UpdateReason | 'exists' | 'no-update-key',
    message: string,
  ) {
    super(message);
  }
}

export function bundlesDir(c: Community): string {
  return join(c.paths.dir, 'update', 'bundles');
}

/** One bundle per version on the shelf (a community's terminals share one CPU: the bundle's `arch`). */
export const bundleFileName = (version: string): string => `doorway-${version}.bundle`;

/** What publishing recorded of a bundle beside it (NAME.json): read by rollouts without opening the bundle. */
export const ShelfEntrySchema = z.strictObject({
  version: VersionSchema,
  arch: ArchSchema,
  replaces: z.array(VersionSchema),
  /** The embedding model of the bundle's runtime (templates of another model are not matched by it). */
  embed: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ShelfEntry = z.infer<typeof ShelfEntrySchema>;

/** The published bundle of `version`, or null. */
export function publishedBundle(c: Community, version: string): { name: string; file: string; entry: ShelfEntry } | null {
  const name = bundleFileName(version);
  const file = join(bundlesDir(c), name);
  if (!existsSync(file) || !existsSync(`${file}.json`)) return null;
  return { name, file, entry: ShelfEntrySchema.parse(JSON.parse(readFileSync(`${file}.json`, 'utf8'))) };
}

/** Versions on the shelf. */
export function publishedVersions(c: Community): string[] {
  const dir = bundlesDir(c);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => /^doorway-(\d+\.\d+\.\d+)\.bundle$/.exec(n)?.[1] ?? []).filter((v) => publishedBundle(c, v) !== null);
}

export interface PublishedBundle {
  name: string;
  file: string;
  manifest: UpdateManifest;
  sha256: string;
  /** The same bundle was on the shelf already (nothing was written). */
  already: boolean;
}

/** Checks `file` as a terminal of `arch` would, with no installed version to compare; refused with its reason. */
export async function checkBundle(c: Community, file: string, arch: Arch): Promise<UpdateManifest> {
  const pub = updateKeyPaths(c).pub;
  if (!existsSync(pub)) throw new BundlePublishError('no-update-key', 'this community has no update key yet (provision update key), so no bundle can be signed by it');
  try {
    return (await verifyBundle(file, { updateKey: createPublicKey(readFileSync(pub)), hubKey: createPublicKey(c.signingPublicKeyPem()), caSha256: communityCaSha256(c) }, { arch, installed: null })).manifest;
  } catch (e) {
    if (e instanceof UpdateRefusedError) throw new BundlePublishError(e.reason, `${e.reason}: ${e.message}`);
    throw e;
  }
}

/** Checks `file` (checkBundle), then puts it on the shelf. */
export async function publishBundle(c: Community, file: string, o: { arch: Arch; actor: string; now: number }): Promise<PublishedBundle> {
  const manifest = await checkBundle(c, file, o.arch);
  const sha256 = await sha256File(file);
  const name = bundleFileName(manifest.version);
  const dir = bundlesDir(c);
  const dest = join(dir, name);
  if (existsSync(dest)) {
    if ((await sha256File(dest)) === sha256) return { name, file: dest, manifest, sha256, already: true };
    throw new BundlePublishError('exists', `another bundle of ${manifest.version} is published already (${name}); a version is never replaced: build a new one`);
  }
  ensurePrivateDir(dir);
  const part = `${dest}.part`;
  try {
    copyFileSync(file, part);
    chmodSync(part, 0o600); // a copy takes the source's mode
    if ((await sha256File(part)) !== sha256) throw new BundlePublishError('file-mismatch', `${file} changed while it was copied`);
    const entry: ShelfEntry = { version: manifest.version, arch: manifest.arch, replaces: manifest.replaces, embed: manifest.models.embed, sha256 };
    writePrivateFile(`${dest}.json`, `${JSON.stringify(entry, null, 2)}\n`);
    renameSync(part, dest);
  } finally {
    rmSync(part, { force: true });
  }
  c.db.audit(o.actor, 'update.publish', manifest.version, { bundle: name, arch: manifest.arch, replaces: manifest.replaces, embed: manifest.models.embed, sha256 }, o.now);
  return { name, file: dest, manifest, sha256, already: false };
}
