/**
 * The one way this project deletes a file or a folder tree: `removeInside(root, target)`. It removes
 * `target` only when it lies strictly inside `root`, checked twice: on the path as written (no "..",
 * no absolute escape) and on the real path with every symbolic link resolved (a link inside `root`
 * that points elsewhere is refused, not followed). `root` itself is never removed.
 *
 * Inside the tree, links are removed as links: what they point to is never touched.
 * Callers own `root` (the community folder, a temporary folder they made); its ancestors are trusted.
 *
 * Also the one atomic file write (`writeFileAtomic`: a temporary file, then a rename), and the one rule
 * for the modes of files that hold personal data or keys (issue 16): such a file is created 0600 and
 * its folder 0700 from the start, whatever the process umask is (systemd's UMask is not relied on):
 *
 * - `ensurePrivateDir(dir)`: made 0700 (missing parents too), an existing one narrowed to 0700;
 * - `writePrivateFile(file, data)`: opened with mode 0600 (never a moment with a wider one), an existing
 *   wider file narrowed before it is written;
 * - `preparePrivateDatabase(file)`: an SQLite file created empty 0600 before SQLite opens it. SQLite
 *   creates the -wal and -shm files itself with the database file's mode (checked: a database made by
 *   SQLite under umask 022 is 0644 and so are its -wal and -shm; one made here first is 0600 and so are
 *   they); existing ones are narrowed;
 * - `withPrivateUmask(f)`: runs `f` under umask 077, for files made by something else (openssl, a
 *   broker started from here inherits it): the umask of the process is restored afterwards. Synchronous
 *   work only (an await inside would leave the umask narrowed for whatever else runs meanwhile).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fchmodSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { TerminalError } from './errors';

/** A delete that would have reached outside the folder it belongs to, or that folder itself. Nothing was deleted. */
export class UnsafeDeleteError extends TerminalError {
  readonly code = 'unsafe-delete';
}

function strictlyInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel !== '' && !isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`);
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch (e) {
    // No such entry, a file where a folder was expected, a name too long: nothing there to delete.
    if (['ENOENT', 'ENOTDIR', 'ENAMETOOLONG'].includes((e as NodeJS.ErrnoException).code ?? '')) return false;
    throw e;
  }
}

/**
 * Delete `target` (a file, or a folder and everything in it) if and only if it is strictly inside
 * `root`, both as written and once every link is resolved. Returns 'absent' when there was nothing
 * to delete. Throws UnsafeDeleteError (and deletes nothing) otherwise.
 */
export function removeInside(root: string, target: string): 'removed' | 'absent' {
  if (root.includes('\0') || target.includes('\0')) throw new UnsafeDeleteError('refusing to delete a path with a NUL character');
  const r = resolve(root);
  const t = resolve(r, target);
  if (!strictlyInside(r, t)) throw new UnsafeDeleteError(`refusing to delete ${t === r ? 'the folder itself' : 'a path outside its folder'} (${r})`);
  if (!exists(r) || !exists(t)) return 'absent';
  const realRoot = realpathSync(r);
  // Where the target really is: its folder with every link resolved, then its own name.
  const located = join(realpathSync(dirname(t)), basename(t));
  if (!strictlyInside(realRoot, located)) throw new UnsafeDeleteError(`refusing to delete a path that resolves outside its folder (${r})`);
  if (lstatSync(located).isSymbolicLink()) {
    // A link is removed as a link; one that points at the folder or outside it is refused all the same.
    let pointsTo: string | null;
    try {
      pointsTo = realpathSync(located);
    } catch {
      pointsTo = null; // dangling: removing the link touches nothing else
    }
    if (pointsTo !== null && !strictlyInside(realRoot, pointsTo)) {
      throw new UnsafeDeleteError(`refusing to delete a link that resolves ${pointsTo === realRoot ? 'to the folder itself' : 'outside its folder'} (${r})`);
    }
  }
  rmSync(located, { recursive: true, force: true });
  return 'removed';
}

/**
 * Writes `data` to `file` atomically: a temporary file beside it (created with `mode`, synced), then a
 * rename over the old one, so a reader sees the old content or the new, never a part; a failure leaves
 * the old file as it was.
 */
export function writeFileAtomic(file: string, data: string | Buffer, mode = 0o600): void {
  const part = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.part`);
  const fd = openSync(part, 'wx', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(part, mode); // the umask may have narrowed it; never widened beyond `mode`
    renameSync(part, file);
  } catch (e) {
    rmSync(part, { force: true });
    throw e;
  }
}

/** Mode of every file that holds personal data or keys. */
export const PRIVATE_FILE_MODE = 0o600;
/** Mode of every folder that holds such files. */
export const PRIVATE_DIR_MODE = 0o700;

/** `dir` (and missing parents) made 0700; an existing `dir` narrowed to 0700 (parents left as they are). */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Writes `data` to `file`, created 0600 (an existing file is narrowed to 0600 before anything is written). */
export function writePrivateFile(file: string, data: string | Buffer, flag: 'w' | 'wx' = 'w'): void {
  const fd = openSync(file, flag, PRIVATE_FILE_MODE);
  try {
    if ((fstatSync(fd).mode & 0o777) !== PRIVATE_FILE_MODE) fchmodSync(fd, PRIVATE_FILE_MODE);
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
  } finally {
    closeSync(fd);
  }
}

/**
 * Before SQLite opens `file`: creates it empty with mode 0600 when missing (SQLite then gives its -wal
 * and -shm files the same mode), and narrows an existing database and its -wal, -shm and -journal
 * files to 0600 (files made by older builds). ':memory:' and '' are left alone.
 */
export function preparePrivateDatabase(file: string): void {
  if (file === '' || file === ':memory:') return;
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(f) && (lstatSync(f).mode & 0o777) !== PRIVATE_FILE_MODE && lstatSync(f).isFile()) chmodSync(f, PRIVATE_FILE_MODE);
  }
}

/** Runs `f` (synchronous) under umask 077: what it, or a program it starts, creates is private; the umask is restored. */
export function withPrivateUmask<T>(f: () => T): T {
  const before = process.umask(0o077);
  try {
    return f();
  } finally {
    process.umask(before);
  }
}
