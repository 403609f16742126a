/**
 * Where every external program this project starts comes from: the one place that turns a program's
 * name into the file to run, for the terminal (ffmpeg, gst-launch-1.0, systemd-notify), the management
 * plane (openssl, mosquitto) and the tests (the system python3 that runs GStreamer's RTSP server, and
 * Debian's chromium that the web console's tests drive).
 *
 * The system's copy comes first (found on PATH, as Debian installs it, with every codec and plugin the
 * board offers). ffmpeg alone has a second source: the static build inside the npm registry package
 * @ffmpeg-installer/ffmpeg (an optional dependency), so a machine with only Node still runs the demo
 * and the file camera. Anything not found is a ProgramMissingError that names the program and the
 * Debian package that provides it.
 *
 * The PATH searched is the one of the environment passed in (default: this process's), so tests and
 * tools can ask "what if this machine had no mosquitto?" without uninstalling anything.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { TerminalError } from './errors';

/** A program this project starts, found nowhere it may come from. */
export class ProgramMissingError extends TerminalError {
  readonly code = 'program-missing';

  constructor(
    readonly program: ProgramName,
    /** Debian packages that provide it. */
    readonly packages: readonly string[],
    /** Where it was looked for, in words (no secrets: PATH directories and package names only). */
    readonly searched: string,
  ) {
    super(`${program} is not installed (${searched}): install it with \`apt-get install -y ${packages.join(' ')}\``);
  }
}

export type ProgramName = 'chromium' | 'ffmpeg' | 'gst-launch-1.0' | 'mosquitto' | 'openssl' | 'system-python3' | 'systemd-notify';

interface ProgramSpec {
  /** The file name looked for on PATH. */
  command: string;
  /** Debian packages that provide it (and what it needs to do its job here). */
  packages: readonly string[];
  /** Look in these directories instead of PATH (the system python3: Debian's GStreamer bindings live there only). */
  fixedDirs?: readonly string[];
  /** An environment variable that names the file to use instead of any search. */
  overrideEnv?: string;
  /** npm registry package with a build of the program (used when the system has none). */
  registryPackage?: string;
}

export const PROGRAMS: Readonly<Record<ProgramName, ProgramSpec>> = {
  // Only the tests start it: the hub's web console in a real headless browser (playwright-core drives it).
  chromium: { command: 'chromium', packages: ['chromium'], overrideEnv: 'DOORWAY_CHROMIUM' },
  ffmpeg: { command: 'ffmpeg', packages: ['ffmpeg'], registryPackage: '@ffmpeg-installer/ffmpeg' },
  'gst-launch-1.0': {
    command: 'gst-launch-1.0',
    packages: ['gstreamer1.0-tools', 'gstreamer1.0-plugins-base', 'gstreamer1.0-plugins-good', 'gstreamer1.0-libav'],
  },
  mosquitto: { command: 'mosquitto', packages: ['mosquitto'] },
  openssl: { command: 'openssl', packages: ['openssl'] },
  // Only the tests start it: test/harness/rtsp-server.py, GStreamer's RTSP server (x264enc is in -ugly).
  'system-python3': {
    command: 'python3',
    packages: [
      'python3', 'python3-gi', 'gir1.2-gst-rtsp-server-1.0',
      'gstreamer1.0-plugins-base', 'gstreamer1.0-plugins-good', 'gstreamer1.0-plugins-bad', 'gstreamer1.0-plugins-ugly', 'gstreamer1.0-libav',
    ],
    fixedDirs: ['/usr/bin', '/bin'],
    overrideEnv: 'DOORWAY_SYSTEM_PYTHON',
  },
  'systemd-notify': { command: 'systemd-notify', packages: ['systemd'] },
};

export interface LocateOptions {
  /** Environment whose PATH (and override variables) are used; default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * A path or name from a config file. A path (with a '/') is used as it is if it is an executable
   * file; a bare name other than the program's own is looked up on PATH with no registry fallback.
   */
  configured?: string;
  /** Whether a registry build may stand in for a missing system program (default true). */
  registry?: boolean;
}

export interface LocatedProgram {
  name: ProgramName;
  /** Absolute path of the file to run. */
  path: string;
  /** configured: the path a config named; system: found on PATH; registry: the npm package's build. */
  source: 'configured' | 'system' | 'registry';
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `command` in `dirs` (PATH order), or null. */
export function searchDirs(command: string, dirs: readonly string[]): string | null {
  for (const d of dirs) {
    if (!d || !isAbsolute(d)) continue; // a relative PATH entry would depend on the working directory
    const p = join(d, command);
    if (isExecutableFile(p)) return p;
  }
  return null;
}

/** Absolute path of the registry build of `spec`, or null when the optional package is not installed. */
function registryBuild(spec: ProgramSpec): string | null {
  if (!spec.registryPackage) return null;
  try {
    // A synchronous, optional lookup: require() is the plain way to ask "is this package installed?"
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const p = (require(spec.registryPackage) as { path?: unknown }).path;
    return typeof p === 'string' && isExecutableFile(p) ? p : null;
  } catch {
    return null;
  }
}

/** Where `name` would be taken from, or null if from nowhere. Never throws. */
export function findProgram(name: ProgramName, opts: LocateOptions = {}): LocatedProgram | null {
  const spec = PROGRAMS[name];
  const env = opts.env ?? process.env;
  const configured = opts.configured;
  if (configured !== undefined && configured !== spec.command) {
    if (configured.includes('/')) return isExecutableFile(configured) ? { name, path: configured, source: 'configured' } : null;
    const p = searchDirs(configured, (env['PATH'] ?? '').split(delimiter));
    return p ? { name, path: p, source: 'configured' } : null;
  }
  const override = spec.overrideEnv ? env[spec.overrideEnv] : undefined;
  if (override) return isExecutableFile(override) ? { name, path: override, source: 'configured' } : null;
  const system = searchDirs(spec.command, spec.fixedDirs ?? (env['PATH'] ?? '').split(delimiter));
  if (system) return { name, path: system, source: 'system' };
  const registry = opts.registry === false ? null : registryBuild(spec);
  return registry ? { name, path: registry, source: 'registry' } : null;
}

function describeSearch(name: ProgramName, opts: LocateOptions): string {
  const spec = PROGRAMS[name];
  const env = opts.env ?? process.env;
  if (opts.configured !== undefined && opts.configured !== spec.command) {
    return opts.configured.includes('/') ? `no executable file at ${opts.configured}` : `no ${opts.configured} on PATH`;
  }
  const override = spec.overrideEnv ? env[spec.overrideEnv] : undefined;
  if (override) return `${spec.overrideEnv}=${override} is not an executable file`;
  const where = spec.fixedDirs ? `not in ${spec.fixedDirs.join(' or ')}` : 'not on PATH';
  if (!spec.registryPackage) return where;
  return opts.registry === false ? `${where}; registry build not allowed` : `${where}, and the optional npm package ${spec.registryPackage} is not installed`;
}

/** Like findProgram, but a program found nowhere is a ProgramMissingError naming its package. */
export function locateProgram(name: ProgramName, opts: LocateOptions = {}): LocatedProgram {
  const found = findProgram(name, opts);
  if (!found) throw new ProgramMissingError(name, PROGRAMS[name].packages, describeSearch(name, opts));
  return found;
}

/** The file to run for `name` (system first, then the registry build where there is one). */
export function programPath(name: ProgramName, opts: LocateOptions = {}): string {
  return locateProgram(name, opts).path;
}
