import { randomBytes, type KeyObject } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { FakeClock } from '../../../core/clock';
import { silentLogger, type Logger } from '../../../core/log';
import { StatusMessageSchema, type Command, type CommandBody, type Health, type RosterSnapshotChunk } from '../../../runtime/protocol/schemas';
import { generateSigningKeyPair, signBody } from '../../../runtime/protocol/signing';
import { SNAPSHOT_WINDOW_CHUNKS } from '../../../runtime/protocol/limits';
import { rosterKeyOf, sealRosterBody } from '../../../runtime/protocol/roster-seal';
import { topicsFor } from '../../../runtime/protocol/topics';
import { SyncClient, type CommandMeta, type Rejected } from '../../../runtime/sync/client';
import { Outbox } from '../../../runtime/sync/outbox';
import { openSyncDb, type SyncDb } from '../../../runtime/sync/db';
import { FakeTransport } from '../../../runtime/sync/fake-transport';
import { ephemeralStagingKey } from '../../../runtime/sync/snapshot-staging';
import { MemoryRosterSink, SimpleRosterBatchSchema, SimpleRosterItemSchema } from '../../../runtime/sync/roster-sink';
import { heldOf } from '../../../runtime/roster/acceptance';
import { HubRosterStore } from '../../../provisioning/hub/roster';
import { entryEvent, person, signedCommand } from '../../harness/sync-site';

const hubKeys = generateSigningKeyPair();
const otherKeys = generateSigningKeyPair();
const T = topicsFor('door-1');
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Site {
  clock: FakeClock;
  transport: FakeTransport;
  sink: MemoryRosterSink;
  db: SyncDb;
  client: SyncClient;
  rejected: Rejected[];
  commands: Command[];
  metas: CommandMeta[];
  hub: HubRosterStore;
  /** Number of messages published before the last connect finished (requests() looks after it). */
  mark: number;
}

function site(opts: { db?: SyncDb; sink?: MemoryRosterSink; log?: Logger; clock?: FakeClock; stagingKey?: KeyObject; rosterKey?: KeyObject; outbox?: Outbox; commandsIssuedAfter?: number; faults?: Health['faults']; update?: Health['update'] } = {}): Site {
  const clock = opts.clock ?? new FakeClock();
  const transport = new FakeTransport();
  const sink = opts.sink ?? new MemoryRosterSink();
  const db = opts.db ?? openSyncDb(':memory:');
  const client = new SyncClient({
    terminalId: 'door-1',
    transport,
    clock,
    log: opts.log ?? silentLogger(),
    db,
    ...(opts.stagingKey ? { stagingKey: opts.stagingKey } : {}),
    ...(opts.rosterKey ? { rosterKey: opts.rosterKey } : {}),
    ...(opts.outbox ? { outbox: opts.outbox } : {}),
    ...(opts.commandsIssuedAfter !== undefined ? { commandsIssuedAfter: opts.commandsIssuedAfter } : {}),
    hubPublicKey: hubKeys.publicKey,
    roster: { sink, batchSchema: SimpleRosterBatchSchema, itemSchema: SimpleRosterItemSchema },
    health: () => ({ cameraFps: 24.5, lastDecisionLatencyMs: 180, ...(opts.faults ? { faults: opts.faults } : {}), ...(opts.update ? { update: opts.update } : {}) }),
    versions: { software: '1.2.3', model: 'mobilefacenet-test' },
    timing: { heartbeatMs: 10_000, ackTimeoutMs: 1_000, maxBackoffMs: 8_000, tickMs: 100, resyncRetryMs: 2_000 },
  });
  const rejected: Rejected[] = [];
  const commands: Command[] = [];
  const metas: CommandMeta[] = [];
  client.on('rejected', (r) => rejected.push(r));
  client.on('command', (c, meta) => {
    commands.push(c);
    metas.push(meta);
  });
  client.start();
  const hub = new HubRosterStore({ now: () => Date.now(), signingKey: hubKeys.privateKey, idOf: (p) => p.id, maxChunkBytes: 3000 });
  return { clock, transport, sink, db, client, rejected, commands, metas, hub, mark: 0 };
}

async function online(s: Site, sessionPresent = true): Promise<void> {
  s.transport.connect(sessionPresent);
  await flush();
  s.mark = s.transport.published.length;
}

