/**
 * Simulated presentation attacks, rendered in plain JS with a seeded PRNG (deterministic):
 * - print: a photo on a sheet of paper (white margin, paper texture, reduced print contrast) held by a
 *   hand in front of the camera: a 3-D pose that drifts and trembles (pinhole homography), changing
 *   light, motion blur (two sub-frame renders averaged), sensor noise;
 * - replay: video frames shown on a phone/monitor (black bezel, grey body) held by hand: display gamma and
 *   black level, a moire interference pattern fixed to the screen, a reflection blob, a rolling refresh
 *   band, sensor noise;
 * - static: a still photo on a stand (fixed pose) or injected as is, identical apart from sensor noise.
 * Around the attack the camera sees a smooth, line-free scene, or (`scene`) the textured wall the door
 * camera sees behind its visitors (backdrop.ts): the paper or phone then covers only part of a wall that
 * stays still, the case the background-motion cue must not be fooled by.
 * Nothing here is a real attack recording: these are simulations and are reported as such.
 */
import type { RawFrame } from '../../models/image';
import { invert3, mul3 } from '../../models/liveness/homography';
import { rng as mulberry32 } from '../../test/fixtures/random';

export { mulberry32 };

export type Rng = () => number;


const uni = (r: Rng, a: number, b: number): number => a + (b - a) * r();
const gauss = (r: Rng): number => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());

/** Smooth random motion: a sum of sinusoids (slow drift plus hand tremor). */
function wobble(r: Rng, slowAmp: number, tremorAmp: number): (s: number) => number {
  const parts = [
    { a: slowAmp, f: uni(r, 0.15, 0.6), p: uni(r, 0, 6.3) },
    { a: slowAmp * 0.5, f: uni(r, 0.6, 1.5), p: uni(r, 0, 6.3) },
    { a: tremorAmp, f: uni(r, 3, 8), p: uni(r, 0, 6.3) },
  ];
  return (s) => parts.reduce((acc, q) => acc + q.a * Math.sin(2 * Math.PI * q.f * s + q.p), 0);
}

export interface PlanePose {
  yawDeg: number;
  pitchDeg: number;
  rollDeg: number;
  /** Centre of the plane in the output image, px. */
  cx: number;
  cy: number;
  /** Output pixels per plane unit at the plane's centre. */
  scale: number;
}

/**
 * Homography mapping plane coordinates (u, v) centred on (0, 0) into output pixels for a pinhole camera
 * with focal length f (px) looking at the plane rotated by yaw/pitch/roll at distance f/scale.
 */
export function planeHomography(p: PlanePose, f: number): Float64Array {
  const [a, b, c] = [p.yawDeg, p.pitchDeg, p.rollDeg].map((d) => (d * Math.PI) / 180) as [number, number, number];
  const ry = [Math.cos(a), 0, Math.sin(a), 0, 1, 0, -Math.sin(a), 0, Math.cos(a)];
  const rx = [1, 0, 0, 0, Math.cos(b), -Math.sin(b), 0, Math.sin(b), Math.cos(b)];
  const rz = [Math.cos(c), -Math.sin(c), 0, Math.sin(c), Math.cos(c), 0, 0, 0, 1];
  const R = mul3(rz, mul3(rx, ry));
  const Z = f / p.scale;
  // columns r1, r2, t with t = (0, 0, Z); K = [f 0 cx; 0 f cy; 0 0 1]
  const M = Float64Array.from([R[0] as number, R[1] as number, 0, R[3] as number, R[4] as number, 0, R[6] as number, R[7] as number, Z]);
  const K = [f, 0, p.cx, 0, f, p.cy, 0, 0, 1];
  return mul3(K, M);
}

/** Plane content: returns false outside the plane (background shows), else writes RGB into out. */
export type PlaneShader = (u: number, v: number, out: Float32Array) => boolean;

export function bilinear(img: RawFrame, x: number, y: number, out: Float32Array): boolean {
  if (x < 0 || y < 0 || x > img.width - 1 || y > img.height - 1) return false;
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const x1 = Math.min(x0 + 1, img.width - 1), y1 = Math.min(y0 + 1, img.height - 1);
  const fx = x - x0, fy = y - y0;
  const s = img.width * 3, d = img.data;
  const rgb = img.format === 'rgb24';
  for (let c = 0; c < 3; c++) {
    const cc = rgb ? c : 2 - c;
    out[c] =
      (d[y0 * s + x0 * 3 + cc] as number) * (1 - fx) * (1 - fy) +
      (d[y0 * s + x1 * 3 + cc] as number) * fx * (1 - fy) +
      (d[y1 * s + x0 * 3 + cc] as number) * (1 - fx) * fy +
      (d[y1 * s + x1 * 3 + cc] as number) * fx * fy;
  }
  return true;
}

