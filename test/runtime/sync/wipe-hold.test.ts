/**
 * A roster wiped by the hub stays empty: the sync refuses roster data and asks for none (not even on
 * reconnect) until the hub's `resync`, which then takes the hub's snapshot, even the very snapshot
 * that was applied before the wipe.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { generateSigningKeyPair } from '../../../runtime/protocol/signing';
import { topicsFor } from '../../../runtime/protocol/topics';
import { SyncClient, type Rejected } from '../../../runtime/sync/client';
import { openSyncDb, type SyncDb } from '../../../runtime/sync/db';
import { FakeTransport } from '../../../runtime/sync/fake-transport';
import {
  MemoryRosterSink,
  SimpleRosterBatchSchema,
  SimpleRosterItemSchema,
  type RosterSink,
  type SimpleRosterItem,
} from '../../../runtime/sync/roster-sink';
import { HubRosterStore } from '../../../provisioning/hub/roster';
import { person, signedCommand } from '../../harness/sync-site';

const hubKeys = generateSigningKeyPair();
const T = topicsFor('door-1');
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A roster that can be wiped and held, as RosterStoreSink over the real store is. */
class WipeableSink extends MemoryRosterSink implements RosterSink {
  hold = false;
  held(): boolean {
    return this.hold;
  }
  override wipe(): void {
    super.wipe();
    this.hold = true;
  }
}

/** A sync client for door-1 over a fake transport, with a sink that can be wiped. */
function terminal(db: SyncDb, timing?: ConstructorParameters<typeof SyncClient>[0]['timing']): { clock: FakeClock; transport: FakeTransport; sink: WipeableSink; client: SyncClient } {
  const clock = new FakeClock();
  const transport = new FakeTransport();
  const sink = new WipeableSink();
  const client = new SyncClient({
    terminalId: 'door-1',
    transport,
    clock,
    log: silentLogger(),
    db,
    hubPublicKey: hubKeys.publicKey,
    roster: { sink, batchSchema: SimpleRosterBatchSchema, itemSchema: SimpleRosterItemSchema },
    health: () => ({ cameraFps: null, lastDecisionLatencyMs: null }),
    versions: { software: 'test', model: 'test' },
    ...(timing ? { timing } : {}),
  });
  return { clock, transport, sink, client };
}


test('a wiped roster refuses deltas and snapshots, asks for nothing on reconnect, and takes the same snapshot again after a resync', async () => {
  const db = openSyncDb(':memory:');
  const { clock, transport, sink, client } = terminal(db, { tickMs: 100, resyncRetryMs: 2_000 });
  const rejected: Rejected[] = [];
  client.on('rejected', (r) => rejected.push(r));
  // What runtime/main.ts does on `resync`: the hold ends.
  client.on('command', (c) => {
    if (c.type === 'resync') sink.hold = false;
  });
  client.start();
  const hub = new HubRosterStore<SimpleRosterItem>({ now: () => Date.now(), signingKey: hubKeys.privateKey, idOf: (p) => p.id, maxChunkBytes: 3000 });
  hub.change({ upsert: [person(1), person(2), person(3)], remove: [] });
  transport.connect(false);
  await flush();

  // The terminal is filled by a snapshot (after a resync, as a fresh one would be).
  transport.deliver(T.commands, signedCommand({ type: 'resync' }, clock, hubKeys.privateKey));
  const snap = hub.snapshot();
  for (const p of snap.chunks) transport.deliver(T.roster, p);
  expect(sink.version()).toBe(1);
  expect(sink.persons.size).toBe(3);

  sink.wipe();
  client.rosterWiped();

  transport.deliver(T.rosterAll, hub.change({ upsert: [person(4)], remove: [] }).payload);
  for (const p of snap.chunks) transport.deliver(T.roster, p);
  expect(sink.persons.size).toBe(0);
  expect(sink.version()).toBe(0);
  expect(rejected.map((r) => r.reason)).toEqual(['roster-held', ...snap.chunks.map(() => 'roster-held')]);

  transport.disconnect();
  const mark = transport.published.length;
  transport.connect(false);
  await flush();
  expect(transport.published.slice(mark).filter((p) => p.topic === T.requests)).toEqual([]);

  transport.deliver(T.commands, signedCommand({ type: 'resync' }, clock, hubKeys.privateKey));
  expect(transport.on(T.requests).at(-1)).toEqual({ v: 1, kind: 'snapshot', resume: null });
  // The hub may answer with the snapshot it sent before the wipe (it caches one per version).
  for (const p of snap.chunks) transport.deliver(T.roster, p);
  expect(sink.version()).toBe(1);
  expect([...sink.persons.keys()].sort()).toEqual(['p-000001', 'p-000002', 'p-000003']);

  await client.stop();
  db.close();
});

test('after a wipe no template of a snapshot received earlier is left in the sync file or its WAL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'doorway-wipe-sync-'));
  const path = join(dir, 'sync.db');
  // FULL durability as on a terminal; events in the outbox must survive the wipe.
  const db: SyncDb = openSyncDb(path);
  const { clock, transport, sink, client } = terminal(db);
  client.start();
  const hub = new HubRosterStore<SimpleRosterItem>({ now: () => Date.now(), signingKey: hubKeys.privateKey, idOf: (p) => p.id, maxChunkBytes: 3000 });
  const persons = [1, 2, 3, 4, 5, 6].map((i) => person(i));
  hub.change({ upsert: persons, remove: [] });
  transport.connect(false);
  await flush();
  transport.deliver(T.commands, signedCommand({ type: 'resync' }, clock, hubKeys.privateKey));
  const snap = hub.snapshot();
  expect(snap.chunks.length).toBeGreaterThan(1);
  for (const p of snap.chunks.slice(0, -1)) transport.deliver(T.roster, p);
  // Staged chunks are sealed: what the file held of them is their ciphertext.
  const sealed = (db.prepare('SELECT sealed FROM staged_chunks').all() as { sealed: Buffer }[]).map((r) => r.sealed.subarray(12, 44).toString('latin1'));
  const fileText = (): string =>
    [path, `${path}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f).toString('latin1')).join('');
  expect(sealed.some((c) => fileText().includes(c))).toBe(true); // the search finds the sealed chunks while they are staged
  transport.deliver(T.roster, snap.chunks.at(-1)!);
  expect(sink.version()).toBe(1);
  client.record({ id: '01JCZ8Y2W7M3Q4R5S6T7V8W9X0', at: clock.now(), type: 'entry.granted', personId: 'p-000001', credential: 'face', score: 0.9, liveness: 0.8, latencyMs: 300 });

  const templates = persons.flatMap((p) => p.templates.map((t) => t.slice(0, 40)));
  expect(templates.filter((t) => fileText().includes(t))).toEqual([]); // never in clear
  // Applying the snapshot cleared the staging and truncated the WAL that held the chunks (erasure).
  expect(sealed.filter((c) => fileText().includes(c))).toEqual([]);

  sink.wipe();
  client.rosterWiped();

  expect(templates.filter((t) => fileText().includes(t))).toEqual([]);
  expect(sealed.filter((c) => fileText().includes(c))).toEqual([]);
  expect(client.outbox.depth()).toBe(1);
  await client.stop();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});
