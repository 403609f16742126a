/**
 * `provision update build --from DIR --version V --replaces LIST --out FILE [--arch arm64]`: packs a
 * built runtime folder (what Dockerfile.arm64 puts in a slot: package.json, bin/, dist/, the target
 * CPU's production node_modules, models/) into a signed update bundle (format: runtime/update/manifest.ts).
 *
 * Refused before anything is written: a version that is not DIR/package.json's, a folder without
 * bin/doorway.js or a model manifest, a symbolic link (other than node_modules/.bin, left out: nothing
 * runs it on a terminal) or special file, and a native addon (.node) built for another CPU than --arch.
 * Reproducible: entries are sorted, with a fixed mtime and no owner.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { create as tarCreate } from 'tar';
import { TerminalError } from '../../core/errors';
import { removeInside } from '../../core/fs';
import { entry as modelEntry, loadManifest } from '../../models/manifest';
import { signBody } from '../../runtime/protocol/signing';
import {
  ArchSchema,
  ENDORSEMENT_NAME,
  ENTRY_POINT,
  MANIFEST_NAME,
  PAYLOAD_NAME,
  UpdateManifestSchema,
  VersionSchema,
  type Arch,
  type BundleFile,
  type UpdateManifest,
} from '../../runtime/update/manifest';
import type { Community } from '../community';
import { communityCaSha256, updateKeyEndorsement, updateSigningKey } from './keys';

export class BundleBuildError extends TerminalError {
  readonly code = 'bundle-build';
}

export interface BuildOptions {
  /** The built runtime folder. */
  from: string;
  version: string;
  /** Installed versions the bundle may replace. */
  replaces: string[];
  out: string;
  /** Default arm64 (the terminals). */
  arch?: Arch;
  passphrase: string;
  /** Carry the roster key's endorsement of the update key (for terminals that pin none); default true. */
  endorse?: boolean;
  /** Who builds it (audit log). */
  actor: string;
  /** Now on the caller's clock. */
  now: number;
}

export interface BuiltBundle {
  file: string;
  manifest: UpdateManifest;
  /** sha256 of the bundle file itself (what a download can be checked against before it is opened). */
  sha256: string;
  size: number;
}

/** Where a built tree keeps its model manifest: compiled (dist/, beside the code) or a source checkout. */
const MODEL_MANIFESTS = ['dist/models/manifest.json', 'models/manifest.json'];
/** ELF e_machine per Node arch. */
const ELF_MACHINE: Record<Arch, number> = { arm64: 183, x64: 62 };
const FIXED_MTIME = new Date(Date.UTC(2020, 0, 1));

export async function buildBundle(c: Community, o: BuildOptions): Promise<BuiltBundle> {
  const from = resolve(o.from);
  const version = VersionSchema.safeParse(o.version);
  if (!version.success) throw new BundleBuildError(`--version ${o.version}: ${version.error.issues[0]?.message ?? 'invalid'}`);
  const replaces = o.replaces.map((r) => {
    const p = VersionSchema.safeParse(r);
    if (!p.success) throw new BundleBuildError(`--replaces ${r}: not a version MAJOR.MINOR.PATCH`);
    return p.data;
  });
  if (replaces.length === 0) throw new BundleBuildError('--replaces: give the installed versions this bundle may replace');
  const arch = ArchSchema.parse(o.arch ?? 'arm64');
  if (!existsSync(join(from, ENTRY_POINT))) throw new BundleBuildError(`${from} has no ${ENTRY_POINT}: not a built runtime`);
  const pkg = join(from, 'package.json');
  if (existsSync(pkg)) {
    const declared = (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: unknown }).version;
    if (declared !== version.data) throw new BundleBuildError(`${pkg} says version ${String(declared)}, not ${version.data}: build the runtime with the version it is shipped as`);
  }
  const manifestPath = MODEL_MANIFESTS.find((p) => existsSync(join(from, p)));
  if (!manifestPath) throw new BundleBuildError(`${from} has no model manifest (${MODEL_MANIFESTS.join(' or ')})`);
  const embed = modelEntry(loadManifest(join(from, manifestPath)), 'embed').id;

  const paths = listFiles(from);
  const files: BundleFile[] = [];
  for (const p of paths) {
    const full = join(from, p);
    if (p.endsWith('.node')) checkAddon(full, p, arch);
    const st = lstatSync(full);
    files.push({ path: p, size: st.size, sha256: await sha256File(full), mode: st.mode & 0o111 ? 0o755 : 0o644 });
  }

  const signingKey = updateSigningKey(c, o.passphrase);
  const out = resolve(o.out);
  mkdirSync(dirname(out), { recursive: true });
  const work = join(dirname(out), `.${basename(out)}.build-${randomBytes(4).toString('hex')}`);
  mkdirSync(work, { mode: 0o700 });
  try {
    const payload = join(work, PAYLOAD_NAME);
    await tarCreate({ gzip: { level: 6 }, file: payload, cwd: from, portable: true, mtime: FIXED_MTIME, noDirRecurse: true }, paths);
    const manifest = UpdateManifestSchema.parse({
      v: 1,
      kind: 'doorway.update',
      version: version.data,
      replaces,
      arch,
      platform: 'linux',
      community: { name: c.config.name, caSha256: communityCaSha256(c) },
      models: { embed, manifestPath },
      createdAt: o.now,
      payload: { name: PAYLOAD_NAME, size: lstatSync(payload).size, sha256: await sha256File(payload) },
      files,
    } satisfies UpdateManifest);
    writeFileSync(join(work, MANIFEST_NAME), signBody(manifest, signingKey));
    const entries = [MANIFEST_NAME];
    if (o.endorse ?? true) {
      writeFileSync(join(work, ENDORSEMENT_NAME), updateKeyEndorsement(c, o.passphrase, o.now));
      entries.push(ENDORSEMENT_NAME);
    }
    entries.push(PAYLOAD_NAME);
    const part = `${out}.part`;
    await tarCreate({ file: part, cwd: work, portable: true, mtime: FIXED_MTIME, noDirRecurse: true }, entries);
    renameSync(part, out);
    const sha256 = await sha256File(out);
    const size = lstatSync(out).size;
    c.db.audit(o.actor, 'update.build', version.data, { arch, replaces, files: files.length, embed, sha256 }, o.now);
    return { file: out, manifest, sha256, size };
  } finally {
    removeInside(dirname(out), work);
  }
}

/** Every regular file under `root`, relative, sorted; node_modules/.bin is left out. */
function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, p));
      if (st.isDirectory()) {
        if (name === '.bin' && rel.endsWith('node_modules')) continue;
        walk(p);
      } else if (st.isFile()) out.push(p);
      else throw new BundleBuildError(`${p} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}: a bundle holds regular files only`);
    }
  };
  walk('');
  return out;
}

/** A native addon must be a Linux ELF for the bundle's CPU (Mach-O, PE or another CPU's ELF is refused). */
function checkAddon(full: string, rel: string, arch: Arch): void {
  const fd = openSync(full, 'r');
  const b = Buffer.alloc(20);
  try {
    readSync(fd, b, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  const elf = b.readUInt32BE(0) === 0x7f454c46;
  const machine = elf ? b.readUInt16LE(18) : -1;
  if (machine !== ELF_MACHINE[arch]) {
    throw new BundleBuildError(`${rel} is ${elf ? `an ELF for machine ${machine}` : 'not a Linux ELF'}, not ${arch}: build the addons for ${arch} and remove other platforms' binaries (as Dockerfile.arm64 does)`);
  }
}

export function sha256File(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => res(h.digest('hex')))
      .on('error', rej);
  });
}
