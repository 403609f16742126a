/** The hub's in-process broker enforces the same rules as the generated mosquitto ACL. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { addTerminal, initCommunity, revokeTerminal, type Community } from '../../provisioning';
import { mayPublish, maySubscribe } from '../../provisioning/inproc-broker';
import { unlockedPem } from '../../provisioning/pki';
import { freeLoopbackPort } from '../../provisioning/ports';
import { waitFor } from '../harness/wait';

const PASS = 'test-passphrase';

describe('broker rules', () => {
  it('lets a terminal write only under door/<itself> and read only hub/<itself> and hub/roster/all', () => {
    expect(mayPublish('t1', 'door/t1/events')).toBe(true);
    expect(mayPublish('t1', 'door/t2/events')).toBe(false);
    expect(mayPublish('t1', 'door/t1x/events')).toBe(false);
    expect(mayPublish('t1', 'hub/t1/commands')).toBe(false);
    expect(maySubscribe('t1', 'hub/t1/#')).toBe(true);
    expect(maySubscribe('t1', 'hub/roster/all')).toBe(true);
    expect(maySubscribe('t1', 'hub/t2/commands')).toBe(false);
    expect(maySubscribe('t1', 'hub/#')).toBe(false);
    expect(maySubscribe('t1', '#')).toBe(false);
    expect(mayPublish('hub', 'hub/t1/commands')).toBe(true);
  });
});

describe('in-process broker', () => {
  let community: Community;
  let broker: ChildProcess;
  let port: number;
  let dir: string;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'doorway-inproc-'));
    port = await freeLoopbackPort();
    community = initCommunity({ dir: join(dir, 'c'), passphrase: PASS, brokerUrl: `mqtts://127.0.0.1:${port}` });
    addTerminal(community, { id: 't1', doorId: 'd1', out: join(dir, 'b1'), passphrase: PASS });
    addTerminal(community, { id: 't2', doorId: 'd2', out: join(dir, 'b2'), passphrase: PASS });
    // a child process: jest's module loader cannot load aedes (an ES module); Node can
    broker = spawn(process.execPath, [require.resolve('tsx/cli'), join(__dirname, '../harness/inproc-broker-child.ts'), join(dir, 'c'), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      broker.stdout?.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
      broker.once('exit', (code) => reject(new Error(`broker exited ${code}`)));
    });
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    broker.kill('SIGTERM');
    community.close();
  });

  /** A client with a terminal bundle's credentials, or (bundle `hub`) the community's hub identity. */
  function connect(bundle: string, id: string): Promise<MqttClient> {
    const hub = bundle === 'hub';
    const c = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
      clientId: id,
      ca: readFileSync(hub ? community.paths.ca.cert : join(dir, bundle, 'ca.crt')),
      cert: readFileSync(hub ? community.paths.hubTlsCert : join(dir, bundle, 'device.crt')),
      key: hub ? unlockedPem(community.paths.hubTlsKey, PASS) : readFileSync(join(dir, bundle, 'device.key')),
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    clients.push(c);
    return new Promise((resolve, reject) => {
      c.once('connect', () => resolve(c));
      c.once('error', reject);
      c.once('close', () => reject(new Error('connection closed')));
    });
  }

  it("refuses a terminal's subscription to another terminal's topics and delivers it nothing", async () => {
    const t1 = await connect('b1', 't1');
    const t2 = await connect('b2', 't2');
    const got: string[] = [];
    t2.on('message', (topic) => got.push(topic));
    // refused outright (SUBACK failure code), where mosquitto grants and then delivers nothing
    await expect(t2.subscribeAsync('door/t1/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await expect(t2.subscribeAsync('hub/t1/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await t2.subscribeAsync('hub/t2/#', { qos: 1 }); // its own topics are fine
    const probe = await connect('b1', 't1-probe'); // same identity as t1 (CN from its certificate)
    const own: string[] = [];
    probe.on('message', (topic, payload) => own.push(`${topic} ${payload.toString()}`));
    await probe.subscribeAsync('hub/roster/all', { qos: 1 });
    await t1.publishAsync('door/t1/events', 'x', { qos: 1 });
    // Forged publishes, on another terminal's topic and on the hub's roster topic every terminal reads:
    // refused (MQTT 3.1.1 has no refusal code: the broker drops the connection), delivered to nobody
    // (t2 could read door/t1/# only if its refused subscription had taken).
    const forger = await connect('b1', 't1-forger');
    const dropped = [t1, forger].map((c) => new Promise<void>((r) => c.once('close', () => r())));
    t1.publish('door/t2/events', 'forged', { qos: 1 });
    forger.publish('hub/roster/all', 'forged roster', { qos: 1 });
    await Promise.all(dropped);
    // The positive control: the hub, after the forgeries were refused, publishes on the same topics
    // these subscribers may read; what they receive is exactly that.
    const hub = await connect('hub', 'hub');
    await hub.publishAsync('hub/roster/all', 'from the hub', { qos: 1 });
    await hub.publishAsync('hub/t2/commands', 'for t2', { qos: 1 });
    await waitFor(() => own.length > 0 && got.length > 0, 5000, "the hub's messages");
    expect(own).toEqual(['hub/roster/all from the hub']);
    expect(got).toEqual(['hub/t2/commands']);
  });

  it('refuses a revoked terminal at connect', async () => {
    revokeTerminal(community, 't2', { passphrase: PASS });
    // The broker checks the terminal list at CONNECT: a revoked terminal's CONNACK says not authorised.
    await expect(connect('b2', 't2-again')).rejects.toThrow(/Connection refused: Not authorized/);
    // Only t2's certificate is on the CRL: t1's still gets in.
    expect((await connect('b1', 't1-again')).connected).toBe(true);
  });
});