function command(body: Partial<CommandBody> & { command: Command }, clock: FakeClock, key = hubKeys.privateKey): string {
  const { command: c, ...over } = body;
  return signedCommand(c, clock, key, over);
}

/** Requests to the hub since the last connect completed (a fresh terminal's first sync excluded). */
function requests(s: Site): unknown[] {
  return s.transport.published.slice(s.mark).filter((p) => p.topic === T.requests).map((p) => JSON.parse(p.payload) as unknown);
}

/** A roster body as the community hub sends it: sealed to `to` with `key`, then signed. */
function sealedTo(to: string, key: KeyObject, body: object): string {
  return signBody(sealRosterBody(JSON.stringify(body), to, key), hubKeys.privateKey);
}

describe('roster bodies sealed to the terminal', () => {
  const key = rosterKeyOf(randomBytes(32));
  const delta = (version: number, after?: number): object => ({ v: 1, kind: 'roster.delta', version, ...(after !== undefined ? { after } : {}), batch: { version, upsert: [person(version)], remove: [] } });

  test('a terminal with a roster key applies a delta sealed to it, and one following an earlier version it holds', async () => {
    const s = site({ rosterKey: key });
    await online(s);
    s.transport.deliver(T.roster, sealedTo('door-1', key, delta(1)));
    s.transport.deliver(T.roster, sealedTo('door-1', key, delta(7, 1)));
    expect(s.sink.version()).toBe(7);
    expect([...s.sink.persons.keys()].sort()).toEqual(['p-000001', 'p-000007']);
    expect(s.client.rejectedTotal()).toBe(0);
  });

  test('a terminal with a roster key refuses plain roster data, a box for another terminal and a box under another key, and changes nothing', async () => {
    const s = site({ rosterKey: key });
    await online(s);
    s.transport.deliver(T.rosterAll, s.hub.change({ upsert: [person(1)], remove: [] }).payload);
    s.transport.deliver(T.roster, sealedTo('door-2', key, delta(1)));
    s.transport.deliver(T.roster, sealedTo('door-1', rosterKeyOf(randomBytes(32)), delta(1)));
    expect(s.rejected.map((r) => r.reason)).toEqual(['roster-unsealed', 'wrong-terminal', 'roster-unsealed']);
    expect(s.sink.version()).toBe(0);
  });

  test('a terminal without a roster key cannot take a sealed box', async () => {
    const s = site();
    await online(s);
    s.transport.deliver(T.roster, sealedTo('door-1', key, delta(1)));
    expect(s.rejected.map((r) => r.reason)).toEqual(['roster-unsealed']);
    expect(s.sink.version()).toBe(0);
  });

  test('a delta following a version the terminal has not reached is held, and applied once the gap is filled', async () => {
    const s = site({ rosterKey: key });
    await online(s);
    s.transport.deliver(T.roster, sealedTo('door-1', key, delta(5, 3)));
    expect(s.sink.version()).toBe(0);
    s.transport.deliver(T.roster, sealedTo('door-1', key, delta(3, 0)));
    expect(s.sink.history).toEqual(['delta:3', 'delta:5']);
    s.transport.deliver(T.roster, sealedTo('door-1', key, delta(3, 0))); // late duplicate: stale
    expect(s.rejected.map((r) => r.reason)).toEqual(['stale-version']);
    expect(s.sink.version()).toBe(5);
  });
});