/** A smooth, line-free background (low-frequency colour noise), so straight edges come only from the attack. */
export function background(width: number, height: number, r: Rng): Float32Array {
  const out = new Float32Array(width * height * 3);
  const base = [uni(r, 60, 190), uni(r, 60, 190), uni(r, 60, 190)];
  const waves = Array.from({ length: 4 }, () => ({ kx: uni(r, -0.02, 0.02), ky: uni(r, -0.02, 0.02), p: uni(r, 0, 6.3), a: uni(r, 8, 25), c: Math.floor(r() * 3) }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let v = base[c] as number;
        for (const w of waves) if (w.c === c || c === 1) v += w.a * Math.sin(w.kx * x + w.ky * y + w.p);
        out[(y * width + x) * 3 + c] = v;
      }
    }
  }
  return out;
}

/**
 * Renders a plane through homography H (plane -> output) over a background, averaging `sub` sub-frame
 * homographies for motion blur. `post` adjusts each output pixel (light, banding) before noise.
 */
export function renderPlane(
  width: number,
  height: number,
  hs: Float64Array[],
  shader: PlaneShader,
  bg: Float32Array,
  noise: number,
  r: Rng,
  post?: (x: number, y: number, rgb: Float32Array) => void,
): RawFrame {
  const data = new Uint8Array(width * height * 3);
  const invs = hs.map((h) => invert3(h) as Float64Array);
  const px = new Float32Array(3), acc = new Float32Array(3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      acc.fill(0);
      for (const inv of invs) {
        const w = (inv[6] as number) * x + (inv[7] as number) * y + (inv[8] as number);
        const u = ((inv[0] as number) * x + (inv[1] as number) * y + (inv[2] as number)) / w;
        const v = ((inv[3] as number) * x + (inv[4] as number) * y + (inv[5] as number)) / w;
        const o = (y * width + x) * 3;
        if (!shader(u, v, px)) {
          px[0] = bg[o] as number;
          px[1] = bg[o + 1] as number;
          px[2] = bg[o + 2] as number;
        }
        acc[0] = (acc[0] as number) + (px[0] as number);
        acc[1] = (acc[1] as number) + (px[1] as number);
        acc[2] = (acc[2] as number) + (px[2] as number);
      }
      for (let c = 0; c < 3; c++) acc[c] = (acc[c] as number) / invs.length;
      if (post) post(x, y, acc);
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) data[o + c] = Math.max(0, Math.min(255, Math.round((acc[c] as number) + noise * gauss(r))));
    }
  }
  return { width, height, format: 'rgb24', data };
}

export interface PhotoSource {
  image: RawFrame;
  /** Face box in the image: x1, y1, x2, y2. */
  box: readonly [number, number, number, number];
}

export interface ClipSpec {
  width: number;
  height: number;
  fps: number;
  frames: number;
}

/** Deterministic hand-held plane motion: pose at time s (seconds). */
function handMotion(r: Rng, spec: ClipSpec, scale: number, tilt: number, shift: number): (s: number) => PlanePose {
  const yaw0 = uni(r, -tilt, tilt), pitch0 = uni(r, -tilt, tilt), roll0 = uni(r, -6, 6);
  const wy = wobble(r, tilt * 0.7, 0.4), wp = wobble(r, tilt * 0.7, 0.4), wr = wobble(r, 3, 0.3);
  const wx = wobble(r, shift, 1.2), wv = wobble(r, shift, 1.2), ws = wobble(r, 0.06, 0.005);
  const cx0 = spec.width / 2 + uni(r, -shift, shift), cy0 = spec.height / 2 + uni(r, -shift, shift) * 0.6;
  return (s) => ({
    yawDeg: yaw0 + wy(s),
    pitchDeg: pitch0 + wp(s),
    rollDeg: roll0 + wr(s),
    cx: cx0 + wx(s),
    cy: cy0 + wv(s),
    scale: scale * (1 + ws(s)),
  });
}

/**
 * Print attack: the photo's face region printed on paper and moved by hand. `closeup`: a large print held
 * close, whose edges stay out of the camera's view around the face (no paper edge to see).
 */
