import type { AddressInfo } from 'node:net';
import Mpeg1Muxer from 'node-rtsp-stream/mpeg1muxer';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { FfmpegMissingError, locateDecoder, maskUrl } from './ffmpeg';

export const previewConfigSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** Interface the WebSocket listens on. Anything but loopback exposes the camera: do it on purpose. */
  host: z.string().min(1).default('127.0.0.1'),
  /** 0 picks a free port (start() returns it). */
  port: z.number().int().min(0).max(65535).default(9999),
  width: z.number().int().min(16).max(4096).default(640),
  height: z.number().int().min(16).max(4096).default(480),
  /** MPEG1 allows 24, 25, 30, 50, 60 (and NTSC variants). */
  fps: z.union([z.literal(24), z.literal(25), z.literal(30), z.literal(50), z.literal(60)]).default(25),
  bitrateKbps: z.number().int().min(100).max(20_000).default(1_000),
  killTimeoutMs: z.number().int().min(10).default(2_000),
  /** `ffmpeg`: the system's, else the npm registry's static build (core/programs.ts); or a path. */
  ffmpegPath: z.string().min(1).default('ffmpeg'),
});
export type PreviewConfig = z.infer<typeof previewConfigSchema>;

/** jsmpeg's stream header: "jsmp", width and height as big-endian uint16. */
function streamHeader(width: number, height: number): Buffer {
  const b = Buffer.alloc(8);
  b.write('jsmp', 0, 'ascii');
  b.writeUInt16BE(width, 4);
  b.writeUInt16BE(height, 6);
  return b;
}

/**
 * Operator live view: node-rtsp-stream's Mpeg1Muxer turns the camera into MPEG1 (MPEG-TS), relayed
 * to WebSocket clients (jsmpeg in a browser). Off until start(); unlike node-rtsp-stream's own
 * VideoStream, the socket listens on `host` (loopback by default), logs through pino, and stop()
 * waits for ffmpeg to exit (SIGTERM, then SIGKILL after `killTimeoutMs`).
 *
 * Limits that come from Mpeg1Muxer (it puts every extra option after `-i`, so none can be an input
 * option): the RTSP transport is ffmpeg's default (UDP, falling back to TCP when no UDP arrives),
 * and this ffmpeg has no parent-death signal; if this process dies it exits on its next write to
 * the closed pipe (SIGPIPE), i.e. within one frame while the camera sends.
 */
export class PreviewRelay {
  private wss: WebSocketServer | null = null;
  private muxer: Mpeg1Muxer | null = null;
  private readonly log: Logger;

  constructor(
    private readonly cameraUrl: string,
    private readonly config: PreviewConfig,
    private readonly deps: { clock: Clock; logger: Logger },
  ) {
    this.log = deps.logger.child({ module: 'camera', part: 'preview' });
  }

  get running(): boolean {
    return this.wss !== null;
  }

  get pid(): number | null {
    const s = this.muxer?.stream;
    return s && s.exitCode === null && s.signalCode === null ? (s.pid ?? null) : null;
  }

  /** Rejects with FfmpegMissingError (naming the package) when there is no ffmpeg. */
  async start(): Promise<{ host: string; port: number }> {
    if (this.wss) return this.address();
    const ffmpeg = locateDecoder('ffmpeg', this.config.ffmpegPath);
    if (ffmpeg instanceof FfmpegMissingError) throw ffmpeg;
    const wss = new WebSocketServer({ host: this.config.host, port: this.config.port });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    this.wss = wss;
    const header = streamHeader(this.config.width, this.config.height);
    wss.on('connection', (socket: WebSocket) => {
      socket.send(header, { binary: true });
      this.log.info({ clients: wss.clients.size }, 'preview client connected');
    });
    const muxer = new Mpeg1Muxer({
      url: this.cameraUrl,
      ffmpegPath: ffmpeg.path,
      ffmpegOptions: {
        '-an': '',
        '-s': `${this.config.width}x${this.config.height}`,
        '-r': this.config.fps,
        '-b:v': `${this.config.bitrateKbps}k`,
        '-bf': 0,
        '-loglevel': 'error',
        '-nostdin': '',
      },
    });
    this.muxer = muxer;
    muxer.on('mpeg1data', (data: Buffer) => {
      for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(data, { binary: true });
    });
    muxer.on('ffmpegStderr', (data: Buffer) => this.log.warn({ ffmpeg: maskUrl(data.toString().trim()) }, 'preview ffmpeg'));
    muxer.stream.on('exit', (code, signal) => {
      if (this.muxer === muxer) this.log.warn({ code, signal }, 'preview ffmpeg exited; call start() again to resume');
    });
    const addr = this.address();
    this.log.info({ ...addr, url: maskUrl(this.cameraUrl) }, 'preview relay started');
    return addr;
  }

  async stop(): Promise<void> {
    const wss = this.wss;
    const muxer = this.muxer;
    this.wss = null;
    this.muxer = null;
    if (muxer) {
      const child = muxer.stream;
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const t = this.deps.clock.setTimeout(() => child.kill('SIGKILL'), this.config.killTimeoutMs);
        await gone;
        t.cancel();
      }
    }
    if (wss) {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  }

  private address(): { host: string; port: number } {
    const a = this.wss?.address() as AddressInfo | undefined;
    return { host: a?.address ?? this.config.host, port: a?.port ?? this.config.port };
  }
}
