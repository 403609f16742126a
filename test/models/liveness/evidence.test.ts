import { interOcular, mouthGap, TrackEvidence } from '../../../models/liveness/evidence';
import { head, liveTrack, photoTrack, project } from './face3d';

function evidenceOf(track: ReturnType<typeof liveTrack>): TrackEvidence {
  const ev = new TrackEvidence();
  for (const { t, face } of track) {
    ev.push({ t, landmarks68: face.landmarks68, passiveLive: face.liveness?.live ?? null, eyes: face.quality.eyes, pose: face.quality.pose, cues: null });
  }
  return ev;
}

describe('track evidence', () => {
  it('measures the inter-ocular distance and the mouth gap from the 68 points', () => {
    const v = { yaw: 0, pitch: 0, roll: 0, tx: 0, ty: 0, dist: 500 };
    // eye centres 64 apart at depth 4 behind the origin, 500 px focal length, 500 away
    expect(interOcular(project(head(), v))).toBeCloseTo((500 * 64) / 504, 2);
    expect(mouthGap(project(head(1, 1), v))).toBeGreaterThan(mouthGap(project(head(1, 0), v)) + 0.1);
  });

  it('finds parallax in a turning head and almost none in a photo moved more than the head', () => {
    const live = evidenceOf(liveTrack(36)).features();
    const photo = evidenceOf(photoTrack(36)).features();
    expect(photo.values.motion).toBeGreaterThan(live.values.motion * 0.5);
    expect(live.values.parallax).toBeGreaterThan(3 * photo.values.parallax);
  });

  it('sees a blink only when the eyes close and open again', () => {
    expect(evidenceOf(liveTrack(36)).features().blink).toBe(true);
    expect(evidenceOf(liveTrack(9)).features().blink).toBe(false);
    expect(evidenceOf(photoTrack(36)).features().blink).toBe(false);
  });

  it('reports the time span and frame count of the evidence', () => {
    const f = evidenceOf(liveTrack(25)).features();
    expect(f.frames).toBe(25);
    expect(f.spanMs).toBeCloseTo(1000, 6);
  });
});
