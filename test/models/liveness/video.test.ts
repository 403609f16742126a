/** Probing a video with ffmpeg alone (the registry stand-in for a missing system ffmpeg has no ffprobe). */
import { parseStreamInfo, probeVideo, VideoDecodeError } from '../../../models/liveness/video';
import { FRANCK_STILLS, FRANCK_VIDEO, testFile } from '../../fixtures/photos';

describe('the stream line of ffmpeg -i', () => {
  it.each([
    ['ffmpeg 5.1 (Debian)', '  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 360x288 [SAR 1:1 DAR 5:4], 133 kb/s, 24 fps, 24 tbr, 12288 tbn (default)', { width: 360, height: 288, fps: 24 }],
    ['ffmpeg 4.1 (registry)', '    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 400x300 [SAR 1:1 DAR 4:3], 148 kb/s, 25 fps, 25 tbr, 25 tbn, 50 tbc (default)', { width: 400, height: 300, fps: 25 }],
    ['a still (no fps, only tbr)', '    Stream #0:0: Video: mjpeg (Progressive), yuvj420p(pc, bt470bg/unknown/unknown), 720x576 [SAR 1:1 DAR 5:4], 25 tbr, 25 tbn, 25 tbc', { width: 720, height: 576, fps: 25 }],
    ['NTSC rate', '  Stream #0:0: Video: h264 (Main), yuv420p, 1280x720, 29.97 fps, 29.97 tbr, 90k tbn', { width: 1280, height: 720, fps: 29.97 }],
  ])('reads size and rate from %s', (_what, line, want) => {
    expect(parseStreamInfo(`Input #0, mov,mp4, from 'x.mp4':\n${line}\nAt least one output file must be specified\n`)).toEqual(want);
  });

  it('finds no video stream in an audio-only or unreadable input', () => {
    expect(parseStreamInfo('  Stream #0:0: Audio: aac (LC), 44100 Hz, stereo, fltp\n')).toBeNull();
    expect(parseStreamInfo('x.mp4: No such file or directory\n')).toBeNull();
  });
});

describe('probeVideo', () => {
  it('probes the registry test video and a still with the located ffmpeg', async () => {
    await expect(probeVideo(testFile(FRANCK_VIDEO))).resolves.toEqual({ width: 360, height: 288, fps: 24 });
    await expect(probeVideo(testFile(FRANCK_STILLS[0]!))).resolves.toMatchObject({ width: 720, height: 576 });
  });

  it('reports a missing file as VideoDecodeError', async () => {
    await expect(probeVideo('/nonexistent/clip.mp4')).rejects.toThrow(VideoDecodeError);
    await expect(probeVideo('/nonexistent/clip.mp4')).rejects.toThrow(/no video stream \(no such file\)/);
  });
});
