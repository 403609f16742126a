import { existsSync } from 'node:fs';
import { bundledFfmpeg, locateFfmpeg, systemFfmpegAvailable } from '../../../drivers/camera/locate';

describe('locating ffmpeg', () => {
  it('prefers the system ffmpeg when it is installed', () => {
    expect(systemFfmpegAvailable()).toBe(true); // .ci/run installs Debian's ffmpeg
    expect(locateFfmpeg()).toBe('ffmpeg');
  });

  it('keeps an explicitly configured path', () => {
    expect(locateFfmpeg('/opt/ffmpeg/bin/ffmpeg')).toBe('/opt/ffmpeg/bin/ffmpeg');
  });

  it('finds the bundled static ffmpeg of the optional registry package', () => {
    const p = bundledFfmpeg();
    expect(p).not.toBeNull();
    expect(existsSync(p as string)).toBe(true);
  });
});
