/**
 * One face's pipeline result on a fixed test photo, in a form that crosses a process boundary: used by
 * inference.test.ts (in the test process) and by reference-child.ts (in an x86 Node), so that both
 * architectures compute it with the same code.
 */
import { decodeImage } from '../../models/decode';
import { FacePipeline } from '../../models/pipeline';
import { FRANCK_STILLS, testFile } from '../fixtures/photos';

export interface FaceReference {
  arch: string;
  box: number[];
  score: number;
  embedding: number[];
}

export const REFERENCE_PHOTO = FRANCK_STILLS[0];

export async function faceReference(): Promise<FaceReference> {
  if (!REFERENCE_PHOTO) throw new Error('no franck still in the fixtures');
  const pipeline = await FacePipeline.load({ intraOpThreads: 1, interOpThreads: 1 });
  try {
    const faces = await pipeline.process(await decodeImage(testFile(REFERENCE_PHOTO)), { largestOnly: true, pose: false, eyes: false, liveness: false });
    const face = faces[0];
    if (!face?.embedding) throw new Error(`no face with an embedding in ${REFERENCE_PHOTO.file}`);
    return { arch: process.arch, box: [...face.box], score: face.score, embedding: [...face.embedding] };
  } finally {
    await pipeline.close();
  }
}
