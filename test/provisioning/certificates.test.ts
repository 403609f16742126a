/**
 * Certificate lifetimes and renewal, on a fake clock (no waiting): what is due when, what the running
 * hub renews and publishes by itself, what fleet status warns about, and that a revocation covers the
 * certificates a terminal was renewed away from.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { CertificateBodySchema, SignedEnvelopeSchema } from '../../runtime/protocol/schemas';
import { loadPublicKey, verifyEnvelope } from '../../runtime/protocol/signing';
import { FakeTransport } from '../../runtime/sync/fake-transport';
import { addTerminal, Community, fleetStatus, HubService, initCommunity, revokeTerminal } from '../../provisioning';
import { certificateInfo, dueCertificates, renewTerminalCertificate, terminalCertFile } from '../../provisioning/certificates';
import { infrastructureCertificates } from '../../provisioning/fleet';
import { CERT_POLICY, revokedSerials } from '../../provisioning/pki';

const DAY = 24 * 60 * 60_000;
const PASS = 'certificates-test-pass';
let c: Community;
let t0: number;

beforeAll(() => {
  const root = mkdtempSync(join(tmpdir(), 'provision-certs-'));
  c = initCommunity({ dir: join(root, 'c'), passphrase: PASS });
  for (const id of ['t1', 't2', 't3']) addTerminal(c, { id, doorId: `door-${id}`, out: join(root, id), passphrase: PASS });
  t0 = certificateInfo(readFileSync(terminalCertFile(c, 't1'))).notBefore;
}, 60_000);

afterAll(() => c.close());

const lifetime = (file: string): number => {
  const i = certificateInfo(readFileSync(file));
  return Math.round((i.notAfter - i.notBefore) / DAY);
};

test('terminals and the hub get 90-day certificates, the broker 397 days, the CA 10 years', () => {
  expect(lifetime(terminalCertFile(c, 't1'))).toBe(CERT_POLICY.terminalDays);
  expect(lifetime(c.paths.hubTlsCert)).toBe(CERT_POLICY.hubDays);
  expect(lifetime(c.paths.brokerCert)).toBe(CERT_POLICY.brokerDays);
  expect(lifetime(c.paths.ca.cert)).toBe(CERT_POLICY.caDays);
});

test('nothing is due until 30 days before expiry; then every terminal and the hub are', () => {
  expect(dueCertificates(c, t0 + 59 * DAY)).toEqual({ terminals: [], hub: false, broker: false });
  expect(dueCertificates(c, t0 + 61 * DAY)).toEqual({ terminals: ['t1', 't2', 't3'], hub: true, broker: false });
});

test('fleet status warns of a certificate in use that is close to expiry or expired, and of a renewal not yet installed', () => {
  const c1 = certificateInfo(readFileSync(terminalCertFile(c, 't1')));
  const health = { uptimeS: 1, rosterVersion: 0, outboxDepth: 0, outboxDropped: 0, rejectedMessages: 0, cameraFps: null, lastDecisionLatencyMs: null, softwareVersion: 's', modelVersion: 'm', faults: [], certificateExpiresAt: c1.notAfter };
  c.db.saveStatus('t1', 'online', health, t0);
  const at = (days: number): unknown => fleetStatus(c, t0 + days * DAY).find((r) => r.terminalId === 't1')?.certificate;
  expect([at(10), at(70), at(91)]).toEqual(['ok', 'expiring', 'expired']);
  expect(infrastructureCertificates(c, t0 + 75 * DAY).map((x) => [x.name, x.state])).toEqual([['hub', 'expiring'], ['broker', 'ok']]);
});

test('the running hub renews what is due at its first check and publishes each terminal its new certificate, retained and signed', async () => {
  const clock = new FakeClock(t0 + 61 * DAY);
  const fake = new FakeTransport();
  const before = { t1: certificateInfo(readFileSync(terminalCertFile(c, 't1'))), hub: certificateInfo(readFileSync(c.paths.hubTlsCert)) };
  let started = false;
  const p = HubService.start({ community: c, passphrase: PASS, transport: fake, clock, log: silentLogger(), pollMs: 60_000 }).finally(() => (started = true));
  while (!started) {
    fake.connect();
    await new Promise((r) => setTimeout(r, 5));
  }
  const svc = await p;
  try {
    const pub = loadPublicKey(c.signingPublicKeyPem());
    const published = fake.published.filter((m) => m.topic === 'hub/t1/certificate');
    expect(published.map((m) => m.retain)).toEqual([true]);
    const env = SignedEnvelopeSchema.parse(JSON.parse(published[0]?.payload ?? ''));
    expect(verifyEnvelope(env, pub)).toBe(true);
    const body = CertificateBodySchema.parse(JSON.parse(env.body));
    const sent = new X509Certificate(body.certificate);
    expect(sent.serialNumber.toUpperCase()).toBe(c.db.terminal('t1')?.serial);
    expect(sent.serialNumber.toUpperCase()).not.toBe(before.t1.serial);
    // 90 days from the hub's (fake) now.
    expect(Math.abs(Date.parse(sent.validTo) - (clock.now() + CERT_POLICY.terminalDays * DAY))).toBeLessThan(DAY);
    expect(sent.publicKey.export({ type: 'spki', format: 'der' })).toEqual(new X509Certificate(readFileSync(join(c.paths.terminalsDir, 'renewed', 't1', `${before.t1.serial}.crt`))).publicKey.export({ type: 'spki', format: 'der' }));
    expect(certificateInfo(readFileSync(c.paths.hubTlsCert)).serial).not.toBe(before.hub.serial);
    expect(fake.certificates).toEqual([readFileSync(c.paths.hubTlsCert, 'utf8')]);
    expect(c.db.auditLog().filter((a) => a.action === 'terminal.renew').map((a) => a.subject).sort()).toEqual(['t1', 't2', 't3']);
    // The terminal still reports the old one: renewal pending.
    expect(fleetStatus(c, clock.now()).find((r) => r.terminalId === 't1')?.certificate).toBe('renewal-pending');
    // Nothing more is due; a second check renews nothing.
    expect(dueCertificates(c, clock.now())).toEqual({ terminals: [], hub: false, broker: false });
  } finally {
    await svc.stop();
  }
});

test('revoking a renewed terminal puts every certificate it was issued on the CRL', () => {
  const before = certificateInfo(readFileSync(terminalCertFile(c, 't2'))).serial;
  const after = renewTerminalCertificate(c, 't2', { passphrase: PASS }).serial;
  revokeTerminal(c, 't2', { passphrase: PASS });
  const crl = revokedSerials(c.paths.ca);
  expect(crl).toEqual(expect.arrayContaining([before, after]));
  expect(crl.some((s) => s === c.db.terminal('t3')?.serial)).toBe(false);
});

test("revoking a terminal leaves alone another terminal whose id starts with its id and a hex-looking suffix", () => {
  // Ids may hold '-' and upper-case letters: 'gate-BEEF' must not be taken for a certificate 'gate' was
  // renewed away from.
  const root = mkdtempSync(join(tmpdir(), 'provision-certs-ids-'));
  for (const id of ['gate', 'gate-BEEF']) addTerminal(c, { id, doorId: `door-${id}`, out: join(root, id), passphrase: PASS });
  const old = certificateInfo(readFileSync(terminalCertFile(c, 'gate'))).serial;
  renewTerminalCertificate(c, 'gate', { passphrase: PASS });
  revokeTerminal(c, 'gate', { passphrase: PASS });
  const crl = revokedSerials(c.paths.ca);
  expect(crl).toEqual(expect.arrayContaining([old, c.db.terminal('gate')?.serial]));
  expect(crl).not.toContain(c.db.terminal('gate-BEEF')?.serial);
  expect(c.db.terminal('gate-BEEF')?.status).toBe('active');
});