export function* printAttack(src: PhotoSource, spec: ClipSpec, seed: number, closeup = false, scene?: Float32Array): Generator<RawFrame> {
  const r = mulberry32(seed);
  const [bx1, by1, bx2, by2] = src.box;
  const fw = bx2 - bx1;
  // the printed portrait: the face enlarged 2.4x (4.5x for a close-up; clipped to the photo), white margin around
  const enlarge = closeup ? 4.5 : 2.4;
  const pw = Math.min(src.image.width, fw * enlarge), ph = Math.min(src.image.height, (by2 - by1) * enlarge * 1.15);
  // plane coordinates are centred on the face, so the face is where the hand holds the paper
  const fcx = (bx1 + bx2) / 2, fcy = (by1 + by2) / 2;
  const px0 = Math.max(0, Math.min(src.image.width - pw, fcx - pw / 2)) - fcx;
  const py0 = Math.max(0, Math.min(src.image.height - ph, fcy - ph / 2)) - fcy;
  const margin = closeup ? 0 : uni(r, 0.03, 0.12) * pw;
  const targetFace = closeup ? uni(r, 110, 170) : uni(r, 85, 150); // face width in output px
  const f = uni(r, 350, 600);
  const motion = handMotion(r, spec, targetFace / fw, uni(r, 4, 18), uni(r, 4, 20));
  const contrast = uni(r, 0.75, 0.92), lift = uni(r, 10, 30), desat = uni(r, 0.05, 0.25);
  const paper = [uni(r, 225, 250), uni(r, 225, 250), uni(r, 215, 245)];
  // paper texture: a fixed random field in plane coordinates
  const TW = 64;
  const texture = Float32Array.from({ length: TW * TW }, () => 1 + uni(r, -0.03, 0.03));
  const smooth = background(spec.width, spec.height, r);
  const bg = scene ?? smooth;
  const light = wobble(r, uni(r, 0.05, 0.2), 0.01);
  const grad = { gx: uni(r, -0.001, 0.001), gy: uni(r, -0.001, 0.001) };
  const blur = uni(r, 0, 1) < 0.6;
  const tmp = new Float32Array(3);
  const shader: PlaneShader = (u, v, out) => {
    if (u < px0 - margin || u > px0 + pw + margin || v < py0 - margin || v > py0 + ph + margin) return false;
    const t = texture[((Math.floor(v / 3) & (TW - 1)) * TW + (Math.floor(u / 3) & (TW - 1)))] as number;
    if (u < px0 || u > px0 + pw || v < py0 || v > py0 + ph || !bilinear(src.image, fcx + u, fcy + v, tmp)) {
      out[0] = (paper[0] as number) * t;
      out[1] = (paper[1] as number) * t;
      out[2] = (paper[2] as number) * t;
      return true;
    }
    const g = (tmp[0] as number) * 0.3 + (tmp[1] as number) * 0.59 + (tmp[2] as number) * 0.11;
    for (let c = 0; c < 3; c++) out[c] = (lift + contrast * ((tmp[c] as number) * (1 - desat) + g * desat)) * t;
    return true;
  };
  for (let k = 0; k < spec.frames; k++) {
    const s = k / spec.fps;
    const hs = [planeHomography(motion(s), f)];
    if (blur) hs.push(planeHomography(motion(s + 0.4 / spec.fps), f));
    const gain = 1 + light(s);
    yield renderPlane(spec.width, spec.height, hs, shader, bg, uni(r, 1.5, 3.5), r, (x, y, rgb) => {
      const m = gain * (1 + grad.gx * (x - spec.width / 2) + grad.gy * (y - spec.height / 2));
      for (let c = 0; c < 3; c++) rgb[c] = (rgb[c] as number) * m;
    });
  }
}

/**
 * Replay attack: each video frame shown on a hand-held screen. `frames` yields the genuine video frames.
 * `closeup`: a large screen held close, its bezel out of the camera's view.
 */
