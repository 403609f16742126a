/**
 * Enrolment photos in the community folder: `photos/<key>/<name>`, where `key` is a random opaque
 * key stored with the person (never the person id, so no id can choose a folder) and `name` is made
 * here (`<rev>-<n>.<ext>`). The database keeps only the key and the names; every path is built and
 * checked here, and every delete goes through removeInside (core/fs.ts), which refuses anything that
 * is not strictly inside the photos folder.
 *
 * Every photo file is encrypted at rest (store/at-rest.ts: AES-256-GCM bound to its folder key and
 * name, 0600 from creation): `savePhotos` and `saveIdPhoto` seal what they write, `readPhotoFile` opens
 * one, `withPlainPhotoFiles` lends decrypted copies to something that reads files (the enrolment
 * pipeline) in a private temporary folder removed afterwards, and `sealPlainPhotos` encrypts in place the
 * files written before (at the community's first unlock).
 *
 * Databases from before the keys kept absolute paths under `photos/<personId>/`: the hub database's
 * migration (db.ts) records the moves in `photo_moves`, and `finishPhotoMoves` carries them out (on
 * every open, until none is left; each move can be repeated safely).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { TerminalError } from '../core/errors';
import { ensurePrivateDir, removeInside, writeFileAtomic, writePrivateFile } from '../core/fs';
import { AAD, isSealedFile, photoCipher, type AtRestCipher } from './store/at-rest';
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

/** Writes one photo into the person's folder, encrypted (0600 from creation). */
export function writePhoto(photosDir: string, key: string, name: string, data: Uint8Array): void {
  const cipher = photoCipher(photosDir);
  const dir = folder(photosDir, key);
  ensurePrivateDir(dir);
  writeFileAtomic(join(dir, PhotoNameSchema.parse(name)), cipher.sealFile(data, AAD.photo(key, name)));
}

/** Copy photos into the person's folder, encrypted; returns their names. All or none: a failed copy removes the ones made. */
export function savePhotos(photosDir: string, key: string, sources: readonly string[], rev: number): string[] {
  photoCipher(photosDir); // locked: refused before anything is read or written
  const names: string[] = [];
  try {
    for (const [i, src] of sources.entries()) {
      const name = PhotoNameSchema.parse(`${rev}-${i + 1}${extensionOf(src)}`);
      writePhoto(photosDir, key, name, readFileSync(src));
      names.push(name);
    }
  } catch (e) {
    removePhotos(photosDir, key, names);
    throw e;
  }
  return names;
}

/**
 * Every photo file in a person's folder (enrolment photos and the identity document's `0-0.*`), with
 * its bytes decrypted: what a person's export carries (provisioning/admin/person-export.ts). Links and files
 * named otherwise are left out.
 */
export function readPhotos(photosDir: string, key: string): Array<{ name: string; data: Buffer }> {
  const dir = folder(photosDir, key);
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && PhotoNameSchema.safeParse(d.name).success)
    .map((d) => d.name)
    .sort()
    .map((name) => ({ name, data: readPhotoFile(join(dir, name)) }));
}

/** How many photo files a person's folder holds (what an erasure reports it deleted). */
export function countPhotos(photosDir: string, key: string): number {
  const dir = folder(photosDir, key);
  return existsSync(dir) ? readdirSync(dir).length : 0;
}

/** Delete some of a person's photos (names given) or their whole folder (no names). */
export function removePhotos(photosDir: string, key: string, names?: readonly string[]): void {
  if (names === undefined) {
    removeInside(photosDir, folder(photosDir, key));
    return;
  }
  for (const p of photoPaths(photosDir, key, names)) removeInside(photosDir, p);
}

/** A stored photo's content, decrypted (a file from before encryption is read as it is). */
export function readPhotoFile(file: string): Buffer {
  const name = PhotoNameSchema.parse(basename(file));
  const key = PhotoKeySchema.parse(basename(dirname(file)));
  const data = readFileSync(file);
  if (!isSealedFile(data)) return data;
  return photoCipher(dirname(dirname(file))).openFile(data, AAD.photo(key, name));
}

/**
 * `f` with decrypted copies of stored photos (same names, same order), for code that reads files (the
 * enrolment pipeline): in a private temporary folder (0700, files 0600) removed afterwards, whatever happened.
 */
export async function withPlainPhotoFiles<T>(files: readonly string[], f: (plain: string[]) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'doorway-plain-photos-'));
  try {
    const plain = files.map((file, i) => {
      const out = join(dir, `${i + 1}-${basename(file)}`);
      writePrivateFile(out, readPhotoFile(file), 'wx');
      return out;
    });
    return await f(plain);
  } finally {
    removeInside(tmpdir(), dir);
  }
}

/**
 * Encrypts in place every photo still in clear under `photosDir` (written before encryption at rest):
 * each one replaced atomically by its sealed form. Returns how many were converted.
 */
export function sealPlainPhotos(photosDir: string): number {
  if (!existsSync(photosDir)) return 0;
  const cipher = photoCipher(photosDir);
  let converted = 0;
  for (const key of readdirSync(photosDir)) {
    if (!PhotoKeySchema.safeParse(key).success) continue;
    const dir = join(photosDir, key);
    if (!lstatSync(dir).isDirectory()) continue;
    ensurePrivateDir(dir);
    for (const name of readdirSync(dir)) {
      if (!PhotoNameSchema.safeParse(name).success) continue;
      const file = join(dir, name);
      if (!lstatSync(file).isFile()) continue;
      const data = readFileSync(file);
      if (isSealedFile(data)) continue;
      writeFileAtomic(file, cipher.sealFile(data, AAD.photo(key, name)));
      converted += 1;
    }
  }
  return converted;
}

/**
 * Key rotation: every photo under `photosDir` sealed again with `to` (each replaced atomically). A photo
 * `to` opens already is left as it is, so an interrupted rotation can be run again. Returns how many.
 */
export function resealPhotos(photosDir: string, from: AtRestCipher, to: AtRestCipher): number {
  if (!existsSync(photosDir)) return 0;
  let resealed = 0;
  for (const key of readdirSync(photosDir)) {
    if (!PhotoKeySchema.safeParse(key).success || !lstatSync(join(photosDir, key)).isDirectory()) continue;
    for (const name of readdirSync(join(photosDir, key))) {
      const file = join(photosDir, key, name);
      if (!PhotoNameSchema.safeParse(name).success || !lstatSync(file).isFile()) continue;
      const data = readFileSync(file);
      const aad = AAD.photo(key, name);
      if (isSealedFile(data)) {
        try {
          to.openFile(data, aad);
          continue; // done before an interruption
        } catch {
          // sealed with `from`: below
        }
      }
      writeFileAtomic(file, to.sealFile(isSealedFile(data) ? from.openFile(data, aad) : data, aad));
      resealed += 1;
    }
  }
  return resealed;
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
      ensurePrivateDir(dirname(dest));
      if (!existsSync(dest)) renameSync(src, dest); // sealed in place at the next unlock (sealPlainPhotos)
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