describe('roster deltas', () => {
  test('a signed delta with the next version is applied and nothing is counted as rejected', async () => {
    const s = site();
    await online(s);
    s.transport.deliver(T.rosterAll, s.hub.change({ upsert: [person(1)], remove: [] }).payload);
    expect(s.sink.version()).toBe(1);
    expect(s.sink.persons.has('p-000001')).toBe(true);
    expect(s.client.rejectedTotal()).toBe(0);
  });

  test('a delta whose signed body was altered is rejected as a bad signature and changes nothing', async () => {
    const s = site();
    await online(s);
    s.transport.deliver(T.rosterAll, s.hub.change({ upsert: [person(1)], remove: [] }).payload);
    const d2 = s.hub.change({ upsert: [], remove: ['p-000001'] }).payload;
    const tampered = d2.replace('p-000001', 'p-000002');
    expect(tampered).not.toBe(d2);
    s.transport.deliver(T.rosterAll, tampered);
    expect(s.rejected).toEqual([{ reason: 'signature', topic: 'rosterAll' }]);
    expect(s.sink.version()).toBe(1);
    expect(s.sink.persons.has('p-000001')).toBe(true);
  });

  test('a delta signed by a key other than the pinned hub key is rejected', async () => {
    const s = site();
    await online(s);
    const forged = new HubRosterStore({ now: () => Date.now(), signingKey: otherKeys.privateKey, idOf: (p) => p.id });
    s.transport.deliver(T.roster, forged.change({ upsert: [person(9)], remove: [] }).payload);
    expect(s.client.rejected()).toEqual({ signature: 1 });
    expect(s.sink.version()).toBe(0);
  });

  test('an old or repeated delta version is rejected and the roster stays as it was', async () => {
    const s = site();
    await online(s);
    const d1 = s.hub.change({ upsert: [person(1)], remove: [] }).payload;
    const d2 = s.hub.change({ upsert: [], remove: ['p-000001'] }).payload;
    s.transport.deliver(T.rosterAll, d1);
    s.transport.deliver(T.rosterAll, d2);
    s.transport.deliver(T.rosterAll, d2);
    s.transport.deliver(T.rosterAll, d1);
    expect(s.client.rejected()).toEqual({ 'stale-version': 2 });
    expect(s.sink.history).toEqual(['delta:1', 'delta:2']);
  });

  test('a gap asks the hub for a sync from the current version, holds the delta and applies it once the gap is filled', async () => {
    const s = site();
    await online(s);
    const d1 = s.hub.change({ upsert: [person(1)], remove: [] }).payload;
    const d2 = s.hub.change({ upsert: [person(2)], remove: [] }).payload;
    const d3 = s.hub.change({ upsert: [person(3)], remove: [] }).payload;
    s.transport.deliver(T.rosterAll, d1);
    s.transport.deliver(T.rosterAll, d3);
    await flush();
    expect(s.sink.version()).toBe(1);
    expect(requests(s)).toEqual([{ v: 1, kind: 'sync', version: 1, epoch: heldOf(s.hub.epoch()) }]);
    s.transport.deliver(T.roster, d2);
    expect(s.sink.history).toEqual(['delta:1', 'delta:2', 'delta:3']);
    expect(s.client.rejectedTotal()).toBe(0);
  });

  test('bad JSON, an unknown field, a newer schema version and a 10 MB payload are each rejected and counted', async () => {
    const s = site();
    await online(s);
    s.transport.deliver(T.rosterAll, s.hub.change({ upsert: [person(1)], remove: [] }).payload);
    s.transport.deliver(T.rosterAll, '{"v":1,"body":');
    const extra = signBody({ v: 1, kind: 'roster.delta', version: 2, batch: { version: 2, upsert: [], remove: [] }, x: 1 }, hubKeys.privateKey);
    s.transport.deliver(T.rosterAll, extra);
    const v2 = signBody({ v: 2, kind: 'roster.delta', version: 2, batch: { version: 2, upsert: [], remove: [] } }, hubKeys.privateKey);
    s.transport.deliver(T.rosterAll, v2);
    const badBatch = signBody({ v: 1, kind: 'roster.delta', epoch: s.hub.epoch(), version: 2, batch: { version: 2, upsert: [{ id: 'x' }], remove: [] } }, hubKeys.privateKey);
    s.transport.deliver(T.rosterAll, badBatch);
    s.transport.deliver(T.rosterAll, Buffer.alloc(10 * 1024 * 1024, 0x20));
    expect(s.client.rejected()).toEqual({ 'bad-json': 1, schema: 3, 'too-large': 1 });
    expect(s.sink.history).toEqual(['delta:1']);
  });

  test('connecting without a stored session asks the hub for a sync from the current version', async () => {
    const s = site();
    await online(s);
    s.transport.deliver(T.rosterAll, s.hub.change({ upsert: [person(1)], remove: [] }).payload);
    s.transport.disconnect();
    await online(s, true);
    expect(s.transport.on(T.requests)).toEqual([{ v: 1, kind: 'sync', version: 0 }]);
    s.transport.disconnect();
    await online(s, false);
    expect(s.transport.on(T.requests)).toEqual([
      { v: 1, kind: 'sync', version: 0 },
      { v: 1, kind: 'sync', version: 1, epoch: heldOf(s.hub.epoch()) },
    ]);
  });

  test('a rejected message is logged with its reason but never with its contents', async () => {
    const lines: string[] = [];
    const sinkStream = new Writable({
      write(chunk: Buffer, _enc, cb): void {
        lines.push(chunk.toString());
        cb();
      },
    });
    const s = site({ log: pino({ level: 'debug' }, sinkStream) });
    await online(s);
    const secret = signBody({ v: 1, kind: 'roster.delta', version: 1, batch: { version: 1, upsert: [{ id: 'SECRET-PERSON-42', templates: [], tags: [], name: 'x' }], remove: [] } }, hubKeys.privateKey);
    s.transport.deliver(T.rosterAll, secret);
    s.transport.deliver(T.rosterAll, 'SECRET-PERSON-42 not json');
    await flush();
    const rejectLines = lines.filter((l) => l.includes('message rejected'));
    expect(rejectLines).toHaveLength(2);
    expect(lines.join('\n')).not.toContain('SECRET-PERSON-42');
  });
});

