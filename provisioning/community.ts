/**
 * A community folder: its CA, the hub's keys, the broker's files, the hub database. Every provision
 * command opens one with `Community.open(dir)`; `initCommunity` makes a new one.
 *
 *   community.json          name, broker URL, time zone, heartbeat, webhook, retention periods
 *   ca/                     ca.key (scrypt-encrypted), ca.crt, crl.pem, openssl CA database
 *   hub/                    tls.key + tls.crt (CN hub), signing.key (Ed25519, encrypted), signing.pub
 *   broker/                 server.key/.crt, mosquitto.conf, acl (generated), data/
 *   terminals/<id>.crt      every issued terminal certificate (to revoke it later)
 *   photos/<key>/           enrolment photos, one folder per person named by a random key (photos.ts)
 *   hub.db, events.db       the hub database and the event store
 *   hub/at-rest.key         the key templates and photos are encrypted with (at-rest-key.ts)
 *
 * Every file is created 0600 and every folder 0700 (core/fs.ts), whatever the umask; the exceptions are
 * public by nature and listed in PUBLIC_FILES. Templates and photos are readable only after `unlock`.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { TimeZoneSchema } from '../core/time-zone';
import { InvalidInputError, TerminalError } from '../core/errors';
import { ensurePrivateDir, withPrivateUmask, writePrivateFile } from '../core/fs';
import { parseId } from '../runtime/protocol/ids';
import { jsonErrorPlace } from '../runtime/config';
import { unlockCommunity } from './at-rest-key';
import { HubDb } from './db';
import { RetentionSchema } from './retention/config';
import { finishPhotoMoves, sealPlainPhotos } from './photos';
import { caPaths, CERT_POLICY, createCa, encryptKey, issueCert, loadKey, newKey, writePrivate, type CaPaths } from './pki';
import { AtRestKeyError, bindPhotoFolder, unbindPhotoFolder, type AtRestCipher } from './store/at-rest';
import type { SealedInPlace } from './store/at-rest-rows';

export class CommunityError extends TerminalError {
  readonly code = 'community';
}

/** Where the hub POSTs alerts: an http(s) URL. */
export const WebhookUrlSchema = z.url({ protocol: /^https?$/, message: 'an http:// or https:// URL' });

export const CommunityConfigSchema = z.strictObject({
  v: z.literal(1),
  /** Also the CA's common name (openssl -subj /CN=...): no "/", "\\" or control characters. */
  name: z.string().min(1).max(100).regex(/^[^\p{Cc}/\\]+$/u, 'a name without "/", "\\" or control characters'),
  /** What terminals and the hub connect to, e.g. mqtts://hub.example:8883. */
  brokerUrl: z.string().regex(/^mqtts:\/\/[A-Za-z0-9.-]+:\d{1,5}$/, 'mqtts://HOST:PORT'),
  /** subjectAltName entries of the broker certificate (they reach openssl's config: no spaces, commas or line breaks). */
  brokerAltNames: z.array(z.string().regex(/^(IP:[0-9A-Fa-f.:]+|DNS:[A-Za-z0-9*.-]+)$/, 'IP:ADDRESS or DNS:NAME')).min(1),
  timeZone: TimeZoneSchema,
  heartbeatMs: z.number().int().min(1000).default(30_000),
  /** Alerts are POSTed here as JSON (null: stored only). */
  webhookUrl: WebhookUrlSchema.nullable().default(null),
  /** How long each kind of personal data is kept, in days (provisioning/retention/config.ts: defaults and their reasons). */
  retention: RetentionSchema.prefault({}),
  createdAt: z.number().int(),
});
export type CommunityConfig = z.infer<typeof CommunityConfigSchema>;

export interface CommunityPaths {
  dir: string;
  config: string;
  ca: CaPaths;
  hubTlsKey: string;
  hubTlsCert: string;
  signingKey: string;
  signingPub: string;
  brokerDir: string;
  brokerKey: string;
  brokerCert: string;
  terminalsDir: string;
  photosDir: string;
  hubDb: string;
  eventsDb: string;
}

