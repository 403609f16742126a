import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Clock } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import { locateProgram, ProgramMissingError, type LocatedProgram, type ProgramName } from '../../core/programs';
import type { FramePool, PooledBuffer } from './frame-pool';

/** Any failure of a camera source. `detail` is ffmpeg's last error line (no credentials: URLs are masked). */
export abstract class CameraError extends TerminalError {
  constructor(
    message: string,
    readonly detail: string | null = null,
    options?: { cause?: unknown },
  ) {
    super(detail ? `${message}: ${detail}` : message, options);
  }
}
/** The camera could not be reached (connection refused, timed out, host unreachable). */
export class CameraConnectionError extends CameraError {
  readonly code = 'camera-connect';
}
/** The camera refused the credentials (RTSP 401/403). */
export class CameraAuthError extends CameraError {
  readonly code = 'camera-auth';
}
/** The stream path or file does not exist (RTSP 404, no such file). */
export class CameraNotFoundError extends CameraError {
  readonly code = 'camera-not-found';
}
/** ffmpeg cannot decode what it received (unsupported codec, corrupt or non-video data). */
export class CameraCodecError extends CameraError {
  readonly code = 'camera-codec';
}
/** No decoder executable (ffmpeg, or gst-launch-1.0 for the gstreamer decoder): the message names its package. */
export class FfmpegMissingError extends CameraError {
  readonly code = 'camera-ffmpeg-missing';
}
/** No frame arrived for the stall timeout; the source restarts ffmpeg. */
export class CameraStallError extends CameraError {
  readonly code = 'camera-stall';
}
/** ffmpeg ended without one of the reasons above (stream ended, crashed, killed). */
export class CameraStreamError extends CameraError {
  readonly code = 'camera-stream';
}

/** Replaces user:password in URLs so logs and errors never carry camera credentials. */
export function maskUrl(text: string): string {
  return text.replace(/([a-z]+:\/\/)[^/@\s]+@/gi, '$1***@');
}

/**
 * How long a source waits before it reports a decoder that was stopped by a signal it did not send: a
 * Ctrl-C in a shell (or systemd stopping the unit) reaches ffmpeg, in the same process group, a moment
 * before this process's own handler stops the source; reported at once, every such stop printed a
 * camera failure. Within this time the source is usually stopped, and nothing is reported.
 */
export const OUTSIDE_SIGNAL_GRACE_MS = 500;

/**
 * The decoder ended on a signal (killed outright, or ffmpeg's own handler: exit code 255 with nothing said
 * at -loglevel error). Not necessarily from outside (a crash is a signal too): the caller only delays.
 */
export function endedOnSignal(info: { code: number | null; signal: string | null; stderr: readonly string[] }): boolean {
  return info.signal !== null || (info.code === 255 && info.stderr.every((l) => l.trim() === ''));
}

/** Turns the decoder's stderr (ffmpeg at -loglevel error, or gst-launch-1.0) and exit status into a typed error. */
export function classifyFfmpegExit(stderrLines: readonly string[], code: number | null, signal: string | null): CameraError {
  const text = stderrLines.join('\n');
  // The most specific line: skip gst-launch's generic wrapper lines and source references.
  const meaningful = stderrLines.filter(
    (l) => l.trim() !== '' && !/^ERROR: pipeline|^Additional debug info|\.c\(\d+\)|^ERROR: from element/.test(l.trim()),
  );
  const last = maskUrl((meaningful.at(-1) ?? stderrLines.at(-1) ?? '').trim()) || null;
  const detail = last ?? (signal ? `killed by ${signal}` : `exit code ${code ?? '?'}`);
  if (/\b40[13]\b|Unauthorized|Forbidden/i.test(text)) return new CameraAuthError('camera refused the credentials', detail);
  if (/\b404\b|No such file or directory/.test(text)) return new CameraNotFoundError('camera stream not found', detail);
  if (/Connection refused|Failed to connect|Could not open resource|timed out|No route to host|Network is unreachable|Name or service not known|Failed to resolve|Connection reset|Broken pipe|End of file/i.test(text)) {
    return new CameraConnectionError('cannot connect to the camera', detail);
  }
  if (/Decoder .*not found|Unsupported codec|unknown codec|Invalid data found|could not find codec parameters|no video stream|does not contain any stream|Output file .* does not contain/i.test(text)) {
    return new CameraCodecError('cannot decode the camera stream', detail);
  }
  return new CameraStreamError('camera stream ended', detail);
}