describe('roster snapshots', () => {
  function chunks(s: Site, n: number): { payloads: string[]; bodies: RosterSnapshotChunk[] } {
    s.hub.change({ upsert: Array.from({ length: n }, (_, i) => person(i, 1, 256)), remove: [] });
    const snap = s.hub.snapshot();
    const bodies = snap.chunks.map((c) => JSON.parse((JSON.parse(c) as { body: string }).body) as RosterSnapshotChunk);
    return { payloads: snap.chunks, bodies };
  }

  test('a chunked snapshot is applied only when every chunk has arrived, whatever their order', async () => {
    const s = site();
    await online(s);
    const { payloads } = chunks(s, 40);
    expect(payloads.length).toBeGreaterThan(3);
    const order = payloads.map((_, i) => i).reverse();
    for (const i of order.slice(0, -1)) s.transport.deliver(T.roster, payloads[i]!);
    expect(s.sink.version()).toBe(0);
    s.transport.deliver(T.roster, payloads[order[order.length - 1]!]!);
    expect(s.sink.history).toEqual(['snapshot:1']);
    expect(s.sink.persons.size).toBe(40);
  });

  test('as soon as a window of chunks is in, the next missing ones are asked for, without waiting for silence', async () => {
    const s = site();
    await online(s);
    const { payloads, bodies } = chunks(s, 240);
    expect(payloads.length).toBeGreaterThan(2 * SNAPSHOT_WINDOW_CHUNKS);
    // The hub answers a request with its first window.
    for (const p of payloads.slice(0, SNAPSHOT_WINDOW_CHUNKS - 1)) s.transport.deliver(T.roster, p);
    expect(requests(s)).toEqual([]);
    s.transport.deliver(T.roster, payloads[SNAPSHOT_WINDOW_CHUNKS - 1]!);
    const missing = payloads.map((_, i) => i).slice(SNAPSHOT_WINDOW_CHUNKS);
    expect(requests(s)).toEqual([{ v: 1, kind: 'snapshot', resume: { snapshotId: bodies[0]?.snapshotId, missing } }]);
    for (const p of payloads.slice(SNAPSHOT_WINDOW_CHUNKS)) s.transport.deliver(T.roster, p);
    expect(s.sink.history).toEqual(['snapshot:1']);
  });

  test('an interrupted snapshot resumes after a restart by asking only for the missing chunks', async () => {
    const db = openSyncDb(':memory:');
    const sink = new MemoryRosterSink();
    // The same staging key after the restart (a terminal derives it from its device secret).
    const stagingKey = ephemeralStagingKey();
    const s = site({ db, sink, stagingKey });
    await online(s);
    const { payloads } = chunks(s, 40);
    for (const p of payloads.slice(0, 2)) s.transport.deliver(T.roster, p);
    s.transport.disconnect();
    await s.client.stop();

    const s2 = site({ db, sink, stagingKey });
    await online(s2, false);
    const req = s2.transport.on(T.requests)[0] as { kind: string; resume: { missing: number[] } };
    expect(req.kind).toBe('snapshot');
    expect(req.resume.missing).toEqual(payloads.slice(2).map((_, i) => i + 2));
    for (const p of payloads.slice(2)) s2.transport.deliver(T.roster, p);
    expect(sink.version()).toBe(1);
    expect(sink.persons.size).toBe(40);
  });

  test('after a reconnect that kept the session, missing chunks are asked for only if the broker stops delivering them', async () => {
    const s = site();
    await online(s);
    const { payloads } = chunks(s, 40);
    s.transport.deliver(T.roster, payloads[0]!);
    s.transport.disconnect();
    await online(s, true);
    s.clock.advance(1_000);
    s.transport.deliver(T.roster, payloads[1]!);
    s.clock.advance(1_900);
    expect(requests(s)).toHaveLength(0);
    s.clock.advance(200);
    expect(requests(s)).toEqual([{ v: 1, kind: 'snapshot', resume: { snapshotId: s.hub.snapshot().snapshotId, missing: payloads.slice(2).map((_, i) => i + 2) } }]);
    for (const p of payloads.slice(2)) s.transport.deliver(T.roster, p);
    for (const p of payloads.slice(2)) s.transport.deliver(T.roster, p);
    expect(s.sink.history).toEqual(['snapshot:1']);
    expect(s.client.rejectedTotal()).toBe(0);
  });

  test('a snapshot that stops arriving while connected is asked for again after the retry period', async () => {
    const s = site();
    await online(s);
    const { payloads } = chunks(s, 40);
    s.transport.deliver(T.roster, payloads[0]!);
    s.clock.advance(1_900);
    expect(requests(s)).toHaveLength(0);
    s.clock.advance(200);
    expect(requests(s)).toHaveLength(1);
  });

  test('a snapshot chunk with an invalid item is rejected and nothing is staged', async () => {
    const s = site();
    await online(s);
    const bad = signBody({ v: 1, kind: 'roster.snapshot', snapshotId: 'abc', version: 3, index: 0, count: 1, items: [{ id: 'p', templates: 'no' }] }, hubKeys.privateKey);
    s.transport.deliver(T.roster, bad);
    expect(s.client.rejected()).toEqual({ schema: 1 });
    expect(s.sink.version()).toBe(0);
    s.clock.advance(5_000);
    expect(requests(s)).toHaveLength(0);
  });

  test('deltas that arrive during a snapshot are applied after it when they follow its version', async () => {
    const s = site();
    await online(s);
    const { payloads } = chunks(s, 40);
    const d2 = s.hub.change({ upsert: [], remove: ['p-000000'] }).payload;
    s.transport.deliver(T.roster, payloads[0]!);
    s.transport.deliver(T.rosterAll, d2);
    for (const p of payloads.slice(1)) s.transport.deliver(T.roster, p);
    expect(s.sink.history).toEqual(['snapshot:1', 'delta:2']);
    expect(s.sink.persons.has('p-000000')).toBe(false);
  });
});

