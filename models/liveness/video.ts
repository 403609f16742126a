/**
 * Frames of a video file (decoded by ffmpeg into rgb24: the system's, else the npm registry's static
 * build, see core/programs.ts) or of an image sequence, for the liveness evaluation, the benchmarks and
 * the `doorway liveness` command. Timestamps come from the frame rate.
 */
import { spawn } from 'node:child_process';
import { decodeImage } from '../decode';
import type { RawFrame } from '../image';
import { TerminalError } from '../../core/errors';
import { programPath } from '../../core/programs';

export class VideoDecodeError extends TerminalError {
  readonly code = 'video-decode';
}

export interface TimedFrame {
  /** Milliseconds from the first frame. */
  t: number;
  frame: RawFrame;
}

/**
 * Size and frame rate of the first video stream, from the stream line `ffmpeg -i FILE` prints, e.g.
 * `Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 640x480 [SAR 1:1 DAR 4:3],
 * 1003 kb/s, 25 fps, 25 tbr, 12800 tbn` (the same in ffmpeg 4.1 and 5.1). ffprobe is not used: the
 * registry package that stands in for a missing system ffmpeg has no ffprobe. The rate is `tbr` (what
 * ffprobe calls r_frame_rate), else `fps`, else 25. Null when there is no video stream line.
 */
export function parseStreamInfo(ffmpegStderr: string): { width: number; height: number; fps: number } | null {
  const line = ffmpegStderr.split('\n').find((l) => /Stream #\d+:\d+.*: Video: /.test(l));
  if (!line) return null;
  const size = /, (\d{1,5})x(\d{1,5})(?=[ ,]|$)/.exec(line);
  if (!size) return null;
  const rate = (unit: string): number | null => {
    const m = new RegExp(`, (\\d+(?:\\.\\d+)?)(k?) ${unit}(?=[ ,]|$)`).exec(line);
    return m ? Number(m[1]) * (m[2] ? 1000 : 1) : null;
  };
  const fps = rate('tbr') ?? rate('fps') ?? 25;
  return { width: Number(size[1]), height: Number(size[2]), fps: Number.isFinite(fps) && fps > 0 ? fps : 25 };
}

export async function probeVideo(file: string): Promise<{ width: number; height: number; fps: number }> {
  // Without an output file ffmpeg prints the input's streams and exits with status 1: that is expected.
  const stderr = await new Promise<string>((resolve, reject) => {
    const proc = spawn(programPath('ffmpeg'), ['-hide_banner', '-nostdin', '-i', file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.on('error', reject);
    proc.on('close', () => resolve(err));
  }).catch((e: unknown) => {
    throw new VideoDecodeError(`${file}: ffmpeg could not start: ${(e as Error).message}`, { cause: e });
  });
  const info = parseStreamInfo(stderr);
  if (!info) throw new VideoDecodeError(`${file}: no video stream${/No such file/.test(stderr) ? ' (no such file)' : ''}`);
  return info;
}

/**
 * Decodes a video with ffmpeg, from `startS` seconds for `durationS` seconds (all when omitted). With
 * `fps` the frames are resampled to that rate; with `size` scaled to cover it and centre-cropped.
 */
export async function* videoFrames(
  file: string,
  opts: { startS?: number; durationS?: number; fps?: number; size?: { width: number; height: number } } = {},
): AsyncGenerator<TimedFrame> {
  const probed = await probeVideo(file);
  const width = opts.size?.width ?? probed.width;
  const height = opts.size?.height ?? probed.height;
  const fps = opts.fps ?? probed.fps;
  const args = ['-v', 'error'];
  if (opts.startS) args.push('-ss', String(opts.startS));
  args.push('-i', file);
  if (opts.durationS) args.push('-t', String(opts.durationS));
  const filters: string[] = [];
  if (opts.fps) filters.push(`fps=${opts.fps}`);
  if (opts.size) filters.push(`scale=${width}:${height}:force_original_aspect_ratio=increase`, `crop=${width}:${height}`);
  if (filters.length) args.push('-vf', filters.join(','));
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', '-');
  const proc = spawn(programPath('ffmpeg'), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((res) => proc.on('close', (code) => res(code ?? 1)));
  const size = width * height * 3;
  let pending: Buffer = Buffer.alloc(0);
  let k = 0;
  try {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= size) {
        const data = new Uint8Array(size);
        data.set(pending.subarray(0, size));
        pending = pending.subarray(size);
        yield { t: (k++ * 1000) / fps, frame: { width, height, format: 'rgb24', data } };
      }
    }
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  }
  const code = await exited;
  if (code !== 0 && k === 0) throw new VideoDecodeError(`${file}: ffmpeg failed: ${stderr.trim().split('\n')[0] ?? ''}`);
}

/** An image sequence: the files in the given order, `fps` apart. */
export async function* imageSequence(files: readonly string[], fps: number): AsyncGenerator<TimedFrame> {
  let k = 0;
  for (const f of files) yield { t: (k++ * 1000) / fps, frame: await decodeImage(f) };
}
