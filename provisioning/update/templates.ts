/**
 * A new embedding model means new templates (issue 20, item 4): before a bundle whose runtime embeds
 * with another model is rolled out, the hub makes each active person's templates of that model from
 * their stored enrolment photos, with the bundle's own models (its `models/` and model manifest, checked
 * and unpacked as a terminal would, into a folder removed afterwards). The new templates are added beside
 * the old ones and published: a terminal matches only its own model's (runtime/roster/matcher.ts), so
 * terminals on either runtime recognise the same persons during the rollout.
 *
 * A person whose photos no longer give a template (no photo kept, no face found with the new model) is
 * listed, not changed: the rollout stays refused for them until they are enrolled again or revoked.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeInside } from '../../core/fs';
import { unpackBundle } from '../../runtime/update/bundle';
import { lazyPipelineEnroller, type Enroller } from '../admin/enrol';
import { storedPhotoPaths } from '../admin/persons';
import { withPlainPhotoFiles } from '../photos';
import type { Community } from '../community';
import { FacePipeline } from '../../models/pipeline';
import { checkBundle, publishedBundle } from './bundles';
import { RolloutRefusedError } from './rollouts';

export interface PreparedTemplates {
  version: string;
  /** The bundle's embedding model. */
  model: string;
  /** Persons given templates of it now. */
  added: string[];
  /** Persons that had them already (or have no face templates at all). */
  unchanged: number;
  /** Persons that could not be given any, and why. */
  failed: Array<{ personId: string; reason: string }>;
}

/** Loads an enroller from a bundle's models (the face pipeline by default; tests may pass their own). */
export type EnrollerFromModels = (models: { modelDir: string; manifestPath: string }) => Enroller & { close(): Promise<void> };

const pipelineFromModels: EnrollerFromModels = (m) => lazyPipelineEnroller(() => FacePipeline.load(m));

export async function prepareTemplates(c: Community, o: { version: string; actor: string; now: number; enrollerFrom?: EnrollerFromModels }): Promise<PreparedTemplates> {
  const bundle = publishedBundle(c, o.version);
  if (!bundle) throw new RolloutRefusedError(`no bundle of ${o.version} is published (provision update publish FILE)`);
  const model = bundle.entry.embed;
  const active = c.db.persons({ status: 'active' }).filter((p) => p.templates.length > 0);
  const lacking = active.filter((p) => !p.templates.some((t) => t.modelId === model));
  const result: PreparedTemplates = { version: o.version, model, added: [], unchanged: c.db.persons({ status: 'active' }).length - lacking.length, failed: [] };
  if (lacking.length === 0) return result;

  const work = mkdtempSync(join(tmpdir(), 'doorway-models-'));
  const slot = join(work, 'bundle');
  const enroller = await (async () => {
    const manifest = await checkBundle(c, bundle.file, bundle.entry.arch);
    await unpackBundle(bundle.file, manifest, slot);
    return (o.enrollerFrom ?? pipelineFromModels)({ modelDir: join(slot, 'models'), manifestPath: join(slot, manifest.models.manifestPath) });
  })().catch((e: unknown) => {
    removeInside(tmpdir(), work);
    throw e;
  });
  try {
    for (const p of lacking) {
      const photos = storedPhotoPaths(c, p);
      if (photos.length === 0) {
        result.failed.push({ personId: p.personId, reason: 'no enrolment photo is kept' });
        continue;
      }
      try {
        // template ids name the model by a short digest (model ids hold '/', which template ids may not)
        const made = (await withPlainPhotoFiles(photos, (plain) => enroller.templates(plain, `${p.personId}-m${createHash('sha256').update(model).digest('hex').slice(0, 8)}`))).filter((t) => t.modelId === model);
        if (made.length === 0) throw new Error(`the bundle's pipeline made no template of ${model}`);
        c.db.tx(() => {
          const now = c.db.person(p.personId);
          if (!now || now.status !== 'active') return; // changed meanwhile: left as it is now
          c.db.savePerson({ ...now, templates: [...now.templates.filter((t) => t.modelId !== model), ...made] }, o.now);
          result.added.push(p.personId);
        });
      } catch (e) {
        result.failed.push({ personId: p.personId, reason: (e as Error).message.slice(0, 200) });
      }
    }
  } finally {
    await enroller.close();
    removeInside(tmpdir(), work);
  }
  c.db.audit(o.actor, 'update.templates', o.version, { model, added: result.added.length, failed: result.failed.map((f) => f.personId) }, o.now);
  return result;
}
