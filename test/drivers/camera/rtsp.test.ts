import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeClock, SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import {
  CameraAuthError,
  CameraConnectionError,
  CameraNotFoundError,
  RtspSource,
  rtspSourceConfigSchema,
  type RtspSourceConfig,
} from '../../../drivers/camera';
import { RtspTestServer, freePort } from '../../harness/rtsp';
import { waitFor } from '../../harness/wait';
import { alive, once } from './wait';

const ROOT = path.resolve(__dirname, '../../..');

function source(config: Partial<RtspSourceConfig> & { url: string }, clock = new SystemClock(), env?: NodeJS.ProcessEnv): RtspSource {
  return new RtspSource(rtspSourceConfigSchema.parse(config), { clock, logger: silentLogger(), ...(env ? { env } : {}) });
}

/** A PATH with neither ffmpeg nor gst-launch-1.0 on it. */
const EMPTY_PATH = { PATH: fs.mkdtempSync(path.join(os.tmpdir(), 'doorway-empty-path-')) };

describe('RtspSource against a real RTSP server', () => {
  let server: RtspTestServer;
  const sources: RtspSource[] = [];
  const track = (s: RtspSource): RtspSource => (sources.push(s), s);

  beforeAll(async () => {
    server = await RtspTestServer.start({ source: 'pattern' });
  });
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await server.stop();
  });

  it('decodes RGB24 frames at the configured size, keeps only the latest, and stop() ends ffmpeg', async () => {
    const src = track(source({ url: server.url, width: 320, height: 240 }));
    src.start();
    const first = await once(src, 'frame');
    expect(first).toMatchObject({ width: 320, height: 240, format: 'rgb24', seq: 1 });
    expect(first.data.length).toBe(320 * 240 * 3);
    await waitFor(() => (src.latest()?.seq ?? 0) >= 5, 10_000, 'five frames');
    expect(src.latest()?.seq).toBe(src.stats().seq);
    const pid = src.pid;
    expect(pid).not.toBeNull();
    await src.stop();
    expect(alive(pid ?? -1)).toBe(false);
    expect(src.pid).toBeNull();
  });

  it('decodes the same frames through the gstreamer decoder', async () => {
    const src = track(source({ url: server.url, width: 320, height: 240, decoder: 'gstreamer' }));
    src.start();
    const first = await once(src, 'frame');
    expect(first).toMatchObject({ width: 320, height: 240, format: 'rgb24', seq: 1 });
    expect(first.data.length).toBe(320 * 240 * 3);
    const pid = src.pid;
    await src.stop();
    expect(alive(pid ?? -1)).toBe(false);
  });

  it("decodes the camera with the npm registry's ffmpeg when the system has none (its RTSP socket timeout option is -stimeout)", async () => {
    const src = track(source({ url: server.url, width: 64, height: 48 }, new SystemClock(), EMPTY_PATH));
    src.start();
    const first = await once(src, 'frame');
    expect(first).toMatchObject({ width: 64, height: 48, seq: 1 });
    expect(fs.readlinkSync(`/proc/${src.pid ?? -1}/exe`)).toMatch(/node_modules\/@ffmpeg-installer\/linux-(x64|arm64)\/ffmpeg$/);
    await waitFor(() => (src.latest()?.seq ?? 0) >= 5, 10_000, 'five frames');
  });

  it('reports a missing gst-launch-1.0 as FfmpegMissingError naming its package, and keeps retrying', async () => {
    const src = track(source({ url: server.url, decoder: 'gstreamer', backoff: { initialMs: 50, maxMs: 50, factor: 1 } }, new SystemClock(), EMPTY_PATH));
    const errors: string[] = [];
    src.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
    src.start();
    await waitFor(() => errors.length >= 2, 10_000, 'two attempts');
    expect(errors[0]).toMatch(/^camera-ffmpeg-missing: gst-launch-1.0 is not installed .*apt-get install -y gstreamer1.0-tools/);
    expect(src.stats().restarts).toBeGreaterThanOrEqual(1);
  });

  it('reports a wrong stream path as CameraNotFoundError through the gstreamer decoder too', async () => {
    const gst = track(source({ url: server.url.replace('/test', '/nope'), decoder: 'gstreamer' }));
    gst.start();
    expect(await once(gst, 'error')).toBeInstanceOf(CameraNotFoundError);
  });

  it('reports a wrong stream path as CameraNotFoundError', async () => {
    const src = track(source({ url: server.url.replace('/test', '/nope') }));
    src.start();
    expect(await once(src, 'error')).toBeInstanceOf(CameraNotFoundError);
  });

  it('leaves no ffmpeg behind when its parent process is killed with SIGKILL', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'orphan-child.ts'), server.url], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /FFMPEG_PID (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', () => reject(new Error(`child exited early: ${out}`)));
    });
    expect(alive(pid)).toBe(true);
    child.kill('SIGKILL');
    await waitFor(() => !alive(pid), 10_000, 'ffmpeg gone after parent SIGKILL');
  });
});

