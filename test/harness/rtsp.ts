// Test and benchmark helper: a real RTSP server (Debian GStreamer RTSP server via rtsp-server.py,
// run with the system python3, core/programs.ts) on loopback, plus generated test media. Reusable by
// any test (drivers, end-to-end, site tests).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { PROGRAMS, ProgramMissingError, programPath } from '../../core/programs';
import { freeLoopbackPort as freePort } from '../../provisioning/ports';
import * as path from 'node:path';

const SCRIPT = path.join(__dirname, 'rtsp-server.py');
const REPO = path.resolve(__dirname, '../..');

export interface RtspServerOptions {
  /** Fixed port (for restart-on-the-same-port tests); default a free one. */
  port?: number;
  path?: string;
  /** pattern: moving ball; stamp: frames carrying the send time (see readStamp); file: a video file. */
  source?: 'pattern' | 'stamp' | 'file';
  file?: string;
  width?: number;
  height?: number;
  fps?: number;
  user?: string;
  password?: string;
}


export { freePort };

let python: string | null = null;
/**
 * The system python3 with GStreamer's RTSP server bindings, or a ProgramMissingError naming the Debian
 * packages (`npm test` installs them first: scripts/system-packages.js). Checked once per process.
 */
export function rtspServerPython(): string {
  if (python) return python;
  const p = programPath('system-python3');
  const r = spawnSync(p, ['-c', "import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer"], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new ProgramMissingError('system-python3', PROGRAMS['system-python3'].packages, `${p} cannot import GstRtspServer`);
  }
  return (python = p);
}

export class RtspTestServer {
  private child: ChildProcess | null = null;

  private constructor(
    private readonly opts: RtspServerOptions,
    readonly port: number,
  ) {}

  static async start(opts: RtspServerOptions = {}): Promise<RtspTestServer> {
    const server = new RtspTestServer(opts, opts.port ?? (await freePort()));
    await server.launch();
    return server;
  }

  get url(): string {
    return `rtsp://127.0.0.1:${this.port}${this.opts.path ?? '/test'}`;
  }

  /** URL with credentials (for servers started with user/password). */
  urlWith(user: string, password: string): string {
    return `rtsp://${user}:${password}@127.0.0.1:${this.port}${this.opts.path ?? '/test'}`;
  }

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Starts (again) on the same port; resolves when it listens. */
  async launch(): Promise<void> {
    if (this.child) throw new Error('RTSP test server already running');
    const o = this.opts;
    const args = [
      SCRIPT, '--port', String(this.port), '--path', o.path ?? '/test', '--source', o.source ?? 'pattern',
      '--width', String(o.width ?? 640), '--height', String(o.height ?? 480), '--fps', String(o.fps ?? 25),
      ...(o.file ? ['--file', o.file] : []),
      ...(o.user ? ['--user', o.user, '--password', o.password ?? ''] : []),
    ];
    const child = spawn(rtspServerPython(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`RTSP test server did not start: ${stderr}`)), 15_000);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('READY')) {
          clearTimeout(timer);
          resolve();
        } else if (out.includes('ERROR')) {
          clearTimeout(timer);
          reject(new Error(`RTSP test server failed: ${out} ${stderr}`));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`RTSP test server exited (${code}): ${stderr}`));
      });
    });
  }

  /** Kills the server abruptly (SIGKILL by default) and waits until it is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await gone;
  }

  stop(): Promise<void> {
    return this.kill('SIGTERM');
  }
}

/**
 * The send time (low 32 bits of epoch ms) carried by a frame from a `stamp` server: the top row of
 * 16x16 blocks, bit 31 first, white = 1. Returns the age in ms at `nowMs`, or null if no stamp.
 */
export function stampAgeMs(frame: { width: number; data: Buffer }, nowMs: number): number | null {
  if (frame.width < 32 * 16) return null;
  let v = 0;
  for (let i = 0; i < 32; i++) {
    const px = (8 * frame.width + i * 16 + 8) * 3;
    const lum = ((frame.data[px] ?? 0) + (frame.data[px + 1] ?? 0) + (frame.data[px + 2] ?? 0)) / 3;
    v = (v * 2 + (lum > 128 ? 1 : 0)) >>> 0;
  }
  const age = ((nowMs >>> 0) - v) >>> 0;
  return age < 60_000 ? age : null;
}

/** Generates (once, cached under .cache/test-media) a short testsrc video; returns its path. */
export function makeTestVideo(opts: { seconds?: number; width?: number; height?: number; fps?: number } = {}): string {
  const { seconds = 2, width = 320, height = 240, fps = 25 } = opts;
  const dir = path.join(REPO, '.cache', 'test-media');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `testsrc-${width}x${height}-${fps}fps-${seconds}s.mp4`);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp.mp4`;
    const r = spawnSync(programPath('ffmpeg'), [
      '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
      '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', String(fps), tmp,
    ], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ffmpeg could not make the test video: ${r.stderr}`);
    fs.renameSync(tmp, file);
  }
  return file;
}

/** Generates (once) a numbered PNG sequence of `count` frames; returns the ffmpeg pattern. */
export function makeTestImages(count = 5, width = 64, height = 48): string {
  const dir = path.join(REPO, '.cache', 'test-media', `images-${width}x${height}-${count}`);
  const pattern = path.join(dir, '%03d.png');
  if (!fs.existsSync(path.join(dir, `${String(count).padStart(3, '0')}.png`))) {
    fs.mkdirSync(dir, { recursive: true });
    const r = spawnSync(programPath('ffmpeg'), [
      '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=25`, '-frames:v', String(count),
      '-start_number', '1', pattern,
    ], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ffmpeg could not make test images: ${r.stderr}`);
  }
  return pattern;
}
