/**
 * Enrolment from the identity document's photo with the app's selfies (issue 17 item 4). The real-name
 * check gives the document's photo with a `verified` verdict (realname.ts); the registration keeps it in
 * the pending person's own photo folder (photos/<key>/0-0.jpg, encrypted at rest like every photo
 * (photos.ts), 0600: deleted with the folder when the
 * registration is rejected or the person revoked; never sent to a door). On approval the hub enrols it
 * only if every pair of the person's photos agrees: the ID photo with each selfie at least
 * AGREEMENT.idPhoto, each pair of selfies at least AGREEMENT.selfies (runtime/tools/enrol.ts, measured by
 * `npm run eval:id-photo`); otherwise the approval is refused naming the pairs, and nothing is stored.
 * The ID photo's template is stored as an enrolled template, next to the selfies' ones.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TerminalError } from '../../core/errors';
import { cosine } from '../../models/embedder';
import { decodeEmbedding, type TemplateIn } from '../../runtime/roster/batch';
import { AGREEMENT } from '../../runtime/tools/enrol';
import type { Enroller } from '../admin/enrol';
import type { Community } from '../community';
import type { PersonRecord } from '../db';
import { PhotoKeySchema, withPlainPhotoFiles, writePhoto } from '../photos';
import type { IdPhoto } from './realname';

/** One pair of a person's photos that does not agree enough: photos are named "ID photo" or "selfie N" (1-based). */
export interface Disagreement {
  a: string;
  b: string;
  kind: 'id-photo-with-selfie' | 'selfie-with-selfie';
  similarity: number;
  threshold: number;
}

/** The ID photo and the selfies do not all show one person: the pairs below their threshold. Nothing was stored. */
export class EnrolmentDisagreementError extends TerminalError {
  readonly code = 'enrolment-disagreement';
  constructor(readonly pairs: readonly Disagreement[]) {
    super(`the photos do not all show the same person: ${pairs.map((p) => `${p.a} and ${p.b} (${p.similarity.toFixed(3)} < ${p.threshold})`).join('; ')}`);
  }
}

const NAMES = ['0-0.jpg', '0-0.png'] as const;

/** Keeps the document's photo in the person's folder (replacing one kept before). */
export function saveIdPhoto(c: Community, photoKey: string, photo: IdPhoto): void {
  writePhoto(c.paths.photosDir, PhotoKeySchema.parse(photoKey), photo.contentType === 'image/png' ? '0-0.png' : '0-0.jpg', photo.data);
}

/** The person's kept ID photo, or null. */
export function idPhotoFile(c: Community, photoKey: string): string | null {
  for (const n of NAMES) {
    const f = join(c.paths.photosDir, PhotoKeySchema.parse(photoKey), n);
    if (existsSync(f)) return f;
  }
  return null;
}

/** Every pair below its threshold: the ID photo (when given) with each selfie, and each pair of selfies. */
export function disagreements(idPhoto: Float32Array | null, selfies: readonly Float32Array[]): Disagreement[] {
  const out: Disagreement[] = [];
  selfies.forEach((s, i) => {
    if (idPhoto) {
      const sim = cosine(idPhoto, s);
      if (sim < AGREEMENT.idPhoto) out.push({ a: 'ID photo', b: `selfie ${i + 1}`, kind: 'id-photo-with-selfie', similarity: sim, threshold: AGREEMENT.idPhoto });
    }
    for (let j = i + 1; j < selfies.length; j++) {
      const sim = cosine(s, selfies[j] as Float32Array);
      if (sim < AGREEMENT.selfies) out.push({ a: `selfie ${i + 1}`, b: `selfie ${j + 1}`, kind: 'selfie-with-selfie', similarity: sim, threshold: AGREEMENT.selfies });
    }
  });
  return out;
}

/**
 * The ID photo's template for a pending person whose selfies are enrolled already: through the same
 * pipeline and quality gates (EnrolmentPhotoError for a bad photo), then the agreement check
 * (EnrolmentDisagreementError). Named `<personId>-id-t1`.
 */
export async function idPhotoTemplate(enroller: Enroller, idFile: string, p: PersonRecord): Promise<TemplateIn> {
  const [t] = await withPlainPhotoFiles([idFile], (plain) => enroller.templates(plain, `${p.personId}-id`));
  const id = t ? decodeEmbedding(t.embedding) : null;
  if (!t || !id) throw new EnrolmentDisagreementError([]);
  const selfies = p.templates.filter((x) => x.modelId === t.modelId).map((x) => decodeEmbedding(x.embedding)).filter((e): e is Float32Array => e !== null);
  const bad = disagreements(id, selfies);
  if (bad.length > 0) throw new EnrolmentDisagreementError(bad);
  return t;
}
