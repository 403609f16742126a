#!/usr/bin/env node
// The Debian packages the tests, the benchmarks and the demo start programs from, installed when
// missing. One script for `npm test`, `npm start`, the benchmarks and .ci/run (no npm packages
// needed: it runs before `npm ci`).
//
//   node scripts/system-packages.js SET...     SET: test (everything), broker, rtsp, browser, demo
//
// Everything present (one dpkg-query call, no apt-get): prints nothing, exit 0. Something missing and
// this process is root with apt-get: `apt-get update` + `apt-get install --no-install-recommends`,
// one line saying so. Not root, no apt-get, or apt-get failing: one line naming the missing packages
// and the command that installs them, exit 1, within seconds (never a test run that fails for want
// of them minutes later). Without dpkg (not Debian) the programs are looked for on PATH instead.
'use strict';
const { spawnSync } = require('node:child_process');
const { accessSync, constants, statSync } = require('node:fs');
const { delimiter, isAbsolute, join } = require('node:path');

/** Each set: Debian packages, and (for machines without dpkg) a check per package. */
const SETS = {
  // openssl: the community CA of `provision` and the demo
  demo: ['openssl'],
  // a real mosquitto with mutual TLS (sync, site and provisioning tests; bench:sync)
  broker: ['mosquitto', 'openssl'],
  // Debian's ffmpeg and GStreamer's RTSP server and decoder (camera tests, bench:camera): the system
  // /usr/bin/python3 runs test/harness/rtsp-server.py (x264enc is in -ugly, avdec_h264 in -libav)
  rtsp: [
    'ffmpeg', 'python3-gi', 'gir1.2-gst-rtsp-server-1.0', 'gstreamer1.0-tools',
    'gstreamer1.0-plugins-base', 'gstreamer1.0-plugins-good', 'gstreamer1.0-plugins-bad', 'gstreamer1.0-plugins-ugly', 'gstreamer1.0-libav',
  ],
  // Debian's Chromium: the web console's tests drive it with playwright-core (whose own browser download
  // cannot be relied on); a CJK font so the Simplified Chinese pages (and their screenshots) are legible
  browser: ['chromium', 'fonts-wqy-microhei'],
};
SETS.test = [...new Set([...SETS.demo, ...SETS.broker, ...SETS.rtsp, ...SETS.browser])];

/** Without dpkg: how to tell that a package's part is there. */
const PROGRAM_OF = { openssl: 'openssl', mosquitto: 'mosquitto', ffmpeg: 'ffmpeg', 'gstreamer1.0-tools': 'gst-launch-1.0', chromium: 'chromium' };
const GST_PYTHON = "import gi; gi.require_version('GstRtspServer','1.0'); from gi.repository import GstRtspServer";

function onPath(cmd) {
  for (const d of (process.env.PATH || '').split(delimiter)) {
    if (!d || !isAbsolute(d)) continue;
    try {
      const p = join(d, cmd);
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** The packages of `wanted` that are not installed, by dpkg's database (or by a look at PATH without dpkg). */
function missingPackages(wanted) {
  if (onPath('dpkg-query')) {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\\n', ...wanted], { encoding: 'utf8' });
    const installed = new Set(
      (r.stdout || '').split('\n').map((l) => l.trim().split(' ')).filter(([, s]) => s === 'installed').map(([p]) => p.split(':')[0]),
    );
    return wanted.filter((p) => !installed.has(p));
  }
  let gstPython = null;
  return wanted.filter((p) => {
    if (PROGRAM_OF[p]) return !onPath(PROGRAM_OF[p]);
    if (p.startsWith('gstreamer1.0-plugins') || p === 'gstreamer1.0-libav' || p === 'python3-gi' || p === 'gir1.2-gst-rtsp-server-1.0') {
      if (gstPython === null) gstPython = spawnSync('/usr/bin/python3', ['-c', GST_PYTHON], { stdio: 'ignore' }).status === 0;
      return !gstPython;
    }
    return false;
  });
}

function say(line) {
  process.stderr.write(`doorway: ${line}\n`);
}

function main() {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !SETS[n]);
  if (names.length === 0 || unknown.length > 0) {
    say(`usage: node scripts/system-packages.js ${Object.keys(SETS).join('|')}...${unknown.length ? ` (unknown: ${unknown.join(' ')})` : ''}`);
    return 2;
  }
  const wanted = [...new Set(names.flatMap((n) => SETS[n]))];
  const missing = missingPackages(wanted);
  if (missing.length === 0) return 0;

  const list = missing.join(' ');
  const install = `apt-get install -y --no-install-recommends ${list}`;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const apt = onPath('apt-get');
  if (!root || !apt || !onPath('dpkg-query')) {
    const why = !onPath('dpkg-query') ? 'not a Debian system: install their equivalents' : !apt ? 'no apt-get here' : 'not root';
    say(`missing system packages: ${list} (${why}); install them with: sudo apt-get update && sudo ${install}`);
    return 1;
  }
  say(`installing missing system packages (apt-get, as root): ${list}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const opts = ['-o', 'Acquire::http::Timeout=30', '-o', 'Acquire::Retries=1', '-o', 'Dpkg::Use-Pty=0'];
  for (const args of [['-qq', ...opts, 'update'], ['-y', '-qq', ...opts, 'install', '--no-install-recommends', ...missing]]) {
    const r = spawnSync(apt, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) {
      const detail = `${r.stderr || ''}\n${r.stdout || ''}`.split('\n').map((l) => l.trim()).filter(Boolean).filter((l) => /^(E|Err):/.test(l)).slice(-1)[0];
      say(`could not install ${list} (apt-get ${args.includes('update') ? 'update' : 'install'} failed${detail ? `: ${detail}` : ''}); install them with: apt-get update && ${install}`);
      return 1;
    }
  }
  const still = missingPackages(wanted);
  if (still.length > 0) {
    say(`apt-get finished but ${still.join(' ')} are still not installed; install them with: apt-get update && apt-get install -y --no-install-recommends ${still.join(' ')}`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
