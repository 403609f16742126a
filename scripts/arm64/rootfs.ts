/**
 * `npx tsx scripts/arm64/rootfs.ts` (run by .ci/run after the ARM64 tests): the contents of Dockerfile.arm64's runtime stage, built into a folder, and
 * the terminal's smoke test run inside it as the image would run it. No Docker engine runs here, so:
 *
 * build stage  -> TypeScript compiled with tsconfig.build.json (JavaScript is the same on every CPU),
 *                 JSON assets copied beside it, models verified against the manifest's sha256, the
 *                 production part (no devDependencies) of the arm64 node_modules (scripts/arm64/prepare.ts).
 * runtime stage -> a root filesystem: ARM64 glibc/libstdc++ (Debian's cross packages), the ARM64 Node in
 *                 /usr/local/bin, the app in slot a of the update layout (/opt/doorway/slots/a, with
 *                 /opt/doorway/current -> slots/a; runtime/update/README.md), models in its models/,
 *                 user doorway (10001), data volume /var/lib/doorway, config folder /etc/doorway.
 *                 The slot folder is what `provision update build --from` packs into a bundle.
 * smoke test   -> in a private mount namespace: the root filesystem mounted read-only, /tmp a tmpfs, the
 *                 data volume a writable bind mount, /proc and a minimal /dev; chroot into it as the
 *                 doorway user with an empty environment plus the image's ENV; binfmt_misc runs the
 *                 ARM64 Node under qemu. Runs `doorway faces --json` and `doorway compare --json`.
 *
 * Not covered here (it needs the real image build): ffmpeg from Debian arm64 (the smoke test decodes
 * still photos with sharp, no camera), tini, and the HEALTHCHECK against `doorway run`'s /healthz.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { removeInside } from '../../core/fs';
import { dirname, join } from 'node:path';
import { ARM64_NODE, CACHE, CROSS_LIBS, ROOT, run, say, sha256, SYSROOT } from './config';
import { elfMachine, EM_AARCH64, prepare } from './prepare';

const ROOTFS = join(CACHE, 'rootfs', sha256(ROOT).slice(0, 12));
const DATA = `${ROOTFS}.data`;
const APP = join(ROOTFS, 'opt', 'doorway', 'slots', 'a');
const UID = 10001;

interface LockEntry {
  dev?: boolean;
  cpu?: string[];
  os?: string[];
  libc?: string[];
}

/** A platform package of another CPU, OS or libc (the x86 ones the arm64 copy still holds). */
function otherPlatform(e: LockEntry): boolean {
  return (!!e.cpu && !e.cpu.includes('arm64')) || (!!e.os && !e.os.includes('linux')) || (!!e.libc && !e.libc.includes('glibc'));
}

