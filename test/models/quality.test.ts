/** Quality gates on real photos degraded in known ways: each degradation names its own reason. */
import sharp from 'sharp';
import { decodeImage } from '../../models/decode';
import { FacePipeline } from '../../models/pipeline';
import { DEFAULT_QUALITY, judge, type QualityMeasures, withEyesClosed } from '../../models/quality';
import { FRANCK_STILLS, testFile } from '../fixtures/photos';

let pipeline: FacePipeline;
// franck_01829: frontal, eyes open, passes every gate as it is
const still = testFile(FRANCK_STILLS[0]!);

beforeAll(async () => {
  pipeline = await FacePipeline.load();
}, 60_000);

afterAll(async () => {
  await pipeline.close();
});

async function reasonsFor(img: sharp.Sharp): Promise<string[]> {
  const faces = await pipeline.process(await decodeImage(await img.png().toBuffer()), { largestOnly: true });
  expect(faces).toHaveLength(1);
  return faces[0]!.quality.reasons;
}

describe('quality gates', () => {
  it('passes a sharp, frontal, well-lit face with open eyes', async () => {
    expect(await reasonsFor(sharp(still))).toEqual([]);
  });

  it('calls a blurred face blurry', async () => {
    expect(await reasonsFor(sharp(still).blur(6))).toContain('blurry');
  });

  it('calls an underexposed face too dark and an overexposed one too bright', async () => {
    expect(await reasonsFor(sharp(still).linear(0.25, 0))).toContain('too-dark');
    expect(await reasonsFor(sharp(still).linear(1.9, 40))).toEqual(expect.arrayContaining(['too-bright']));
  });

  it('calls a face far from the camera too small', async () => {
    const r = await reasonsFor(sharp(still).resize(180));
    expect(r).toEqual(expect.arrayContaining(['face-too-small', 'eyes-too-close']));
  });

  it('calls a strongly tilted head a roll problem', async () => {
    expect(await reasonsFor(sharp(still).rotate(40, { background: '#808080' }))).toContain('roll-too-large');
  });

  it('does not refuse a single photo for its eyes: one frame cannot tell a blink from narrow eyes (test/models/eye.test.ts)', async () => {
    // franck_02888 is a blink: fr_eye reads it closed; over a track the door loop's BlinkGate refuses it
    const faces = await pipeline.process(await decodeImage(testFile(FRANCK_STILLS[5]!)), { largestOnly: true });
    expect(faces[0]!.quality.eyes!.leftOpen).toBeLessThan(DEFAULT_QUALITY.minEyeOpen);
    expect(faces[0]!.quality.eyes!.rightOpen).toBeLessThan(DEFAULT_QUALITY.minEyeOpen);
    expect(faces[0]!.quality.reasons).not.toContain('eyes-closed');
  });
});

describe('judge', () => {
  const good: QualityMeasures = { interEyePx: 60, facePx: 200, sharpness: 300, brightness: 130, clippedFraction: 0 };

  it('fails exactly at each threshold boundary on the failing side only', () => {
    expect(judge({ ...good, interEyePx: DEFAULT_QUALITY.minInterEyePx }, null, null, DEFAULT_QUALITY).ok).toBe(true);
    expect(judge({ ...good, interEyePx: DEFAULT_QUALITY.minInterEyePx - 0.01 }, null, null, DEFAULT_QUALITY).reasons).toEqual(['eyes-too-close']);
    expect(judge(good, { yaw: DEFAULT_QUALITY.maxYawDeg, pitch: 0, roll: 0 }, null, DEFAULT_QUALITY).ok).toBe(true);
    expect(judge(good, { yaw: -DEFAULT_QUALITY.maxYawDeg - 0.1, pitch: 0, roll: 0 }, null, DEFAULT_QUALITY).reasons).toEqual(['yaw-too-large']);
    // eyes are judged over a track (BlinkGate), never on one frame: fr_eye reads narrow eyes closed
    const shut = DEFAULT_QUALITY.minEyeOpen - 0.01;
    expect(judge(good, null, { leftOpen: shut, rightOpen: shut, aspect: 0.17 }, DEFAULT_QUALITY).ok).toBe(true);
  });

  it('adds eyes-closed when the track found the eyes closed, once, and only then', () => {
    const v = judge(good, null, null, DEFAULT_QUALITY);
    expect(withEyesClosed(v, false)).toBe(v);
    const closed = withEyesClosed(v, true);
    expect(closed).toMatchObject({ ok: false, reasons: ['eyes-closed'] });
    expect(withEyesClosed(closed, true).reasons).toEqual(['eyes-closed']);
  });

  it('uses the configured thresholds, not built-in ones', () => {
    const strict = { ...DEFAULT_QUALITY, minSharpness: 1000 };
    expect(judge(good, null, null, strict).reasons).toEqual(['blurry']);
  });
});
