/**
 * Certificate renewal for terminals, the hub and the broker (lifetimes and windows: CERT_POLICY in
 * provisioning/pki.ts). A renewal signs a new certificate for the key already in use, so no private
 * key moves:
 *
 * - terminal: the new certificate replaces terminals/<id>.crt (the previous ones are kept as
 *   terminals/renewed/<id>/<serial>.crt, so that a revocation puts them all on the CRL; a folder of
 *   their own, because ids may hold '-' and capitals and `<id>-<serial>` could name another terminal);
 *   the running hub publishes it to the terminal (hub/<id>/certificate, signed, retained), which
 *   installs it (runtime/sync/certificate.ts); `provision terminal renew --out DIR` also writes it for
 *   a terminal that must be re-bundled by hand;
 * - hub: hub/tls.crt is replaced; the running hub presents it from its next connection;
 * - broker: broker/server.crt is replaced and the brokers are asked to reload.
 *
 * The running hub renews whatever is due every hour (provisioning/hub/certificate-renewal.ts);
 * provisioning/admin/certificates.ts does it for an operator (`provision ... renew`).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { ensurePrivateDir } from '../core/fs';
import { join } from 'node:path';
import { TerminalError } from '../core/errors';
import { reloadBrokers } from './broker-reload';
import type { Community } from './community';
import { CERT_POLICY, renewCert, writePrivate } from './pki';

export class CertificateAdminError extends TerminalError {
  readonly code = 'certificate-admin';
}

const DAY_MS = 24 * 60 * 60_000;

export interface CertificateInfo {
  serial: string;
  notBefore: number;
  notAfter: number;
}

export function certificateInfo(pem: string | Buffer): CertificateInfo {
  const c = new X509Certificate(pem);
  return { serial: c.serialNumber.toUpperCase(), notBefore: Date.parse(c.validFrom), notAfter: Date.parse(c.validTo) };
}

/** Due for renewal at `now`: it expires within CERT_POLICY.renewBeforeDays. */
export function isDue(info: CertificateInfo, now: number): boolean {
  return info.notAfter - now <= CERT_POLICY.renewBeforeDays * DAY_MS;
}

/** The terminal's current certificate file (every issued one is kept in terminals/). */
export function terminalCertFile(c: Community, id: string): string {
  return join(c.paths.terminalsDir, `${id}.crt`);
}

/** Where the certificates `id` was renewed away from are kept (one folder per terminal). */
function renewedDir(c: Community, id: string): string {
  return join(c.paths.terminalsDir, 'renewed', id);
}

/** Every certificate file ever issued to `id` that is still kept: the current one and the renewed-away ones. */
export function terminalCertFiles(c: Community, id: string): string[] {
  const current = terminalCertFile(c, id);
  const old = renewedDir(c, id);
  const renewed = existsSync(old) ? readdirSync(old).filter((f) => /^[0-9A-F]+\.crt$/.test(f)).map((f) => join(old, f)) : [];
  return [...(existsSync(current) ? [current] : []), ...renewed];
}

export interface RenewOptions {
  passphrase: string;
  /** Now on the caller's clock. */
  now: number;
  /** Who renews (audit log): an operator id, or `hub` for the running hub. */
  actor: string;
}

/**
 * openssl starts a certificate's validity at the system clock and counts `-days` from there; the
 * lifetime is asked for so that it ends `lifetimeDays` after `now` on the caller's clock (the same
 * thing unless the caller's clock is not the system's, as in tests on a fake clock).
 */
function daysFrom(now: number, lifetimeDays: number): number {
  // openssl's own clock is the system's: this is where the two are compared.
  return Math.max(1, Math.round(lifetimeDays + (now - Date.now()) / DAY_MS));
}