describe('RtspSource recovery', () => {
  it.each(['ffmpeg', 'gstreamer'] as const)('recovers through the %s decoder after the RTSP server is killed and restarted on the same port', async (decoder) => {
    const server = await RtspTestServer.start({ source: 'pattern', width: 320, height: 240 });
    const src = source({ url: server.url, width: 320, height: 240, decoder, stallTimeoutMs: 1_500, backoff: { initialMs: 200, maxMs: 1_000, factor: 2 } });
    try {
      src.start();
      await once(src, 'frame');
      const down = new Promise<string>((resolve) => {
        src.on('stall', () => resolve('stall'));
        src.on('error', (e) => resolve(e.code));
      });
      await server.kill();
      expect(['stall', 'camera-connect', 'camera-stream']).toContain(await down);
      const restarting = await once(src, 'restarting');
      expect(restarting.attempt).toBeGreaterThanOrEqual(1);
      await server.launch();
      const recovered = await once(src, 'recovered', 30_000);
      expect(recovered.attempts).toBeGreaterThanOrEqual(1);
      const seq = src.latest()?.seq ?? 0;
      await waitFor(() => (src.latest()?.seq ?? 0) > seq + 3, 10_000, 'frames after recovery');
    } finally {
      await src.stop();
      await server.stop();
    }
  });

  it('gives a typed connection error for a URL nobody serves and keeps retrying with growing delays', async () => {
    const port = await freePort();
    const src = source({ url: `rtsp://127.0.0.1:${port}/cam`, backoff: { initialMs: 50, maxMs: 1_000, factor: 2 } });
    const errors: unknown[] = [];
    const delays: number[] = [];
    src.on('error', (e) => errors.push(e));
    src.on('restarting', (r) => delays.push(r.delayMs));
    try {
      src.start();
      await waitFor(() => delays.length >= 3, 15_000, 'three retries');
      expect(errors[0]).toBeInstanceOf(CameraConnectionError);
      expect((errors[0] as Error).message).toMatch(/Connection refused/);
      expect(delays.slice(0, 3)).toEqual([50, 100, 200]);
    } finally {
      await src.stop();
    }
  });

  it('reports refused credentials as CameraAuthError and never logs the password', async () => {
    const server = await RtspTestServer.start({ source: 'pattern', width: 320, height: 240, user: 'door', password: 'right' });
    const src = source({ url: server.urlWith('door', 'wrong'), width: 320, height: 240 });
    try {
      src.start();
      const err = await once(src, 'error');
      expect(err).toBeInstanceOf(CameraAuthError);
      expect(err.message).not.toContain('wrong');
      const ok = source({ url: server.urlWith('door', 'right'), width: 320, height: 240 });
      ok.start();
      await once(ok, 'frame');
      await ok.stop();
    } finally {
      await src.stop();
      await server.stop();
    }
  });
});

describe('RtspSource watchdog and backoff (fake clock, a stand-in ffmpeg that never sends a frame)', () => {
  it('declares a stall when no first frame arrives by the start timeout and restarts after the backoff delay', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doorway-ffmpeg-'));
    const fake = path.join(dir, 'ffmpeg');
    fs.writeFileSync(fake, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    const clock = new FakeClock();
    const src = source({ url: 'rtsp://127.0.0.1:1/x', ffmpegPath: fake, stallTimeoutMs: 1_000, startTimeoutMs: 1_000, backoff: { initialMs: 300, maxMs: 10_000, factor: 2 } }, clock);
    const stalls: number[] = [];
    const restarts: number[] = [];
    src.on('stall', (s) => stalls.push(s.sinceLastFrameMs));
    src.on('restarting', (r) => restarts.push(r.delayMs));
    try {
      src.start();
      // the decoder is spawned once its frame socket is connected, a few ms after start()
      await waitFor(() => src.pid, 10_000, 'the stand-in ffmpeg');
      const firstPid = src.pid;
      clock.advance(999);
      expect(stalls).toEqual([]);
      clock.advance(1);
      expect(stalls).toEqual([1_000]);
      await waitFor(() => restarts.length === 1, 10_000, 'child killed');
      expect(restarts).toEqual([300]);
      clock.advance(299);
      expect(src.pid).toBeNull();
      clock.advance(1);
      const secondPid = await waitFor(() => src.pid, 10_000, 'the stand-in ffmpeg started again');
      expect(secondPid).not.toBe(firstPid);
      // The watchdog polls every stallTimeoutMs/5, so a stall is seen within [timeout, timeout * 1.2].
      clock.advance(1_200);
      await waitFor(() => restarts.length === 2, 10_000, 'second restart');
      expect(restarts).toEqual([300, 600]);
    } finally {
      await src.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('declares a stall when frames stop flowing for the stall timeout and reports the outage length on recovery', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doorway-ffmpeg-'));
    const fake = path.join(dir, 'ffmpeg');
    // Two 16x16 RGB frames, then silence.
    fs.writeFileSync(fake, '#!/bin/sh\nhead -c 1536 /dev/zero\nexec sleep 60\n', { mode: 0o755 });
    const clock = new FakeClock();
    const src = source({ url: 'rtsp://127.0.0.1:1/x', ffmpegPath: fake, width: 16, height: 16, stallTimeoutMs: 1_000, startTimeoutMs: 5_000, backoff: { initialMs: 100, maxMs: 1_000, factor: 2 } }, clock);
    const stalls: number[] = [];
    let recovered: { downMs: number; attempts: number } | null = null;
    src.on('stall', (s) => stalls.push(s.sinceLastFrameMs));
    src.on('recovered', (r) => (recovered = r));
    try {
      src.start();
      await waitFor(() => src.latest()?.seq === 2, 10_000, 'two frames');
      clock.advance(999);
      expect(stalls).toEqual([]);
      clock.advance(201);
      expect(stalls).toHaveLength(1);
      await waitFor(() => src.stats().state === 'waiting', 10_000, 'child killed');
      clock.advance(100);
      await waitFor(() => src.latest()?.seq === 4, 10_000, 'frames after restart');
      expect(recovered).toEqual({ downMs: 1_300, attempts: 1 });
    } finally {
      await src.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
