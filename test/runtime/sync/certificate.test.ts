/**
 * A renewed certificate from the hub is installed only when it is for this terminal, from its CA, for
 * its key, valid now (on the terminal's clock) and not older than the one in use; the sync client
 * hands it to the transport for the next connection. Real openssl certificates, a fake clock.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { SCHEMA_VERSION, type CertificateBody } from '../../../runtime/protocol/schemas';
import { generateSigningKeyPair, signBody } from '../../../runtime/protocol/signing';
import { topicsFor } from '../../../runtime/protocol/topics';
import { CertificateInstaller } from '../../../runtime/sync/certificate';
import { SyncClient } from '../../../runtime/sync/client';
import { openSyncDb } from '../../../runtime/sync/db';
import { FakeTransport } from '../../../runtime/sync/fake-transport';
import { MemoryRosterSink, SimpleRosterBatchSchema, SimpleRosterItemSchema } from '../../../runtime/sync/roster-sink';
import { createCa, issueCert, newKey, renewCert } from '../../../provisioning/pki';

const DAY = 24 * 60 * 60_000;
const PASS = 'cert-test-pass';
const dir = mkdtempSync(join(tmpdir(), 'doorway-cert-'));
const ca = createCa(join(dir, 'ca'), 'Test CA', PASS);
const otherCa = createCa(join(dir, 'other-ca'), 'Other CA', PASS);
const key = newKey('ec');
const first = issueCert(ca, key, { cn: 'door-1', usage: 'client', days: 90 }, PASS).cert;
const renewed = renewCert(ca, first, { cn: 'door-1', usage: 'client', days: 90 }, PASS).cert;
const files = { certFile: join(dir, 'device.crt'), keyFile: join(dir, 'device.key'), caFile: ca.cert };
writeFileSync(files.keyFile, key, { mode: 0o600 });

function installer(clock: FakeClock): CertificateInstaller {
  writeFileSync(files.certFile, first);
  return new CertificateInstaller({ terminalId: 'door-1', files, clock, log: silentLogger() });
}

test('installs a renewed certificate for its own key and replaces the bundle file; the same one again is a no-op', () => {
  const clock = new FakeClock(Date.now() + 61 * DAY);
  const i = installer(clock);
  const before = i.expiresAt() ?? 0;
  expect(i.install(renewed)).toBe(renewed);
  expect(readFileSync(files.certFile, 'utf8')).toBe(renewed);
  expect(i.expiresAt()).toBeGreaterThanOrEqual(before);
  expect(i.install(renewed)).toBeNull();
});

test.each([
  ['for another identity', () => renewCert(ca, first, { cn: 'door-2', usage: 'client', days: 90 }, PASS).cert, 'another identity'],
  ['for another key', () => issueCert(ca, newKey('ec'), { cn: 'door-1', usage: 'client', days: 90 }, PASS).cert, 'device key'],
  ['from another CA', () => renewCert(otherCa, first, { cn: 'door-1', usage: 'client', days: 90 }, PASS).cert, 'community CA'],
  ['a server certificate', () => renewCert(ca, first, { cn: 'door-1', usage: 'server', days: 90 }, PASS).cert, 'client certificate'],
  ['expiring before the one in use', () => renewCert(ca, first, { cn: 'door-1', usage: 'client', days: 30 }, PASS).cert, 'expires before'],
  ['not a certificate', () => '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'not a certificate'],
])('refuses a certificate (%s) and leaves the bundle as it was', (_what, make, why) => {
  const i = installer(new FakeClock(Date.now()));
  expect(() => i.install(make())).toThrow(why);
  expect(readFileSync(files.certFile, 'utf8')).toBe(first);
});

test("refuses a certificate that has expired on the terminal's clock", () => {
  const i = installer(new FakeClock(Date.now() + 91 * DAY));
  expect(() => i.install(renewed)).toThrow('not valid now');
});

test('the sync client installs a signed certificate from the hub, reports its expiry and presents it from the next connection', async () => {
  const hubKeys = generateSigningKeyPair();
  const clock = new FakeClock(Date.now() + 61 * DAY);
  const transport = new FakeTransport();
  const certificates = installer(clock);
  const client = new SyncClient({
    terminalId: 'door-1',
    transport,
    clock,
    log: silentLogger(),
    db: openSyncDb(':memory:'),
    hubPublicKey: hubKeys.publicKey,
    roster: { sink: new MemoryRosterSink(), batchSchema: SimpleRosterBatchSchema, itemSchema: SimpleRosterItemSchema },
    health: () => ({ cameraFps: null, lastDecisionLatencyMs: null }),
    versions: { software: 't', model: 'm' },
    certificates,
  });
  const installed: Array<number | null> = [];
  client.on('certificate', (c) => installed.push(c.expiresAt));
  client.start();
  transport.connect(true);
  await new Promise((r) => setImmediate(r));
  const body = (terminalId: string, certificate: string): string =>
    signBody({ v: SCHEMA_VERSION, kind: 'certificate', terminalId, certificate, issuedAt: clock.now() } satisfies CertificateBody, hubKeys.privateKey);
  transport.deliver(topicsFor('door-1').certificate, body('door-2', renewed), true);
  transport.deliver(topicsFor('door-1').certificate, body('door-1', renewed), true);
  transport.deliver(topicsFor('door-1').certificate, body('door-1', renewed), true); // retained, delivered again
  expect(client.rejected()).toEqual({ 'wrong-terminal': 1 });
  expect(transport.certificates).toEqual([renewed]);
  expect(installed).toEqual([certificates.expiresAt()]);
  expect(client.health().certificateExpiresAt).toBe(certificates.expiresAt());
  await client.stop();
});
