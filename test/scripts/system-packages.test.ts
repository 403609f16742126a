/**
 * scripts/system-packages.js, the preflight of `npm test` and .ci/run, run as a real process with
 * stand-in dpkg-query and apt-get on its PATH (nothing is installed or removed on this machine).
 * The stand-in dpkg-query reports every package installed once the file $STATE exists; the stand-in
 * apt-get logs its arguments and, when told to, creates $STATE (a successful install) or fails as
 * apt does for an unknown package.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '../../scripts/system-packages.js');
const root = mkdtempSync(join(tmpdir(), 'doorway-syspkg-'));
chmodSync(root, 0o755); // the not-root case runs as nobody

const DPKG_QUERY = `#!/bin/sh
# dpkg-query -W -f=FORMAT PKG...: "PKG installed" per package once $STATE exists, else nothing known
shift 2
[ -e "$STATE" ] || { for p in "$@"; do echo "dpkg-query: no packages found matching $p" >&2; done; exit 1; }
for p in "$@"; do echo "$p installed"; done
`;
const APT_GET = `#!/bin/sh
echo "$@" >> "$APT_LOG"
case "$*" in
  *update*) exit 0 ;;
esac
if [ "$APT_MODE" = fail ]; then echo "E: Unable to locate package gstreamer1.0-plugins-ugly" >&2; exit 100; fi
: > "$STATE"
`;

/** A bin folder with node and the given stand-ins, nothing else. */
function bin(name: string, tools: Record<string, string>): string {
  const d = join(root, name);
  mkdirSync(d);
  symlinkSync(process.execPath, join(d, 'node'));
  for (const [t, text] of Object.entries(tools)) {
    writeFileSync(join(d, t), text);
    chmodSync(join(d, t), 0o755);
  }
  return d;
}

function run(sets: string[], opts: { path: string; state: string; mode?: 'fail'; asNobody?: boolean }): SpawnSyncReturns<string> & { ms: number; aptLog: string } {
  const aptLog = `${opts.state}.apt-log`;
  const env = { PATH: opts.path, STATE: opts.state, APT_LOG: aptLog, APT_MODE: opts.mode ?? 'ok' };
  const argv = [SCRIPT, ...sets];
  const t0 = Date.now();
  const r = opts.asNobody
    ? spawnSync('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, ...argv], { env, encoding: 'utf8' })
    : spawnSync(process.execPath, argv, { env, encoding: 'utf8' });
  return { ...r, ms: Date.now() - t0, aptLog: existsSync(aptLog) ? readFileSync(aptLog, 'utf8') : '' };
}

const withApt = bin('with-apt', { 'dpkg-query': DPKG_QUERY, 'apt-get': APT_GET });
const noApt = bin('no-apt', { 'dpkg-query': DPKG_QUERY });
const RTSP_PACKAGES = /ffmpeg python3-gi gir1\.2-gst-rtsp-server-1\.0 gstreamer1\.0-tools gstreamer1\.0-plugins-base gstreamer1\.0-plugins-good gstreamer1\.0-plugins-bad gstreamer1\.0-plugins-ugly gstreamer1\.0-libav/;

describe('the system packages preflight', () => {
  it('says nothing and runs no apt-get when everything is installed', () => {
    const state = join(root, 'state-all-there');
    writeFileSync(state, '');
    const r = run(['test'], { path: withApt, state });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.aptLog).toBe('');
    expect(r.ms).toBeLessThan(5_000);
  });

  it('installs what is missing as root, in one apt-get update and one install, and then passes', () => {
    const state = join(root, 'state-installs');
    const r = run(['test'], { path: withApt, state });
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^doorway: installing missing system packages \(apt-get, as root\): openssl mosquitto ffmpeg /)]);
    expect(r.status).toBe(0);
    const calls = r.aptLog.trim().split('\n');
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatch(/ update$/);
    expect(calls[1]).toMatch(/install --no-install-recommends openssl mosquitto /);
    expect(calls[1]).toMatch(RTSP_PACKAGES);
    expect(calls[1]).toMatch(/ chromium fonts-wqy-microhei$/); // the web console's browser tests
    // Idempotent: the next run finds everything and calls apt-get no more.
    const again = run(['test'], { path: withApt, state });
    expect(again.status).toBe(0);
    expect(again.aptLog.trim().split('\n')).toHaveLength(2);
  });

  it('stops with one line naming the packages and the command when apt-get fails', () => {
    const r = run(['rtsp'], { path: withApt, state: join(root, 'state-apt-fails'), mode: 'fail' });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2); // "installing ...", then the one line that says what to do
    expect(lines[1]).toMatch(/^doorway: could not install ffmpeg .* \(apt-get install failed: E: Unable to locate package gstreamer1\.0-plugins-ugly\); install them with: apt-get update && apt-get install -y --no-install-recommends ffmpeg /);
    expect(r.ms).toBeLessThan(5_000);
  });

  it('stops within seconds with one line when it may not install: not root', () => {
    const r = run(['broker'], { path: withApt, state: join(root, 'state-not-root'), asNobody: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('doorway: missing system packages: mosquitto openssl (not root); install them with: sudo apt-get update && sudo apt-get install -y --no-install-recommends mosquitto openssl\n');
    expect(r.aptLog).toBe('');
    expect(r.ms).toBeLessThan(5_000);
  });

  it('stops within seconds with one line when it cannot install: no apt-get', () => {
    const r = run(['test'], { path: noApt, state: join(root, 'state-no-apt') });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^doorway: missing system packages: openssl mosquitto ffmpeg .* \(no apt-get here\); install them with: sudo apt-get update && sudo apt-get install -y --no-install-recommends openssl mosquitto ffmpeg /);
    expect(lines[0]).toMatch(RTSP_PACKAGES);
    expect(r.ms).toBeLessThan(5_000);
  });

  it('refuses an unknown set', () => {
    const r = run(['everything'], { path: withApt, state: join(root, 'state-unknown') });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/usage: .*demo\|broker\|rtsp\|browser\|test.*\(unknown: everything\)/);
  });
});
