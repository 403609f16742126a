/**
 * Enrolment: photos go through the terminal's own pipeline and quality gates
 * (runtime/tools/enrol.ts); a poor photo is refused with its reasons. Every photo must be a readable
 * file before any enrolment work starts.
 */
import { statSync } from 'node:fs';
import type { FacePipeline } from '../../models/pipeline';
import { TerminalError } from '../../core/errors';
import type { TemplateIn } from '../../runtime/roster/batch';
import { printable } from '../../runtime/protocol/ids';
import { templatesFromPhotos } from '../../runtime/tools/enrol';

/** Bad input to a person operation (a photo, a date, an hour, a CSV file): nothing was changed. */
export class PersonAdminError extends TerminalError {
  readonly code = 'person-admin';
}

/** Anything that turns photos into templates (FacePipeline through templatesFromPhotos; tests may pass their own). */
export interface Enroller {
  templates(photos: readonly string[], idPrefix: string): Promise<TemplateIn[]>;
}

export function pipelineEnroller(pipeline: FacePipeline): Enroller {
  return { templates: (photos, idPrefix) => templatesFromPhotos(pipeline, photos, idPrefix) };
}

/**
 * An Enroller that loads the face pipeline on its first use, so input refused before enrolment (a bad
 * id, a missing photo, a bad date) never waits for the models. `close()` releases it if it was loaded.
 */
export function lazyPipelineEnroller(load: () => Promise<FacePipeline>): Enroller & { close(): Promise<void> } {
  let pipeline: Promise<FacePipeline> | null = null;
  return {
    async templates(photos, idPrefix) {
      pipeline ??= load();
      return templatesFromPhotos(await pipeline, photos, idPrefix);
    },
    async close() {
      if (pipeline) await (await pipeline).close();
    },
  };
}

/** Every photo must be a readable file before any enrolment work starts. */
export function checkPhotos(photos: readonly string[]): void {
  if (photos.length === 0) throw new PersonAdminError('give at least one --photo');
  if (photos.length > 64) throw new PersonAdminError('at most 64 photos per person');
  for (const p of photos) {
    let ok = false;
    let why = 'not a file';
    try {
      ok = statSync(p).isFile();
    } catch (e) {
      why = (e as NodeJS.ErrnoException).code ?? 'cannot be read';
    }
    if (!ok) throw new PersonAdminError(`photo ${printable(p, 200)} cannot be read (${why})`);
  }
}

