/**
 * Photos sent to the API as base64 JSON (registrations, residents, alerts): written to a private
 * temporary folder for the enrolment, which reads files, and removed afterwards whatever happened. A
 * refusal that names one of those files (a poor photo, one that is no image) becomes a 422 whose issue
 * path is the photo's place in the request (`body.photos.N`), so a client can say which of its files it
 * was; the temporary path itself is never shown.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { removeInside } from '../../core/fs';
import { TerminalError } from '../../core/errors';
import { EnrolmentMismatchError, EnrolmentPhotoError } from '../../runtime/tools/enrol';
import { ApiProblem } from './problem';

export const PhotoInSchema = z.strictObject({
  contentType: z.enum(['image/jpeg', 'image/png']),
  /** base64 of the image file, at most 2 MiB decoded */
  data: z.base64().max(2_800_000),
});
export type PhotoIn = z.infer<typeof PhotoInSchema>;

/** Up to 10 photos of up to 2 MiB each, base64: the routes that take photos accept bodies this large. */
export const PHOTOS_BODY_LIMIT = 10 * 2_800_000 + 64 * 1024;

/** `f` with the photos as files; an enrolment refusal about one of them as a 422 naming its place. */
export async function withPhotoFiles<T>(photos: readonly PhotoIn[], f: (files: string[]) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'doorway-photos-'));
  try {
    const files = photos.map((p, i) => {
      const file = join(dir, `${i + 1}.${p.contentType === 'image/png' ? 'png' : 'jpg'}`);
      writeFileSync(file, Buffer.from(p.data, 'base64'), { mode: 0o600 });
      return file;
    });
    try {
      return await f(files);
    } catch (e) {
      throw photoProblem(e, files);
    }
  } finally {
    removeInside(tmpdir(), dir);
  }
}

function photoProblem(e: unknown, files: string[]): unknown {
  if (e instanceof EnrolmentMismatchError) {
    return new ApiProblem(422, 'photo-mismatch', `photos ${e.pair[0]} and ${e.pair[1]} do not show the same person`, [{ path: `body.photos.${e.pair[1] - 1}`, message: 'not the same person as the other photos' }]);
  }
  if (!(e instanceof TerminalError)) return e;
  const at = files.findIndex((f) => e.message.includes(f));
  if (at < 0) return e;
  const file = files[at] ?? '';
  const what = e instanceof EnrolmentPhotoError ? e.reasons.join(', ') : e.message.split(file).join('').replace(/^["\s:]+/, '');
  const code = e instanceof EnrolmentPhotoError ? 'photo-quality' : e.code;
  return new ApiProblem(422, code, `photo ${at + 1} was refused: ${what}`, [{ path: `body.photos.${at}`, message: what }]);
}
