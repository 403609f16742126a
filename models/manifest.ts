/**
 * The contract of every model file: where it comes from (npm package, exact version, path in the
 * tarball), its sha256, its input name and shape, and what its outputs mean. The JSON beside this file
 * is the single source; it is parsed with zod at start-up and by the fetch step.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../core/errors';
import type { RegistryFile } from './registry';

export const ModelRoleSchema = z.enum(['detect', 'landmarks', 'embed', 'liveness', 'eye', 'pose']);
export type ModelRole = z.infer<typeof ModelRoleSchema>;

const TensorSpecSchema = z.strictObject({
  name: z.string().min(1),
  shape: z.array(z.number().int().positive()).min(1),
});

export const ModelEntrySchema = z.strictObject({
  role: ModelRoleSchema,
  id: z.string().min(1),
  source: z.strictObject({
    package: z.string().min(1),
    version: z.string().regex(/^\d+\.\d+\.\d+$/),
    path: z.string().min(1),
  }),
  file: z.string().regex(/^[\w.-]+\.onnx$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  input: TensorSpecSchema,
  outputs: z.array(TensorSpecSchema.extend({ meaning: z.string().min(1) })).min(1),
  preprocess: z.string().min(1),
});
export type ModelEntry = z.infer<typeof ModelEntrySchema>;

export const ManifestSchema = z
  .strictObject({ schema: z.literal(1), models: z.array(ModelEntrySchema) })
  .refine((m) => ModelRoleSchema.options.every((r) => m.models.filter((x) => x.role === r).length === 1), {
    message: 'each role (detect, landmarks, embed, liveness, eye, pose) must appear exactly once',
  });
export type Manifest = z.infer<typeof ManifestSchema>;

export const MANIFEST_PATH = join(__dirname, 'manifest.json');

/** Default cache folder for model files (git-ignored); DOORWAY_MODEL_DIR overrides it. */
export function defaultModelDir(): string {
  return process.env['DOORWAY_MODEL_DIR'] ?? resolve(__dirname, '..', '.cache', 'models');
}

export function loadManifest(path = MANIFEST_PATH): Manifest {
  const raw: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidInputError(
      `model manifest ${path}`,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  return parsed.data;
}

export function entry(manifest: Manifest, role: ModelRole): ModelEntry {
  const e = manifest.models.find((m) => m.role === role);
  if (!e) throw new InvalidInputError('model manifest', [`no model with role ${role}`]);
  return e;
}

export function registryFiles(manifest: Manifest): RegistryFile[] {
  return manifest.models.map((m) => ({
    package: m.source.package,
    version: m.source.version,
    path: m.source.path,
    sha256: m.sha256,
    file: m.file,
  }));
}
