import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { decodeSigned } from '../../../runtime/protocol/codec';
import { CommandBodySchema, RosterBodySchema } from '../../../runtime/protocol/schemas';
import { SNAPSHOT_WINDOW_CHUNKS } from '../../../runtime/protocol/limits';
import { generateSigningKeyPair } from '../../../runtime/protocol/signing';
import { topicsFor } from '../../../runtime/protocol/topics';
import { FakeTransport } from '../../../runtime/sync/fake-transport';
import { Hub, type HubDeps } from '../../../provisioning/hub/hub';
import { EventStore } from '../../../provisioning/hub/event-store';
import { HubRosterStore } from '../../../provisioning/hub/roster';
import { entryEvent, person } from '../../harness/sync-site';

const keys = generateSigningKeyPair();
const T = topicsFor('door-1');

async function site(over: Partial<HubDeps<ReturnType<typeof person>>> = {}): Promise<{ hub: Hub<ReturnType<typeof person>>; transport: FakeTransport; roster: HubRosterStore; ingest: EventStore; clock: FakeClock }> {
  const transport = new FakeTransport();
  const roster = new HubRosterStore({ now: () => Date.now(), signingKey: keys.privateKey, idOf: (p) => p.id, maxChunkBytes: 3000 });
  const ingest = new EventStore(':memory:');
  const clock = new FakeClock();
  const hub = new Hub({ transport, roster, events: ingest, signingKey: keys.privateKey, clock, log: silentLogger(), ...over });
  const started = hub.start();
  transport.connect(false);
  await started;
  return { hub, transport, roster, ingest, clock };
}

test('the hub subscribes to every terminal\'s events, requests, status and adapted templates', async () => {
  const { transport } = await site();
  expect(transport.subscriptions).toEqual(['door/+/events', 'door/+/requests', 'door/+/status', 'door/+/templates']);
});

test('events are stored once and every received id is acknowledged to the sending terminal', async () => {
  const { transport, ingest } = await site();
  const a = entryEvent(1);
  transport.deliver(T.events, JSON.stringify({ v: 1, events: [a] }));
  transport.deliver(T.events, JSON.stringify({ v: 1, events: [a] }));
  await new Promise((r) => setImmediate(r));
  expect(ingest.count('door-1')).toBe(1);
  expect(transport.on(T.acks)).toEqual([{ v: 1, ids: [a.id] }, { v: 1, ids: [a.id] }]);
});

test('a bad events message is counted and not acknowledged', async () => {
  const { hub, transport } = await site();
  transport.deliver(T.events, '{"v":1,"events":[{"id":"x"}]}');
  expect(hub.rejected()).toBe(1);
  expect(transport.on(T.acks)).toEqual([]);
});

test('a sync request is answered with the missing deltas, or with a snapshot when starting from nothing', async () => {
  const { transport, roster } = await site();
  for (let i = 1; i <= 3; i++) roster.change({ upsert: [person(i)], remove: [] });
  const { id, startedAt } = roster.epoch();
  transport.deliver(T.requests, JSON.stringify({ v: 1, kind: 'sync', version: 1, epoch: { id, startedAt } }));
  await new Promise((r) => setImmediate(r));
  const open = (p: unknown): ReturnType<typeof RosterBodySchema.parse> =>
    decodeSigned(Buffer.from(JSON.stringify(p)), RosterBodySchema, keys.publicKey, 1e7);
  expect(transport.on(T.roster).map((p) => open(p)).map((b) => `${b.kind}:${b.version}`)).toEqual(['roster.delta:2', 'roster.delta:3']);
  transport.published.length = 0;
  transport.deliver(T.requests, JSON.stringify({ v: 1, kind: 'sync', version: 0 }));
  const kinds = transport.on(T.roster).map((p) => open(p).kind);
  expect(kinds.length).toBeGreaterThan(0);
  expect(new Set(kinds)).toEqual(new Set(['roster.snapshot']));
});

test('a change is published once on the shared roster topic, not retained', async () => {
  const { hub, transport } = await site();
  await hub.publishChange({ upsert: [person(1)], remove: [] });
  expect(transport.published.map((p) => [p.topic, p.retain])).toEqual([['hub/roster/all', false]]);
});

