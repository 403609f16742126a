import { z } from 'zod';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import {
  Emitter,
  FfmpegFrameProcess,
  FfmpegMissingError,
  classifyFfmpegExit,
  endedOnSignal,
  OUTSIDE_SIGNAL_GRACE_MS,
  ffmpegDialect,
  locateDecoder,
  passthroughArgs,
  type CameraError,
  type FfmpegDialect,
} from './ffmpeg';
import { FramePool, LatestFrame } from './frame-pool';
import type { Frame, FrameHold, FrameSource, FrameSourceEvents } from './index';

export const fileSourceConfigSchema = z.strictObject({
  input: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('video'), path: z.string().min(1) }),
    /** An ffmpeg image2 pattern such as `frames/%04d.png`, played at `fps`. */
    z.strictObject({ kind: z.literal('images'), pattern: z.string().min(1), fps: z.number().positive().max(120).default(25) }),
  ]),
  width: z.number().int().min(16).max(4096).default(640),
  height: z.number().int().min(16).max(4096).default(480),
  /** true: deliver at the file's own rate (demo); false: as fast as decoded, every frame once (tests). */
  realtime: z.boolean().default(false),
  /** Start again at the end, for ever. */
  loop: z.boolean().default(false),
  killTimeoutMs: z.number().int().min(10).default(2_000),
  /** `ffmpeg`: the system's, else the npm registry's static build (core/programs.ts); or a path. */
  ffmpegPath: z.string().min(1).default('ffmpeg'),
});
export type FileSourceConfig = z.infer<typeof fileSourceConfigSchema>;

export function fileFfmpegArgs(c: FileSourceConfig, dialect: FfmpegDialect = 'current'): string[] {
  const input =
    c.input.kind === 'video'
      ? ['-i', c.input.path]
      : ['-framerate', String(c.input.fps), '-f', 'image2', '-i', c.input.pattern];
  return [
    '-nostdin', '-hide_banner', '-loglevel', 'error',
    ...(c.realtime ? ['-re'] : []),
    ...(c.loop ? ['-stream_loop', '-1'] : []),
    ...input,
    '-an', '-sn', '-dn',
    '-vf', `scale=${c.width}:${c.height}`,
    // Keep the file's frames one to one (no duplication or dropping to a constant rate).
    ...passthroughArgs(dialect),
    '-flush_packets', '1',
    '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1',
  ];
}

/**
 * Frames from a video file or an image sequence through ffmpeg. In non-realtime mode every frame
 * of the file is delivered exactly once, in order, through the 'frame' event (ffmpeg waits on the
 * pipe while handlers run), which makes tests deterministic. 'end' fires after the last frame of a
 * non-looping file; failures (missing file, undecodable data) are typed 'error' events; no restarts.
 */
export class FileSource implements FrameSource {
  private readonly events: Emitter<FrameSourceEvents>;
  private readonly log: Logger;
  private proc: FfmpegFrameProcess | null = null;
  private readonly frames: LatestFrame;
  private stopped = false;

  constructor(
    private readonly config: FileSourceConfig,
    /** `env`: whose PATH ffmpeg is looked up in (default this process's). */
    private readonly deps: { clock: Clock; logger: Logger; env?: NodeJS.ProcessEnv },
  ) {
    this.log = deps.logger.child({ module: 'camera', source: 'file' });
    this.events = new Emitter((err) => this.log.error({ err: String(err) }, 'frame source listener failed'));
    this.frames = new LatestFrame(new FramePool(config.width * config.height * 3), config.width, config.height);
  }

  on<K extends keyof FrameSourceEvents>(event: K, listener: FrameSourceEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  latest(): Frame | null {
    return this.frames.latest();
  }

  hold(): FrameHold | null {
    return this.frames.hold();
  }

  /** Frames not delivered because every buffer of the frame pool was held. */
  get dropped(): number {
    return this.proc?.dropped ?? 0;
  }

  get pid(): number | null {
    return this.proc && !this.proc.hasExited ? this.proc.pid : null;
  }

  start(): void {
    if (this.proc || this.stopped) return;
    const ffmpeg = locateDecoder('ffmpeg', this.config.ffmpegPath, this.deps.env);
    if (ffmpeg instanceof FfmpegMissingError) {
      // Asynchronously, as every other failure of the child: listeners added right after start() hear it.
      queueMicrotask(() => {
        if (!this.stopped) this.emitError(ffmpeg);
      });
      return;
    }
    this.log.debug({ ffmpeg: ffmpeg.path, from: ffmpeg.source }, 'decoder located');
    const proc = new FfmpegFrameProcess({
      ffmpegPath: ffmpeg.path,
      args: fileFfmpegArgs(this.config, ffmpegDialect(ffmpeg)),
      width: this.config.width,
      height: this.config.height,
      clock: this.deps.clock,
      pool: this.frames.pool,
      onFrame: (buffer, capturedAt) => {
        if (this.stopped) return this.frames.pool.release(buffer);
        this.events.emit('frame', this.frames.publish(buffer, capturedAt));
      },
      onExit: (info) => {
        if (this.stopped) return;
        if (endedOnSignal(info) && !info.spawnError) {
          // Perhaps a Ctrl-C meant for this whole process: report it only if nobody stops the source.
          this.deps.clock.setTimeout(() => {
            if (!this.stopped) this.emitError(classifyFfmpegExit(info.stderr, info.code, info.signal));
          }, OUTSIDE_SIGNAL_GRACE_MS);
          return;
        }
        if (info.spawnError && (info.spawnError as NodeJS.ErrnoException).code === 'ENOENT') {
          this.emitError(new FfmpegMissingError(`ffmpeg vanished from ${ffmpeg.path}: install it with \`apt-get install -y ffmpeg\``));
        } else if (info.code === 0 && this.frames.count > 0) {
          this.events.emit('end', { frames: this.frames.count });
        } else {
          this.emitError(classifyFfmpegExit(info.stderr, info.code, info.signal));
        }
      },
    });
    this.proc = proc;
    proc.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.proc?.stop(this.config.killTimeoutMs);
  }

  private emitError(error: CameraError): void {
    this.log.warn({ code: error.code, detail: error.detail }, 'file source failed');
    this.events.emit('error', error);
  }
}
