import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { CameraCodecError, CameraNotFoundError, FileSource, fileSourceConfigSchema, type Frame } from '../../../drivers/camera';
import { fileFfmpegArgs } from '../../../drivers/camera/file';
import { makeTestImages, makeTestVideo } from '../../harness/rtsp';
import { alive, once } from './wait';

const deps = () => ({ clock: new SystemClock(), logger: silentLogger() });

describe('FileSource', () => {
  it('delivers every frame of a video exactly once, in order, at the configured size, then ends', async () => {
    const video = makeTestVideo({ seconds: 2, width: 320, height: 240, fps: 25 });
    const src = new FileSource(fileSourceConfigSchema.parse({ input: { kind: 'video', path: video }, width: 160, height: 120 }), deps());
    const frames: Frame[] = [];
    src.on('frame', (f) => frames.push(f));
    const ended = once(src, 'end');
    src.start();
    expect(await ended).toEqual({ frames: 50 });
    expect(frames.map((f) => f.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(frames.every((f) => f.width === 160 && f.height === 120 && f.data.length === 160 * 120 * 3)).toBe(true);
    expect(src.latest()?.seq).toBe(50);
    // testsrc changes every frame: consecutive frames differ.
    expect(frames[0]?.data.equals(frames[1]?.data ?? Buffer.alloc(0))).toBe(false);
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
    const pid = src.pid;
    await past;
    await src.stop();
    expect(pid).not.toBeNull();
    expect(alive(pid ?? -1)).toBe(false);
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

  it('reports a missing ffmpeg executable as FfmpegMissingError', async () => {
    const src = new FileSource(
      fileSourceConfigSchema.parse({ input: { kind: 'video', path: '/x.mp4' }, ffmpegPath: '/nonexistent/ffmpeg' }),
      deps(),
    );
    const error = once(src, 'error');
    src.start();
    expect((await error).code).toBe('camera-ffmpeg-missing');
  });
});
