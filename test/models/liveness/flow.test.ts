import type { RawFrame } from '../../../models/image';
import type { Box } from '../../../models/nms';
import { blockShift, halfGray, RingFlow } from '../../../models/liveness/flow';
import { TrackEvidence } from '../../../models/liveness/evidence';
import { head, project, seeded } from './face3d';

const W = 320, H = 240;

/** A continuous texture (sum of sinusoids, 5-20 px wavelengths), so a translated copy is exact. */
function texture(seed: number, amp: number): (x: number, y: number) => number {
  const r = seeded(seed);
  const waves = Array.from({ length: 6 }, () => {
    const a = r() * Math.PI, l = 5 + 15 * r();
    return { kx: (2 * Math.PI * Math.cos(a)) / l, ky: (2 * Math.PI * Math.sin(a)) / l, p: r() * 6.3 };
  });
  return (x, y) => waves.reduce((s, w) => s + (amp / 3) * Math.sin(w.kx * x + w.ky * y + w.p), 0);
}

const BG = texture(1, 30);
const SKIN = texture(2, 25);

/**
 * A face (ellipse of skin texture, centre cx, cy) over a background. `scene` shifts everything (a photo
 * or a phone moved by hand), `face` only the face (a head moving in front of a still wall).
 */
function frame(face: [number, number], scene: [number, number], flatBackground = false): RawFrame {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sx = x - scene[0], sy = y - scene[1];
      const fx = sx - face[0], fy = sy - face[1];
      const inFace = ((fx - 160) / 45) ** 2 + ((fy - 120) / 60) ** 2 < 1;
      const v = inFace ? 150 + SKIN(fx, fy) : 110 + (flatBackground ? 0 : BG(sx, sy));
      const c = Math.max(0, Math.min(255, Math.round(v)));
      data.set([c, c, c], (y * W + x) * 3);
    }
  }
  return { width: W, height: H, format: 'rgb24', data };
}

const box = (face: [number, number], scene: [number, number]): Box => {
  const cx = 160 + face[0] + scene[0], cy = 120 + face[1] + scene[1];
  return [cx - 40, cy - 50, cx + 40, cy + 50];
};

/** 68 landmarks of a frontal head about 64 px between the eyes, where the face is (for the inter-ocular scale). */
const landmarks = (b: Box): Float32Array => {
  const lm = project(head(), { yaw: 0, pitch: 0, roll: 0, tx: 0, ty: 0, dist: 500 });
  const out = new Float32Array(136);
  for (let i = 0; i < 68; i++) {
    out[2 * i] = (lm[2 * i] as number) * 0.6 + (b[0] + b[2]) / 2;
    out[2 * i + 1] = (lm[2 * i + 1] as number) * 0.6 + (b[1] + b[3]) / 2;
  }
  return out;
};

function track(path: (k: number) => { face: [number, number]; scene: [number, number] }, n: number, flat = false): TrackEvidence {
  const flow = new RingFlow();
  const ev = new TrackEvidence();
  for (let k = 0; k < n; k++) {
    const p = path(k);
    const b = box(p.face, p.scene);
    ev.push({ t: k * 40, landmarks68: landmarks(b), passiveLive: null, eyes: null, pose: null, cues: null, flow: flow.observe(frame(p.face, p.scene, flat), b) });
  }
  return ev;
}

const wobble = (k: number): [number, number] => [3 * Math.sin(k / 2), 2 * Math.cos(k / 3)];

describe('face-against-background motion', () => {
  it('measures a sub-pixel translation of a textured block to within 0.05 px', () => {
    const a = halfGray(frame([0, 0], [0, 0]));
    const b = halfGray(frame([0, 0], [1.3, -0.7]));
    // a background block left of the face, in half-resolution pixels
    const s = blockShift(a, b, 20, 40, 20);
    expect(s).not.toBeNull();
    expect(((s as [number, number])[0] * 2)).toBeCloseTo(1.3, 1);
    expect(((s as [number, number])[1] * 2)).toBeCloseTo(-0.7, 1);
  });

  it('computes the same half-resolution image into reused buffers as into fresh ones', () => {
    const fresh = halfGray(frame([1, 2], [0.5, 0]));
    const reused = halfGray(frame([0, 0], [0, 0]));
    const scratch = new Float32Array(reused.data.length);
    const again = halfGray(frame([1, 2], [0.5, 0]), reused, scratch);
    expect(again).toBe(reused);
    expect(again.data).toEqual(fresh.data);
    expect([again.width, again.height]).toEqual([fresh.width, fresh.height]);
  });

  it('gives no measurement for a block without texture instead of a wrong one', () => {
    const a = halfGray(frame([0, 0], [0, 0], true));
    const b = halfGray(frame([0, 0], [2, 1], true));
    expect(blockShift(a, b, 20, 40, 20)).toBeNull();
  });

  it('sees a head move in front of a still wall: the background stays, coupling near 0', () => {
    const f = track((k) => ({ face: wobble(k), scene: [0, 0] }), 12).features().values;
    expect(Math.abs(f.coupling)).toBeLessThan(0.1);
    expect(f.ringMotion).toBeLessThan(0.2);
  });

  it('sees a photo moved by hand: the background around the face moves with it, coupling near 1', () => {
    const f = track((k) => ({ face: [0, 0], scene: wobble(k) }), 12).features().values;
    expect(f.coupling).toBeGreaterThan(0.8);
    expect(f.coupling).toBeLessThan(1.2);
    expect(f.ringMotion).toBeGreaterThan(2);
  });

  it('leaves both features unmeasured (NaN) when the background has no texture', () => {
    const f = track((k) => ({ face: [0, 0], scene: wobble(k) }), 12, true).features().values;
    expect(f.coupling).toBeNaN();
    expect(f.ringMotion).toBeNaN();
  });
});
