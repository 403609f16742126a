/**
 * Reading an update bundle (format: manifest.ts) exactly as the terminal installs it: `verifyBundle`
 * checks everything without writing a byte (the manifest's signature, community, architecture and
 * version, then the payload's sha256 and every file's sha256 and size, streamed, nothing unpacked);
 * `unpackBundle` unpacks a verified bundle into a new folder and checks the files on disk again
 * against the signed manifest (the bundle file could have changed since it was verified).
 *
 * Every refusal is an UpdateRefusedError with a reason from the protocol's UpdateReasonSchema.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { chmodSync, closeSync, createReadStream, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { Parser, Unpack, type ReadEntry } from 'tar';
import { z } from 'zod';
import { TerminalError } from '../../core/errors';
import { SignedEnvelopeSchema, type SignedEnvelope, type UpdateReason } from '../protocol/schemas';
import { verifyEnvelope } from '../protocol/signing';
import {
  compareVersions,
  ENDORSEMENT_NAME,
  MANIFEST_NAME,
  MAX_ENDORSEMENT_BYTES,
  MAX_MANIFEST_BYTES,
  PAYLOAD_NAME,
  UpdateKeyEndorsementSchema,
  UpdateManifestSchema,
  VersionSchema,
  type Arch,
  type BundleFile,
  type UpdateManifest,
  type Version,
} from './manifest';

/** A bundle the terminal will not install, and why. Nothing was changed when this is thrown. */
export class UpdateRefusedError extends TerminalError {
  readonly code = 'update-refused';
  constructor(
    readonly reason: UpdateReason,
    message: string,
    /** The bundle's version when its manifest could be read (not necessarily authentic). */
    readonly version: string | null = null,
  ) {
    super(message);
  }
}

/** What the terminal trusts: its keys and its community. */
export interface UpdateTrust {
  /** The pinned update key; null on a terminal provisioned before update keys (see README, Migration). */
  updateKey: KeyObject | null;
  /** The roster key pinned at provisioning: only used to accept an endorsed update key when none is pinned. */
  hubKey: KeyObject;
  /** sha256 (hex) of the community CA certificate's DER: the community's identity. */
  caSha256: string;
}

/**
 * What the bundle must fit: this terminal's CPU and the version it runs (null: no installed version to
 * compare with, as when the hub accepts a bundle for publishing).
 */
export interface InstallTarget {
  arch: Arch;
  installed: Version | null;
}

export interface VerifiedBundle {
  manifest: UpdateManifest;
  /** The update key the manifest was verified with, when it was learnt from the bundle's endorsement. */
  endorsedKey: KeyObject | null;
}

/** sha256 (hex) of a certificate's DER, from its PEM. */
export function certificateSha256(pem: string | Buffer): string {
  const text = pem.toString();
  const b64 = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text)?.[1];
  if (!b64) throw new TypeError('not a PEM certificate');
  return createHash('sha256').update(Buffer.from(b64.replace(/\s+/g, ''), 'base64')).digest('hex');
}

const PeekSchema = z.object({ version: VersionSchema.optional(), community: z.object({ caSha256: z.string().optional() }).optional() });

/** Checks the signed manifest against the trust anchors and the target. Pure: no I/O. */
export function authenticateManifest(manifestText: string, endorsementText: string | null, trust: UpdateTrust, target: InstallTarget): VerifiedBundle {
  let env: SignedEnvelope;
  try {
    env = SignedEnvelopeSchema.parse(JSON.parse(manifestText));
  } catch {
    throw new UpdateRefusedError('malformed', `${MANIFEST_NAME} is not a signed envelope`);
  }
  // Read before the signature is checked, only to say which version and community a refused bundle claims.
  let peek: z.infer<typeof PeekSchema> = {};
  try {
    peek = PeekSchema.parse(JSON.parse(env.body));
  } catch {
    // reported below as malformed or bad signature
  }
  const claimed = peek.version ?? null;
  const foreign = peek.community?.caSha256 !== undefined && peek.community.caSha256 !== trust.caSha256;

  let key = trust.updateKey;
  let endorsedKey: KeyObject | null = null;
  if (!key) {
    if (endorsementText === null) {
      throw new UpdateRefusedError('untrusted-key', 'this terminal pins no update key and the bundle carries no endorsement of one', claimed);
    }
    endorsedKey = endorsedUpdateKey(endorsementText, trust, claimed);
    key = endorsedKey;
  }
  if (!verifyEnvelope(env, key)) {
    if (foreign) throw new UpdateRefusedError('other-community', 'the bundle was made for another community', claimed);
    throw new UpdateRefusedError('bad-signature', 'the manifest signature does not verify with the update key', claimed);
  }
  const parsed = UpdateManifestSchema.safeParse(JSON.parse(env.body));
  if (!parsed.success) {
    throw new UpdateRefusedError('malformed', `manifest: ${parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`, claimed);
  }
  const m = parsed.data;
  if (m.community.caSha256 !== trust.caSha256) throw new UpdateRefusedError('other-community', `the bundle was made for community "${m.community.name}", not this one`, m.version);
  if (m.arch !== target.arch) throw new UpdateRefusedError('wrong-architecture', `the bundle is built for ${m.arch}; this terminal is ${target.arch}`, m.version);
  if (target.installed === null) return { manifest: m, endorsedKey };
  const cmp = compareVersions(m.version, target.installed);
  if (cmp < 0) throw new UpdateRefusedError('downgrade', `${m.version} is older than the installed ${target.installed}`, m.version);
  if (cmp === 0) throw new UpdateRefusedError('already-installed', `${m.version} is already installed`, m.version);
  if (!m.replaces.includes(target.installed)) {
    throw new UpdateRefusedError('not-replaceable', `${m.version} may replace ${m.replaces.join(', ')}, not the installed ${target.installed}`, m.version);
  }
  return { manifest: m, endorsedKey };
}

