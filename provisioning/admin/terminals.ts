/**
 * Terminals: `issueTerminal` issues a device identity and answers the bundle an installer copies onto
 * the terminal's storage (the hub's API sends it to the command line, which writes it with
 * `writeBundle`); `addTerminal` does both on this machine; `revokeTerminal` puts its certificates on the CRL, drops it from the ACL and
 * marks it revoked so the hub ignores it and sends it nothing. Both need the community passphrase.
 * Commands to a running terminal (unlock, resync, config push, wipe) are in doors.ts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { ensurePrivateDir, writePrivateFile } from '../../core/fs';
import { basename, join, resolve } from 'node:path';
import { ConfigSchema } from '../../runtime/config';
import { TerminalError } from '../../core/errors';
import { parseId } from '../../runtime/protocol/ids';
import { refreshBroker } from '../broker';
import { terminalCertFiles } from '../certificates';
import type { TerminalRecord } from '../db';
import { CERT_POLICY, issueCert, newKey, revokeCert } from '../pki';
import { ensureSealKey } from '../seal-key';
import { ensureUpdateKey } from '../update/keys';
import { actorOf, ConflictError, NotFoundError, passphraseOf, type AdminContext } from './context';
import { ensureCredentialSecret } from './credentials';

export class TerminalAdminError extends TerminalError {
  readonly code = 'terminal-admin';
}

/** Identities the broker ACL gives other rights to, or that collide with shared topics. */
const RESERVED_IDS = new Set(['hub', 'broker', 'roster', 'all']);

export interface AddTerminalInput {
  id: string;
  doorId: string;
  buildingId?: string;
  /** Bundle folder (must not exist or be empty). */
  out: string;
  /** RTSP URL of the terminal's camera (installers may edit it later in terminal.json). */
  cameraUrl?: string;
}

export interface TerminalBundle {
  dir: string;
  configFile: string;
  terminal: TerminalRecord;
}

/** One file of a bundle; a private one (keys, secrets) is written 0600. */
export interface BundleFile {
  name: string;
  data: Buffer;
  private: boolean;
}

/** File names inside a bundle (terminal.json refers to them relative to itself). */
export const BUNDLE_FILES = {
  config: 'terminal.json',
  ca: 'ca.crt',
  cert: 'device.crt',
  key: 'device.key',
  hubKey: 'hub-signing.pub',
  /** The hub's X25519 sealing key: adapted templates go up sealed to it (provisioning/seal-key.ts). */
  hubSealKey: 'hub-seal.pub',
  /** The community's update key (bundles are signed with it; never the roster key). */
  updateKey: 'update-signing.pub',
  secret: 'device.secret',
  credentialSecret: 'credential.secret',
  /** This terminal's roster key: the hub seals its roster to it (runtime/protocol/roster-seal.ts). */
  rosterKey: 'roster.key',
} as const;

export function listTerminals(ctx: AdminContext): TerminalRecord[] {
  return ctx.store.terminals();
}

/** The bundle folder `out`, resolved, when it can take a bundle: missing, or an empty folder. */
export function checkBundleFolder(out: string): string {
  const dir = resolve(out);
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) throw new TerminalAdminError(`${dir} is not empty or is not a folder`);
  return dir;
}

/** Writes a bundle into `out` (checked first); returns its terminal.json. */
export function writeBundle(out: string, files: readonly BundleFile[]): string {
  const dir = checkBundleFolder(out);
  ensurePrivateDir(dir);
  for (const f of files) {
    const name = basename(f.name);
    if (name !== f.name || !(Object.values(BUNDLE_FILES) as string[]).includes(name)) throw new TerminalAdminError(`unexpected bundle file ${JSON.stringify(f.name.slice(0, 40))}`);
    // Every file 0600 from creation, public ones too: the folder is carried to the door as one (its config may name a camera's password).
    writePrivateFile(join(dir, name), f.data, 'wx');
  }
  return join(dir, BUNDLE_FILES.config);
}

/** Adds a terminal and writes its bundle into `o.out` (checked before anything is issued). */
export function addTerminal(ctx: AdminContext, o: AddTerminalInput): TerminalBundle {
  const out = checkBundleFolder(o.out);
  const { files, terminal } = issueTerminal(ctx, o);
  return { dir: out, configFile: writeBundle(out, files), terminal };
}

/**
 * A new terminal: its identity (key and certificate from the community CA), its config and the files
 * it trusts, recorded and audited; the bundle's files are answered, not written.
 */