describe('an outbox handed in', () => {
  test('publishes what another owner records into it, as soon as it is committed, and deletes it on the ack', async () => {
    const db = openSyncDb(':memory:');
    const outbox = new Outbox(db, { capacity: 1000, log: silentLogger() });
    const s = site({ db, outbox });
    expect(s.client.outbox).toBe(outbox);
    await online(s);
    const ev = entryEvent(s.clock.now());
    outbox.enqueue(ev); // not through client.record: the terminal's recorder owns the outbox
    await flush();
    const sent = s.transport.on(T.events) as { events: { id: string }[] }[];
    expect(sent.flatMap((m) => m.events.map((e) => e.id))).toEqual([ev.id]);
    s.transport.deliver(T.acks, JSON.stringify({ v: 1, ids: [ev.id] }));
    expect(outbox.depth()).toBe(0);
  });

  test('says in its heartbeat which faults the terminal runs with (none when it runs with none)', async () => {
    const faulty = site({ faults: ['relay-fault', 'roster-corrupt'] });
    await online(faulty);
    expect((faulty.transport.on(T.status).at(-1) as { health: { faults: string[] } }).health.faults).toEqual(['relay-fault', 'roster-corrupt']);
    const fine = site();
    await online(fine);
    expect((fine.transport.on(T.status).at(-1) as { health: { faults: string[] } }).health.faults).toEqual([]);
  });
});