function endorsedUpdateKey(text: string, trust: UpdateTrust, claimed: string | null): KeyObject {
  let env: SignedEnvelope;
  try {
    env = SignedEnvelopeSchema.parse(JSON.parse(text));
  } catch {
    throw new UpdateRefusedError('untrusted-key', `${ENDORSEMENT_NAME} is not a signed envelope`, claimed);
  }
  if (!verifyEnvelope(env, trust.hubKey)) throw new UpdateRefusedError('untrusted-key', 'the update key endorsement is not signed by the pinned hub key', claimed);
  const body = UpdateKeyEndorsementSchema.safeParse(JSON.parse(env.body));
  if (!body.success) throw new UpdateRefusedError('untrusted-key', 'the update key endorsement is malformed', claimed);
  if (body.data.community.caSha256 !== trust.caSha256) throw new UpdateRefusedError('other-community', 'the update key is endorsed for another community', claimed);
  try {
    const k = createPublicKey(body.data.publicKey);
    if (k.asymmetricKeyType !== 'ed25519') throw new Error('not Ed25519');
    return k;
  } catch {
    throw new UpdateRefusedError('untrusted-key', 'the endorsed update key is not an Ed25519 public key', claimed);
  }
}

/** Streams the whole bundle and checks it; writes nothing. */
export async function verifyBundle(file: string, trust: UpdateTrust, target: InstallTarget): Promise<VerifiedBundle> {
  let verified: VerifiedBundle | null = null;
  await scan(file, (manifestText, endorsementText) => {
    verified = authenticateManifest(manifestText, endorsementText, trust, target);
    return { manifest: verified.manifest, sink: fileChecker(verified.manifest) };
  });
  if (!verified) throw new UpdateRefusedError('truncated', 'the bundle ended before its payload');
  return verified;
}

/**
 * Unpacks the payload of a bundle verified with `verifyBundle` into `dir` (which must not exist), then
 * checks the folder against the manifest: exactly its files, each with its size, sha256 and mode.
 * The caller removes `dir` when this throws.
 */
export async function unpackBundle(file: string, manifest: UpdateManifest, dir: string): Promise<void> {
  if (existsSync(dir)) throw new UpdateRefusedError('install-failed', `${dir} already exists`, manifest.version);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const wanted = new Set(manifest.files.map((f) => f.path));
  // The payload's sha256 is checked against the verified manifest again as it streams past, and the
  // unpacked files one by one after: a bundle that changed since it was verified is refused.
  await scan(file, () => {
    const unpack = new Unpack({
      cwd: dir,
      strict: true,
      preservePaths: false,
      // Owned by whoever installs (root on a terminal), whatever the archive says.
      preserveOwner: false,
      chmod: false,
      // Only regular files the manifest lists; no links, devices or anything else.
      filter: (path, entry) => (entry as ReadEntry).type === 'File' && wanted.has(path),
    });
    return { manifest, sink: unpackSink(unpack) };
  });
  checkFolder(dir, manifest);
}

