/**
 * removeInside: the one recursive delete. It removes what is strictly inside its folder, and nothing
 * else: not the folder itself, not a parent, not what a link points to.
 */
import fc from 'fast-check';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeInside, UnsafeDeleteError } from '../../core/fs';
import { nastyId } from '../fixtures/ids';

/** A folder `root/photos` with two persons' files, a sibling secret and an outside folder. */
function site(): { root: string; photos: string; outside: string; everything: () => string[] } {
  const root = mkdtempSync(join(tmpdir(), 'core-fs-'));
  const photos = join(root, 'photos');
  mkdirSync(join(photos, 'p1'), { recursive: true });
  mkdirSync(join(photos, 'p2'));
  writeFileSync(join(photos, 'p1', '1.jpg'), 'a');
  writeFileSync(join(photos, 'p2', '1.jpg'), 'b');
  writeFileSync(join(root, 'ca.key'), 'secret');
  const outside = mkdtempSync(join(tmpdir(), 'core-fs-outside-'));
  writeFileSync(join(outside, 'keep'), 'keep');
  // readdirSync's own `recursive` follows links (and loops through them): walk with lstat instead.
  const list = (d: string, prefix = ''): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      const rel = `${prefix}${e.name}`;
      return e.isDirectory() ? [rel, ...list(join(d, e.name), `${rel}/`)] : [rel];
    }).sort();
  return { root, photos, outside, everything: () => [...list(root), ...list(outside).map((f) => `outside:${f}`)] };
}

describe('removeInside', () => {
  it('removes a folder tree strictly inside its folder, and reports a missing one as absent', () => {
    const s = site();
    expect(removeInside(s.photos, join(s.photos, 'p1'))).toBe('removed');
    expect(existsSync(join(s.photos, 'p1'))).toBe(false);
    expect(existsSync(join(s.photos, 'p2', '1.jpg'))).toBe(true);
    expect(removeInside(s.photos, join(s.photos, 'p1'))).toBe('absent');
  });

  it('never removes the folder itself or anything above or beside it', () => {
    const s = site();
    const before = s.everything();
    for (const t of ['.', '', '..', '../..', '/', s.root, join(s.photos, '..'), join(s.photos, 'p1', '..'), join(s.photos, '../ca.key'), s.outside]) {
      expect(() => removeInside(s.photos, t)).toThrow(UnsafeDeleteError);
    }
    expect(s.everything()).toEqual(before);
  });

  it('refuses a link that points at the folder or outside it, and a path through a link that leaves it', () => {
    const s = site();
    symlinkSync(s.outside, join(s.photos, 'out'));
    symlinkSync(s.photos, join(s.photos, 'self'));
    symlinkSync(s.root, join(s.photos, 'up'));
    const before = s.everything();
    for (const t of ['out', 'self', 'up', 'out/keep', 'up/ca.key', 'up/photos', 'self/p1/..']) {
      expect(() => removeInside(s.photos, join(s.photos, t))).toThrow(UnsafeDeleteError);
    }
    expect(s.everything()).toEqual(before);
    // the folder reached through a link to itself is the folder, never removable
    expect(() => removeInside(join(s.photos, 'self'), join(s.photos, 'self'))).toThrow(UnsafeDeleteError);
  });

  it('removes links inside the tree as links, without following them', () => {
    const s = site();
    symlinkSync(s.outside, join(s.photos, 'p1', 'link-out'));
    symlinkSync(join(s.root, 'ca.key'), join(s.photos, 'p1', 'link-key'));
    symlinkSync(join(s.photos, 'p2'), join(s.photos, 'p1', 'link-p2'));
    expect(removeInside(s.photos, join(s.photos, 'p1'))).toBe('removed');
    expect(existsSync(join(s.outside, 'keep'))).toBe(true);
    expect(existsSync(join(s.root, 'ca.key'))).toBe(true);
    expect(existsSync(join(s.photos, 'p2', '1.jpg'))).toBe(true);
    symlinkSync(join(s.photos, 'nothing-here'), join(s.photos, 'dangling'));
    expect(removeInside(s.photos, join(s.photos, 'dangling'))).toBe('removed');
  });

  it('for any name joined to the folder: refused, absent, or only that entry removed', () => {
    const s = site();
    symlinkSync(s.outside, join(s.photos, 'out'));
    fc.assert(
      fc.property(nastyId, (name) => {
        const before = s.everything();
        let r: string;
        try {
          r = removeInside(s.photos, join(s.photos, name));
        } catch (e) {
          expect(e).toBeInstanceOf(UnsafeDeleteError);
          expect(s.everything()).toEqual(before);
          return;
        }
        const gone = before.filter((f) => !s.everything().includes(f));
        // only entries under photos/, never the secret beside it or anything outside
        for (const f of gone) expect(f.startsWith('photos/')).toBe(true);
        if (r === 'absent') expect(gone).toEqual([]);
      }),
      { numRuns: 300 },
    );
    expect(existsSync(join(s.root, 'ca.key'))).toBe(true);
    expect(existsSync(join(s.outside, 'keep'))).toBe(true);
  });
});
