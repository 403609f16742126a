/**
 * Certificate renewal end to end, on the community's mosquitto (CRL checked at every handshake): a
 * terminal renewed by `provision terminal renew` receives its certificate from the running hub, writes
 * it into its bundle and connects with it; the hub renewed by `provision hub renew` connects with its
 * new one. Shown by revoking the old certificates: the renewed parties still connect, the old
 * certificates no longer do.
 */
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { SystemClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { CertificateInstaller } from '../../runtime/sync/certificate';
import { SyncClient } from '../../runtime/sync/client';
import { openSyncDb } from '../../runtime/sync/db';
import { MemoryRosterSink, SimpleRosterBatchSchema, SimpleRosterItemSchema } from '../../runtime/sync/roster-sink';
import { MqttTransport } from '../../runtime/sync/transport';
import { addTerminal, BrokerProcess, fleetStatus, startCommunityHub, initCommunity, refreshBroker, type Community, type TerminalBundle } from '../../provisioning';
import { certificateInfo, renewHubCertificate, renewTerminalCertificate } from '../../provisioning/certificates';
import { revokeCert, unlockedPem } from '../../provisioning/pki';
import { freeLoopbackPort } from '../../provisioning/ports';
import { sleep, waitFor } from '../harness/wait';
import { admin } from '../harness/admin';

const PASS = 'renewal-test-pass';
let root: string;
let c: Community;
let broker: BrokerProcess;
let bundle: TerminalBundle;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'provision-renewal-'));
  c = initCommunity({ dir: join(root, 'c'), passphrase: PASS, brokerUrl: `mqtts://127.0.0.1:${await freeLoopbackPort()}`, heartbeatMs: 1000, now: Date.now(), actor: 'test-operator' });
  bundle = addTerminal(admin(c, { passphrase: PASS }), { id: 't1', doorId: 'door-1', out: join(root, 't1') });
  broker = new BrokerProcess(c, { listenHost: '127.0.0.1', clock: new SystemClock() });
  await broker.start();
}, 60_000);

afterAll(async () => {
  await broker.stop();
  c.close();
});

function connectWith(cert: string | Buffer, key: string | Buffer, clientId: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(c.config.brokerUrl, { clientId, ca: readFileSync(c.paths.ca.cert), cert, key, reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 4 });
}

test('a renewed terminal installs its new certificate from the hub and connects with it once the old one is revoked; so does a renewed hub', async () => {
  const f = (n: string): string => join(bundle.dir, n);
  const oldTerminalCert = readFileSync(f('device.crt'), 'utf8');
  const hub = await startCommunityHub({ clock: new SystemClock(), community: c, passphrase: PASS, pollMs: 50, log: silentLogger() });
  const db = openSyncDb(join(root, 't1-sync.db'), { synchronous: 'normal' });
  const certificates = new CertificateInstaller({ terminalId: 't1', files: { certFile: f('device.crt'), keyFile: f('device.key'), caFile: f('ca.crt') }, clock: new SystemClock(), log: silentLogger() });
  const client = new SyncClient({
    terminalId: 't1',
    transport: new MqttTransport({ url: c.config.brokerUrl, clientId: 't1', ca: readFileSync(f('ca.crt')), cert: readFileSync(f('device.crt')), key: readFileSync(f('device.key')), reconnectMinMs: 100, reconnectMaxMs: 500, connectTimeoutMs: 3000, keepaliveS: 30, log: silentLogger() }),
    clock: new SystemClock(),
    log: silentLogger(),
    db,
    hubPublicKey: createPublicKey(readFileSync(f('hub-signing.pub'))),
    roster: { sink: new MemoryRosterSink(), batchSchema: SimpleRosterBatchSchema, itemSchema: SimpleRosterItemSchema },
    health: () => ({ cameraFps: null, lastDecisionLatencyMs: null }),
    versions: { software: 't', model: 'm' },
    timing: { heartbeatMs: 1000 },
    certificates,
  });
  client.start();
  try {
    await waitFor(() => client.connected(), 5000, 'terminal connected');
    // provision terminal renew t1 (another process in real life: the hub finds it in the database)
    const renewed = renewTerminalCertificate(c, 't1', { passphrase: PASS, actor: 'it-staff', now: Date.now() });
    await waitFor(() => readFileSync(f('device.crt'), 'utf8') === renewed.cert, 10_000, 'the bundle holding the renewed certificate');
    await waitFor(() => fleetStatus(admin(c)).find((r) => r.terminalId === 't1')?.certificateExpiresAt === renewed.notAfter, 10_000, 'the heartbeat reporting it');
    expect(fleetStatus(admin(c)).find((r) => r.terminalId === 't1')?.certificate).toBe('ok');

    // provision hub renew
    const oldHubCert = readFileSync(c.paths.hubTlsCert, 'utf8');
    renewHubCertificate(c, { passphrase: PASS, now: Date.now(), actor: 'test-operator' });
    await sleep(300); // a hub tick: it presents the new one from its next connection

    // Both old certificates revoked; the broker reloads its CRL and restarts (every client reconnects).
    revokeCert(c.paths.ca, writeTemp('old-terminal.crt', oldTerminalCert), PASS);
    revokeCert(c.paths.ca, writeTemp('old-hub.crt', oldHubCert), PASS);
    expect(refreshBroker(c)).toBe('reloaded');
    await broker.stop();
    await broker.start();
    await waitFor(() => client.connected(), 10_000, 'the terminal reconnected with its renewed certificate');
    const heartbeatAfter = Date.now();
    await waitFor(() => (c.db.statuses().find((s) => s.terminalId === 't1')?.receivedAt ?? 0) > heartbeatAfter, 10_000, 'the hub reconnected and hearing the terminal again');
    // The old certificates are refused at the handshake.
    await expect(connectWith(oldTerminalCert, readFileSync(f('device.key')), 't1-old')).rejects.toThrow();
    await expect(connectWith(oldHubCert, unlockedPem(c.paths.hubTlsKey, PASS), 'hub-old')).rejects.toThrow();
    expect(certificateInfo(readFileSync(c.paths.hubTlsCert)).serial).not.toBe(certificateInfo(oldHubCert).serial);
  } finally {
    await client.stop();
    db.close();
    await hub.stop();
  }
}, 60_000);

function writeTemp(name: string, text: string): string {
  const p = join(root, name);
  writeFileSync(p, text);
  return p;
}