/** Each file on disk is exactly as the manifest says, and nothing else is there. */
export function checkFolder(dir: string, manifest: UpdateManifest): void {
  const want = new Map(manifest.files.map((f) => [f.path, f]));
  const seen = new Set<string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel))) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, p));
      if (st.isDirectory()) {
        chmodSync(join(dir, p), 0o755);
        walk(p);
        continue;
      }
      const f = want.get(p);
      if (!f || !st.isFile()) throw new UpdateRefusedError('file-mismatch', `unexpected entry ${p} in the unpacked bundle`, manifest.version);
      seen.add(p);
    }
  };
  walk('');
  for (const f of manifest.files) {
    if (!seen.has(f.path)) throw new UpdateRefusedError('file-mismatch', `${f.path} is missing from the unpacked bundle`, manifest.version);
  }
  for (const f of manifest.files) {
    const full = join(dir, f.path);
    const digest = hashFileSync(full);
    if (digest.size !== f.size || digest.sha256 !== f.sha256) throw new UpdateRefusedError('file-mismatch', `${f.path} does not match its sha256 in the manifest`, manifest.version);
    chmodSync(full, f.mode);
  }
}

function hashFileSync(path: string): { size: number; sha256: string } {
  const b = readFileSync(path);
  return { size: b.length, sha256: createHash('sha256').update(b).digest('hex') };
}

// ------------------------------------------------------------------------------------------ scanning

interface PayloadSink {
  /** Receives the payload bytes (still gzipped); resolves when they have all been consumed. */
  write(chunk: Buffer): void;
  end(): Promise<void>;
  /** Node stream to pipe into when backpressure matters (unpacking); `write` is then unused. */
  stream?: NodeJS.WritableStream;
}

type OnManifest = (manifestText: string, endorsementText: string | null) => { manifest: UpdateManifest; sink: PayloadSink };

/** tar's errors for input that ends early: a download cut short. */
function isTruncation(e: unknown): boolean {
  return e instanceof Error && /Truncated input|unexpected end|unexpected EOF/i.test(e.message);
}

class Tap extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/**
 * Streams the outer tar: manifest.json, optionally update-key.json, then payload.tar.gz, nothing else
 * and in that order. `onManifest` authenticates before the first payload byte is read.
 */
async function scan(file: string, onManifest: OnManifest): Promise<void> {
  if (cutShort(file)) throw new UpdateRefusedError('truncated', 'the bundle file is truncated (an interrupted download?)');
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    let claimed: string | null = null;
    const input = createReadStream(file);
    const parser = new Parser({ strict: true });
    const fail = (e: unknown): void => {
      if (settled) return;
      settled = true;
      input.destroy();
      if (e instanceof UpdateRefusedError) reject(e);
      else if (isTruncation(e)) reject(new UpdateRefusedError('truncated', 'the bundle file is truncated (an interrupted download?)', claimed));
      else if (e instanceof TerminalError) reject(e);
      else reject(new UpdateRefusedError('malformed', `not a readable bundle: ${e instanceof Error ? e.message : String(e)}`, claimed));
    };
    let manifestText: string | null = null;
    let endorsementText: string | null = null;
    let payloadDone: Promise<void> | null = null;
    let index = 0;
    parser.on('entry', (entry: ReadEntry) => {
      const at = index++;
      if (settled) {
        entry.resume();
        return;
      }
      const name = entry.path;
      if (entry.type !== 'File') return fail(new UpdateRefusedError('malformed', `unexpected ${entry.type} entry ${name}`, claimed));
      if (name === MANIFEST_NAME && at === 0) {
        readSmall(entry, MAX_MANIFEST_BYTES, (text) => {
          manifestText = text;
          try {
            claimed = PeekSchema.parse(JSON.parse(SignedEnvelopeSchema.parse(JSON.parse(text)).body)).version ?? null;
          } catch {
            claimed = null;
          }
        }, fail);
        return;
      }
      if (name === ENDORSEMENT_NAME && at === 1) {
        readSmall(entry, MAX_ENDORSEMENT_BYTES, (text) => (endorsementText = text), fail);
        return;
      }
      if (name === PAYLOAD_NAME && manifestText !== null && payloadDone === null) {
        let checked: { manifest: UpdateManifest; sink: PayloadSink };
        try {
          checked = onManifest(manifestText, endorsementText);
        } catch (e) {
          entry.resume();
          return fail(e);
        }
        const { manifest, sink } = checked;
        if (entry.size !== manifest.payload.size) {
          entry.resume();
          return fail(new UpdateRefusedError('file-mismatch', `${PAYLOAD_NAME} is ${entry.size} bytes, the manifest says ${manifest.payload.size}`, manifest.version));
        }
        const tap = new Tap();
        entry.pipe(tap);
        if (sink.stream) tap.pipe(sink.stream);
        else {
          tap.on('data', (c: Buffer) => {
            try {
              sink.write(c);
            } catch (e) {
              fail(e);
            }
          });
        }
        payloadDone = new Promise<void>((res, rej) => {
          tap.on('end', () => {
            if (tap.bytes !== manifest.payload.size) return rej(new UpdateRefusedError('truncated', `${PAYLOAD_NAME} ended after ${tap.bytes} of ${manifest.payload.size} bytes`, manifest.version));
            if (tap.hash.digest('hex') !== manifest.payload.sha256) return rej(new UpdateRefusedError('file-mismatch', `${PAYLOAD_NAME} does not match its sha256 in the manifest`, manifest.version));
            sink.end().then(res, rej);
          });
          tap.on('error', rej);
        });
        payloadDone.catch(fail);
        return;
      }
      entry.resume();
      fail(new UpdateRefusedError('malformed', `unexpected entry ${name} at position ${at + 1}`, claimed));
    });
    parser.on('error', fail);
    input.on('error', fail);
    parser.on('end', () => {
      if (settled) return;
      if (manifestText === null || payloadDone === null) return fail(new UpdateRefusedError('truncated', 'the bundle ended before its payload', claimed));
      payloadDone.then(() => {
        if (!settled) {
          settled = true;
          resolve();
        }
      }, fail);
    });
    input.pipe(parser);
  });
}

