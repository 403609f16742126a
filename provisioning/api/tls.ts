/**
 * The hub's HTTPS server certificate (hub/http.key + hub/http.crt), signed by the community CA for the
 * names the console and the tenant app reach the hub by. Made by `provision init` (`--http-host`; a
 * community from before operators gets one for the broker's names at its first `provision hub --http`),
 * 397 days like the broker's, renewed for the same key and names when due (within 30 days of its end):
 * the hub checks when it starts and then once a day while it runs, and a running API serves the renewed
 * certificate from the next connection on, without a restart (HubApi's `renewTls`). The key stays in the
 * folder encrypted under the passphrase; the hub unlocks it in memory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { Community } from '../community';
import { certificateInfo, isDue } from '../certificates';
import { CERT_POLICY, encryptKey, issueCert, newKey, renewCert, unlockedPem, writePrivate } from '../pki';

export function httpTlsPaths(c: Community): { key: string; cert: string } {
  return { key: join(c.paths.dir, 'hub', 'http.key'), cert: join(c.paths.dir, 'hub', 'http.crt') };
}

/** Default names: the broker's (the hub usually serves both from one host). */
export function defaultHttpNames(c: Community): string[] {
  return c.config.brokerAltNames;
}

/** A new key and certificate for `altNames` (replacing any), audited. */
export function issueHttpCertificate(c: Community, passphrase: string, altNames: string[], actor: string, now: number): { notAfter: number } {
  const p = httpTlsPaths(c);
  const key = newKey('ec');
  const { cert } = issueCert(c.paths.ca, key, { cn: 'hub-http', usage: 'server', altNames, days: CERT_POLICY.brokerDays }, passphrase);
  writePrivate(p.key, encryptKey(key, passphrase));
  writePrivate(p.cert, cert);
  const info = certificateInfo(cert);
  c.db.audit(actor, 'http.certificate', 'hub-http', { names: altNames, notAfter: new Date(info.notAfter).toISOString() }, now);
  return { notAfter: info.notAfter };
}

/** The names in the current certificate. */
function namesOf(certPem: string): string[] {
  return (new X509Certificate(certPem).subjectAltName ?? '').split(', ').filter(Boolean).map((n) => n.replace(/^IP Address:/, 'IP:'));
}

/**
 * Key and certificate for the HTTPS server: made when missing, renewed (same key and names) when due.
 */
export function httpTls(c: Community, passphrase: string, now: number): { key: string; cert: string; ca: Buffer } {
  const p = httpTlsPaths(c);
  if (!existsSync(p.cert) || !existsSync(p.key)) issueHttpCertificate(c, passphrase, defaultHttpNames(c), 'hub', now);
  const renewed = renewHttpTlsIfDue(c, passphrase, now);
  return { ...(renewed ?? { key: unlockedPem(p.key, passphrase), cert: readFileSync(p.cert, 'utf8') }), ca: readFileSync(c.paths.ca.cert) };
}

/**
 * Renews the HTTPS certificate when it is due at `now` (same key and names, audited as `http.renew`)
 * and returns the key and the new certificate for the server; null when it is not due.
 */
export function renewHttpTlsIfDue(c: Community, passphrase: string, now: number): { key: string; cert: string } | null {
  const p = httpTlsPaths(c);
  const current = readFileSync(p.cert, 'utf8');
  if (!isDue(certificateInfo(current), now)) return null;
  const cert = renewCert(c.paths.ca, current, { cn: 'hub-http', usage: 'server', altNames: namesOf(current), days: CERT_POLICY.brokerDays }, passphrase).cert;
  writePrivate(p.cert, cert);
  c.db.audit('hub', 'http.renew', 'hub-http', { notAfter: new Date(certificateInfo(cert).notAfter).toISOString() }, now);
  return { key: unlockedPem(p.key, passphrase), cert };
}
