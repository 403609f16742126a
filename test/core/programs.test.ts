/**
 * The program locator against real files: stand-in executables in temp folders put on an injected PATH,
 * the registry's static ffmpeg from node_modules, and this machine's own PATH (where `npm test` has put
 * Debian's packages: scripts/system-packages.js).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProgram, locateProgram, ProgramMissingError, programPath, PROGRAMS, type ProgramName } from '../../core/programs';

const root = mkdtempSync(join(tmpdir(), 'doorway-programs-'));
const empty = join(root, 'empty');
mkdirSync(empty);

function binDir(name: string, files: Record<string, { mode: number }>): string {
  const d = join(root, name);
  mkdirSync(d, { recursive: true });
  for (const [f, { mode }] of Object.entries(files)) {
    writeFileSync(join(d, f), '#!/bin/sh\necho stand-in\n');
    chmodSync(join(d, f), mode);
  }
  return d;
}

describe('locating a program', () => {
  it('takes the first executable on the PATH it is given, skipping non-executable files and relative entries', () => {
    const notExec = binDir('not-exec', { mosquitto: { mode: 0o644 } });
    const exec = binDir('exec', { mosquitto: { mode: 0o755 } });
    const later = binDir('later', { mosquitto: { mode: 0o755 } });
    const env = { PATH: ['relative/bin', notExec, exec, later].join(':') };
    expect(locateProgram('mosquitto', { env })).toEqual({ name: 'mosquitto', path: join(exec, 'mosquitto'), source: 'system' });
  });

  it('prefers the system ffmpeg to the registry build', () => {
    const sys = binDir('sys-ffmpeg', { ffmpeg: { mode: 0o755 } });
    expect(locateProgram('ffmpeg', { env: { PATH: sys } })).toEqual({ name: 'ffmpeg', path: join(sys, 'ffmpeg'), source: 'system' });
  });

  it('falls back to the static ffmpeg of the optional registry package, which can encode H.264 and decode to raw frames', () => {
    const p = locateProgram('ffmpeg', { env: { PATH: empty } });
    expect(p.source).toBe('registry');
    expect(p.path).toMatch(/node_modules\/@ffmpeg-installer\/linux-(x64|arm64)\/ffmpeg$/);
    // What the demo and the tests ask of it: libx264 from raw RGB, then back to raw RGB frames.
    const frames = 5;
    const enc = spawnSync(p.path, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=25', '-frames:v', String(frames), '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-f', 'h264', '-']);
    expect(enc.status).toBe(0);
    const dec = spawnSync(p.path, ['-v', 'error', '-f', 'h264', '-i', '-', '-vf', 'scale=32:24', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { input: enc.stdout });
    expect(dec.status).toBe(0);
    expect(dec.stdout.length).toBe(frames * 32 * 24 * 3);
  });

  it('names the program and the Debian package that provides it when it is found nowhere', () => {
    const cases: Array<[ProgramName, string]> = [
      ['mosquitto', 'apt-get install -y mosquitto'],
      ['openssl', 'apt-get install -y openssl'],
      ['gst-launch-1.0', 'apt-get install -y gstreamer1.0-tools'],
      ['ffmpeg', 'apt-get install -y ffmpeg'],
      ['chromium', 'apt-get install -y chromium'],
    ];
    for (const [name, command] of cases) {
      let thrown: unknown = null;
      try {
        locateProgram(name, { env: { PATH: empty }, registry: false });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ProgramMissingError);
      const err = thrown as ProgramMissingError;
      expect(err).toMatchObject({ code: 'program-missing', program: name, packages: PROGRAMS[name].packages });
      expect(err.message).toContain(`${name} is not installed`);
      expect(err.message).toContain(command);
    }
    // The same lookups with no PATH at all.
    expect(findProgram('mosquitto', { env: {} })).toBeNull();
  });

  it('says when the registry ffmpeg was not allowed or is not installed', () => {
    expect(() => locateProgram('ffmpeg', { env: { PATH: empty }, registry: false })).toThrow(/not on PATH; registry build not allowed/);
  });

  it('keeps a configured path that is an executable file, and refuses one that is not', () => {
    const d = binDir('configured', { 'my-ffmpeg': { mode: 0o755 } });
    expect(locateProgram('ffmpeg', { configured: join(d, 'my-ffmpeg'), env: { PATH: empty } })).toEqual({ name: 'ffmpeg', path: join(d, 'my-ffmpeg'), source: 'configured' });
    expect(() => locateProgram('ffmpeg', { configured: join(d, 'nothing'), env: { PATH: empty } })).toThrow(ProgramMissingError);
    expect(() => locateProgram('ffmpeg', { configured: join(d, 'nothing') })).toThrow(/no executable file at .*nothing/);
    // A bare name other than the program's own is a PATH lookup with no registry stand-in.
    expect(locateProgram('ffmpeg', { configured: 'my-ffmpeg', env: { PATH: d } }).path).toBe(join(d, 'my-ffmpeg'));
    expect(findProgram('ffmpeg', { configured: 'my-ffmpeg', env: { PATH: empty } })).toBeNull();
  });

  it('looks for the system python3 only where Debian puts it, or where DOORWAY_SYSTEM_PYTHON says', () => {
    const d = binDir('py', { python3: { mode: 0o755 } });
    // A python3 earlier on PATH (pyenv, a virtualenv) has no GStreamer bindings: it is not taken.
    expect(locateProgram('system-python3', { env: { PATH: d } }).path).toMatch(/^\/(usr\/)?bin\/python3$/);
    expect(locateProgram('system-python3', { env: { PATH: empty, DOORWAY_SYSTEM_PYTHON: join(d, 'python3') } }).path).toBe(join(d, 'python3'));
    expect(() => locateProgram('system-python3', { env: { DOORWAY_SYSTEM_PYTHON: join(d, 'none') } })).toThrow(/DOORWAY_SYSTEM_PYTHON=.*none is not an executable file/);
  });

  it("finds every program the tests start on this machine's PATH", () => {
    for (const name of ['mosquitto', 'openssl', 'gst-launch-1.0', 'ffmpeg', 'system-python3'] as const) {
      expect(locateProgram(name).source).toBe('system');
      expect(programPath(name)).toMatch(/^\//);
    }
  });
});