/**
 * Option names that differ between ffmpeg releases. `ffmpeg4` is the npm registry's static build
 * (@ffmpeg-installer, ffmpeg 4.1 of 2018): it has no `-fps_mode` (it has `-vsync`), and its RTSP
 * `-timeout` means "listen for a connection" (the socket timeout is `-stimeout`). `current` is
 * Debian's ffmpeg (5.1 in bookworm) and newer, where `-vsync` is deprecated and `-stimeout` gone.
 */
export type FfmpegDialect = 'ffmpeg4' | 'current';

/** The dialect of a located ffmpeg: the registry build is the old one; a system or configured one is taken as current. */
export function ffmpegDialect(p: Pick<LocatedProgram, 'source' | 'path'>): FfmpegDialect {
  return p.source === 'registry' || p.path.includes('/@ffmpeg-installer/') ? 'ffmpeg4' : 'current';
}

/** `-fps_mode passthrough` in the dialect: every decoded frame out once, none duplicated or dropped. */
export function passthroughArgs(dialect: FfmpegDialect): string[] {
  return dialect === 'ffmpeg4' ? ['-vsync', 'passthrough'] : ['-fps_mode', 'passthrough'];
}

/**
 * The decoder to run for a camera (`configured` from its config; the default name means "the system's,
 * else the registry build"), or a FfmpegMissingError whose message names the package to install.
 */
export function locateDecoder(program: Extract<ProgramName, 'ffmpeg' | 'gst-launch-1.0'>, configured: string, env?: NodeJS.ProcessEnv): LocatedProgram | FfmpegMissingError {
  try {
    return locateProgram(program, { configured, ...(env ? { env } : {}) });
  } catch (e) {
    if (e instanceof ProgramMissingError) return new FfmpegMissingError(e.message, null, { cause: e });
    throw e;
  }
}

let setprivPath: string | null | undefined;
/** util-linux setpriv, used to give ffmpeg a parent-death signal; null where it is missing. */
function findSetpriv(): string | null {
  if (setprivPath === undefined) {
    setprivPath = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p)) ?? null;
  }
  return setprivPath;
}

export interface FfmpegFrameProcessOptions {
  ffmpegPath: string;
  args: readonly string[];
  width: number;
  height: number;
  clock: Clock;
  /** Where frames are assembled: its buffers are `width * height * 3` bytes; shared across restarts. */
  pool: FramePool;
  /**
   * Called for every complete RGB24 frame with the time its last byte was read. The callee takes over
   * this process's hold on the buffer and must release it to the pool.
   */
  onFrame: (buffer: PooledBuffer, capturedAt: number) => void;
  /** Called once when the child has gone, with ffmpeg's stderr tail. */
  onExit: (info: { code: number | null; signal: string | null; stderr: string[]; spawnError: Error | null }) => void;
}

const STDERR_LINES = 20;
const DISCARD_BYTES = 64 * 1024;

/**
 * One ffmpeg child writing raw RGB24 frames to stdout, a unix socket read into the pool's buffers
 * (see start()). The child:
 *  - is started through `setpriv --pdeathsig KILL` where available, so the kernel kills it if this
 *    process dies, even by SIGKILL; without setpriv it still dies on its next write (SIGPIPE) and the
 *    RTSP socket timeout bounds a stalled read;
 *  - is never detached, has no stdin (-nostdin), and its stderr is kept only as a bounded tail.
 * Frames are read into buffers of the pool; nothing is queued beyond the frame being filled. When
 * every buffer of the pool is held, the frames read meanwhile are dropped (`dropped`), never written
 * over a held one.
 */
