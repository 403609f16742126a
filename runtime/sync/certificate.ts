/**
 * The terminal's TLS certificate and its renewal. The hub publishes a renewed certificate for the key
 * the terminal already holds (hub/<id>/certificate, signed, retained); it is installed only if it is
 * for this terminal (CN), issued by the community CA pinned in the bundle, for the device key, a
 * client certificate, valid now, and does not expire before the one in use. It then replaces the
 * bundle's certificate file (written beside it and renamed over it, so a power cut leaves one or the
 * other) and is used from the next connection on.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, renameSync } from 'node:fs';
import type { Clock } from '../../core/clock';
import { writePrivateFile } from '../../core/fs';
import type { Logger } from '../../core/log';
import { ProtocolRejectError } from '../protocol/codec';

export interface CertificateFiles {
  /** The certificate in use (the bundle's device.crt): replaced on renewal. */
  certFile: string;
  /** The device key (device.key): read only. */
  keyFile: string;
  /** The community CA (ca.crt). */
  caFile: string;
}

/** A certificate issued up to this far in the hub's future is taken (clock skew between hub and door). */
const SKEW_MS = 10 * 60_000;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export class CertificateInstaller {
  private current: X509Certificate | null = null;

  constructor(
    private readonly deps: { terminalId: string; files: CertificateFiles; clock: Clock; log: Logger },
  ) {}

  /** When the certificate in use expires (epoch ms), or null when it cannot be read. */
  expiresAt(): number | null {
    const c = this.inUse();
    return c ? Date.parse(c.validTo) : null;
  }

  /**
   * Checks `pem` and installs it. Returns it when installed, null when it is the certificate already in
   * use (a retained message delivered again). Throws ProtocolRejectError('certificate-refused') and
   * changes nothing otherwise.
   */
  install(pem: string): string | null {
    const refuse = (why: string): never => {
      throw new ProtocolRejectError('certificate-refused', why);
    };
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch {
      return refuse('not a certificate');
    }
    const cur = this.inUse();
    if (cur && cur.serialNumber === cert.serialNumber && cur.fingerprint256 === cert.fingerprint256) return null;
    if (/(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1] !== this.deps.terminalId) refuse('issued for another identity');
    const ca = new X509Certificate(readFileSync(this.deps.files.caFile));
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) refuse('not issued by the community CA');
    if (!cert.checkPrivateKey(createPrivateKey(readFileSync(this.deps.files.keyFile)))) refuse('not for this device key');
    if (cert.ca || !(cert.keyUsage ?? []).includes(CLIENT_AUTH)) refuse('not a client certificate');
    const now = this.deps.clock.now();
    if (Date.parse(cert.validFrom) > now + SKEW_MS || Date.parse(cert.validTo) <= now) refuse('not valid now');
    if (cur && Date.parse(cert.validTo) < Date.parse(cur.validTo)) refuse('expires before the certificate in use');
    const file = this.deps.files.certFile;
    const tmp = `${file}.new`;
    writePrivateFile(tmp, pem); // 0600 like every file of the bundle folder (core/fs.ts)
    renameSync(tmp, file);
    this.current = cert;
    this.deps.log.info({ expiresAt: cert.validTo, serial: cert.serialNumber }, 'renewed TLS certificate installed');
    return pem;
  }

  private inUse(): X509Certificate | null {
    if (this.current) return this.current;
    try {
      this.current = new X509Certificate(readFileSync(this.deps.files.certFile));
    } catch {
      this.current = null;
    }
    return this.current;
  }
}
