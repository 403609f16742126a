/**
 * A fingerprint of a folder tree (every entry's path, kind, link target and file bytes), to show that
 * a refused command wrote nothing. Links are recorded, never followed. SQLite's `-shm` file (the WAL
 * index, which a reader updates too) is left out; the database and its `-wal` are in.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

export function treeEntries(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith('-shm')) continue;
    const p = join(dir, name);
    const rel = `${prefix}${name}`;
    const st = lstatSync(p);
    if (st.isSymbolicLink()) out.push(`${rel} -> ${readlinkSync(p)}`);
    else if (st.isDirectory()) out.push(`${rel}/`, ...treeEntries(p, `${rel}/`));
    else out.push(`${rel} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
  }
  return out;
}

export function treeHash(dir: string): string {
  return createHash('sha256').update(treeEntries(dir).join('\n')).digest('hex');
}
