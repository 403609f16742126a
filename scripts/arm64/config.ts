/**
 * Where the ARM64 run keeps its files, and the small helpers every arm64 script shares.
 *
 * Two places:
 * - the machine cache (DOORWAY_ARM64_CACHE, default ~/.cache/doorway/arm64): the ARM64 Node, the arm64
 *   platform packages, the cross-built addons and the assembled arm64 node_modules, each keyed by version
 *   (the node_modules copy by a hash of package-lock.json). It lives outside the checkout because CI runs
 *   every submission in a fresh clone: a cache inside the clone would be cold on every run.
 * - the stage (<machine cache>/stage/<hash of the checkout path>): a copy of this checkout's sources with
 *   a node_modules link to the arm64 node_modules. jest runs there, so every `require` resolves to arm64
 *   parts. It is outside the checkout so that the x86 jest, tsc and eslint never see a second copy.
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

export const CACHE = process.env['DOORWAY_ARM64_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'doorway', 'arm64');

export const STAGE = join(CACHE, 'stage', createHash('sha256').update(ROOT).digest('hex').slice(0, 12));

/** ARM64 glibc, libstdc++ and libgcc, as Debian's cross compiler packages install them. */
export const CROSS_LIBS = '/usr/aarch64-linux-gnu';

/**
 * What qemu gets as -L / QEMU_LD_PREFIX: lib -> CROSS_LIBS/lib, plus an ARM /proc/cpuinfo (see
 * prepare.ts ensureSysroot). qemu looks up every absolute path the guest opens here first.
 */
export const SYSROOT = process.env['DOORWAY_ARM64_SYSROOT'] ?? join(CACHE, 'sysroot');

export const QEMU = '/usr/bin/qemu-aarch64-static';

/** Debian packages this run needs; installed idempotently (a clean CI machine has none of them). */
export const APT_PACKAGES = ['qemu-user-static', 'g++-aarch64-linux-gnu', 'binutils-aarch64-linux-gnu'];

/** The ARM64 Node is the same version as the x86 Node that runs these scripts. */
export const NODE_VERSION = process.version.slice(1);

export const NODE_DIR = join(CACHE, `node-${NODE_VERSION}`);
export const ARM64_NODE = join(NODE_DIR, 'bin', 'node');

/** Bump when the recipe that assembles the arm64 node_modules changes, so old copies are not reused. */
export const RECIPE = '1';

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function lockfileKey(): string {
  return sha256(readFileSync(join(ROOT, 'package-lock.json'))).slice(0, 16);
}

export const started = Date.now();

export function say(line: string): void {
  process.stderr.write(`[arm64 ${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`);
}

export function run(cmd: string, args: string[], opts: ExecFileSyncOptions = {}): string {
  const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts });
  return typeof out === 'string' ? out : '';
}

/** Environment for any process of the emulated run: qemu finds the ARM64 libraries through it. */
export function emulatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, QEMU_LD_PREFIX: SYSROOT, ...extra };
}