export function* replayAttack(frames: Iterable<RawFrame>, spec: ClipSpec, seed: number, closeup = false, scene?: Float32Array): Generator<RawFrame> {
  const r = mulberry32(seed);
  const gamma = uni(r, 0.8, 1.3), black = uni(r, 8, 28), white = uni(r, 200, 250);
  const tint = [uni(r, 0.9, 1), uni(r, 0.95, 1), uni(r, 1, 1.1)];
  const bezel = uni(r, 0.04, 0.12), body = uni(r, 0.02, 0.06);
  const moireAmp = uni(r, 0.03, 0.1), moirePeriod = uni(r, 2.2, 4.5), moireAng = uni(r, 0, Math.PI);
  const mk = [Math.cos(moireAng) / moirePeriod, Math.sin(moireAng) / moirePeriod];
  const refl = { x: uni(r, -0.4, 0.4), y: uni(r, -0.4, 0.4), s: uni(r, 0.2, 0.5), a: uni(r, 10, 45) };
  const band = { h: uni(r, 15, 50), speed: uni(r, 3, 12), depth: uni(r, 0.03, 0.1), y0: uni(r, 0, spec.height) };
  const smooth = background(spec.width, spec.height, r);
  const bg = scene ?? smooth;
  const f = uni(r, 350, 600);
  const screenScale = closeup ? uni(r, 1.5, 1.9) : uni(r, 0.75, 1.15); // output px per video px
  const tilt = uni(r, 3, 12);
  let motion: ((s: number) => PlanePose) | null = null;
  const tmp = new Float32Array(3);
  let k = 0;
  for (const vf of frames) {
    if (k >= spec.frames) break;
    motion ??= handMotion(r, spec, screenScale, tilt, uni(r, 3, 12));
    const W = vf.width, H = vf.height;
    const bz = bezel * W, bd = body * W;
    const shader: PlaneShader = (u, v, out) => {
      const au = Math.abs(u), av = Math.abs(v);
      if (au > W / 2 + bz + bd || av > H / 2 + bz + bd) return false;
      if (au > W / 2 + bz || av > H / 2 + bz) {
        out[0] = out[1] = out[2] = 70; // device body
        return true;
      }
      if (au > W / 2 || av > H / 2 || !bilinear(vf, u + W / 2, v + H / 2, tmp)) {
        out[0] = out[1] = out[2] = black * 0.6; // bezel
        return true;
      }
      const m = 1 - moireAmp * (0.5 + 0.5 * Math.cos(2 * Math.PI * ((mk[0] as number) * u + (mk[1] as number) * v) * 3));
      const ru = u / W - refl.x, rv = v / H - refl.y;
      const glare = refl.a * Math.exp(-(ru * ru + rv * rv) / (refl.s * refl.s));
      for (let c = 0; c < 3; c++) {
        const lin = Math.pow((tmp[c] as number) / 255, gamma);
        out[c] = (black + (white - black) * lin) * (tint[c] as number) * m + glare;
      }
      return true;
    };
    const s = k / spec.fps;
    const by = (band.y0 + band.speed * k) % (spec.height + band.h);
    yield renderPlane(spec.width, spec.height, [planeHomography(motion(s), f)], shader, bg, uni(r, 1.5, 3.5), r, (_x, y, rgb) => {
      const d = y - by;
      if (d > -band.h && d < 0) for (let c = 0; c < 3; c++) rgb[c] = (rgb[c] as number) * (1 - band.depth);
    });
    k++;
  }
}

/** Static attack: the photo fixed on a stand (constant pose and light) or injected as is; only noise changes. */
export function* staticAttack(src: PhotoSource, spec: ClipSpec, seed: number, scene?: Float32Array): Generator<RawFrame> {
  const r = mulberry32(seed);
  const onStand = r() < 0.5;
  const [bx1, by1, bx2, by2] = src.box;
  const fw = bx2 - bx1;
  const pose: PlanePose = {
    yawDeg: onStand ? uni(r, -10, 10) : 0,
    pitchDeg: onStand ? uni(r, -10, 10) : 0,
    rollDeg: onStand ? uni(r, -4, 4) : 0,
    cx: spec.width / 2 + uni(r, -20, 20),
    cy: spec.height / 2 + uni(r, -15, 15),
    scale: uni(r, 85, 150) / fw,
  };
  const h = planeHomography(pose, 500);
  const cx = (bx1 + bx2) / 2, cy = (by1 + by2) / 2;
  const smooth = background(spec.width, spec.height, r);
  const bg = scene ?? smooth;
  const shader: PlaneShader = (u, v, out) => bilinear(src.image, cx + u, cy + v, out);
  const base = renderPlane(spec.width, spec.height, [h], shader, bg, 0, r);
  const noise = uni(r, 1, 3);
  for (let k = 0; k < spec.frames; k++) {
    const data = new Uint8Array(base.data.length);
    for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, Math.round((base.data[i] as number) + noise * gauss(r))));
    yield { ...base, data };
  }
}