/** `stageDir`: the folder holding the arm64 node_modules. */
function buildApp(stageDir: string): void {
  // compile
  const tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] });
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(APP, 'dist')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed:\n${r.stdout}${r.stderr}`);
  for (const dir of ['core', 'runtime', 'models', 'drivers', 'provisioning']) {
    const files = readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'));
    for (const f of files) cpSync(join(ROOT, dir, f), join(APP, 'dist', dir, f));
  }
  cpSync(join(ROOT, 'bin'), join(APP, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(APP, 'package.json'));

  // production dependencies only: every top-level lockfile entry not marked dev
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  let n = 0;
  for (const [p, e] of Object.entries(lock.packages)) {
    if (!p.startsWith('node_modules/') || p.indexOf('node_modules/', 1) !== -1 || e.dev || otherPlatform(e)) continue;
    const src = join(stageDir, p);
    if (!existsSync(src)) continue; // optional package of another platform
    cpSync(src, join(APP, p), { recursive: true, verbatimSymlinks: true });
    n++;
  }
  // onnxruntime-node ships every platform's binaries: keep linux/arm64 only (as the Dockerfile does)
  const ort = join(APP, 'node_modules', 'onnxruntime-node', 'bin');
  if (existsSync(ort)) {
    for (const napi of readdirSync(ort)) {
      for (const os of readdirSync(join(ort, napi))) if (os !== 'linux') removeInside(ort, join(ort, napi, os));
      removeInside(ort, join(ort, napi, 'linux', 'x64'));
    }
  }
  say(`app built: ${n} production packages`);

  // models: the verified cache, re-verified against the manifest by the compiled fetch script
  const models = join(APP, 'models');
  const cache = process.env['DOORWAY_MODEL_DIR'] ?? join(ROOT, '.cache', 'models');
  if (existsSync(cache)) cpSync(cache, models, { recursive: true });
  run(process.execPath, [join(APP, 'dist', 'models', 'fetch.js'), models], { stdio: ['ignore', 'ignore', 'inherit'] });
}

function buildBase(): void {
  // ARM64 shared libraries (no static archives, no linker scripts) in Debian's multiarch folder
  const libDir = join(ROOTFS, 'lib', 'aarch64-linux-gnu');
  mkdirSync(libDir, { recursive: true });
  for (const f of readdirSync(join(CROSS_LIBS, 'lib'))) {
    if (!/\.so(\.\d+)*$/.test(f) || f.endsWith('.so')) continue;
    cpSync(join(CROSS_LIBS, 'lib', f), join(libDir, f), { dereference: true });
  }
  symlinkSync('aarch64-linux-gnu/ld-linux-aarch64.so.1', join(ROOTFS, 'lib', 'ld-linux-aarch64.so.1'));
  mkdirSync(join(ROOTFS, 'usr', 'local', 'bin'), { recursive: true });
  cpSync(ARM64_NODE, join(ROOTFS, 'usr', 'local', 'bin', 'node'));
  for (const d of ['proc', 'tmp', 'dev', 'etc/doorway', 'var/lib/doorway', 'srv/smoke']) mkdirSync(join(ROOTFS, d), { recursive: true });
  for (const d of ['null', 'zero', 'random', 'urandom']) writeFileSync(join(ROOTFS, 'dev', d), '');
  writeFileSync(join(ROOTFS, 'etc', 'passwd'), `root:x:0:0:root:/root:/usr/sbin/nologin\ndoorway:x:${UID}:${UID}::/var/lib/doorway:/usr/sbin/nologin\n`);
  writeFileSync(join(ROOTFS, 'etc', 'group'), `root:x:0:\nvideo:x:44:doorway\ngpio:x:997:doorway\ndoorway:x:${UID}:\n`);
  chmodSync(join(ROOTFS, 'tmp'), 0o1777);
}

const PHOTOS = ['franck_01829.jpg', 'franck_04117.jpg', 'faces.jpg'];

function smoke(): void {
  const testData = process.env['DOORWAY_TESTDATA_DIR'] ?? join(ROOT, '.cache', 'testdata');
  for (const p of PHOTOS) cpSync(join(testData, p), join(ROOTFS, 'srv', 'smoke', p));
  removeInside(CACHE, DATA);
  mkdirSync(DATA, { mode: 0o700 });
  chownSync(DATA, UID, UID);

  const inside = (args: string[]): string => {
    const env = ['NODE_ENV=production', 'DOORWAY_MODEL_DIR=/opt/doorway/current/models', 'HOME=/var/lib/doorway', 'PATH=/usr/local/bin:/usr/bin:/bin'];
    const script = [
      'set -e',
      'mount --make-rprivate /',
      `mount --bind "$R" "$R"`,
      `mount -o remount,bind,ro "$R"`,
      `mount -t proc proc "$R/proc"`,
      `mount --bind "$CPUINFO" "$R/proc/cpuinfo"`,
      `mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"`,
      `mount --bind "$DATA" "$R/var/lib/doorway"`,
      `for d in null zero random urandom; do mount --bind /dev/$d "$R/dev/$d"; done`,
      `exec env -i ${env.join(' ')} /usr/sbin/chroot --userspec=${UID}:${UID} "$R" /usr/local/bin/node /opt/doorway/current/bin/doorway.js "$@"`,
    ].join('\n');
    const r = spawnSync('unshare', ['-m', 'sh', '-c', script, 'smoke', ...args], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', R: ROOTFS, DATA, CPUINFO: join(SYSROOT, 'proc', 'cpuinfo') },
      maxBuffer: 16 << 20,
    });
    if (r.status !== 0) throw new Error(`doorway ${args.join(' ')} in the root filesystem failed (${r.status ?? r.signal}):\n${r.stderr}`);
    return r.stdout;
  };

  let t0 = Date.now();
  const faces = inside(['faces', '--json', '/srv/smoke/franck_01829.jpg', '/srv/smoke/faces.jpg'])
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { file: string; faces: { embedding: number[] }[] });
  const counts = faces.map((f) => f.faces.length);
  if (counts.join() !== '1,3' || faces[0]?.faces[0]?.embedding.length !== 512) throw new Error(`faces: expected 1 and 3 faces with 512-d embeddings, got ${counts.join()}`);
  say(`smoke: doorway faces --json found ${counts.join(' and ')} faces (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  t0 = Date.now();
  const same = JSON.parse(inside(['compare', '--json', '/srv/smoke/franck_01829.jpg', '/srv/smoke/franck_04117.jpg'])) as { similarity: number; same: boolean };
  const other = JSON.parse(inside(['compare', '--json', '/srv/smoke/franck_01829.jpg', '/srv/smoke/faces.jpg'])) as { similarity: number; same: boolean };
  if (!same.same || other.same) throw new Error(`compare: expected same then different, got ${JSON.stringify(same)} ${JSON.stringify(other)}`);
  say(`smoke: doorway compare --json same man ${same.similarity}, different people ${other.similarity} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  const arch = inside(['help']).length > 0 ? elfMachine(join(ROOTFS, 'usr', 'local', 'bin', 'node')) : -1;
  if (arch !== EM_AARCH64) throw new Error('the root filesystem node is not an AArch64 binary');
}

function main(): void {
  const t0 = Date.now();
  const nm = prepare();
  removeInside(CACHE, ROOTFS);
  mkdirSync(dirname(ROOTFS), { recursive: true });
  buildBase();
  buildApp(nm);
  symlinkSync('slots/a', join(ROOTFS, 'opt', 'doorway', 'current'));
  const tBuilt = Date.now();
  const du = run('du', ['-sh', ROOTFS]).split('\t')[0];
  say(`root filesystem ${ROOTFS}: ${du}`);
  smoke();
  say(`durations: build ${((tBuilt - t0) / 1000).toFixed(1)} s, smoke test ${((Date.now() - tBuilt) / 1000).toFixed(1)} s`);
}

main();
