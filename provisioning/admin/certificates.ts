/**
 * Certificate renewal by an operator (the running hub renews what is due by itself,
 * provisioning/hub/certificate-renewal.ts): terminals by id or every one due, the hub's, the
 * broker's. Each renewal signs a new certificate for the key in use (provisioning/certificates.ts)
 * and is audited with the operator.
 */
import { parseId } from '../../runtime/protocol/ids';
import { dueCertificates, renewBrokerCertificate, renewHubCertificate, renewTerminalCertificate, type CertificateInfo } from '../certificates';
import { actorOf, passphraseOf, type AdminContext } from './context';

export interface RenewedCertificate extends CertificateInfo {
  /** The certificate (PEM), for a terminal re-bundled by hand. */
  cert: string;
}

/** What is due for renewal now (active terminals, the hub, the broker). */
export function dueForRenewal(ctx: AdminContext): { terminals: string[]; hub: boolean; broker: boolean } {
  return dueCertificates(ctx.community, ctx.clock.now());
}

/** Renews the named terminals' certificates, or (`due`) every one due; returns them by terminal id. */
export function renewTerminals(ctx: AdminContext, input: { ids: string[] } | { due: true }): Array<RenewedCertificate & { terminalId: string }> {
  const ids = 'due' in input ? dueForRenewal(ctx).terminals : input.ids.map((x) => parseId('terminal', x));
  const o = { passphrase: passphraseOf(ctx), actor: actorOf(ctx), now: ctx.clock.now() };
  return ids.map((id) => ({ terminalId: id, ...renewTerminalCertificate(ctx.community, id, o) }));
}

/** Renews the hub's TLS client certificate; a running hub presents it from its next connection. */
export function renewHub(ctx: AdminContext): RenewedCertificate {
  return renewHubCertificate(ctx.community, { passphrase: passphraseOf(ctx), actor: actorOf(ctx), now: ctx.clock.now() });
}

/** Renews the broker's server certificate and asks running brokers to reload. */
export function renewBroker(ctx: AdminContext): RenewedCertificate & { broker: 'reloaded' | 'not-running' } {
  return renewBrokerCertificate(ctx.community, { passphrase: passphraseOf(ctx), actor: actorOf(ctx), now: ctx.clock.now() });
}
