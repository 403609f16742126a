import { z } from 'zod';
import type { Clock, TimerHandle } from '../../core/clock';
import type { Logger } from '../../core/log';
import {
  CameraStallError,
  Emitter,
  FfmpegFrameProcess,
  FfmpegMissingError,
  classifyFfmpegExit,
  endedOnSignal,
  OUTSIDE_SIGNAL_GRACE_MS,
  ffmpegDialect,
  locateDecoder,
  maskUrl,
  type CameraError,
  type FfmpegDialect,
} from './ffmpeg';
import { FramePool, LatestFrame, type PooledBuffer } from './frame-pool';
import type { Frame, FrameHold, FrameSource, FrameSourceEvents } from './index';

export const rtspSourceConfigSchema = z.strictObject({
  url: z.string().regex(/^rtsps?:\/\//, 'must be an rtsp:// or rtsps:// URL'),
  width: z.number().int().min(16).max(4096).default(640),
  height: z.number().int().min(16).max(4096).default(480),
  /** Output rate; null keeps the camera's own rate (no fps filter, lowest latency). */
  fps: z.number().positive().max(60).nullable().default(null),
  transport: z.enum(['tcp', 'udp']).default('tcp'),
  /** No frame for this long after frames were flowing counts as a stall: ffmpeg is restarted. */
  stallTimeoutMs: z.number().int().min(500).default(5_000),
  /** No first frame this long after ffmpeg was (re)started also counts as a stall (connecting and
   * probing the stream takes a couple of seconds). */
  startTimeoutMs: z.number().int().min(500).default(10_000),
  /** Restart delays: initial * factor^(attempt-1), capped at max; reset once frames flow again. */
  backoff: z
    .strictObject({
      initialMs: z.number().int().min(10).default(500),
      maxMs: z.number().int().min(10).default(30_000),
      factor: z.number().min(1).default(2),
    })
    .default({ initialMs: 500, maxMs: 30_000, factor: 2 }),
  /** On stop: SIGTERM, then SIGKILL if ffmpeg has not exited after this long. */
  killTimeoutMs: z.number().int().min(10).default(2_000),
  /** Decoder threads; 1 avoids frame-threading delay (each extra thread holds back one frame). */
  decodeThreads: z.number().int().min(0).max(16).default(1),
  /**
   * Which decoder child turns the stream into raw frames. `ffmpeg` (default; also from the npm
   * static build) holds about two frame intervals (~80 ms at 25 fps) in its RTSP H.264 parsing and
   * output; `gstreamer` (gst-launch-1.0 with rtspsrc latency=0 and the libav decoder, Debian
   * packages gstreamer1.0-tools, -plugins-base/-good, -libav) delivers within a few ms and starts in
   * ~0.2 s instead of ~2 s. Both write the same raw RGB24 frames to a pipe.
   */
  decoder: z.enum(['ffmpeg', 'gstreamer']).default('ffmpeg'),
  /** `ffmpeg`: the system's, else the npm registry's static build (core/programs.ts); or a path. */
  ffmpegPath: z.string().min(1).default('ffmpeg'),
  /** `gst-launch-1.0`: the system's (Debian gstreamer1.0-tools); or a path. */
  gstLaunchPath: z.string().min(1).default('gst-launch-1.0'),
});
export type RtspSourceConfig = z.infer<typeof rtspSourceConfigSchema>;

/** The ffmpeg arguments for an RTSP source (exported so the benchmark and docs show the real ones). */
export function rtspFfmpegArgs(c: RtspSourceConfig, dialect: FfmpegDialect = 'current'): string[] {
  const filters = [...(c.fps !== null ? [`fps=${c.fps}`] : []), `scale=${c.width}:${c.height}`];
  return [
    '-nostdin', '-hide_banner', '-loglevel', 'error',
    '-rtsp_transport', c.transport,
    // Socket I/O timeout (microseconds): a silent camera makes ffmpeg exit instead of hanging.
    // (ffmpeg 4's `-timeout` would make it listen for a camera instead: its name was `-stimeout`.)
    dialect === 'ffmpeg4' ? '-stimeout' : '-timeout', String(c.stallTimeoutMs * 1000),
    '-fflags', 'nobuffer', '-flags', 'low_delay',
    '-threads', String(c.decodeThreads),
    '-i', c.url,
    '-an', '-sn', '-dn',
    '-vf', filters.join(','),
    // Flush every frame: otherwise the tail of each frame (frame size mod the 32 KiB I/O buffer)
    // waits in ffmpeg until the next frame, adding a whole frame interval of delay.
    '-flush_packets', '1',
    '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1',
  ];
}

/** gst-launch-1.0 pipeline for the `gstreamer` decoder: rtspsrc -> decodebin -> RGB at the configured size. */
export function rtspGstArgs(c: RtspSourceConfig): string[] {
  const rate = c.fps !== null ? ['videorate', 'drop-only=true', '!'] : [];
  const caps = `video/x-raw,format=RGB,width=${c.width},height=${c.height}${c.fps !== null ? `,framerate=${Math.round(c.fps)}/1` : ''}`;
  return [
    '-q',
    'rtspsrc', `location=${c.url}`, 'latency=0', `protocols=${c.transport}`, `tcp-timeout=${c.stallTimeoutMs * 1000}`,
    '!', 'decodebin', '!', 'videoconvert', '!', 'videoscale', '!', ...rate, caps,
    '!', 'fdsink', 'fd=1', 'sync=false',
  ];
}

type State = 'idle' | 'running' | 'waiting' | 'stopped';

/**
 * Live camera over RTSP through an ffmpeg child. Keeps only the latest frame; a watchdog on the
 * injected clock declares a stall when no frame arrived for `stallTimeoutMs` and restarts ffmpeg with
 * exponential backoff; ffmpeg failures become typed errors ('error' event) and also restart.
 */
export class RtspSource implements FrameSource {
  private readonly events: Emitter<FrameSourceEvents>;
  private readonly log: Logger;
  private state: State = 'idle';
  private proc: FfmpegFrameProcess | null = null;
  private readonly frames: LatestFrame;
  private lastProgress = 0;
  private watchdog: TimerHandle | null = null;
  private restartTimer: TimerHandle | null = null;
  private failures = 0;
  private downSince: number | null = null;
  private stalled = false;
  private framesSinceSpawn = 0;
  private restarts = 0;
  /** Frames dropped by decoders that have gone (stats()). */
  private dropped = 0;

  constructor(
    private readonly config: RtspSourceConfig,
    /** `env`: whose PATH the decoder is looked up in (default this process's). */
    private readonly deps: { clock: Clock; logger: Logger; env?: NodeJS.ProcessEnv },
  ) {
    this.log = deps.logger.child({ module: 'camera', source: 'rtsp' });
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

  /** pid of the current ffmpeg child (tests use it to prove it is gone). */
  get pid(): number | null {
    return this.proc && !this.proc.hasExited ? this.proc.pid : null;
  }

  /** `dropped`: frames not delivered because every buffer of the frame pool was held, over all restarts. */
  stats(): { seq: number; restarts: number; state: State; dropped: number } {
    return { seq: this.frames.count, restarts: this.restarts, state: this.state, dropped: this.dropped + (this.proc?.dropped ?? 0) };
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    const period = Math.max(50, Math.floor(Math.min(this.config.stallTimeoutMs, this.config.startTimeoutMs) / 5));
    this.watchdog = this.deps.clock.setInterval(() => this.checkStall(), period);
    this.spawn();
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.watchdog?.cancel();
    this.restartTimer?.cancel();
    this.watchdog = this.restartTimer = null;
    const proc = this.proc;
    this.proc = null;
    await proc?.stop(this.config.killTimeoutMs);
  }

  private spawn(): void {
    this.lastProgress = this.deps.clock.monotonic();
    this.stalled = false;
    this.framesSinceSpawn = 0;
    const gst = this.config.decoder === 'gstreamer';
    // Looked up at every (re)start: a decoder installed while the camera waits is picked up.
    const decoder = gst
      ? locateDecoder('gst-launch-1.0', this.config.gstLaunchPath, this.deps.env)
      : locateDecoder('ffmpeg', this.config.ffmpegPath, this.deps.env);
    if (decoder instanceof FfmpegMissingError) {
      this.proc = null;
      queueMicrotask(() => {
        if (this.state === 'running') this.fail(decoder);
      });
      return;
    }
    const proc: FfmpegFrameProcess = new FfmpegFrameProcess({
      ffmpegPath: decoder.path,
      args: gst ? rtspGstArgs(this.config) : rtspFfmpegArgs(this.config, ffmpegDialect(decoder)),
      width: this.config.width,
      height: this.config.height,
      clock: this.deps.clock,
      pool: this.frames.pool,
      onFrame: (buffer, capturedAt) => this.onFrame(buffer, capturedAt),
      onExit: (info) => {
        this.dropped += proc.dropped;
        if (this.proc !== proc || this.state === 'stopped') return;
        this.proc = null;
        let error: CameraError;
        if (info.spawnError && (info.spawnError as NodeJS.ErrnoException).code === 'ENOENT') {
          error = new FfmpegMissingError(`${decoder.path} vanished: install it with \`apt-get install -y ${gst ? 'gstreamer1.0-tools' : 'ffmpeg'}\``);
        } else if (this.stalled) {
          error = new CameraStallError(`no frame for ${this.framesSinceSpawn > 0 ? this.config.stallTimeoutMs : this.config.startTimeoutMs} ms`);
        } else {
          error = classifyFfmpegExit(info.stderr, info.code, info.signal);
          if (endedOnSignal(info)) {
            // Perhaps a Ctrl-C meant for this whole process: report it only if nobody stops the source.
            this.deps.clock.setTimeout(() => {
              if (this.state !== 'stopped') this.fail(error);
            }, OUTSIDE_SIGNAL_GRACE_MS);
            return;
          }
        }
        this.fail(error);
      },
    });
    this.proc = proc;
    proc.start();
    this.log.debug({ url: maskUrl(this.config.url), pid: proc.pid, decoder: this.config.decoder }, 'decoder started');
  }

  private onFrame(buffer: PooledBuffer, capturedAt: number): void {
    if (this.state === 'stopped') {
      this.frames.pool.release(buffer);
      return;
    }
    this.lastProgress = this.deps.clock.monotonic();
    this.framesSinceSpawn += 1;
    const frame = this.frames.publish(buffer, capturedAt);
    if (this.downSince !== null) {
      const info = { downMs: this.deps.clock.monotonic() - this.downSince, attempts: this.failures };
      this.downSince = null;
      this.failures = 0;
      this.log.info(info, 'camera recovered');
      this.events.emit('recovered', info);
    }
    this.events.emit('frame', frame);
  }

  private checkStall(): void {
    if (this.state !== 'running' || !this.proc || this.stalled) return;
    const since = this.deps.clock.monotonic() - this.lastProgress;
    const limit = this.framesSinceSpawn > 0 ? this.config.stallTimeoutMs : this.config.startTimeoutMs;
    if (since < limit) return;
    this.stalled = true;
    this.log.warn({ sinceLastFrameMs: since }, 'camera stalled, restarting ffmpeg');
    this.events.emit('stall', { sinceLastFrameMs: since });
    void this.proc.stop(this.config.killTimeoutMs);
  }

  private fail(error: CameraError): void {
    // Down since the last frame (or the spawn that never produced one).
    if (this.downSince === null) this.downSince = this.lastProgress;
    this.failures += 1;
    this.log.warn({ code: error.code, detail: error.detail, attempt: this.failures }, 'camera source failed');
    if (!(error instanceof CameraStallError)) this.events.emit('error', error);
    const b = this.config.backoff;
    const delayMs = Math.min(b.maxMs, Math.round(b.initialMs * b.factor ** (this.failures - 1)));
    this.state = 'waiting';
    this.events.emit('restarting', { attempt: this.failures, delayMs });
    this.restartTimer = this.deps.clock.setTimeout(() => {
      this.restartTimer = null;
      if (this.state !== 'waiting') return;
      this.state = 'running';
      this.restarts += 1;
      this.spawn();
    }, delayMs);
  }
}
