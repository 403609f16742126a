import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { CameraCodecError, CameraNotFoundError, DEFAULT_FRAME_BUFFERS, FileSource, fileSourceConfigSchema, type Frame, type FrameHold } from '../../../drivers/camera';
import { fileFfmpegArgs } from '../../../drivers/camera/file';
import { OUTSIDE_SIGNAL_GRACE_MS } from '../../../drivers/camera/ffmpeg';
import { makeTestImages, makeTestVideo } from '../../harness/rtsp';
import { alive, once } from './wait';

const deps = () => ({ clock: new SystemClock(), logger: silentLogger() });
/** A PATH with no ffmpeg on it: the source must fall back to the npm registry's static build. */
const NO_SYSTEM_FFMPEG = { PATH: fs.mkdtempSync(path.join(os.tmpdir(), 'doorway-empty-path-')) };

describe('FileSource', () => {
  it('delivers every frame of a video exactly once, in order, at the configured size, then ends', async () => {
    const video = makeTestVideo({ seconds: 2, width: 320, height: 240, fps: 25 });
    const src = new FileSource(fileSourceConfigSchema.parse({ input: { kind: 'video', path: video }, width: 160, height: 120 }), deps());
    const frames: Frame[] = [];
    // the source reuses its buffers: a frame kept past its handler is a copy (or a hold)
    src.on('frame', (f) => frames.push({ ...f, data: Buffer.from(f.data) }));
    const ended = once(src, 'end');
    src.start();
    expect(await ended).toEqual({ frames: 50 });
    expect(frames.map((f) => f.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(frames.every((f) => f.width === 160 && f.height === 120 && f.data.length === 160 * 120 * 3)).toBe(true);
    expect(src.latest()?.seq).toBe(50);
    // testsrc changes every frame: consecutive frames differ.
    expect(frames[0]?.data.equals(frames[1]?.data ?? Buffer.alloc(0))).toBe(false);
  });

  it("decodes the same frames with the npm registry's ffmpeg when the system has none (the demo on a bare machine)", async () => {
    const video = makeTestVideo({ seconds: 2, width: 320, height: 240, fps: 25 });
    const config = fileSourceConfigSchema.parse({ input: { kind: 'video', path: video }, width: 64, height: 48 });
    const decode = async (env?: NodeJS.ProcessEnv): Promise<{ frames: Frame[]; exe: string }> => {
      const src = new FileSource(config, { ...deps(), ...(env ? { env } : {}) });
      const frames: Frame[] = [];
      let exe = '';
      src.on('frame', (f) => {
        // The program the child runs (setpriv execs it in place): which ffmpeg was taken.
        if (frames.push({ ...f, data: Buffer.from(f.data) }) === 1) exe = fs.readlinkSync(`/proc/${src.pid ?? -1}/exe`);
      });
      const ended = once(src, 'end');
      src.start();
      expect(await ended).toEqual({ frames: 50 });
      return { frames, exe };
    };
    const fromRegistry = await decode(NO_SYSTEM_FFMPEG);
    const fromSystem = await decode();
    expect(fromRegistry.exe).toMatch(/node_modules\/@ffmpeg-installer\/linux-(x64|arm64)\/ffmpeg$/);
    expect(fromSystem.exe).toMatch(/^\/usr\/bin\/ffmpeg$/);
    const registry = fromRegistry.frames;
    const system = fromSystem.frames;
    expect(registry.map((f) => f.seq)).toEqual(system.map((f) => f.seq));
    // Two decoders, two scalers: the same pictures within a few levels per pixel on average.
    const meanDiff = (a: Buffer, b: Buffer): number => {
      let d = 0;
      for (let i = 0; i < a.length; i++) d += Math.abs((a[i] as number) - (b[i] as number));
      return d / a.length;
    };
    expect(meanDiff(registry[10]!.data, system[10]!.data)).toBeLessThan(8);
    expect(meanDiff(registry[10]!.data, system[40]!.data)).toBeGreaterThan(meanDiff(registry[10]!.data, system[10]!.data));
  });

  it('never writes a new frame over a held one: frames with no free buffer are dropped until one is handed back', async () => {
    const video = makeTestVideo({ seconds: 2, width: 320, height: 240, fps: 25 });
    const src = new FileSource(fileSourceConfigSchema.parse({ input: { kind: 'video', path: video }, width: 64, height: 48 }), deps());
    // a reader that holds every frame it sees and hands none back, keeping a copy to compare
    const held: Array<{ hold: FrameHold; copy: Buffer }> = [];
    src.on('frame', () => {
      const hold = src.hold();
      if (hold) held.push({ hold, copy: Buffer.from(hold.frame.data) });
    });
    const ended = once(src, 'end');
    src.start();
    await ended;
    // the pool's buffers, each held, each with the pixels of its own frame; the other frames were dropped
    expect(held.map((h) => h.hold.frame.seq)).toEqual(Array.from({ length: DEFAULT_FRAME_BUFFERS }, (_, i) => i + 1));
    expect(held.every((h) => h.hold.frame.data.equals(h.copy))).toBe(true);
    expect(src.dropped).toBe(50 - DEFAULT_FRAME_BUFFERS);
    for (const h of held) h.hold.release();
  });

  it('asks the registry ffmpeg for -vsync and Debian\'s for -fps_mode (ffmpeg 4.1 has no -fps_mode)', () => {
    const c = fileSourceConfigSchema.parse({ input: { kind: 'video', path: '/x.mp4' } });
    expect(fileFfmpegArgs(c, 'current').join(' ')).toContain('-fps_mode passthrough');
    expect(fileFfmpegArgs(c, 'ffmpeg4').join(' ')).toContain('-vsync passthrough');
    expect(fileFfmpegArgs(c, 'ffmpeg4')).not.toContain('-fps_mode');
  });

  it('plays an image sequence', async () => {
    const pattern = makeTestImages(5);
    const src = new FileSource(fileSourceConfigSchema.parse({ input: { kind: 'images', pattern, fps: 5 }, width: 64, height: 48 }), deps());
    const ended = once(src, 'end');
    src.start();
    expect(await ended).toEqual({ frames: 5 });
  });

  it('loops a video until stopped, and stop() leaves no ffmpeg behind', async () => {
    const video = makeTestVideo({ seconds: 2, width: 320, height: 240, fps: 25 });
    const src = new FileSource(fileSourceConfigSchema.parse({ input: { kind: 'video', path: video }, width: 64, height: 48, loop: true }), deps());
    let n = 0;
    const past = new Promise<void>((resolve) => src.on('frame', () => { if (++n === 120) resolve(); }));
    src.start();
    await past;
    const pid = src.pid;
    await src.stop();
    expect(pid).not.toBeNull();
    expect(alive(pid ?? -1)).toBe(false);
  });

  it('says nothing when its ffmpeg gets a Ctrl-C and the source is stopped within the grace (the shell signalled the whole process group), and reports the failure when it is not', async () => {
    const video = makeTestVideo({ seconds: 2, width: 320, height: 240, fps: 25 });
    const loopOf = (): FileSource => new FileSource(fileSourceConfigSchema.parse({ input: { kind: 'video', path: video }, width: 64, height: 48, loop: true }), deps());
    const firstFrame = (src: FileSource): Promise<void> => new Promise((resolve) => src.on('frame', () => resolve()));
    const a = loopOf();
    const errorsA: string[] = [];
    a.on('error', (e) => errorsA.push(e.code));
    const seenA = firstFrame(a);
    a.start();
    await seenA;
    process.kill(a.pid ?? -1, 'SIGINT');
    await new Promise((r) => setTimeout(r, 100));
    await a.stop();
    await new Promise((r) => setTimeout(r, OUTSIDE_SIGNAL_GRACE_MS + 200));
    expect(errorsA).toEqual([]);

    const b = loopOf();
    const failed = new Promise<string>((resolve) => b.on('error', (e) => resolve(e.code)));
    const seenB = firstFrame(b);
    b.start();
    await seenB;
    const signalled = Date.now();
    process.kill(b.pid ?? -1, 'SIGINT');
    expect(await failed).toBe('camera-stream');
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(OUTSIDE_SIGNAL_GRACE_MS - 50);
    await b.stop();
  });

  it('stops cleanly when stopped before its decoder started, leaving no decoder and no socket folder behind', async () => {
    const video = makeTestVideo({ seconds: 2, width: 320, height: 240, fps: 25 });
    const folders = (): string[] => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('doorway-frames-'));
    const before = new Set(folders());
    const src = new FileSource(fileSourceConfigSchema.parse({ input: { kind: 'video', path: video }, width: 64, height: 48 }), deps());
    let frames = 0;
    src.on('frame', () => frames++);
    src.start();
    await src.stop();
    await new Promise((r) => setTimeout(r, 200));
    expect(src.pid).toBeNull();
    expect(frames).toBe(0);
    expect(folders().filter((n) => !before.has(n))).toEqual([]);
  });

  it('paces at the file rate only in realtime mode and loops only when asked', () => {
    const base = { input: { kind: 'video', path: '/x.mp4' } };
    const plain = fileFfmpegArgs(fileSourceConfigSchema.parse(base));
    expect(plain).not.toContain('-re');
    expect(plain).not.toContain('-stream_loop');
    const live = fileFfmpegArgs(fileSourceConfigSchema.parse({ ...base, realtime: true, loop: true }));
    expect(live).toContain('-re');
    expect(live.join(' ')).toContain('-stream_loop -1');
  });

  it('reports a missing file as CameraNotFoundError', async () => {
    const src = new FileSource(fileSourceConfigSchema.parse({ input: { kind: 'video', path: '/nonexistent/clip.mp4' } }), deps());
    const error = once(src, 'error');
    src.start();
    expect(await error).toBeInstanceOf(CameraNotFoundError);
  });

  it('reports a file that is not video as CameraCodecError', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'doorway-camera-'));
    const junk = path.join(dir, 'junk.bin');
    fs.writeFileSync(junk, Buffer.from('this is not a video stream at all'.repeat(100)));
    try {
      const src = new FileSource(fileSourceConfigSchema.parse({ input: { kind: 'video', path: junk } }), deps());
      const error = once(src, 'error');
      src.start();
      expect(await error).toBeInstanceOf(CameraCodecError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing ffmpeg executable as FfmpegMissingError naming the package', async () => {
    const src = new FileSource(
      fileSourceConfigSchema.parse({ input: { kind: 'video', path: '/x.mp4' }, ffmpegPath: '/nonexistent/ffmpeg' }),
      deps(),
    );
    const error = once(src, 'error');
    src.start();
    const e = await error;
    expect(e.code).toBe('camera-ffmpeg-missing');
    expect(e.message).toMatch(/no executable file at \/nonexistent\/ffmpeg.*apt-get install -y ffmpeg/);
    expect(src.pid).toBeNull();
  });
});
