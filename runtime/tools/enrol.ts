/**
 * Templates from enrolment photos: each photo goes through the same pipeline and quality gates as the
 * terminal; a photo that fails a gate is refused with its reasons (too small, eyes closed, side view...).
 */
import { decodeImage } from '../../models/decode';
import type { FacePipeline } from '../../models/pipeline';
import { encodeEmbedding } from '../roster/batch';
import { TerminalError } from '../../core/errors';

export class EnrolmentPhotoError extends TerminalError {
  readonly code = 'enrolment-photo';
  constructor(
    readonly photo: string,
    readonly reasons: readonly string[],
  ) {
    super(`${photo}: ${reasons.join(', ')}`);
  }
}

export interface EnrolledTemplate {
  templateId: string;
  modelId: string;
  embedding: string;
}

/** One template per photo (the largest face). Throws EnrolmentPhotoError for the first bad photo. */
export async function templatesFromPhotos(pipeline: FacePipeline, photos: readonly string[], idPrefix: string): Promise<EnrolledTemplate[]> {
  const out: EnrolledTemplate[] = [];
  for (const [i, photo] of photos.entries()) {
    const faces = await pipeline.process(await decodeImage(photo), { largestOnly: true, liveness: false });
    const f = faces[0];
    if (!f || !f.embedding) throw new EnrolmentPhotoError(photo, ['no face found']);
    if (!f.quality.ok) throw new EnrolmentPhotoError(photo, f.quality.reasons);
    out.push({ templateId: `${idPrefix}-t${i + 1}`, modelId: f.model, embedding: encodeEmbedding(f.embedding) });
  }
  return out;
}