test('a command is signed, bound to its terminal, single-use and short-lived, and never retained', async () => {
  const { hub, transport, clock } = await site();
  const body = await hub.sendCommand('door-1', { type: 'unlock', durationMs: 3000, requestedBy: 'guard-wang' });
  const sent = transport.published.find((p) => p.topic === T.commands)!;
  expect(sent.retain).toBe(false);
  const parsed = decodeSigned(Buffer.from(sent.payload), CommandBodySchema, keys.publicKey, 1e6);
  expect(parsed).toEqual(body);
  expect(parsed).toMatchObject({ terminalId: 'door-1', issuedAt: clock.now(), expiresAt: clock.now() + 30_000 });
  const again = await hub.sendCommand('door-1', { type: 'unlock', durationMs: 3000, requestedBy: 'guard-wang' });
  expect(again.nonce).not.toBe(body.nonce);
});

test('a snapshot request is answered with one window of chunks: the first ones, or the first the terminal misses', async () => {
  const { transport, roster } = await site();
  roster.change({ upsert: Array.from({ length: 80 }, (_, i) => person(i)), remove: [] });
  const snap = roster.snapshot();
  expect(snap.chunks.length).toBeGreaterThan(2 * SNAPSHOT_WINDOW_CHUNKS);
  transport.deliver(T.requests, JSON.stringify({ v: 1, kind: 'snapshot', resume: null }));
  expect(transport.on(T.roster)).toEqual(snap.chunks.slice(0, SNAPSHOT_WINDOW_CHUNKS).map((c) => JSON.parse(c) as unknown));
  transport.published.length = 0;
  const missing = snap.chunks.map((_, i) => i).filter((i) => i % 2 === 1);
  transport.deliver(T.requests, JSON.stringify({ v: 1, kind: 'snapshot', resume: { snapshotId: snap.snapshotId, missing } }));
  expect(transport.on(T.roster)).toEqual(missing.slice(0, SNAPSHOT_WINDOW_CHUNKS).map((i) => JSON.parse(snap.chunks[i] ?? '') as unknown));
});

describe('roster epochs', () => {
  const open = (p: unknown): ReturnType<typeof RosterBodySchema.parse> => decodeSigned(Buffer.from(JSON.stringify(p)), RosterBodySchema, keys.publicKey, 1e7);
  const health = (rosterVersion: number, rosterEpoch?: { id: string; startedAt: number }): object => ({
    uptimeS: 1, rosterVersion, ...(rosterEpoch ? { rosterEpoch } : {}), outboxDepth: 0, outboxDropped: 0, rejectedMessages: 0, cameraFps: null, lastDecisionLatencyMs: null, softwareVersion: 's', modelVersion: 'm',
  });
  const status = (clock: FakeClock, h: object): string => JSON.stringify({ v: 1, state: 'online', at: clock.now(), health: h });

  test('a heartbeat showing a roster off the hub\'s history gets a snapshot once per period; one on it gets nothing', async () => {
    const { transport, roster, clock } = await site();
    for (let i = 1; i <= 3; i++) roster.change({ upsert: [person(i)], remove: [] });
    const { id, startedAt } = roster.epoch();
    transport.deliver(T.status, status(clock, health(3, { id, startedAt })), true);
    expect(transport.on(T.roster)).toEqual([]);
    // Version 7 of this epoch was never signed here (a hub restored from a backup, had it not started a new epoch).
    transport.deliver(T.status, status(clock, health(7, { id, startedAt })), true);
    transport.deliver(T.status, status(clock, health(7, { id, startedAt })), true);
    expect(new Set(transport.on(T.roster).map((p) => open(p).kind))).toEqual(new Set(['roster.snapshot']));
    const sent = transport.on(T.roster).length;
    clock.advance(10 * 60_000);
    transport.deliver(T.status, status(clock, health(7, { id, startedAt })), true);
    expect(transport.on(T.roster).length).toBe(2 * sent);
  });

  test('a terminal in an unknown epoch started after the hub\'s makes the hub start a later one, whose snapshot it will take', async () => {
    const started: string[] = [];
    const { transport, roster } = await site({ onEpochStarted: (e) => started.push(e.epoch.id) });
    roster.change({ upsert: [person(1)], remove: [] });
    const theirs = { id: 'an-epoch-of-a-lost-history', startedAt: roster.epoch().startedAt + 60_000 };
    transport.deliver(T.requests, JSON.stringify({ v: 1, kind: 'sync', version: 9, epoch: theirs }));
    const bodies = transport.on(T.roster).map((p) => open(p));
    expect(bodies.length).toBeGreaterThan(0);
    expect(bodies.every((b) => b.kind === 'roster.snapshot' && b.epoch?.id === roster.epoch().id && (b.epoch.startedAt ?? 0) > theirs.startedAt)).toBe(true);
    expect(started).toEqual([roster.epoch().id]);
    expect(roster.epoch().continues).toEqual({ epoch: roster.epochs()[0]?.id, version: 1 });
  });
});
