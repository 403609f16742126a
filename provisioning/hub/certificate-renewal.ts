/**
 * Certificates while the hub runs (provisioning/certificates.ts does the signing): every renewCheckMs
 * (first at start) it renews what is due (terminals, at most RENEWALS_PER_CHECK per check, itself, the
 * broker; audited as `hub`), presents a replaced hub/tls.crt from its next connection, and publishes
 * each active terminal's current certificate (signed, retained: an offline terminal gets it when it
 * comes back; runtime/sync/certificate.ts installs it) whenever it changed since last published.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { TerminalError } from '../../core/errors';
import { SCHEMA_VERSION, type CertificateBody } from '../../runtime/protocol/schemas';
import { signBody } from '../../runtime/protocol/signing';
import { topicsFor } from '../../runtime/protocol/topics';
import { dueCertificates, renewBrokerCertificate, renewHubCertificate, renewTerminalCertificate, terminalCertFile } from '../certificates';
import type { HubContext, HubPart } from './context';

/** Terminal certificates renewed per check at most (each is an openssl run of about 50 ms). */
const RENEWALS_PER_CHECK = 20;

export class CertificateRenewal<Item> implements HubPart {
  /** Serial of each terminal's certificate last published to it. */
  private readonly published = new Map<string, string>();
  private lastCheck = -Infinity;
  /** The certificate the hub's connection presents. */
  private hubCert: string | null = null;
  /** mtime, size and inode of hub/tls.crt when last read: a replaced file (renamed into place) differs. */
  private hubCertSeen = '';

  constructor(private readonly ctx: HubContext<Item>) {
    if (ctx.community) this.hubCert = readFileSync(ctx.community.community.paths.hubTlsCert, 'utf8');
  }

  /** Publish a terminal's certificate (signed, retained). */
  async publish(terminalId: string, certificatePem: string): Promise<void> {
    const body: CertificateBody = { v: SCHEMA_VERSION, kind: 'certificate', terminalId, certificate: certificatePem, issuedAt: this.ctx.clock.now() };
    await this.ctx.transport.publish(topicsFor(terminalId).certificate, signBody(body, this.ctx.signingKey), { retain: true });
  }

  async tick(): Promise<void> {
    if (!this.ctx.community || !this.ctx.store) return;
    this.renewDue();
    this.reloadOwnCertificate();
    await this.publishChanged();
  }

  private renewDue(): void {
    const every = this.ctx.options.renewCheckMs ?? 60 * 60_000;
    const mono = this.ctx.clock.monotonic();
    if (!this.ctx.community || every <= 0 || mono - this.lastCheck < every) return;
    this.lastCheck = mono;
    const { community: c, passphrase } = this.ctx.community;
    const log = this.ctx.log;
    const now = this.ctx.clock.now();
    const o = { passphrase, now, actor: 'hub' };
    try {
      const due = dueCertificates(c, now);
      // openssl runs on this thread: a fleet provisioned in one day is renewed over a few hours.
      for (const id of due.terminals.slice(0, RENEWALS_PER_CHECK)) {
        const r = renewTerminalCertificate(c, id, o);
        log.info({ terminal: id, notAfter: new Date(r.notAfter).toISOString() }, 'terminal certificate renewed');
      }
      if (due.hub) {
        const r = renewHubCertificate(c, o);
        log.info({ notAfter: new Date(r.notAfter).toISOString() }, 'hub certificate renewed; used from the next connection');
      }
      if (due.broker) {
        const r = renewBrokerCertificate(c, o);
        log.info({ notAfter: new Date(r.notAfter).toISOString(), broker: r.broker }, 'broker certificate renewed');
      }
    } catch (err) {
      log.error({ err: err instanceof TerminalError ? err.message : String(err) }, 'certificate renewal failed; retried at the next check');
    }
  }

  /** hub/tls.crt replaced (by this hub or by `provision hub renew` in another process): the next connection presents it. */
  private reloadOwnCertificate(): void {
    if (!this.ctx.community) return;
    const file = this.ctx.community.community.paths.hubTlsCert;
    // Read only when the file looks changed: this runs on every tick (4 a second), and reading the PEM
    // each time was the largest source of the hub's garbage in the soak (bench:soak --alloc-profile).
    const st = statSync(file);
    const seen = `${st.mtimeMs}:${st.size}:${st.ino}`;
    if (seen === this.hubCertSeen) return;
    this.hubCertSeen = seen;
    const pem = readFileSync(file, 'utf8');
    if (this.hubCert !== null && pem !== this.hubCert) {
      this.ctx.transport.setCertificate?.(pem);
      this.ctx.log.info('hub certificate file changed; used from the next connection');
    }
    this.hubCert = pem;
  }

  private async publishChanged(): Promise<void> {
    const store = this.ctx.store;
    const c = this.ctx.community?.community;
    if (!store || !c) return;
    for (const t of store.terminals()) {
      if (t.status !== 'active' || this.published.get(t.id) === t.serial) continue;
      const file = terminalCertFile(c, t.id);
      if (!existsSync(file)) continue;
      try {
        await this.publish(t.id, readFileSync(file, 'utf8'));
        this.published.set(t.id, t.serial);
      } catch (err) {
        this.ctx.log.warn({ terminal: t.id, err: String(err) }, 'certificate not published yet');
      }
    }
  }
}
