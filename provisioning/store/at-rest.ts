/**
 * Encryption at rest on the hub (issue 16, item 3): the one module that seals and opens face templates
 * and photos. The store (provisioning/db.ts, store/adapted-templates.ts) and the photo files
 * (provisioning/photos.ts) call it behind their existing functions, so the rest of the code reads and
 * writes plain values as before.
 *
 * The key: 32 random bytes kept as an Ed25519 private key's seed in hub/at-rest.key, PKCS#8 encrypted
 * with scrypt under the community passphrase like every key of the folder (provisioning/pki.ts), or an
 * unencrypted copy of it in a key file for an unattended start (provisioning/at-rest-key.ts). The AES key
 * is HKDF-SHA256 of that seed. A random key under the passphrase, not a key derived from the
 * passphrase itself: the key file then needs no passphrase, and a new passphrase re-encrypts one file.
 *
 * AES-256-GCM with a fresh 96-bit nonce (runtime/roster/crypto.ts Sealer), and the value's place bound
 * as associated data (AAD): a person's templates name the person, an adapted template its person and id,
 * a roster delta its version, a photo its folder key and file name. A value copied into another
 * person's row or folder does not decrypt (AtRestIntegrityError), nor does one altered.
 *
 *   text values (SQLite columns):  "enc1:" + base64(nonce | ciphertext | tag)
 *   files (photos):                "DWENC1\n" | nonce | ciphertext | tag
 *
 * Values written before (plain JSON, plain JPEG) are still read, and sealed in place at the first unlock
 * (store/at-rest-rows.ts, photos.ts sealPlainPhotos). A store that was never given the key refuses to
 * write or read a sealed value (AtRestLockedError): it fails closed.
 */
