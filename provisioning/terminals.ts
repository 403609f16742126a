/**
 * Terminals: `terminal add` issues a device identity and writes the bundle an installer copies onto
 * the terminal's storage; `terminal revoke` puts its certificate on the CRL, drops it from the ACL and
 * marks it revoked so the hub ignores it and sends it nothing.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigSchema } from '../runtime/config';
import { TerminalError } from '../core/errors';
import { TerminalIdSchema } from '../runtime/protocol/schemas';
import { refreshBroker } from './broker';
import { defaultActor, type Community } from './community';
import type { TerminalRecord } from './db';
import { issueCert, newKey, revokeCert, writePrivate } from './pki';
import { ensureUpdateKey } from './update/keys';

export class TerminalAdminError extends TerminalError {
  readonly code = 'terminal-admin';
}

/** Identities the broker ACL gives other rights to, or that collide with shared topics. */
const RESERVED_IDS = new Set(['hub', 'broker', 'roster', 'all']);

export interface AddTerminalOptions {
  id: string;
  doorId: string;
  buildingId?: string;
  /** Bundle folder (must not exist or be empty). */
  out: string;
  passphrase: string;
  /** RTSP URL of the terminal's camera (installers may edit it later in terminal.json). */
  cameraUrl?: string;
  actor?: string;
  now?: number;
}

export interface TerminalBundle {
  dir: string;
  configFile: string;
  terminal: TerminalRecord;
}

/** File names inside a bundle (terminal.json refers to them relative to itself). */
export const BUNDLE_FILES = {
  config: 'terminal.json',
  ca: 'ca.crt',
  cert: 'device.crt',
  key: 'device.key',
  hubKey: 'hub-signing.pub',
  /** The community's update key (bundles are signed with it; never the roster key). */
  updateKey: 'update-signing.pub',
  secret: 'device.secret',
} as const;

export function addTerminal(c: Community, o: AddTerminalOptions): TerminalBundle {
  const id = TerminalIdSchema.safeParse(o.id);
  if (!id.success) throw new TerminalAdminError(`terminal id "${o.id}": lower-case letters, digits and "-", at most 63`);
  if (RESERVED_IDS.has(o.id)) throw new TerminalAdminError(`terminal id "${o.id}" is reserved`);
  if (c.db.terminal(o.id)) throw new TerminalAdminError(`terminal ${o.id} already exists`);
  const out = resolve(o.out);
  if (existsSync(out) && readdirSync(out).length > 0) throw new TerminalAdminError(`${out} is not empty`);
  c.checkPassphrase(o.passphrase);
  const updateKey = readFileSync(ensureUpdateKey(c, o.passphrase).paths.pub, 'utf8');
  const now = o.now ?? Date.now();
  const buildingId = o.buildingId ?? 'default';
  const config = {
    terminalId: o.id,
    door: { doorId: o.doorId, buildingId, timeZone: c.config.timeZone },
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
      heartbeatMs: c.config.heartbeatMs,
    },
    paths: { dataDir: 'data', secretFile: BUNDLE_FILES.secret },
    update: { publicKeyFile: BUNDLE_FILES.updateKey },
  };
  const checked = ConfigSchema.safeParse(config); // the terminal's own schema: a bundle it would refuse is never written
  if (!checked.success) throw new TerminalAdminError(`terminal config: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);

  const key = newKey('ec');
  const { cert, serial } = issueCert(c.paths.ca, key, { cn: o.id, usage: 'client' }, o.passphrase);
  mkdirSync(out, { recursive: true, mode: 0o700 });
  writeFileSync(join(out, BUNDLE_FILES.config), `${JSON.stringify(config, null, 2)}\n`);
  copyFileSync(c.paths.ca.cert, join(out, BUNDLE_FILES.ca));
  writeFileSync(join(out, BUNDLE_FILES.cert), cert);
  writePrivate(join(out, BUNDLE_FILES.key), key);
  writeFileSync(join(out, BUNDLE_FILES.hubKey), c.signingPublicKeyPem());
  writeFileSync(join(out, BUNDLE_FILES.updateKey), updateKey);
  writePrivate(join(out, BUNDLE_FILES.secret), randomBytes(32));
  mkdirSync(c.paths.terminalsDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(c.paths.terminalsDir, `${o.id}.crt`), cert);

  c.db.tx(() => {
    c.db.addTerminal({ id: o.id, doorId: o.doorId, buildingId, serial, createdAt: now });
    c.db.audit(o.actor ?? defaultActor(), 'terminal.add', o.id, { doorId: o.doorId, buildingId, serial }, now);
  });
  refreshBroker(c);
  const terminal = c.db.terminal(o.id);
  if (!terminal) throw new TerminalAdminError(`terminal ${o.id} was not recorded`);
  return { dir: out, configFile: join(out, BUNDLE_FILES.config), terminal };
}

/** CRL + ACL + database; a running broker is asked to reload. Idempotent. */
export function revokeTerminal(c: Community, id: string, o: { passphrase: string; actor?: string; now?: number }): { broker: 'reloaded' | 'not-running' } {
  const t = c.db.terminal(id);
  if (!t) throw new TerminalAdminError(`no terminal ${id}`);
  revokeCert(c.paths.ca, join(c.paths.terminalsDir, `${id}.crt`), o.passphrase);
  const now = o.now ?? Date.now();
  if (t.status !== 'revoked') {
    c.db.tx(() => {
      c.db.revokeTerminal(id, now);
      c.db.audit(o.actor ?? defaultActor(), 'terminal.revoke', id, { serial: t.serial }, now);
    });
  }
  return { broker: refreshBroker(c) };
}
