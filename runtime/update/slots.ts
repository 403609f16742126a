/**
 * The A/B layout of the installed runtime:
 *
 *   ROOT/slots/a/        one complete runtime (bin/doorway.js, dist/, node_modules/, models/, package.json)
 *   ROOT/slots/b/        the other one
 *   ROOT/current         symbolic link -> slots/a or slots/b (relative, so the tree can be moved or chrooted)
 *
 * systemd starts ROOT/current/bin/doorway.js, so a restart runs whatever `current` points at. An update
 * unpacks into a staging folder beside the inactive slot, checks it, replaces the inactive slot with it
 * (rename), and switches `current` by renaming a new link over it: rename(2) is atomic, so after a power
 * cut `current` points at one whole slot or the other, never at half of one. The running slot is never
 * written to.
 */
import { closeSync, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { TerminalError } from '../../core/errors';
import { removeInside } from '../../core/fs';
import { unpackBundle } from './bundle';
import type { UpdateManifest } from './manifest';

export type SlotName = 'a' | 'b';
export const SLOT_NAMES: readonly SlotName[] = ['a', 'b'];

export class SlotLayoutError extends TerminalError {
  readonly code = 'slot-layout';
}

export function otherSlot(s: SlotName): SlotName {
  return s === 'a' ? 'b' : 'a';
}

export class Slots {
  constructor(readonly root: string) {}

  get currentLink(): string {
    return join(this.root, 'current');
  }

  dir(s: SlotName): string {
    return join(this.root, 'slots', s);
  }

  /** The slot `current` points at; null when there is no link (layout not adopted yet). */
  current(): SlotName | null {
    let target: string;
    try {
      target = readlinkSync(this.currentLink);
    } catch {
      return null;
    }
    const m = /^(?:\.\/)?slots\/([ab])\/?$/.exec(target);
    if (!m) throw new SlotLayoutError(`${this.currentLink} points at ${target}, not at slots/a or slots/b`);
    return m[1] as SlotName;
  }

  /** The slot an update goes into: the one `current` does not point at. */
  inactive(): SlotName {
    const c = this.current();
    if (c === null) throw new SlotLayoutError(`${this.currentLink} does not exist: adopt the slot layout first (runtime/update/README.md)`);
    return otherSlot(c);
  }

  /**
   * Unpacks a verified bundle into the inactive slot: staging folder, checked against the manifest,
   * then renamed over the slot. On any failure the staging folder is removed and the inactive slot is
   * as it was.
   */
  async install(bundleFile: string, manifest: UpdateManifest): Promise<SlotName> {
    const target = this.inactive();
    const staging = join(this.root, 'slots', `.${target}.incoming`);
    const slots = join(this.root, 'slots');
    removeInside(slots, staging);
    try {
      await unpackBundle(bundleFile, manifest, staging);
    } catch (e) {
      removeInside(slots, staging);
      throw e;
    }
    removeInside(slots, this.dir(target));
    renameSync(staging, this.dir(target));
    syncDir(join(this.root, 'slots'));
    return target;
  }

  /** Points `current` at slot `s` in one rename. */
  switchTo(s: SlotName): void {
    if (!existsSync(join(this.dir(s), 'bin', 'doorway.js'))) throw new SlotLayoutError(`slot ${s} holds no runtime`);
    const next = join(this.root, '.current.next');
    rmSync(next, { force: true });
    symlinkSync(`slots/${s}`, next);
    renameSync(next, this.currentLink);
    syncDir(this.root);
  }

  /**
   * A fresh layout for a first installation: `runtimeDir`'s files become slot `a` and `current` points
   * at it. Refuses a root that already has `current`.
   */
  adopt(runtimeDir: string): void {
    if (lstatExists(this.currentLink)) throw new SlotLayoutError(`${this.currentLink} already exists`);
    mkdirSync(join(this.root, 'slots'), { recursive: true, mode: 0o755 });
    if (existsSync(this.dir('a'))) throw new SlotLayoutError(`${this.dir('a')} already exists`);
    renameSync(runtimeDir, this.dir('a'));
    this.switchTo('a');
  }
}

function lstatExists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Makes a rename in `dir` durable (the directory entry itself is flushed). */
export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
