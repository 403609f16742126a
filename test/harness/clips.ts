/**
 * Test clips made with ffmpeg from the registry media, cached in .cache/clips (never committed).
 * `passagesClip`: 1 s of an empty scene, then 2 s of franck talking: looped, a new person "arrives"
 * every 3 s at a known frame (the 26th of each loop).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { locateFfmpeg } from '../../drivers/camera/locate';
import { FRANCK_STILLS, FRANCK_VIDEO, testFile } from '../fixtures/photos';

export const CLIP_FPS = 25;
export const EMPTY_FRAMES = 25;
export const FACE_FRAMES = 50;
export const CLIP_FRAMES = EMPTY_FRAMES + FACE_FRAMES;

export function passagesClip(videoOffsetS = 0): string {
  const dir = resolve(__dirname, '..', '..', '.cache', 'clips');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `passages-franck-${videoOffsetS}s.mp4`);
  if (existsSync(out)) return out;
  const tmp = `${out}.part.mp4`;
  const r = spawnSync(locateFfmpeg(), [
    '-v', 'error', '-y',
    '-loop', '1', '-framerate', String(CLIP_FPS), '-t', String(EMPTY_FRAMES / CLIP_FPS), '-i', testFile(FRANCK_STILLS[0]!),
    '-ss', String(videoOffsetS), '-t', String(FACE_FRAMES / CLIP_FPS), '-i', testFile(FRANCK_VIDEO),
    '-filter_complex',
    `[0:v]crop=250:576:0:0,scale=640:480,setsar=1,fps=${CLIP_FPS},format=yuv420p[a];` +
      `[1:v]scale=640:480,setsar=1,fps=${CLIP_FPS},format=yuv420p[b];[a][b]concat=n=2:v=1[v]`,
    '-map', '[v]', '-frames:v', String(CLIP_FRAMES), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '25', tmp,
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
  const tmp = `${out}.part.mp4`;
  const frames = EMPTY_FRAMES + Math.round(faceSeconds * CLIP_FPS);
  const r = spawnSync(locateFfmpeg(), [
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