/**
 * A bundle (it starts with the manifest entry's header) whose size is not whole 512-byte tar blocks or
 * that lacks tar's end-of-archive blocks (1024 zero bytes) was cut short: a download that stopped.
 */
function cutShort(file: string): boolean {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(MANIFEST_NAME.length + 1);
    readSync(fd, head, 0, head.length, 0);
    if (head.toString('latin1') !== `${MANIFEST_NAME}\0`) return false; // not ours at all: malformed, said by the parser
    if (size % 512 !== 0 || size < 2048) return true;
    const tail = Buffer.alloc(1024);
    readSync(fd, tail, 0, 1024, size - 1024);
    return !tail.every((x) => x === 0);
  } finally {
    closeSync(fd);
  }
}

function readSmall(entry: ReadEntry, max: number, done: (text: string) => void, fail: (e: unknown) => void): void {
  if (entry.size > max) {
    entry.resume();
    fail(new UpdateRefusedError('malformed', `${entry.path} is larger than ${max} bytes`));
    return;
  }
  const parts: Buffer[] = [];
  entry.on('data', (c: Buffer) => parts.push(c));
  entry.on('end', () => done(Buffer.concat(parts).toString('utf8')));
}

/** Parses the gzipped payload in memory and checks every file against the manifest (verify pass). */
function fileChecker(manifest: UpdateManifest): PayloadSink {
  const want = new Map<string, BundleFile>(manifest.files.map((f) => [f.path, f]));
  const seen = new Set<string>();
  const inner = new Parser({ strict: true });
  let failure: unknown = null;
  const pending: Promise<void>[] = [];
  inner.on('entry', (e: ReadEntry) => {
    const f = want.get(e.path);
    if (e.type !== 'File' || !f || seen.has(e.path)) {
      failure ??= new UpdateRefusedError('file-mismatch', `the payload holds ${e.type === 'File' ? 'an unlisted or repeated file' : `a ${e.type} entry`}: ${e.path}`, manifest.version);
      e.resume();
      return;
    }
    seen.add(e.path);
    const h = createHash('sha256');
    let n = 0;
    e.on('data', (c: Buffer) => {
      h.update(c);
      n += c.length;
    });
    pending.push(
      new Promise<void>((res) => {
        e.on('end', () => {
          if (n !== f.size || h.digest('hex') !== f.sha256) failure ??= new UpdateRefusedError('file-mismatch', `${f.path} does not match its sha256 in the manifest`, manifest.version);
          res();
        });
      }),
    );
  });
  inner.on('error', (e: unknown) => (failure ??= e));
  const ended = new Promise<void>((res) => inner.on('end', () => res()));
  return {
    write: (c) => {
      inner.write(c);
    },
    end: async () => {
      inner.end();
      await ended;
      await Promise.all(pending);
      if (failure) throw failure instanceof UpdateRefusedError ? failure : new UpdateRefusedError('file-mismatch', `the payload is not a readable tar.gz: ${describe(failure)}`, manifest.version);
      const missing = manifest.files.find((f) => !seen.has(f.path));
      if (missing) throw new UpdateRefusedError('file-mismatch', `${missing.path} is missing from the payload`, manifest.version);
    },
  };
}

function unpackSink(unpack: Unpack): PayloadSink {
  let failure: unknown = null;
  unpack.on('error', (e: unknown) => (failure ??= e));
  const closed = new Promise<void>((res) => {
    unpack.on('close', () => res());
  });
  return {
    stream: unpack,
    write: () => undefined,
    end: async () => {
      await closed;
      if (failure) throw new UpdateRefusedError('install-failed', `unpacking failed: ${describe(failure)}`);
    },
  };
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : typeof e === 'string' ? e : 'unknown error';
}
