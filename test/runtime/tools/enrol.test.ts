/**
 * Enrolment photos through the real pipeline and real photos: one person per photo (a group photo is
 * refused; a face too small to be enrolled, like a poster far behind, is not counted), and one person
 * per enrolment (every pair of photos matches at the terminals' threshold, or the pair is named).
 */
// ARM64 CI run (scripts/arm64/README.md, boundary mode): sharp composes fixture photos here; the pipeline and sharp's decoding under enrol are
// proven on ARM64 by the files named below (the enrol tool itself is JavaScript).
// arm64 boundary: covered by test/models/pipeline.test.ts, test/models/session.test.ts, test/arm64/inference.test.ts
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../../../models/decode';
import { FacePipeline } from '../../../models/pipeline';
import { DEFAULT_QUALITY } from '../../../models/quality';
import { DEFAULT_MATCH_THRESHOLD } from '../../../models/thresholds';
import { ConfigSchema } from '../../../runtime/config';
import { EnrolmentMismatchError, EnrolmentPhotoError, templatesFromPhotos } from '../../../runtime/tools/enrol';
import { cutOutFace } from '../../fixtures/cut-out';
import { FRANCK_STILLS, GROUP_PHOTOS, testFile } from '../../fixtures/photos';

let pipeline: FacePipeline;
let dir: string;
const franck = (i: number): string => testFile(FRANCK_STILLS[i]!);
const group = (name: string): string => testFile(GROUP_PHOTOS.find((g) => g.file === name)!);

/** One face of a group photo cut out with `margin` face sizes around it: a photo of one other person. */
const cutOut = (photo: string, largest: boolean, file: string, margin = 0.6): Promise<string> => cutOutFace(pipeline, photo, largest, join(dir, file), margin);

/** franck with another person's face pasted in the corner, `width` pixels wide (a poster, or someone behind him). */
async function withFaceBehind(width: number, file: string): Promise<string> {
  const other = await cutOut(group('faces.jpg'), true, `other-${width}.jpg`, 0.3);
  const small = await sharp(other).resize(width).toBuffer();
  await sharp(franck(0)).composite([{ input: small, left: 720 - width - 10, top: 10 }]).toFile(join(dir, file));
  return join(dir, file);
}

beforeAll(async () => {
  pipeline = await FacePipeline.load();
  dir = mkdtempSync(join(tmpdir(), 'enrol-'));
}, 60_000);

afterAll(() => pipeline.close());

describe('one person per photo', () => {
  it.each(['sample3.jpg', 'faces.jpg', 'sample5.jpg'])('refuses the group photo %s, whose faces could each be enrolled', async (name) => {
    const err = await templatesFromPhotos(pipeline, [group(name)], 'p').then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(EnrolmentPhotoError);
    expect((err as EnrolmentPhotoError).reasons).toEqual([expect.stringMatching(/^\d faces: one person per photo$/)]);
  }, 60_000);

  it('does not count a face too small to be enrolled itself (a poster behind), and refuses one that could be', async () => {
    const poster = await withFaceBehind(50, 'franck-poster.jpg');
    const faces = await pipeline.process(await decodeImage(poster), { liveness: false });
    expect(faces).toHaveLength(2); // the detector does see the poster's face...
    expect(Math.min(...faces.map((f) => f.quality.facePx))).toBeLessThan(DEFAULT_QUALITY.minFacePx); // ...smaller than any face the gates let in
    const t = await templatesFromPhotos(pipeline, [poster, franck(1)], 'p');
    expect(t).toHaveLength(2); // and the face enrolled is franck's: it matches his other photo

    const bystander = await withFaceBehind(150, 'franck-bystander.jpg');
    const err = await templatesFromPhotos(pipeline, [bystander], 'p').then(() => null, (e: unknown) => e);
    expect((err as EnrolmentPhotoError).reasons).toEqual(['2 faces: one person per photo']);
  }, 60_000);
});

describe('one person per enrolment', () => {
  it("accepts franck's stills: every pair matches at the terminals' threshold", async () => {
    const t = await templatesFromPhotos(pipeline, [0, 1, 2, 3, 4, 6, 9, 10].map(franck), 'franck');
    expect(t.map((x) => x.templateId)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => `franck-t${i}`));
  }, 60_000);

  it('refuses a franck still with another person, naming the pair by position and file name and its score', async () => {
    const other = await cutOut(group('sample3.jpg'), true, 'sample3-one-face.jpg');
    expect(await templatesFromPhotos(pipeline, [other], 'x')).toHaveLength(1); // a good photo on its own
    const err = await templatesFromPhotos(pipeline, [franck(0), franck(1), other], 'p').then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(EnrolmentMismatchError);
    const m = err as EnrolmentMismatchError;
    expect(m.pair).toEqual([1, 3]);
    expect(m.names).toEqual([FRANCK_STILLS[0]!.file, 'sample3-one-face.jpg']);
    expect(m.similarity).toBeLessThan(DEFAULT_MATCH_THRESHOLD);
    expect(m.message).toMatch(new RegExp(`^photos 1 \\(franck_01829\\.jpg\\) and 3 \\(sample3-one-face\\.jpg\\) do not show the same person: similarity -?0\\.\\d{3} is below ${String(DEFAULT_MATCH_THRESHOLD).replace('.', '\\.')}$`));
    expect(m.message).not.toMatch(/\//); // names, not paths
  }, 60_000);

  it('uses the threshold a terminal decides with by default', () => {
    const c = ConfigSchema.shape.decision.parse({});
    expect(c.match).toBe(DEFAULT_MATCH_THRESHOLD);
  });
});