/** Renews an active terminal's certificate; returns the new certificate and its details. */
export function renewTerminalCertificate(c: Community, id: string, o: RenewOptions): CertificateInfo & { cert: string } {
  const t = c.db.terminal(id);
  if (!t || t.status !== 'active') throw new CertificateAdminError(`no active terminal ${id}`);
  const file = terminalCertFile(c, id);
  if (!existsSync(file)) throw new CertificateAdminError(`no certificate for ${id} in ${c.paths.terminalsDir}`);
  const current = readFileSync(file, 'utf8');
  const { cert, serial } = renewCert(c.paths.ca, current, { cn: id, usage: 'client', days: daysFrom(o.now, CERT_POLICY.terminalDays) }, o.passphrase);
  const old = certificateInfo(current);
  ensurePrivateDir(renewedDir(c, id));
  renameSync(file, join(renewedDir(c, id), `${old.serial}.crt`));
  writePrivate(file, cert);
  const info = certificateInfo(cert);
  const now = o.now;
  c.db.tx(() => {
    c.db.setTerminalSerial(id, serial);
    c.db.audit(o.actor, 'terminal.renew', id, { serial, previous: old.serial, notAfter: new Date(info.notAfter).toISOString() }, now);
  });
  return { ...info, cert };
}

/** Renews the hub's TLS client certificate (hub/tls.crt, same key). */
export function renewHubCertificate(c: Community, o: RenewOptions): CertificateInfo & { cert: string } {
  const current = readFileSync(c.paths.hubTlsCert, 'utf8');
  const { cert } = renewCert(c.paths.ca, current, { cn: 'hub', usage: 'client', days: daysFrom(o.now, CERT_POLICY.hubDays) }, o.passphrase);
  writePrivate(c.paths.hubTlsCert, cert);
  const info = certificateInfo(cert);
  c.db.audit(o.actor, 'hub.renew', 'hub', { serial: info.serial, notAfter: new Date(info.notAfter).toISOString() }, o.now);
  return { ...info, cert };
}

/** Renews the broker's server certificate (same key, same names) and asks running brokers to reload. */
export function renewBrokerCertificate(c: Community, o: RenewOptions): CertificateInfo & { cert: string; broker: 'reloaded' | 'not-running' } {
  const current = readFileSync(c.paths.brokerCert, 'utf8');
  const { cert } = renewCert(c.paths.ca, current, { cn: 'broker', usage: 'server', altNames: c.config.brokerAltNames, days: daysFrom(o.now, CERT_POLICY.brokerDays) }, o.passphrase);
  writePrivate(c.paths.brokerCert, cert);
  const info = certificateInfo(cert);
  c.db.audit(o.actor, 'broker.renew', 'broker', { serial: info.serial, notAfter: new Date(info.notAfter).toISOString() }, o.now);
  return { ...info, cert, broker: reloadBrokers(c).reached.length > 0 ? 'reloaded' : 'not-running' };
}

export interface DueCertificates {
  terminals: string[];
  hub: boolean;
  broker: boolean;
}

/** What is due for renewal at `now` (active terminals only). */
export function dueCertificates(c: Community, now: number): DueCertificates {
  const terminals = c.db.terminals()
    .filter((t) => t.status === 'active' && existsSync(terminalCertFile(c, t.id)) && isDue(certificateInfo(readFileSync(terminalCertFile(c, t.id))), now))
    .map((t) => t.id);
  return {
    terminals,
    hub: isDue(certificateInfo(readFileSync(c.paths.hubTlsCert)), now),
    broker: isDue(certificateInfo(readFileSync(c.paths.brokerCert)), now),
  };
}

export type CertificateState = 'ok' | 'renewal-pending' | 'expiring' | 'expired';

/**
 * How a certificate in use stands at `now`: expired; expiring (within CERT_POLICY.warnBeforeDays: the
 * renewal has not reached it); renewal-pending (a newer one was issued and is not in use yet); ok.
 */
export function certificateState(inUseNotAfter: number, issuedNotAfter: number | null, now: number): CertificateState {
  if (inUseNotAfter <= now) return 'expired';
  if (inUseNotAfter - now <= CERT_POLICY.warnBeforeDays * DAY_MS) return 'expiring';
  if (issuedNotAfter !== null && issuedNotAfter > inUseNotAfter + 1000) return 'renewal-pending';
  return 'ok';
}