export class FfmpegFrameProcess {
  private child: ChildProcess | null = null;
  private reader: net.Socket | null = null;
  private closeListener: (() => void) | null = null;
  private started = false;
  private stopRequested = false;
  private spawnError: Error | null = null;
  private childExit: { code: number | null; signal: string | null } | null = null;
  private readerClosed = false;
  /** Where the bytes of a dropped frame are read (allocated the first time one is dropped). */
  private discard: Buffer | undefined;
  private readonly frameSize: number;
  /** The buffer being filled; null while every buffer is held (the frame being read is dropped). */
  private current: PooledBuffer | null = null;
  private filled = 0;
  /** Frames read but not delivered because every buffer of the pool was held. */
  dropped = 0;
  private readonly stderr: string[] = [];
  private stderrPartial = '';
  private exited = false;
  private exitWaiters: Array<() => void> = [];

  constructor(private readonly opts: FfmpegFrameProcessOptions) {
    this.frameSize = opts.width * opts.height * 3;
    if (opts.pool.frameBytes !== this.frameSize) {
      throw new RangeError(`frame pool buffers hold ${opts.pool.frameBytes} bytes; ${opts.width}x${opts.height} RGB24 frames need ${this.frameSize}`);
    }
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  get hasExited(): boolean {
    return this.exited;
  }

  /**
   * Starts the decoder. Its stdout is one end of a unix socket whose other end is read with net's
   * `onread`, straight into the pool's buffers: a pipe read allocates a fresh 64 KB Buffer per read
   * (23 MB/s at 640x480, 25 fps), which kept V8's external memory churning and forced a major
   * collection about every second (bench:soak). The socket is made in a fresh 0700 folder (only this
   * user can connect to it) that is removed once connected; so the child is spawned a few ms after
   * start() returns (`pid` is null until then).
   */
  start(): void {
    if (this.started) return;
    this.started = true;
    let dir: string;
    try {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doorway-frames-'));
    } catch (e) {
      queueMicrotask(() => this.finish({ code: null, signal: null, spawnError: e as Error }));
      return;
    }
    const address = path.join(dir, 'frames.sock');
    const server = net.createServer((writeEnd) => {
      this.closeListener?.();
      if (this.stopRequested) {
        writeEnd.destroy();
        this.reader?.destroy();
        return;
      }
      this.spawnChild(writeEnd);
      // the child has its own copy of this end
      writeEnd.destroy();
    });
    let listening = true;
    // stops listening and removes the socket and its folder, once (connected, failed or stopped early)
    this.closeListener = () => {
      if (!listening) return;
      listening = false;
      server.close();
      fs.rmSync(address, { force: true });
      try {
        fs.rmdirSync(dir);
      } catch {
        // gone already; it held nothing but the socket
      }
    };
    server.on('error', (e) => {
      this.closeListener?.();
      this.reader?.destroy();
      this.finish({ code: null, signal: null, spawnError: e });
    });
    server.listen(address, () => {
      if (this.stopRequested) return;
      const reader = net.connect({
        path: address,
        onread: { buffer: () => this.readTarget(), callback: (n: number) => this.onRead(n) },
      });
      this.reader = reader;
      reader.on('error', () => {
        // the child's end closing is the end of the stream; errors end it the same way
      });
      reader.on('close', () => {
        this.readerClosed = true;
        if (this.stopRequested && !this.child) this.finish({ code: null, signal: null, spawnError: null });
        else this.maybeFinish();
      });
    });
  }

  private spawnChild(stdout: net.Socket): void {
    const setpriv = findSetpriv();
    const [cmd, args] = setpriv
      ? [setpriv, ['--pdeathsig', 'KILL', '--', this.opts.ffmpegPath, ...this.opts.args]]
      : [this.opts.ffmpegPath, [...this.opts.args]];
    const child = spawn(cmd, args, { stdio: ['ignore', stdout, 'pipe'], detached: false });
    this.child = child;
    child.on('error', (err) => {
      this.spawnError = err;
      // no child: nothing will write to the socket
      this.reader?.destroy();
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => this.onStderr(s));
    child.on('close', (code, signal) => {
      this.childExit = { code, signal };
      this.maybeFinish();
    });
  }

  /** Once the child has gone and everything it wrote has been read. */
  private maybeFinish(): void {
    if (!this.childExit || !this.readerClosed) return;
    const { code, signal } = this.childExit;
    let spawnError = this.spawnError;
    if (this.stderrPartial) this.pushStderr(this.stderrPartial);
    this.stderrPartial = '';
    // setpriv reports a missing ffmpeg on stderr with exit code 127 rather than a spawn error.
    if (!spawnError && code === 127 && this.stderr.some((l) => /No such file|not found/i.test(l))) {
      spawnError = Object.assign(new Error(`spawn ${this.opts.ffmpegPath} ENOENT`), { code: 'ENOENT' });
    }
    this.finish({ code, signal, spawnError });
  }

  private finish(info: { code: number | null; signal: string | null; spawnError: Error | null }): void {
    if (this.exited) return;
    this.exited = true;
    // a partly filled frame of a child that has gone is never delivered: its buffer goes back
    if (this.current) this.opts.pool.release(this.current);
    this.current = null;
    this.opts.onExit({ ...info, stderr: [...this.stderr] });
    for (const w of this.exitWaiters.splice(0)) w();
  }

  /** SIGTERM, then SIGKILL if the child is still there after `killTimeoutMs`. Resolves once it has gone. */
  async stop(killTimeoutMs: number): Promise<void> {
    if (!this.started || this.exited) return;
    this.stopRequested = true;
    const gone = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    const child = this.child;
    if (!child) {
      // not spawned yet: it will not be; the reader's close finishes
      this.closeListener?.();
      this.reader?.destroy();
      if (!this.reader) this.finish({ code: null, signal: null, spawnError: null });
      await gone;
      return;
    }
    child.kill('SIGTERM');
    const timer = this.opts.clock.setTimeout(() => {
      if (!this.childExit) child.kill('SIGKILL');
    }, killTimeoutMs);
    await gone;
    timer.cancel();
  }

  /** Where the next read goes: the rest of the frame being filled, or a scratch buffer for a dropped frame. */
  private readTarget(): Uint8Array {
    // a buffer is taken at a frame's first byte, so a dropped frame is dropped whole
    if (this.filled === 0 && !this.current && !this.exited) this.current = this.opts.pool.acquire();
    if (this.current) return this.current.data.subarray(this.filled);
    this.discard ??= Buffer.allocUnsafe(DISCARD_BYTES);
    return this.discard.subarray(0, Math.min(DISCARD_BYTES, this.frameSize - this.filled));
  }

  /** The socket's read callback: `n` bytes went where readTarget() said. Always keeps reading. */
  private onRead(n: number): boolean {
    if (this.exited) return true;
    this.filled += n;
    if (this.filled < this.frameSize) return true;
    const frame = this.current;
    this.current = null;
    this.filled = 0;
    if (frame) this.opts.onFrame(frame, this.opts.clock.now());
    else this.dropped += 1;
    return true;
  }

  private onStderr(s: string): void {
    const parts = (this.stderrPartial + s).split(/\r?\n/);
    this.stderrPartial = parts.pop() ?? '';
    for (const line of parts) this.pushStderr(line);
  }

  private pushStderr(line: string): void {
    if (!line.trim()) return;
    this.stderr.push(maskUrl(line));
    if (this.stderr.length > STDERR_LINES) this.stderr.shift();
  }
}

/** Typed event map helper: one listener failing does not stop the others. */
export class Emitter<M extends { [K in keyof M]: (arg: never) => void }> {
  private readonly listeners = new Map<keyof M, Set<(arg: never) => void>>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => {}) {}

  on<K extends keyof M>(event: K, fn: M[K]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  emit<K extends keyof M>(event: K, arg: Parameters<M[K]>[0]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as (a: Parameters<M[K]>[0]) => void)(arg);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
