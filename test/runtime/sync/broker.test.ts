/**
 * Integration and fault tests against a real mosquitto (mutual TLS, certificate identity, ACL),
 * started by test/harness/mosquitto.ts on a random loopback port. Real time: kept short.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { createLogger } from '../../../core/log';
import { MAX_PAYLOAD_BYTES } from '../../../runtime/protocol/limits';
import { generateSigningKeyPair, signBody } from '../../../runtime/protocol/signing';
import { BROKER_LIMITS } from '../../../provisioning/broker';
import { HubRosterStore } from '../../../provisioning/hub/roster';
import { topicsFor } from '../../../runtime/protocol/topics';
import { MemoryRosterSink } from '../../../runtime/sync/roster-sink';
import { MosquittoBroker } from '../../harness/mosquitto';
import { waitFor } from '../../harness/wait';
import { TestPki } from '../../harness/pki';
import { entryEvent, makeTerminal, mqttTransport, person, startHub, type TestHub, type TestTerminal } from '../../harness/sync-site';

const dir = mkdtempSync(join(tmpdir(), 'sync-broker-'));
const keys = generateSigningKeyPair();
let pki: TestPki;
let broker: MosquittoBroker;
let hub: TestHub;
const terminals: TestTerminal[] = [];

function terminal(id: string, sink?: MemoryRosterSink): TestTerminal {
  const t = makeTerminal({ broker, pki, id, dbPath: join(dir, `${id}.db`), hubPublicKey: keys.publicKey, ...(sink ? { sink } : {}) });
  terminals.push(t);
  return t;
}

beforeAll(async () => {
  pki = TestPki.create(join(dir, 'pki'));
  broker = await MosquittoBroker.start(join(dir, 'broker'), pki);
  // Small chunks (about one person each) so that every snapshot here is cut into many signed chunks.
  hub = await startHub(broker, pki, dir, keys, { roster: new HubRosterStore({ now: () => Date.now(), signingKey: keys.privateKey, idOf: (p) => p.id, maxChunkBytes: 1500 }) });
  hub.roster.change({ upsert: [person(1), person(2), person(3)], remove: [] });
});

afterAll(async () => {
  for (const t of terminals) await t.stop().catch(() => undefined);
  await hub.stop();
  await broker.stop();
});

test('a new terminal receives the roster, applies a published delta, uploads events and reports online', async () => {
  const t = terminal('door-a');
  t.client.start();
  await waitFor(() => t.sink.version() === hub.roster.version(), 5000, 'initial snapshot');
  const v = await hub.hub.publishChange({ upsert: [person(4)], remove: [] });
  await waitFor(() => t.sink.version() === v, 5000, 'delta');
  const evs = Array.from({ length: 50 }, (_, i) => entryEvent(Date.now() + i));
  for (const e of evs) t.client.record(e);
  await waitFor(() => t.client.outbox.depth() === 0, 5000, 'outbox drained');
  expect(hub.ingest.ids('door-a')).toEqual(evs.map((e) => e.id).sort());
  await waitFor(() => hub.hub.lastStatus('door-a')?.state === 'online', 5000, 'online status');
  expect(t.client.rejectedTotal()).toBe(0);
});

test('events that happen while the broker is stopped all reach the hub exactly once after it restarts', async () => {
  // The terminal's transport logs to `lines`: its failed reconnect attempts show that it tried.
  const lines: string[] = [];
  const log = createLogger({ level: 'warn', destination: new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }) });
  const t = makeTerminal({ broker, pki, id: 'door-b', dbPath: join(dir, 'door-b.db'), hubPublicKey: keys.publicKey, overrides: { transport: mqttTransport(broker, pki, 'door-b', log) } });
  terminals.push(t);
  t.client.start();
  await waitFor(() => t.client.connected() && t.sink.version() > 0, 5000, 'connected');
  await broker.stop();
  await waitFor(() => !t.client.connected(), 5000, 'disconnect noticed');
  const evs = Array.from({ length: 1000 }, (_, i) => entryEvent(Date.now() + i, `p-${i % 50}`));
  for (const e of evs) t.client.record(e);
  expect(t.client.outbox.depth()).toBe(1000);
  // It tries to reach the broker with the events waiting and cannot: they all stay in the outbox and
  // none is at the hub. (The positive control on this path: all 1000 arrive once the broker is back.)
  const tried = lines.length;
  await waitFor(() => lines.slice(tried).some((l) => l.includes('"msg":"mqtt error"') && l.includes('ECONNREFUSED')), 10_000, 'a reconnect attempt to fail');
  expect(t.client.outbox.depth()).toBe(1000);
  expect(hub.ingest.count('door-b')).toBe(0);
  await broker.restart();
  await waitFor(() => t.client.outbox.depth() === 0, 20_000, 'outbox drained after restart');
  expect(hub.ingest.count('door-b')).toBe(1000);
  expect(hub.ingest.ids('door-b')).toEqual(evs.map((e) => e.id).sort());
});

test('a revocation published while the terminal is offline is applied within 2 s of reconnecting', async () => {
  const sink = new MemoryRosterSink();
  const first = terminal('door-c', sink);
  first.client.start();
  await waitFor(() => sink.version() === hub.roster.version() && first.client.connected(), 5000, 'synced');
  await first.stop();
  expect(sink.persons.has('p-000002')).toBe(true);
  const v = await hub.hub.publishChange({ upsert: [], remove: ['p-000002'] });

  const again = terminal('door-c', sink);
  let connectedAt = 0;
  let appliedAt = 0;
  again.client.on('connected', () => (connectedAt = Date.now()));
  again.client.on('roster-applied', (a) => {
    if (a.version === v) appliedAt = Date.now();
  });
  again.client.start();
  await waitFor(() => appliedAt > 0, 5000, 'revocation applied');
  expect(sink.persons.has('p-000002')).toBe(false);
  expect(appliedAt - connectedAt).toBeLessThanOrEqual(2000);
});

test('a terminal that was away while more deltas were published than the broker queues for it catches up after reconnecting', async () => {
  const sink = new MemoryRosterSink();
  const first = terminal('door-q', sink);
  first.client.start();
  await waitFor(() => sink.version() === hub.roster.version() && first.client.connected(), 5000, 'synced');
  await first.stop();
  const from = sink.version();
  let v = 0;
  for (let i = 0; i < BROKER_LIMITS.maxQueuedMessages + 20; i++) v = await hub.hub.publishChange({ upsert: [person(5000 + i, 1, 16)], remove: [] });
  const again = terminal('door-q', sink);
  const deltas: number[] = [];
  again.client.on('roster-applied', (a) => a.kind === 'delta' && deltas.push(a.version));
  again.client.start();
  await waitFor(() => sink.version() === v, 15_000, 'the last delta');
  // The broker delivered what it had queued (up to its bound); the rest came from a sync request.
  expect(deltas).toEqual(Array.from({ length: v - from }, (_, i) => from + 1 + i));
  // A sync asked while the queue was still being delivered may bring some deltas twice: refused as stale.
  expect(Object.keys(again.client.rejected()).filter((r) => r !== 'stale-version')).toEqual([]);
}, 30_000);

test('a terminal cannot publish on another terminal\'s topics nor read its hub topics', async () => {
  const victim = terminal('door-e');
  victim.client.start();
  await waitFor(() => victim.client.connected(), 5000, 'victim connected');
  const a = pki.client('door-d');
  const intruder = await mqtt.connectAsync(broker.url, { ca: pki.ca, cert: a.cert, key: a.key, clientId: 'door-d', protocolVersion: 5 });
  try {
    const forged = entryEvent();
    // MQTT 5: the broker answers the QoS 1 publish with reason code 135, not authorised.
    await expect(intruder.publishAsync(topicsFor('door-e').events, JSON.stringify({ v: 1, events: [forged] }), { qos: 1 })).rejects.toMatchObject({ code: 135 });
    await expect(intruder.publishAsync('hub/door-e/commands', 'x', { qos: 1 })).rejects.toMatchObject({ code: 135 });
    // mosquitto may grant the subscription but never delivers what the ACL does not let it read.
    const seen: string[] = [];
    intruder.on('message', (topic) => seen.push(topic));
    await intruder.subscribeAsync(['hub/door-e/#', 'hub/+/commands'], { qos: 1 });
    const commands: string[] = [];
    victim.client.on('command', (c) => commands.push(c.type));
    await hub.hub.sendCommand('door-e', { type: 'reload-config' });
    await waitFor(() => commands.length === 1, 5000, 'victim got its command');
    // The positive control: a command for door-d itself, sent after the victim's, the same way. The
    // broker delivers a subscriber's messages in order: once it is in, the victim's would have been.
    await hub.hub.sendCommand('door-d', { type: 'reload-config' });
    await waitFor(() => seen.includes('hub/door-d/commands'), 5000, "the intruder's own command");
    expect(seen).toEqual(['hub/door-d/commands']);
    // Its own topics work.
    await intruder.publishAsync(topicsFor('door-d').events, JSON.stringify({ v: 1, events: [entryEvent()] }), { qos: 1 });
    await waitFor(() => hub.ingest.count('door-d') === 1, 5000, 'own event');
    expect(hub.ingest.count('door-e')).toBe(0);
  } finally {
    await intruder.endAsync();
  }
});

test('a client without a certificate from the community CA is refused', async () => {
  const attempt = async (cert: { cert: string; key: string }, clientId: string): Promise<string> => {
    const client = mqtt.connect(broker.url, { ca: pki.ca, cert: cert.cert, key: cert.key, clientId, reconnectPeriod: 0, connectTimeout: 3000 });
    const outcome = await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('error', (e) => resolve(`error: ${e.message}`));
      client.once('close', () => resolve('closed'));
    });
    await client.endAsync(true);
    return outcome;
  };
  const rogue = TestPki.create(join(dir, 'rogue-pki'));
  // The broker checks the client certificate against the community CA during the TLS handshake.
  expect(await attempt(rogue.client('door-a'), 'rogue')).toMatch(/^error: .*alert unknown ca/);
  // The positive control: the same connection with the community's own certificate for door-a gets in.
  expect(await attempt(pki.client('door-a'), 'door-a-check')).toBe('connected');
});

test('a tampered delta, bad JSON and a payload over the limit sent through the broker are rejected, counted and change nothing', async () => {
  const t = terminal('door-f');
  t.client.start();
  await waitFor(() => t.sink.version() === hub.roster.version() && t.client.connected(), 5000, 'synced');
  const before = t.sink.version();
  const persons = [...t.sink.persons.keys()];
  const hubRaw = pki.client('hub-tool');
  const raw = await mqtt.connectAsync(broker.url, { ca: pki.ca, cert: hubRaw.cert, key: hubRaw.key, clientId: 'hub-tool' });
  try {
    const T = topicsFor('door-f');
    const good = JSON.parse(signBody({ v: 1, kind: 'roster.delta', version: before + 1, batch: { version: before + 1, upsert: [], remove: persons } }, keys.privateKey)) as { body: string };
    const tampered = JSON.stringify({ ...good, body: good.body.replace('"remove":[', '"remove":["p-999999",') });
    await raw.publishAsync(T.roster, tampered, { qos: 1 });
    await raw.publishAsync(T.roster, '{not json', { qos: 1 });
    // Just within the broker's packet limit, just over the terminal's payload limit (a larger one
    // would cost the sender its connection: test/provisioning/broker.test.ts).
    await raw.publishAsync(T.roster, Buffer.alloc(MAX_PAYLOAD_BYTES + 100, 0x61), { qos: 1 });
    await raw.publishAsync(T.commands, signBody({ v: 1, kind: 'command', terminalId: 'door-f', nonce: 'abcdefghijklmnop', issuedAt: Date.now() - 120_000, expiresAt: Date.now() - 60_000, command: { type: 'wipe' } }, keys.privateKey), { qos: 1 });
    await waitFor(() => t.client.rejectedTotal() === 4, 10_000, 'four rejections');
    expect(t.client.rejected()).toEqual({ signature: 1, 'bad-json': 1, 'too-large': 1, expired: 1 });
    expect(t.sink.version()).toBe(before);
    expect([...t.sink.persons.keys()]).toEqual(persons);
  } finally {
    await raw.endAsync();
  }
});

test('a snapshot interrupted by a broker outage and a terminal restart is completed and applied once', async () => {
  const sink = new MemoryRosterSink();
  const t = terminal('door-g', sink);
  t.client.start();
  await waitFor(() => t.client.connected() && sink.version() === hub.roster.version(), 5000, 'first sync');
  const staged = (): number => {
    const db = new Database(join(dir, 'door-g.db'), { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM staged_chunks').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  // The master roster grows by 1,500 persons (one chunk each) and goes to the terminal as a snapshot;
  // the broker and the terminal are cut off mid-transfer.
  hub.roster.change({ upsert: Array.from({ length: 1500 }, (_, i) => person(100 + i, 1, 600)), remove: [] });
  const target = hub.roster.version();
  expect(hub.roster.snapshot().chunks.length).toBeGreaterThan(1500);
  void hub.hub.sendSnapshot('door-g').catch(() => undefined);
  await waitFor(() => staged() >= 20, 10_000, 'part of the snapshot staged');
  await broker.stop();
  await t.stop();
  expect(staged()).toBeLessThan(hub.roster.snapshot().chunks.length);
  expect(sink.version()).toBeLessThan(target);

  await broker.restart();
  const again = terminal('door-g', sink);
  const applied: number[] = [];
  again.client.on('roster-applied', (a) => applied.push(a.version));
  again.client.start();
  await waitFor(() => sink.version() === target, 20_000, 'snapshot applied');
  expect(sink.persons.size).toBe(hub.roster.size());
  expect(applied).toEqual([target]);
  // Nothing left over from the interrupted transfer is refused afterwards: a delta the hub publishes
  // now comes after anything still queued for the terminal, and it is applied.
  const next = await hub.hub.publishChange({ upsert: [person(9999)], remove: [] });
  await waitFor(() => sink.version() === next, 10_000, 'the delta after the snapshot');
  expect(applied).toEqual([target, next]);
  expect(again.client.rejected()).toEqual({});
}, 60_000); // its own waits add up to 35 s on a loaded machine: let them, not jest's default, say what is late
