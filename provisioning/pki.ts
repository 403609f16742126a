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
import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TerminalError } from '../core/errors';
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
    return execFileSync(path, args, {
      input: opts.input,
      env: { ...process.env, ...(opts.passphrase !== undefined ? { [PASS_ENV]: opts.passphrase } : {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const detail = err.stderr?.toString().trim().split('\n').slice(-3).join(' ') ?? err.message;
    throw new PkiError(`openssl ${args[0] ?? ''} failed: ${detail}`);
  }
}

export function writePrivate(path: string, data: string | Buffer): void {
  writeFileSync(path, data, { mode: 0o600 });
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
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writePrivate(p.key, newKey('ec', passphrase));
  openssl(['req', '-x509', '-new', '-key', p.key, '-passin', `env:${PASS_ENV}`, '-subj', `/CN=${name}`, '-days', '3650',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', p.cert], { passphrase });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'index.txt.attr'), 'unique_subject = no\n');
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  writeFileSync(p.config, [
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

export interface IssueOptions {
  cn: string;
  usage: 'client' | 'server';
  /** subjectAltName entries for a server certificate, e.g. ['IP:127.0.0.1', 'DNS:hub.example']. */
  altNames?: string[];
  days?: number;
}

/** Sign a certificate for `keyPem` with the CA; returns the certificate PEM and its serial (hex). */
export function issueCert(ca: CaPaths, keyPem: string, opts: IssueOptions, passphrase: string): { cert: string; serial: string } {
  const tmp = join(ca.dir, `.issue-${randomBytes(6).toString('hex')}`);
  mkdirSync(tmp, { mode: 0o700 });
  try {
    const keyFile = join(tmp, 'k.pem');
    writePrivate(keyFile, keyPem);
    const csr = openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${opts.cn}`]);
    const ext = [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyAgreement',
      `extendedKeyUsage=${opts.usage === 'client' ? 'clientAuth' : 'serverAuth'}`,
      ...(opts.altNames && opts.altNames.length > 0 ? [`subjectAltName=${opts.altNames.join(',')}`] : []),
    ];
    const extFile = join(tmp, 'ext');
    writeFileSync(extFile, `${ext.join('\n')}\n`);
    const serial = randomBytes(16).toString('hex').replace(/^./, '4'); // positive, 128 bits
    const cert = openssl(['x509', '-req', '-CA', ca.cert, '-CAkey', ca.key, '-passin', `env:${PASS_ENV}`, '-set_serial', `0x${serial}`,
      '-days', String(opts.days ?? 825), '-extfile', extFile, '-sha256'], { passphrase, input: csr }).toString();
    return { cert, serial: serial.toUpperCase() };
  } finally {
    execFileSync('rm', ['-rf', tmp]);
  }
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
