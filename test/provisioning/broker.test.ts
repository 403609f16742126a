/**
 * A community's mosquitto, on the configuration `provision broker config` generates, started by this
 * test directly (not through `provision broker run`): identities bound to certificates, packet and
 * queue bounds, and CRL/ACL reloads that reach it however it was started.
 */
import { programPath } from '../../core/programs';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { addTerminal, initCommunity, revokeTerminal, writeBrokerConfig, type Community, type TerminalBundle } from '../../provisioning';
import { BROKER_LIMITS } from '../../provisioning/broker';
import { reloadBrokers } from '../../provisioning/broker-reload';
import { freeLoopbackPort } from '../../provisioning/ports';
import { unlockedPem } from '../../provisioning/pki';
import { sleep, waitFor } from '../harness/wait';
import { closed, oversizePublish } from '../harness/broker-contract';
import { admin } from '../harness/admin';

const PASS = 'broker-test-pass';
let root: string;
let c: Community;
let url: string;
let port: number;
const bundles: Record<string, TerminalBundle> = {};
const procs: ChildProcess[] = [];
const clients: MqttClient[] = [];

/** mosquitto on `conf`, run from `cwd` with that (possibly relative) path, as an installer might. */
async function startMosquitto(conf: string, cwd: string, listenPort: number): Promise<ChildProcess> {
  const p = spawn(programPath('mosquitto'), ['-c', conf], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  procs.push(p);
  let err = '';
  p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(listenPort, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return p;
    if (p.exitCode !== null || Date.now() > deadline) throw new Error(`mosquitto did not start: ${err}`);
    await sleep(20);
  }
}

function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    p.once('exit', () => r());
    p.kill('SIGTERM');
  });
}

function hubClient(clientId = 'hub'): Promise<MqttClient> {
  return track(mqtt.connectAsync(url, {
    clientId, clean: false, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3000,
    ca: readFileSync(c.paths.ca.cert), cert: readFileSync(c.paths.hubTlsCert), key: unlockedPem(c.paths.hubTlsKey, PASS),
  }));
}

function terminalClient(id: string, clientId: string, o: { clean?: boolean; atUrl?: string } = {}): Promise<MqttClient> {
  const f = (n: string): Buffer => readFileSync(join(bundles[id]?.dir ?? '', n));
  return track(mqtt.connectAsync(o.atUrl ?? url, {
    clientId, clean: o.clean ?? true, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3000,
    ca: f('ca.crt'), cert: f('device.crt'), key: f('device.key'),
  }));
}

async function track(p: Promise<MqttClient>): Promise<MqttClient> {
  const m = await p;
  clients.push(m);
  return m;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'provision-broker-'));
  port = await freeLoopbackPort();
  url = `mqtts://127.0.0.1:${port}`;
  c = initCommunity({ dir: join(root, 'c'), passphrase: PASS, brokerUrl: url, now: Date.now(), actor: 'test-operator' });
  for (const id of ['t1', 't2', 't3']) bundles[id] = addTerminal(admin(c, { passphrase: PASS }), { id, doorId: `door-${id}`, out: join(root, `bundle-${id}`) });
  const files = writeBrokerConfig(c, { listenHost: '127.0.0.1' });
  await startMosquitto(files.conf, root, port);
}, 60_000);

afterAll(async () => {
  for (const m of clients) await m.endAsync(true).catch(() => undefined);
  for (const p of procs) await stopProc(p);
  c.close();
});

describe('client ids are bound to the certificate', () => {
  it("a terminal connecting with the hub's client id does not take over the hub's session", async () => {
    const hub = await hubClient();
    const hubGone = closed(hub);
    const got: string[] = [];
    hub.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await hub.subscribeAsync('door/+/events', { qos: 1 });
    const thief = await terminalClient('t1', 'hub');
    // Its connection is t1's, with t1's rights: what it publishes arrives as t1's, and the hub stays.
    await thief.publishAsync('door/t1/events', 'from the thief', { qos: 1 });
    await waitFor(() => got.length > 0, 3000, 'the event');
    await sleep(200);
    expect(hubGone()).toBe(false);
    expect(got).toEqual(['door/t1/events from the thief']);
    await thief.endAsync();
    await hub.endAsync();
  });

  it("a terminal connecting with another terminal's client id does not disconnect that terminal", async () => {
    const t2 = await terminalClient('t2', 't2');
    const t2Gone = closed(t2);
    const hub = await hubClient();
    const got: string[] = [];
    hub.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await hub.subscribeAsync('door/+/events', { qos: 1 });
    const thief = await terminalClient('t3', 't2');
    await thief.publishAsync('door/t2/events', 'forged', { qos: 1 }); // t3's identity: refused by the ACL
    await t2.publishAsync('door/t2/events', 'genuine', { qos: 1 });
    await waitFor(() => got.length > 0, 3000, "t2's event");
    await sleep(200);
    expect(t2Gone()).toBe(false);
    expect(got).toEqual(['door/t2/events genuine']);
    await Promise.all([thief.endAsync(), t2.endAsync(), hub.endAsync()]);
  });
});

