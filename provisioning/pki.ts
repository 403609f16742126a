/**
 * The community's certificate authority, run through the openssl command line (the same tool the
 * installers use by hand): EC P-256 keys, X.509 certificates whose CN is the MQTT identity (`hub`, or
 * a terminal id), and a CRL that mosquitto checks at every TLS handshake (`crlfile`).
 *
 * Private keys that stay in the community folder are PKCS#8 encrypted with scrypt under the
 * community passphrase and written 0600. Keys that leave it (a terminal's device key, the broker's
 * key) are written unencrypted 0600: the device and mosquitto read them without a prompt.
 * The passphrase reaches openssl through an environment variable, never on the command line.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TerminalError } from '../core/errors';
import { ensurePrivateDir, withPrivateUmask, writePrivateFile } from '../core/fs';
import { programPath } from '../core/programs';

export class PkiError extends TerminalError {
  readonly code = 'pki';
}

/** The passphrase did not decrypt a community key. */
export class BadPassphraseError extends TerminalError {
  readonly code = 'bad-passphrase';
  constructor(file: string) {
    super(`the passphrase does not decrypt ${file}`);
  }
}

const PASS_ENV = 'DOORWAY_PROVISION_KEY_PASS';

function openssl(args: string[], opts: { passphrase?: string; input?: string | Buffer } = {}): Buffer {
  const path = programPath('openssl'); // missing: a ProgramMissingError that names the package
  try {
    // Under umask 077: what openssl writes (the CA database, the CRL, its .old copies) is 0600 from creation.
    return withPrivateUmask(() => execFileSync(path, args, {
      input: opts.input,
      env: { ...process.env, ...(opts.passphrase !== undefined ? { [PASS_ENV]: opts.passphrase } : {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const detail = err.stderr?.toString().trim().split('\n').slice(-3).join(' ') ?? err.message;
    throw new PkiError(`openssl ${args[0] ?? ''} failed: ${detail}`);
  }
}

/** A file of the community folder: 0600 from creation (core/fs.ts). */
export function writePrivate(path: string, data: string | Buffer): void {
  writePrivateFile(path, data);
}

/** A new private key (PEM PKCS#8), EC P-256 or Ed25519; encrypted with scrypt when a passphrase is given. */
export function newKey(kind: 'ec' | 'ed25519', passphrase?: string): string {
  const plain = kind === 'ec'
    ? openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'])
    : openssl(['genpkey', '-algorithm', 'ed25519']);
  return passphrase === undefined ? plain.toString() : encryptKey(plain, passphrase);
}

/** PKCS#8 encryption of a PEM private key with scrypt. */
export function encryptKey(plainPem: string | Buffer, passphrase: string): string {
  return openssl(['pkcs8', '-topk8', '-scrypt', '-passout', `env:${PASS_ENV}`], { passphrase, input: plainPem }).toString();
}

/** Load a community private key, decrypting it with the passphrase when it is encrypted. */
export function loadKey(file: string, passphrase: string): KeyObject {
  const pem = readFileSync(file);
  try {
    return createPrivateKey({ key: pem, format: 'pem', passphrase });
  } catch {
    throw new BadPassphraseError(file);
  }
}

/** The key as unencrypted PEM, in memory only (for a TLS client that cannot take a passphrase). */
export function unlockedPem(file: string, passphrase: string): string {
  return loadKey(file, passphrase).export({ type: 'pkcs8', format: 'pem' }).toString();
}

export interface CaPaths {
  dir: string;
  key: string;
  cert: string;
  crl: string;
  config: string;
}

export function caPaths(dir: string): CaPaths {
  return { dir, key: join(dir, 'ca.key'), cert: join(dir, 'ca.crt'), crl: join(dir, 'crl.pem'), config: join(dir, 'ca.cnf') };
}

/** A new CA (key encrypted under the passphrase) with an empty CRL. */
export function createCa(dir: string, name: string, passphrase: string): CaPaths {
  const p = caPaths(dir);
  ensurePrivateDir(dir);
  writePrivate(p.key, newKey('ec', passphrase));
  openssl(['req', '-x509', '-new', '-key', p.key, '-passin', `env:${PASS_ENV}`, '-subj', `/CN=${name}`, '-days', String(CERT_POLICY.caDays),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', p.cert], { passphrase });
  writePrivate(join(dir, 'index.txt'), '');
  writePrivate(join(dir, 'index.txt.attr'), 'unique_subject = no\n');
  writePrivate(join(dir, 'crlnumber'), '1000\n');
  writePrivate(p.config, [
    '[ ca ]',
    'default_ca = community_ca',
    '[ community_ca ]',
    `database = ${join(dir, 'index.txt')}`,
    `crlnumber = ${join(dir, 'crlnumber')}`,
    'default_md = sha256',
    'default_crl_days = 3650',
    '',
  ].join('\n'));
  generateCrl(p, passphrase);
  return p;
}

/**
 * Certificate lifetimes, in days, and when they are renewed (provisioning/certificates.ts):
 *
 * - terminal: 90 days. Its key lives in a box at a door, where it can be stolen; revocation (the CRL)
 *   is the answer when the theft is noticed, and a certificate nobody revoked still dies within three
 *   months. It is renewed online from 30 days before expiry (the hub checks every hour and publishes
 *   the new certificate; the terminal installs it), so a terminal may be offline for about a month
 *   without losing its identity; a longer absence needs a new bundle on site.
 * - hub: 90 days, renewed by the running hub itself from 30 days before expiry (it holds the CA
 *   passphrase); its key never leaves the community folder, but the hub can talk to every door.
 * - broker (server certificate): 397 days, the most browsers accept for a server; renewed with
 *   `provision broker renew` (mosquitto reloads it on SIGHUP).
 * - CA: 10 years; it never leaves the community folder and its key is encrypted.
 *
 * Fleet status warns when a certificate in use expires within `warnBeforeDays`: a renewal that has not
 * reached it for nine days.
 */
export const CERT_POLICY = {
  terminalDays: 90,
  hubDays: 90,
  brokerDays: 397,
  caDays: 3650,
  renewBeforeDays: 30,
  warnBeforeDays: 21,
} as const;

export interface IssueOptions {
  cn: string;
  usage: 'client' | 'server';
  /** subjectAltName entries for a server certificate, e.g. ['IP:127.0.0.1', 'DNS:hub.example']. */
  altNames?: string[];
  days?: number;
}

function extensions(opts: IssueOptions): string {
  return `${[
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyAgreement',
    `extendedKeyUsage=${opts.usage === 'client' ? 'clientAuth' : 'serverAuth'}`,
    ...(opts.altNames && opts.altNames.length > 0 ? [`subjectAltName=${opts.altNames.join(',')}`] : []),
  ].join('\n')}\n`;
}

function withTemp<T>(ca: CaPaths, f: (tmp: string) => T): T {
  const tmp = join(ca.dir, `.issue-${randomBytes(6).toString('hex')}`);
  mkdirSync(tmp, { mode: 0o700 });
  try {
    return f(tmp);
  } finally {
    execFileSync('rm', ['-rf', tmp]);
  }
}

/** A random positive 128-bit serial, as hex. */
function newSerial(): string {
  return randomBytes(16).toString('hex').replace(/^./, '4');
}

/** Sign a certificate for `keyPem` with the CA; returns the certificate PEM and its serial (hex). */
export function issueCert(ca: CaPaths, keyPem: string, opts: IssueOptions, passphrase: string): { cert: string; serial: string } {
  return withTemp(ca, (tmp) => {
    const keyFile = join(tmp, 'k.pem');
    writePrivate(keyFile, keyPem);
    const csr = openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${opts.cn}`]);
    const extFile = join(tmp, 'ext');
    writeFileSync(extFile, extensions(opts));
    const serial = newSerial();
    const cert = openssl(['x509', '-req', '-CA', ca.cert, '-CAkey', ca.key, '-passin', `env:${PASS_ENV}`, '-set_serial', `0x${serial}`,
      '-days', String(opts.days ?? CERT_POLICY.terminalDays), '-extfile', extFile, '-sha256'], { passphrase, input: csr }).toString();
    return { cert, serial: serial.toUpperCase() };
  });
}

/**
 * Sign a new certificate for the public key of `currentCertPem` (a renewal: the private key stays where
 * it is, on the terminal or in the hub's folder, and is not needed here).
 */
export function renewCert(ca: CaPaths, currentCertPem: string, opts: IssueOptions, passphrase: string): { cert: string; serial: string } {
  return withTemp(ca, (tmp) => {
    const pubFile = join(tmp, 'pub.pem');
    writeFileSync(pubFile, new X509Certificate(currentCertPem).publicKey.export({ type: 'spki', format: 'pem' }));
    const extFile = join(tmp, 'ext');
    writeFileSync(extFile, extensions(opts));
    const serial = newSerial();
    const cert = openssl(['x509', '-new', '-subj', `/CN=${opts.cn}`, '-force_pubkey', pubFile, '-CA', ca.cert, '-CAkey', ca.key, '-passin', `env:${PASS_ENV}`,
      '-set_serial', `0x${serial}`, '-days', String(opts.days ?? CERT_POLICY.terminalDays), '-extfile', extFile, '-sha256'], { passphrase }).toString();
    return { cert, serial: serial.toUpperCase() };
  });
}

/** Mark a certificate revoked in the CA database and write a new CRL. */
export function revokeCert(ca: CaPaths, certFile: string, passphrase: string): void {
  if (!existsSync(certFile)) throw new PkiError(`no certificate at ${certFile}`);
  const already = readFileSync(join(ca.dir, 'index.txt'), 'utf8');
  const serial = openssl(['x509', '-in', certFile, '-noout', '-serial']).toString().trim().replace(/^serial=/, '');
  if (!already.split('\n').some((l) => l.startsWith('R\t') && l.split('\t')[3] === serial)) {
    openssl(['ca', '-config', ca.config, '-revoke', certFile, '-keyfile', ca.key, '-cert', ca.cert, '-passin', `env:${PASS_ENV}`], { passphrase });
  }
  generateCrl(ca, passphrase);
}

export function generateCrl(ca: CaPaths, passphrase: string): void {
  openssl(['ca', '-config', ca.config, '-gencrl', '-keyfile', ca.key, '-cert', ca.cert, '-passin', `env:${PASS_ENV}`, '-out', ca.crl], { passphrase });
}

/** Serials (upper-case hex) listed in the CRL. */
export function revokedSerials(ca: CaPaths): string[] {
  const text = openssl(['crl', '-in', ca.crl, '-noout', '-text']).toString();
  return [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1] ?? '');
}