describe('commands', () => {
  test('a fresh signed command is handed to the application once', async () => {
    const s = site();
    await online(s);
    const c = command({ command: { type: 'unlock', durationMs: 5000, requestedBy: 'guard-wang' } }, s.clock);
    s.transport.deliver(T.commands, c);
    expect(s.commands).toEqual([{ type: 'unlock', durationMs: 5000, requestedBy: 'guard-wang' }]);
    // Its nonce is its id on the terminal (the hub audits the nonce of each command it sends).
    const body = JSON.parse((JSON.parse(c) as { body: string }).body) as CommandBody;
    expect(s.metas).toEqual([{ commandId: body.nonce, issuedAt: body.issuedAt }]);
  });

  test('commands issued before the nonce store was replaced are refused, later ones are carried out', async () => {
    const clock = new FakeClock();
    const s = site({ clock, commandsIssuedAfter: clock.now() + 60_000 });
    await online(s);
    s.transport.deliver(T.commands, command({ command: { type: 'resync' } }, s.clock));
    expect(s.commands).toEqual([]);
    expect(s.client.rejected()).toEqual({ expired: 1 });
    clock.advance(60_000);
    s.transport.deliver(T.commands, command({ command: { type: 'resync' } }, s.clock)); // issued at the limit: refused
    clock.advance(1);
    s.transport.deliver(T.commands, command({ command: { type: 'resync' } }, s.clock));
    expect(s.commands).toEqual([{ type: 'resync' }]);
    expect(s.client.rejected()).toEqual({ expired: 2 });
  });

  test('a retained command is ignored even when it is valid (no door that reopens at every reboot)', async () => {
    const s = site();
    await online(s);
    s.transport.deliver(T.commands, command({ command: { type: 'unlock', durationMs: 5000, requestedBy: 'guard-wang' } }, s.clock), true);
    expect(s.commands).toEqual([]);
    expect(s.client.rejected()).toEqual({ retained: 1 });
  });

  test('a replayed command nonce is refused, also after a restart', async () => {
    const db = openSyncDb(':memory:');
    const s = site({ db });
    await online(s);
    const c = command({ command: { type: 'unlock', durationMs: 5000, requestedBy: 'guard-wang' } }, s.clock);
    s.transport.deliver(T.commands, c);
    s.transport.deliver(T.commands, c);
    expect(s.commands).toHaveLength(1);
    expect(s.client.rejected()).toEqual({ 'replayed-nonce': 1 });
    await s.client.stop();
    const s2 = site({ db, clock: s.clock });
    await online(s2);
    s2.transport.deliver(T.commands, c);
    expect(s2.commands).toHaveLength(0);
    expect(s2.client.rejected()).toEqual({ 'replayed-nonce': 1 });
  });

  test('an expired command, a command valid for too long and a command for another terminal are refused', async () => {
    const s = site();
    await online(s);
    const c = command({ command: { type: 'unlock', durationMs: 5000, requestedBy: 'guard-wang' } }, s.clock);
    s.clock.advance(30_001);
    s.transport.deliver(T.commands, c);
    s.transport.deliver(T.commands, command({ command: { type: 'wipe' }, expiresAt: s.clock.now() + 3_600_000 }, s.clock));
    s.transport.deliver(T.commands, command({ command: { type: 'wipe' }, terminalId: 'door-2' }, s.clock));
    expect(s.commands).toEqual([]);
    expect(s.client.rejected()).toEqual({ expired: 2, 'wrong-terminal': 1 });
  });

  test('a resync command asks the hub for a full snapshot and accepts one at the current version', async () => {
    const s = site();
    await online(s);
    s.transport.deliver(T.rosterAll, s.hub.change({ upsert: [person(1)], remove: [] }).payload);
    s.transport.deliver(T.commands, command({ command: { type: 'resync' } }, s.clock));
    await flush();
    expect(requests(s)).toEqual([{ v: 1, kind: 'snapshot', resume: null }]);
    for (const p of s.hub.snapshot().chunks) s.transport.deliver(T.roster, p);
    expect(s.sink.history).toEqual(['delta:1', 'snapshot:1']);
    expect(s.commands).toEqual([{ type: 'resync' }]);
  });
});