export function communityPaths(dir: string): CommunityPaths {
  const d = resolve(dir);
  return {
    dir: d,
    config: join(d, 'community.json'),
    ca: caPaths(join(d, 'ca')),
    hubTlsKey: join(d, 'hub', 'tls.key'),
    hubTlsCert: join(d, 'hub', 'tls.crt'),
    signingKey: join(d, 'hub', 'signing.key'),
    signingPub: join(d, 'hub', 'signing.pub'),
    brokerDir: join(d, 'broker'),
    brokerKey: join(d, 'broker', 'server.key'),
    brokerCert: join(d, 'broker', 'server.crt'),
    terminalsDir: join(d, 'terminals'),
    photosDir: join(d, 'photos'),
    hubDb: join(d, 'hub.db'),
    eventsDb: join(d, 'events.db'),
  };
}

export interface InitOptions {
  dir: string;
  passphrase: string;
  name?: string;
  /** Default mqtts://127.0.0.1:8883. */
  brokerUrl?: string;
  /** Broker certificate names; default: the broker URL's host plus 127.0.0.1 and localhost. */
  brokerAltNames?: string[];
  timeZone?: string;
  heartbeatMs?: number;
  webhookUrl?: string | null;
  /** Who creates it (audit log): an operator id. */
  actor: string;
  /** Now on the caller's clock. */
  now: number;
}