export function issueTerminal(ctx: AdminContext, o: Omit<AddTerminalInput, 'out'>): { files: BundleFile[]; terminal: TerminalRecord } {
  const c = ctx.community;
  const id = parseId('terminal', o.id);
  const doorId = parseId('door', o.doorId);
  const buildingId = o.buildingId === undefined ? 'default' : parseId('building', o.buildingId);
  const actor = actorOf(ctx);
  const passphrase = passphraseOf(ctx);
  if (RESERVED_IDS.has(id.toLowerCase())) throw new TerminalAdminError(`terminal id "${id}" is reserved`);
  // Ids are compared exactly, but terminals/<id>.crt may sit on a file system that ignores case.
  const clash = ctx.store.terminals().find((t) => t.id.toLowerCase() === id.toLowerCase());
  if (clash) throw new ConflictError(clash.id === id ? `terminal ${id} already exists` : `terminal id "${id}" differs from terminal ${clash.id} only by case`);
  c.checkPassphrase(passphrase);
  const updateKey = readFileSync(ensureUpdateKey(c, passphrase).paths.pub, 'utf8');
  const sealKey = ensureSealKey(c, passphrase).publicKeyPem;
  const now = ctx.clock.now();
  const config = {
    terminalId: id,
    door: { doorId, buildingId, timeZone: c.config.timeZone },
    camera: { kind: 'rtsp', url: o.cameraUrl ?? 'rtsp://192.168.1.64:554/stream1' },
    gpio: {
      driver: 'onoff',
      outputs: { lock: { line: 17 } },
      inputs: { door: { line: 5 }, exit: { line: 6 }, fire: { line: 13 }, tamper: { line: 19 } },
    },
    lock: { lockType: 'fail-secure' },
    hub: {
      url: c.config.brokerUrl,
      caFile: BUNDLE_FILES.ca,
      certFile: BUNDLE_FILES.cert,
      keyFile: BUNDLE_FILES.key,
      hubPublicKeyFile: BUNDLE_FILES.hubKey,
      hubSealKeyFile: BUNDLE_FILES.hubSealKey,
      rosterKeyFile: BUNDLE_FILES.rosterKey,
      heartbeatMs: c.config.heartbeatMs,
    },
    paths: { dataDir: 'data', secretFile: BUNDLE_FILES.secret, credentialSecretFile: BUNDLE_FILES.credentialSecret },
    update: { publicKeyFile: BUNDLE_FILES.updateKey },
  };
  const checked = ConfigSchema.safeParse(config); // the terminal's own schema: a bundle it would refuse is never written
  if (!checked.success) throw new TerminalAdminError(`terminal config: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);

  const key = newKey('ec');
  const { cert, serial } = issueCert(c.paths.ca, key, { cn: id, usage: 'client', days: CERT_POLICY.terminalDays }, passphrase);
  const file = (name: string, data: string | Buffer, secret = false): BundleFile => ({ name, data: Buffer.from(data), private: secret });
  const files = [
    file(BUNDLE_FILES.config, `${JSON.stringify(config, null, 2)}\n`),
    file(BUNDLE_FILES.ca, readFileSync(c.paths.ca.cert)),
    file(BUNDLE_FILES.cert, cert),
    file(BUNDLE_FILES.key, key, true),
    file(BUNDLE_FILES.hubKey, c.signingPublicKeyPem()),
    file(BUNDLE_FILES.hubSealKey, sealKey),
    file(BUNDLE_FILES.updateKey, updateKey),
    file(BUNDLE_FILES.secret, randomBytes(32), true),
    // The community's credential secret: cards and PINs typed at this door are digested with it.
    file(BUNDLE_FILES.credentialSecret, ensureCredentialSecret(c), true),
  ];
  ensurePrivateDir(c.paths.terminalsDir);
  writePrivateFile(join(c.paths.terminalsDir, `${id}.crt`), cert);

  const store = ctx.store;
  // The roster key is created with the terminal, in the same transaction: the hub never has a terminal without one.
  const rosterKey = store.tx(() => {
    store.addTerminal({ id, doorId, buildingId, serial, createdAt: now });
    store.audit(actor, 'terminal.add', id, { doorId, buildingId, serial }, now);
    return store.createRosterKey(id, now);
  });
  files.push(file(BUNDLE_FILES.rosterKey, rosterKey, true));
  rosterKey.fill(0);
  refreshBroker(c);
  const terminal = store.terminal(id);
  if (!terminal) throw new TerminalAdminError(`terminal ${id} was not recorded`);
  return { files, terminal };
}

/**
 * CRL (every certificate issued to it and kept: the current one and those renewed away, still valid
 * until they expire) + ACL + database; a running broker is asked to reload. Idempotent.
 */
export function revokeTerminal(ctx: AdminContext, input: { id: string }): { broker: 'reloaded' | 'not-running' } {
  const c = ctx.community;
  const store = ctx.store;
  const id = parseId('terminal', input.id);
  const actor = actorOf(ctx);
  const t = store.terminal(id);
  if (!t) throw new NotFoundError('terminal', id);
  const passphrase = passphraseOf(ctx);
  const files = terminalCertFiles(c, id);
  if (files.length === 0) revokeCert(c.paths.ca, join(c.paths.terminalsDir, `${id}.crt`), passphrase); // says which file is missing
  for (const f of files) revokeCert(c.paths.ca, f, passphrase);
  const now = ctx.clock.now();
  if (t.status !== 'revoked') {
    store.tx(() => {
      store.revokeTerminal(id, now);
      store.audit(actor, 'terminal.revoke', id, { serial: t.serial }, now);
    });
  }
  return { broker: refreshBroker(c) };
}
