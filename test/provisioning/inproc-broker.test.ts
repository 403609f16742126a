/** The hub's in-process broker enforces the same rules as the generated mosquitto ACL. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { addTerminal, initCommunity, revokeTerminal, type Community } from '../../provisioning';
import { mayPublish, maySubscribe } from '../../provisioning/inproc-broker';
import { BROKER_LIMITS } from '../../provisioning/broker';
import { freeLoopbackPort } from '../../provisioning/ports';
import { unlockedPem } from '../../provisioning/pki';
import { waitFor } from '../harness/wait';
import { closed, oversizePublish } from '../harness/broker-contract';
import { admin } from '../harness/admin';

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
    community = initCommunity({ dir: join(dir, 'c'), passphrase: PASS, brokerUrl: `mqtts://127.0.0.1:${port}`, now: Date.now(), actor: 'test-operator' });
    for (const id of ['t1', 't2', 't3']) addTerminal(admin(community, { passphrase: PASS }), { id, doorId: `d-${id}`, out: join(dir, `b-${id}`) });
    // a child process: jest's module loader cannot load aedes (an ES module); Node can
    broker = spawn(process.execPath, [require.resolve('tsx/cli'), join(__dirname, '../harness/inproc-broker-child.ts'), join(dir, 'c'), String(port), '100'], { stdio: ['ignore', 'pipe', 'inherit'] });
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

  function connect(id: string, clientId: string, o: { clean?: boolean } = {}): Promise<MqttClient> {
    const hub = id === 'hub';
    const c = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
      clientId,
      clean: o.clean ?? true,
      ca: readFileSync(community.paths.ca.cert),
      cert: readFileSync(hub ? community.paths.hubTlsCert : join(dir, `b-${id}`, 'device.crt')),
      key: hub ? unlockedPem(community.paths.hubTlsKey, PASS) : readFileSync(join(dir, `b-${id}`, 'device.key')),
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
    const t1 = await connect('t1', 't1');
    const t2 = await connect('t2', 't2');
    const got: string[] = [];
    t2.on('message', (topic) => got.push(topic));
    // refused outright (SUBACK failure code), where mosquitto grants and then delivers nothing
    await expect(t2.subscribeAsync('door/t1/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await expect(t2.subscribeAsync('hub/t1/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    await t2.subscribeAsync('hub/t2/#', { qos: 1 }); // its own topics are fine
    await t2.subscribeAsync('hub/roster/all', { qos: 1 });
    await t1.publishAsync('door/t1/events', 'x', { qos: 1 });
    // Forged publishes, on another terminal's topic and on the hub's roster topic every terminal reads:
    // refused (MQTT 3.1.1 has no refusal code: the broker drops the connection), delivered to nobody
    // (t2 could read door/t1/# only if its refused subscription had taken).
    const dropped = new Promise<void>((r) => t1.once('close', () => r()));
    t1.publish('door/t2/events', 'forged', { qos: 1 });
    t1.publish('hub/roster/all', 'forged roster', { qos: 1 });
    t1.publish('hub/t2/commands', 'forged command', { qos: 1 });
    await dropped;
    // The positive control: the hub, after the forgeries were refused, publishes on the same topics t2
    // may read; what t2 receives is exactly that.
    const hub = await connect('hub', 'hub');
    await hub.publishAsync('hub/roster/all', 'from the hub', { qos: 1 });
    await hub.publishAsync('hub/t2/commands', 'for t2', { qos: 1 });
    await waitFor(() => got.length >= 2, 5000, "the hub's messages");
    expect(got).toEqual(['hub/roster/all', 'hub/t2/commands']);
    await Promise.all([t2.endAsync(true), hub.endAsync(true)]);
  });

  it("binds the client id to the certificate: a terminal asking for the hub's id does not take over the hub's session", async () => {
    const hub = await connect('hub', 'hub');
    const hubGone = closed(hub);
    const got: string[] = [];
    hub.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await hub.subscribeAsync('door/+/events', { qos: 1 });
    const thief = await connect('t1', 'hub');
    await thief.publishAsync('door/t1/events', 'from the thief', { qos: 1 });
    await waitFor(() => got.length > 0, 3000, 'the event');
    await new Promise((r) => setTimeout(r, 200));
    expect(hubGone()).toBe(false);
    expect(got).toEqual(['door/t1/events from the thief']);
    await Promise.all([thief.endAsync(), hub.endAsync()]);
  });

  it("closes a connection sending a 20 MB publish on its event topic and carries the largest legitimate message", async () => {
    const { chunks, got } = await oversizePublish((user, id) => connect(user, id));
    expect(chunks).toEqual([1_040_000]);
    expect(got).toEqual([{ topic: 'door/t1/events', bytes: 7 }]);
  }, 30_000);

  it("bounds an offline terminal's queue like mosquitto (queued and in flight together)", async () => {
    const t3 = await connect('t3', 't3', { clean: false });
    await t3.subscribeAsync('hub/t3/acks', { qos: 1 });
    await t3.endAsync();
    const hub = await connect('hub', 'hub');
    const bound = BROKER_LIMITS.maxQueuedMessages + BROKER_LIMITS.maxInflightMessages;
    await Promise.all(Array.from({ length: bound + 100 }, (_, i) => hub.publishAsync('hub/t3/acks', String(i), { qos: 1 })));
    const got: number[] = [];
    const back = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
      clientId: 't3', clean: false, reconnectPeriod: 0,
      ca: readFileSync(community.paths.ca.cert), cert: readFileSync(join(dir, 'b-t3', 'device.crt')), key: readFileSync(join(dir, 'b-t3', 'device.key')),
    });
    clients.push(back);
    back.on('message', (_t, p) => got.push(Number(p.toString())));
    await waitFor(() => got.length >= bound, 10_000, 'the queued messages');
    await new Promise((r) => setTimeout(r, 500));
    expect(got.length).toBe(bound);
    expect(got.slice(0, 3)).toEqual([0, 1, 2]);
    // A message published once the queue is drained is delivered again.
    await hub.publishAsync('hub/t3/acks', 'after', { qos: 1 });
    await waitFor(() => got.length === bound + 1, 3000, 'the next message');
    await Promise.all([back.endAsync(), hub.endAsync()]);
  }, 30_000);

  it('revocation closes the open connection of the revoked terminal and refuses it at connect, without a signal', async () => {
    const hub = await connect('hub', 'hub');
    const got: string[] = [];
    hub.on('message', (topic, payload) => got.push(`${topic} ${payload.toString()}`));
    await hub.subscribeAsync('door/+/events', { qos: 1 });
    const t1 = await connect('t1', 't1');
    const t2 = await connect('t2', 't2');
    const t2Gone = closed(t2);
    revokeTerminal(admin(community, { passphrase: PASS }), { id: 't2' });
    await waitFor(t2Gone, 3000, "the revoked terminal's connection closed");
    await t1.publishAsync('door/t1/events', 'still here', { qos: 1 });
    await waitFor(() => got.length > 0, 3000, "t1's event");
    expect(got).toEqual(['door/t1/events still here']);
    // Refused at connect: the broker closes the connection without accepting it (no CONNACK) ...
    await expect(connect('t2', 't2-again')).rejects.toThrow(/Not authorized|certificate revoked|connection closed/);
    // ... while it still accepts a terminal that was not revoked (so the refusal is not the broker gone).
    const t1Again = await connect('t1', 't1-again');
    expect(t1Again.connected).toBe(true);
    await Promise.all([t1.endAsync(), t1Again.endAsync(), hub.endAsync()]);
  });
});