describe('packet and queue bounds', () => {
  it("refuses a 20 MB publish on a terminal's event topic (its sender disconnected) and carries the largest legitimate message", async () => {
    const { chunks, got } = await oversizePublish((user, id) => (user === 'hub' ? hubClient() : terminalClient(user, id)));
    expect(chunks).toEqual([1_040_000]);
    expect(got).toEqual([{ topic: 'door/t1/events', bytes: 7 }]);
  }, 30_000);

  it("bounds an offline terminal's queue: the broker keeps the oldest messages up to the bound and drops the rest", async () => {
    const t3 = await terminalClient('t3', 't3', { clean: false });
    await t3.subscribeAsync('hub/t3/acks', { qos: 1 });
    await t3.endAsync();
    const hub = await hubClient();
    const extra = 100;
    await Promise.all(Array.from({ length: BROKER_LIMITS.maxQueuedMessages + extra }, (_, i) => hub.publishAsync('hub/t3/acks', String(i), { qos: 1 })));
    const got: number[] = [];
    const back = mqtt.connect(url, {
      clientId: 't3', clean: false, protocolVersion: 4, reconnectPeriod: 0,
      ca: readFileSync(c.paths.ca.cert), cert: readFileSync(join(bundles['t3']?.dir ?? '', 'device.crt')), key: readFileSync(join(bundles['t3']?.dir ?? '', 'device.key')),
    });
    clients.push(back);
    back.on('message', (_t, p) => got.push(Number(p.toString())));
    await waitFor(() => got.length >= BROKER_LIMITS.maxQueuedMessages, 10_000, 'the queued messages');
    await sleep(500);
    expect(got.length).toBe(BROKER_LIMITS.maxQueuedMessages);
    expect(got.slice(0, 3)).toEqual([0, 1, 2]);
    await Promise.all([back.endAsync(), hub.endAsync()]);
  }, 30_000);
});

describe('CRL and ACL reloads', () => {
  it('reach a mosquitto started on a configuration that includes the community ACL and CRL, found in /proc', async () => {
    // A system broker's own configuration (not ours, no pid file) that takes our ACL and CRL, run from
    // another folder with a relative path.
    const sys = join(root, 'system-broker');
    mkdirSync(join(sys, 'data'), { recursive: true });
    const sysPort = await freeLoopbackPort();
    const ours = readFileSync(join(c.paths.brokerDir, 'mosquitto.conf'), 'utf8');
    writeFileSync(join(sys, 'local.conf'), ours
      .replace(/^pid_file .*$/m, '')
      .replace(/^persistence_location .*$/m, `persistence_location ${join(sys, 'data')}/`)
      .replace(/^log_dest .*$/m, `log_dest file ${join(sys, 'log')}`)
      .replace(/^listener .*$/m, `listener ${sysPort} 127.0.0.1`));
    const p = await startMosquitto('./local.conf', sys, sysPort);
    const r = reloadBrokers(c);
    expect(r.reached).toContain(`mosquitto pid ${p.pid ?? 0}`);
    expect(r.problems).toEqual([]);
    await stopProc(p);
  }, 30_000);

  it("a revoked terminal loses every right at once on a broker that provision did not start, while the others keep theirs", async () => {
    const hub = await hubClient();
    const got: string[] = [];
    hub.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await hub.subscribeAsync('door/+/events', { qos: 1 });
    const t1 = await terminalClient('t1', 't1');
    const t2 = await terminalClient('t2', 't2');
    expect(revokeTerminal(admin(c, { passphrase: PASS }), { id: 't2' }).broker).toBe('reloaded');
    await sleep(300);
    t2.publish('door/t2/events', 'after revoke', { qos: 1 });
    await t1.publishAsync('door/t1/events', 'still here', { qos: 1 });
    await waitFor(() => got.length > 0, 3000, "t1's event");
    await sleep(300);
    expect(got).toEqual(['door/t1/events still here']);
    await expect(terminalClient('t2', 't2')).rejects.toThrow();
    await Promise.all([t1.endAsync(), hub.endAsync(), t2.endAsync(true)]);
  }, 30_000);
});
