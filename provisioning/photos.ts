/**
 * Enrolment photos in the community folder: `photos/<key>/<name>`, where `key` is a random opaque
 * key stored with the person (never the person id, so no id can choose a folder) and `name` is made
 * here (`<rev>-<n>.<ext>`). The database keeps only the key and the names; every path is built and
 * checked here, and every delete goes through removeInside (core/fs.ts), which refuses anything that
 * is not strictly inside the photos folder.
 *
 * Databases from before the keys kept absolute paths under `photos/<personId>/`: the hub database's
 * migration (db.ts) records the moves in `photo_moves`, and `finishPhotoMoves` carries them out (on
 * every open, until none is left; each move can be repeated safely).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, realpathSync, renameSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { TerminalError } from '../core/errors';
import { removeInside } from '../core/fs';
import type { PersonStore } from './store/hub-store';

/** 128 random bits, hex. */
export const PhotoKeySchema = z.string().regex(/^[0-9a-f]{32}$/, 'photo key');
/** `<rev>-<n>.<ext>`, made by savePhotos. */
export const PhotoNameSchema = z.string().regex(/^[0-9]{1,16}-[0-9]{1,4}\.[a-z0-9]{1,5}$/, 'photo file name');

export function newPhotoKey(): string {
  return randomBytes(16).toString('hex');
}

function folder(photosDir: string, key: string): string {
  return join(photosDir, PhotoKeySchema.parse(key));
}

/** Absolute paths of a person's stored photos. */
export function photoPaths(photosDir: string, key: string, names: readonly string[]): string[] {
  return names.map((n) => join(folder(photosDir, key), PhotoNameSchema.parse(n)));
}

function extensionOf(file: string): string {
  const ext = extname(file).toLowerCase();
  return /^\.[a-z0-9]{1,5}$/.test(ext) ? ext : '.jpg';
}

/** Copy photos into the person's folder; returns their names. All or none: a failed copy removes the ones made. */
export function savePhotos(photosDir: string, key: string, sources: readonly string[], rev: number): string[] {
  const dir = folder(photosDir, key);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const names: string[] = [];
  try {
    for (const [i, src] of sources.entries()) {
      const name = PhotoNameSchema.parse(`${rev}-${i + 1}${extensionOf(src)}`);
      copyFileSync(src, join(dir, name));
      names.push(name);
    }
  } catch (e) {
    removePhotos(photosDir, key, names);
    throw e;
  }
  return names;
}

/** Delete some of a person's photos (names given) or their whole folder (no names). */
export function removePhotos(photosDir: string, key: string, names?: readonly string[]): void {
  if (names === undefined) {
    removeInside(photosDir, folder(photosDir, key));
    return;
  }
  for (const p of photoPaths(photosDir, key, names)) removeInside(photosDir, p);
}

// ------------------------------------------------------------------------------- legacy folders

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel !== '' && !isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`);
}

/**
 * A legacy photo file we may move or delete: named as the old code named photos (`<rev>-<n>.<ext>`,
 * so never community.json, a key or hub.db), a regular file (not a link), strictly inside the
 * community folder.
 */
function legacyFile(communityDir: string, p: string): string | null {
  if (!/^[0-9]+-[0-9]+(\.[^/\\]*)?$/.test(basename(p))) return null;
  try {
    const st = lstatSync(p);
    if (!st.isFile()) return null;
    const real = realpathSync(p);
    return inside(realpathSync(communityDir), real) ? real : null;
  } catch {
    return null;
  }
}

export interface PhotoMove {
  id: number;
  personId: string;
  /** Absolute path as the old database stored it. */
  source: string;
  /** Destination key and name; null for a delete (a person revoked by the migration). */
  key: string | null;
  name: string | null;
}

/**
 * Carry out the photo moves a migration recorded: each legacy file is moved into `photos/<key>/`
 * (or deleted, for a person the migration revoked), then the legacy `photos/<personId>/` folders are
 * removed. A file that is missing, not a regular file, or outside the community folder is left alone.
 * Returns how many moves were done.
 */
export function finishPhotoMoves(db: PersonStore, communityDir: string, photosDir: string): number {
  const moves = db.photoMoves();
  if (moves.length === 0) return 0;
  const legacyFolders = new Set<string>();
  for (const m of moves) {
    // The stored path, or the same file under this folder if the community folder was moved since.
    const candidates = [m.source, join(photosDir, m.personId, basename(m.source))];
    legacyFolders.add(m.personId);
    const src = candidates.map((c) => legacyFile(communityDir, resolve(c))).find((c) => c !== null) ?? null;
    const dest = m.key !== null && m.name !== null ? join(folder(photosDir, m.key), PhotoNameSchema.parse(m.name)) : null;
    if (src !== null && dest !== null) {
      mkdirSync(dirname(dest), { recursive: true, mode: 0o700 });
      if (!existsSync(dest)) renameSync(src, dest);
    } else if (src !== null) {
      removeInside(communityDir, src);
    } else if (dest !== null && m.name !== null && !existsSync(dest)) {
      db.forgetPhoto(m.personId, m.name); // nothing to move: the person's list keeps no name without a file
    }
    db.photoMoveDone(m.id);
  }
  // photos/<personId>/ now holds nothing the database refers to. For "." or ".." that path is photos/
  // itself or the community folder, and for a link it may lead out: removeInside refuses those.
  for (const id of legacyFolders) {
    try {
      removeInside(photosDir, join(photosDir, id));
    } catch (e) {
      if (!(e instanceof TerminalError)) throw e;
    }
  }
  return moves.length;
}
