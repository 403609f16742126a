/**
 * Which ffmpeg to run: the system's (`ffmpeg` on PATH, e.g. Debian's package, which has every codec
 * and hardware decoder the board offers), else the static build shipped in the npm registry package
 * @ffmpeg-installer/ffmpeg (an optional dependency, so a fresh machine without ffmpeg still runs the
 * demo and the file camera).
 */
import { spawnSync } from 'node:child_process';

export function systemFfmpegAvailable(name = 'ffmpeg'): boolean {
  const r = spawnSync(name, ['-hide_banner', '-version'], { stdio: 'ignore' });
  return r.status === 0;
}

/** Absolute path of the bundled ffmpeg, or null when the optional package is not installed. */
export function bundledFfmpeg(): string | null {
  try {
    // a synchronous, optional lookup: require() is the plain way to ask "is this package installed?"
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    return null;
  }
}

/** `configured` unless it is the default name and no such program is installed. */
export function locateFfmpeg(configured = 'ffmpeg'): string {
  if (configured !== 'ffmpeg' || systemFfmpegAvailable()) return configured;
  return bundledFfmpeg() ?? configured;
}