describe('outbox upload', () => {
  test('events recorded while offline are stored, then published in order once connected', async () => {
    const s = site();
    const evs = [entryEvent(1), entryEvent(2), entryEvent(3)];
    for (const e of evs) s.client.record(e);
    await flush();
    expect(s.transport.on(T.events)).toEqual([]);
    expect(s.client.outbox.depth()).toBe(3);
    await online(s);
    expect(s.transport.on(T.events)).toEqual([{ v: 1, events: evs }]);
  });

  test('an event is deleted only when the hub acknowledges its id', async () => {
    const s = site();
    await online(s);
    const a = entryEvent(1);
    const b = entryEvent(2);
    s.client.record(a);
    s.client.record(b);
    await flush();
    expect(s.client.outbox.depth()).toBe(2);
    s.transport.deliver(T.acks, JSON.stringify({ v: 1, ids: [a.id] }));
    expect(s.client.outbox.depth()).toBe(1);
    expect(s.client.outbox.after(0, 10).map((r) => r.id)).toEqual([b.id]);
  });

  test('an unacknowledged batch is sent again with a doubling wait', async () => {
    const s = site();
    await online(s);
    s.client.record(entryEvent(1));
    await flush();
    const sent = (): number => s.transport.on(T.events).length;
    expect(sent()).toBe(1);
    s.clock.advance(1_000);
    expect(sent()).toBe(2);
    s.clock.advance(1_900);
    expect(sent()).toBe(2);
    s.clock.advance(100);
    expect(sent()).toBe(3);
    s.clock.advance(3_900);
    expect(sent()).toBe(3);
    s.clock.advance(100);
    expect(sent()).toBe(4);
  });

  test('at most the configured window of batches is in flight and acks release the next ones', async () => {
    const s = site();
    await online(s);
    const evs = Array.from({ length: 200 * 10 }, (_, i) => entryEvent(i + 1));
    for (const e of evs) s.client.record(e);
    await flush();
    const batches = s.transport.on(T.events) as { events: { id: string }[] }[];
    expect(batches).toHaveLength(8);
    s.transport.deliver(T.acks, JSON.stringify({ v: 1, ids: batches[0]!.events.map((e) => e.id) }));
    await flush();
    expect(s.transport.on(T.events)).toHaveLength(9);
  });

  test('after a reconnect every unacknowledged event is sent again', async () => {
    const s = site();
    await online(s);
    s.client.record(entryEvent(1));
    await flush();
    s.transport.disconnect();
    await online(s);
    expect(s.transport.on(T.events)).toHaveLength(2);
  });
});

describe('status and heartbeat', () => {
  test('the last will is a retained offline status and connecting publishes a retained online status with health', async () => {
    const s = site();
    expect(s.transport.will).toEqual({ topic: T.status, payload: '{"v":1,"state":"offline"}' });
    await online(s);
    const st = s.transport.published.filter((p) => p.topic === T.status);
    expect(st).toHaveLength(1);
    expect(st[0]!.retain).toBe(true);
    expect(JSON.parse(st[0]!.payload)).toMatchObject({
      state: 'online',
      health: { rosterVersion: 0, outboxDepth: 0, cameraFps: 24.5, lastDecisionLatencyMs: 180, softwareVersion: '1.2.3', modelVersion: 'mobilefacenet-test' },
    });
  });

  test('the heartbeat carries the installed bundle version, the slot and the update state when the terminal has them', async () => {
    const s = site({ update: { version: '0.2.0', slot: 'b', state: 'committed' } });
    await online(s);
    const st = StatusMessageSchema.parse(JSON.parse(s.transport.published.filter((p) => p.topic === T.status)[0]!.payload));
    expect(st).toMatchObject({ state: 'online', health: { update: { version: '0.2.0', slot: 'b', state: 'committed' } } });
    const plain = site();
    await online(plain);
    expect((JSON.parse(plain.transport.published.filter((p) => p.topic === T.status)[0]!.payload) as { health: object }).health).not.toHaveProperty('update');
  });

  test('a heartbeat with uptime and outbox depth is published every heartbeat period', async () => {
    const s = site();
    await online(s);
    s.client.record(entryEvent(1));
    s.clock.advance(9_999);
    expect(s.transport.on(T.status)).toHaveLength(1);
    s.clock.advance(1);
    const last = s.transport.on(T.status).at(-1) as { health: { uptimeS: number; outboxDepth: number } };
    expect(s.transport.on(T.status)).toHaveLength(2);
    expect(last.health).toMatchObject({ uptimeS: 10, outboxDepth: 1 });
  });

  test('stop cancels every timer and says offline', async () => {
    const s = site();
    await online(s);
    await s.client.stop();
    expect(s.clock.pending()).toBe(0);
    expect(s.transport.published.at(-1)).toEqual({ topic: T.status, payload: '{"v":1,"state":"offline"}', retain: true });
  });
});
