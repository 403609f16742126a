/**
 * Frames of a video file (decoded by the system ffmpeg into rgb24) or of an image sequence, for the
 * liveness evaluation and the `doorway liveness` command. Timestamps come from the frame rate.
 */
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { z } from 'zod';
import { decodeImage } from '../decode';
import type { RawFrame } from '../image';
import { TerminalError } from '../../core/errors';

export class VideoDecodeError extends TerminalError {
  readonly code = 'video-decode';
}

export interface TimedFrame {
  /** Milliseconds from the first frame. */
  t: number;
  frame: RawFrame;
}

const ProbeSchema = z.object({
  streams: z.array(z.object({ width: z.number().int().positive(), height: z.number().int().positive(), r_frame_rate: z.string() })).min(1),
});

export async function probeVideo(file: string): Promise<{ width: number; height: number; fps: number }> {
  let out: string;
  try {
    out = (await promisify(execFile)('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,r_frame_rate', '-of', 'json', file])).stdout;
  } catch (e) {
    throw new VideoDecodeError(`${file}: ffprobe failed: ${(e as Error).message.split('\n')[0] ?? ''}`, { cause: e });
  }
  const r = ProbeSchema.safeParse(JSON.parse(out));
  if (!r.success) throw new VideoDecodeError(`${file}: no video stream`);
  const s = r.data.streams[0] as z.infer<typeof ProbeSchema>['streams'][number];
  const [n, d] = s.r_frame_rate.split('/').map(Number) as [number, number | undefined];
  const fps = d ? n / d : n;
  return { width: s.width, height: s.height, fps: Number.isFinite(fps) && fps > 0 ? fps : 25 };
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
  const proc = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