import { createHmac, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { resolve } from 'node:path';
import { TerminalError } from '../../core/errors';
import { SealError, Sealer } from '../../runtime/roster/crypto';

/** The key given does not open this community's data (another key, a key file that is not one, a lost key). Nothing was changed. */
export class AtRestKeyError extends TerminalError {
  readonly code = 'at-rest-key';
}

/** Templates or photos were read or written by a process that was not given the community's at-rest key. */
export class AtRestLockedError extends TerminalError {
  readonly code = 'at-rest-locked';
  constructor(what: string) {
    super(`${what} is encrypted at rest: this process was not given the community's key (the passphrase or --key-file)`);
  }
}

/** A sealed value did not authenticate: altered, or moved to another row or file. */
export class AtRestIntegrityError extends TerminalError {
  readonly code = 'at-rest-integrity';
}

const TEXT_PREFIX = 'enc1:';
const FILE_MAGIC = Buffer.from('DWENC1\n', 'latin1');
const HKDF_INFO = 'doorway hub at-rest v1';
const KEY_ID_LABEL = 'doorway hub at-rest key id v1';

export const isSealedText = (v: string): boolean => v.startsWith(TEXT_PREFIX);
export const isSealedFile = (b: Uint8Array): boolean => b.length >= FILE_MAGIC.length && Buffer.from(b.buffer, b.byteOffset, FILE_MAGIC.length).equals(FILE_MAGIC);

/** Associated data of each kind of value: where it belongs. */
export const AAD = {
  personTemplates: (personId: string): string => `persons.templates\0${personId}`,
  adaptedTemplate: (personId: string, templateId: string): string => `adapted_templates.embedding\0${personId}\0${templateId}`,
  photo: (photoKey: string, name: string): string => `photo\0${photoKey}\0${name}`,
  /** A per-terminal roster key kept by the hub (see wrapKey). */
  terminalKey: (terminalId: string, purpose: string): string => `terminal-key\0${purpose}\0${terminalId}`,
} as const;

/** The hub's at-rest cipher: the AES key (never exported) and its public id (recorded in hub.db). */
export class AtRestCipher {
  private readonly sealer: Sealer;
  /** 16 hex digits naming the key (an HMAC under it): hub.db records it, a different key is refused. */
  readonly keyId: string;

  /** `seed`: the 32 bytes of key material (wiped by the caller afterwards if it wishes). */
  constructor(seed: Uint8Array) {
    if (seed.length < 32) throw new AtRestKeyError('at-rest key material is shorter than 32 bytes');
    const okm = Buffer.from(hkdfSync('sha256', seed, Buffer.alloc(0), HKDF_INFO, 32));
    const key: KeyObject = createSecretKey(okm);
    this.keyId = createHmac('sha256', okm).update(KEY_ID_LABEL).digest('hex').slice(0, 16);
    okm.fill(0);
    this.sealer = new Sealer(key);
  }

  /** A cipher with a random key (tests and harnesses that build a bare store). */
  static random(): AtRestCipher {
    return new AtRestCipher(randomBytes(32));
  }

  sealText(plain: string, aad: string): string {
    return TEXT_PREFIX + this.sealer.seal(Buffer.from(plain, 'utf8'), aad).toString('base64');
  }

  openText(sealed: string, aad: string): string {
    if (!isSealedText(sealed)) throw new AtRestIntegrityError('value is not sealed');
    return this.open(Buffer.from(sealed.slice(TEXT_PREFIX.length), 'base64'), aad).toString('utf8');
  }

  sealFile(plain: Uint8Array, aad: string): Buffer {
    return Buffer.concat([FILE_MAGIC, this.sealer.seal(plain, aad)]);
  }

  openFile(sealed: Uint8Array, aad: string): Buffer {
    if (!isSealedFile(sealed)) throw new AtRestIntegrityError('file is not sealed');
    return this.open(Buffer.from(sealed.buffer, sealed.byteOffset + FILE_MAGIC.length, sealed.byteLength - FILE_MAGIC.length), aad);
  }

  /**
   * Wraps a secret the hub must keep (e.g. a terminal's roster key, branch i16-roster) under the
   * at-rest key, bound to the terminal and the purpose: store the returned text in hub.db, unwrap with
   * the same terminal id and purpose. Another terminal's row or purpose does not unwrap.
   */
  wrapKey(secret: Uint8Array, terminalId: string, purpose: string): string {
    return TEXT_PREFIX + this.sealer.seal(secret, AAD.terminalKey(terminalId, purpose)).toString('base64');
  }

  unwrapKey(wrapped: string, terminalId: string, purpose: string): Buffer {
    if (!isSealedText(wrapped)) throw new AtRestIntegrityError('wrapped key is not sealed');
    return this.open(Buffer.from(wrapped.slice(TEXT_PREFIX.length), 'base64'), AAD.terminalKey(terminalId, purpose));
  }

  private open(blob: Buffer, aad: string): Buffer {
    try {
      return this.sealer.open(blob, aad);
    } catch (e) {
      if (e instanceof SealError) throw new AtRestIntegrityError('a value encrypted at rest failed authentication (altered, or moved from another row or file)', { cause: e });
      throw e;
    }
  }
}

// ------------------------------------------------------------------------------- templates (hub.db)

/**
 * A person's templates as hub.db's `persons.templates` keeps them: a JSON array with one sealed string
 * per template (so SQL can still count them: json_array_length), each bound to the person.
 */
export function sealTemplates(cipher: AtRestCipher | null, personId: string, templates: readonly unknown[]): string {
  if (templates.length === 0) return '[]';
  if (!cipher) throw new AtRestLockedError('a face template');
  const aad = AAD.personTemplates(personId);
  return JSON.stringify(templates.map((t) => cipher.sealText(JSON.stringify(t), aad)));
}

/** The templates of a `persons.templates` value (sealed strings; plain objects from before are read as they are). */
export function openTemplates(cipher: AtRestCipher | null, personId: string, column: string): unknown[] {
  const items = JSON.parse(column) as unknown[];
  const aad = AAD.personTemplates(personId);
  return items.map((t) => {
    if (typeof t !== 'string') return t;
    if (!cipher) throw new AtRestLockedError('a face template');
    return JSON.parse(cipher.openText(t, aad)) as unknown;
  });
}

/** One adapted template's embedding (base64 float32) as hub.db keeps it. */
export function sealEmbedding(cipher: AtRestCipher | null, personId: string, templateId: string, embedding: string): string {
  if (!cipher) throw new AtRestLockedError('an adapted template');
  return cipher.sealText(embedding, AAD.adaptedTemplate(personId, templateId));
}

export function openEmbedding(cipher: AtRestCipher | null, personId: string, templateId: string, column: string): string {
  if (!isSealedText(column)) return column;
  if (!cipher) throw new AtRestLockedError('an adapted template');
  return cipher.openText(column, AAD.adaptedTemplate(personId, templateId));
}

// ------------------------------------------------------------------------------- photos (files)

/** Ciphers of the photo folders unlocked in this process (photos.ts finds its key by folder), with how many holders bound each. */
const photoFolders = new Map<string, { cipher: AtRestCipher; holders: number }>();

/** From now on, photos under `photosDir` are sealed and opened with `cipher` (until every holder unbinds). */
export function bindPhotoFolder(photosDir: string, cipher: AtRestCipher): void {
  const dir = resolve(photosDir);
  const held = photoFolders.get(dir);
  if (held && held.cipher.keyId !== cipher.keyId) throw new AtRestKeyError(`${dir} is unlocked in this process with another key`);
  photoFolders.set(dir, { cipher: held?.cipher ?? cipher, holders: (held?.holders ?? 0) + 1 });
}

export function unbindPhotoFolder(photosDir: string): void {
  const dir = resolve(photosDir);
  const held = photoFolders.get(dir);
  if (!held) return;
  if (held.holders <= 1) photoFolders.delete(dir);
  else held.holders -= 1;
}

/** The cipher of a photo folder; AtRestLockedError when it was not unlocked in this process. */
export function photoCipher(photosDir: string): AtRestCipher {
  const c = photoFolders.get(resolve(photosDir));
  if (!c) throw new AtRestLockedError('a photo');
  return c.cipher;
}