/** Create a community; refuses a folder that already holds one. */
export function initCommunity(opts: InitOptions): Community {
  const paths = communityPaths(opts.dir);
  if (existsSync(paths.config) || existsSync(paths.ca.key) || existsSync(paths.hubDb)) {
    throw new CommunityError(`${paths.dir} already holds a community; refusing to overwrite it`);
  }
  if (opts.passphrase.length < 8) throw new CommunityError('the passphrase must have at least 8 characters');
  const brokerUrl = opts.brokerUrl ?? 'mqtts://127.0.0.1:8883';
  const host = /^mqtts:\/\/([^:/]+):/.exec(brokerUrl)?.[1] ?? '127.0.0.1';
  const hostName = /^\d+\.\d+\.\d+\.\d+$/.test(host) ? `IP:${host}` : `DNS:${host}`;
  const now = opts.now;
  // Everything is checked before the first file is written: bad input leaves no folder behind.
  const actor = parseId('operator', opts.actor);
  const parsed = CommunityConfigSchema.safeParse({
    v: 1,
    name: opts.name ?? 'doorway community',
    brokerUrl,
    brokerAltNames: opts.brokerAltNames ?? [...new Set([hostName, 'IP:127.0.0.1', 'DNS:localhost'])],
    timeZone: opts.timeZone ?? 'UTC',
    heartbeatMs: opts.heartbeatMs ?? 30_000,
    webhookUrl: opts.webhookUrl ?? null,
    createdAt: now,
  });
  if (!parsed.success) throw new InvalidInputError('community settings', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const config = parsed.data;
  for (const d of [paths.dir, join(paths.dir, 'hub'), paths.brokerDir, paths.terminalsDir, paths.photosDir]) ensurePrivateDir(d);
  const ca = withPrivateUmask(() => createCa(paths.ca.dir, `${config.name} CA`, opts.passphrase));
  // Hub: a TLS client identity (CN hub) and the Ed25519 roster-signing key the terminals pin.
  const hubKey = newKey('ec');
  writePrivate(paths.hubTlsCert, issueCert(ca, hubKey, { cn: 'hub', usage: 'client', days: CERT_POLICY.hubDays }, opts.passphrase).cert);
  writePrivate(paths.hubTlsKey, encryptKey(hubKey, opts.passphrase));
  writePrivate(paths.signingKey, newKey('ed25519', opts.passphrase));
  writePrivateFile(paths.signingPub, createPublicKey(loadKey(paths.signingKey, opts.passphrase)).export({ type: 'spki', format: 'pem' }));
  // Broker: a server certificate for the names terminals connect to (mosquitto reads its key unencrypted).
  const brokerKey = newKey('ec');
  writePrivate(paths.brokerKey, brokerKey);
  writePrivateFile(paths.brokerCert, issueCert(ca, brokerKey, { cn: 'broker', usage: 'server', altNames: config.brokerAltNames, days: CERT_POLICY.brokerDays }, opts.passphrase).cert);
  writePrivateFile(paths.config, `${JSON.stringify(config, null, 2)}\n`); // it may hold a webhook token
  const c = new Community(paths, config);
  unlockCommunity(c, { passphrase: opts.passphrase }, now); // makes hub/at-rest.key
  c.db.audit(actor, 'community.init', config.name, { brokerUrl }, now);
  return c;
}

/**
 * Files of a community folder that are public by nature and so may be readable by others (0644): the
 * CA certificate and its CRL, certificates, public keys. Paths relative to the folder; `*` one name.
 */
export const PUBLIC_FILES: readonly string[] = [
  'ca/ca.crt', 'ca/crl.pem', 'hub/tls.crt', 'hub/signing.pub', 'hub/seal.pub', 'hub/root-auth.pub', 'broker/server.crt', 'terminals/*.crt',
];

export class Community {
  private hubDb: HubDb | null = null;
  private atRest: AtRestCipher | null = null;

  constructor(
    readonly paths: CommunityPaths,
    readonly config: CommunityConfig,
  ) {}

  static open(dir: string): Community {
    const paths = communityPaths(dir);
    if (!existsSync(paths.config)) throw new CommunityError(`no community in ${paths.dir} (run provision init --dir ${dir})`);
    let raw: unknown;
    try {
      const text = readFileSync(paths.config, 'utf8');
      try {
        raw = JSON.parse(text);
      } catch (e) {
        throw new CommunityError(`${paths.config} is not valid JSON${jsonErrorPlace(text, e)}`);
      }
    } catch (e) {
      if (e instanceof CommunityError) throw e;
      throw new CommunityError(`${paths.config} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const r = CommunityConfigSchema.safeParse(raw);
    if (!r.success) throw new CommunityError(`${paths.config} is invalid: ${r.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ')}`);
    return new Community(paths, r.data);
  }

  get db(): HubDb {
    if (!this.hubDb) {
      const db = new HubDb(this.paths.hubDb);
      // Photos of a database from before opaque photo keys move into photos/<key>/ (done once).
      finishPhotoMoves(db, this.paths.dir, this.paths.photosDir);
      this.hubDb = db;
    }
    return this.hubDb;
  }

  /** Whether templates and photos can be read and written (unlock was called). */
  get atRestUnlocked(): boolean {
    return this.atRest !== null;
  }

  /**
   * Gives the store and the photo folder the at-rest key (at-rest-key.ts unlockCommunity finds it). A key
   * other than the community's is refused (AtRestKeyError) before anything changes. The first unlock
   * encrypts in place the photos and rows kept in clear before, and returns how many (null afterwards).
   */
  unlock(cipher: AtRestCipher, now: number): (SealedInPlace & { photos: number }) | null {
    if (this.atRest) {
      if (this.atRest.keyId !== cipher.keyId) throw new AtRestKeyError('this community is unlocked with another key');
      return null;
    }
    this.db.useAtRest(cipher, now);
    bindPhotoFolder(this.paths.photosDir, cipher);
    this.atRest = cipher;
    if (this.db.atRestSealed()) return null;
    const photos = sealPlainPhotos(this.paths.photosDir);
    return { ...this.db.sealPlainRows(now), photos };
  }

  /** The hub's roster-signing key (needs the passphrase). */
  signingKey(passphrase: string): KeyObject {
    return loadKey(this.paths.signingKey, passphrase);
  }

  signingPublicKeyPem(): string {
    return readFileSync(this.paths.signingPub, 'utf8');
  }

  /** Check the passphrase before doing anything irreversible. */
  checkPassphrase(passphrase: string): void {
    loadKey(this.paths.ca.key, passphrase);
  }

  close(): void {
    this.hubDb?.close();
    this.hubDb = null;
    if (this.atRest) unbindPhotoFolder(this.paths.photosDir);
    this.atRest = null;
  }
}
