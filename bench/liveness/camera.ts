/**
 * The same camera chain for every clip, genuine or attack, so that no cue can tell them apart by how
 * they were made: sensor noise (genuine only; the attack renderers add their own), then an H.264
 * round trip through ffmpeg (libx264, CRF 26, like a terminal's RTSP camera stream; core/programs.ts
 * says which ffmpeg).
 */
import { spawn } from 'node:child_process';
import { programPath } from '../../core/programs';
import type { RawFrame } from '../../models/image';
import { mulberry32 } from './synth';

export function addNoise(frames: readonly RawFrame[], sigma: number, seed: number): RawFrame[] {
  const r = mulberry32(seed);
  return frames.map((f) => {
    const data = new Uint8Array(f.data.length);
    for (let i = 0; i < data.length; i++) {
      const g = Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
      data[i] = Math.max(0, Math.min(255, Math.round((f.data[i] as number) + sigma * g)));
    }
    return { ...f, data };
  });
}

export async function h264RoundTrip(frames: readonly RawFrame[], fps: number, crf = 26): Promise<RawFrame[]> {
  const f0 = frames[0];
  if (!f0) return [];
  const { width, height } = f0;
  const ffmpeg = programPath('ffmpeg');
  // encoder | decoder, piped here rather than through a shell
  const enc = spawn(ffmpeg, ['-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', '-', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', String(crf), '-pix_fmt', 'yuv420p', '-f', 'h264', '-'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const dec = spawn(ffmpeg, ['-v', 'error', '-f', 'h264', '-i', '-', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { stdio: ['pipe', 'pipe', 'inherit'] });
  enc.stdout.pipe(dec.stdin);
  const chunks: Buffer[] = [];
  dec.stdout.on('data', (d: Buffer) => chunks.push(d));
  const exited = (p: typeof enc, what: string): Promise<void> =>
    new Promise<void>((res, rej) => p.on('close', (code) => (code === 0 ? res() : rej(new Error(`ffmpeg ${what} exited ${code}`)))));
  const done = Promise.all([exited(enc, 'encoder'), exited(dec, 'decoder')]);
  for (const f of frames) {
    if (!enc.stdin.write(f.data)) await new Promise((r) => enc.stdin.once('drain', r));
  }
  enc.stdin.end();
  await done;
  const all = Buffer.concat(chunks);
  const size = width * height * 3;
  const out: RawFrame[] = [];
  for (let o = 0; o + size <= all.length; o += size) out.push({ width, height, format: 'rgb24', data: new Uint8Array(all.subarray(o, o + size)) });
  return out;
}
