/**
 * Snapshot chunks staged in the sync file are sealed (AES-256-GCM, key from the device secret):
 * real SQLite files (WAL, FULL sync as on a terminal) and a real encrypted roster store in a temp
 * dir, the hub's own snapshot builder and signer, a fake transport and clock.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { generateSigningKeyPair } from '../../../runtime/protocol/signing';
import { topicsFor } from '../../../runtime/protocol/topics';
import { encodeEmbedding, type PersonUpsert } from '../../../runtime/roster/batch';
import { RosterStore } from '../../../runtime/roster/store';
import { SyncClient, type Rejected } from '../../../runtime/sync/client';
import { openSyncDb, SYNC_DB_VERSION, type SyncDb } from '../../../runtime/sync/db';
import { FakeTransport } from '../../../runtime/sync/fake-transport';
import { ROSTER_STORE_SCHEMAS, RosterStoreSink } from '../../../runtime/sync/roster-store-sink';
import { stagingKeyFromSecretFile } from '../../../runtime/sync/snapshot-staging';
import { HubRosterStore, ROSTER_STORE_FORMAT } from '../../../provisioning/hub/roster';
import { rng, unitVector, writeSecret } from '../roster/fixtures';

const keys = generateSigningKeyPair();
const T = topicsFor('door-1');
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const rand = rng(11);

/** Residents with recognisable ids and known template values. */
function resident(i: number): { upsert: PersonUpsert; floats: Float32Array } {
  const floats = unitVector(rand);
  return {
    floats,
    upsert: {
      personId: `resident-${String(i).padStart(4, '0')}-zq`,
      templates: [{ templateId: `tpl-${i}-zq`, modelId: 'm1', embedding: encodeEmbedding(floats) }],
      authorisations: [],
      tags: [],
    },
  };
}

interface Terminal {
  db: SyncDb;
  store: RosterStore;
  client: SyncClient;
  transport: FakeTransport;
  rejected: Rejected[];
  stop(): Promise<void>;
}

interface Dir {
  dir: string;
  syncPath: string;
  secretFile: string;
  rosterPath: string;
}

function makeDir(): Dir {
  const dir = mkdtempSync(join(tmpdir(), 'doorway-staging-'));
  const secretFile = join(dir, 'device.secret');
  writeSecret(secretFile);
  return { dir, syncPath: join(dir, 'sync.db'), secretFile, rosterPath: join(dir, 'roster.db') };
}

/** A terminal's sync side as runtime/main.ts wires it: the staging key from the roster's device secret. */
async function terminal(d: Dir, sessionPresent = true): Promise<Terminal> {
  const db = openSyncDb(d.syncPath);
  const store = RosterStore.open({ path: d.rosterPath, secretFile: d.secretFile, logger: silentLogger() });
  const transport = new FakeTransport();
  const client = new SyncClient({
    terminalId: 'door-1',
    transport,
    clock: new FakeClock(),
    log: silentLogger(),
    db,
    stagingKey: stagingKeyFromSecretFile(db, d.secretFile),
    hubPublicKey: keys.publicKey,
    roster: { sink: new RosterStoreSink(store), ...ROSTER_STORE_SCHEMAS },
    health: () => ({ cameraFps: null, lastDecisionLatencyMs: null }),
    versions: { software: 't', model: 'm1' },
    timing: { tickMs: 100, resyncRetryMs: 2_000 },
  });
  const rejected: Rejected[] = [];
  client.on('rejected', (r) => rejected.push(r));
  client.start();
  transport.connect(sessionPresent);
  await flush();
  return {
    db,
    store,
    client,
    transport,
    rejected,
    stop: async () => {
      await client.stop();
      db.close();
      store.close();
    },
  };
}

function hubWith(n: number): { hub: HubRosterStore<PersonUpsert>; residents: ReturnType<typeof resident>[] } {
  const hub = new HubRosterStore<PersonUpsert>({ now: () => Date.now(), signingKey: keys.privateKey, maxChunkBytes: 4000, ...ROSTER_STORE_FORMAT });
  const residents = Array.from({ length: n }, (_, i) => resident(i));
  hub.change({ upsert: residents.map((r) => r.upsert), remove: [] });
  return { hub, residents };
}

/** Every byte of the sync file and its WAL as they are on disk now. */
function syncFileBytes(d: Dir): Buffer {
  return Buffer.concat([d.syncPath, `${d.syncPath}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

function snapshotRequests(t: Terminal): { kind: string; resume?: { snapshotId: string; missing: number[] } | null }[] {
  return t.transport.on(T.requests) as { kind: string; resume?: { snapshotId: string; missing: number[] } | null }[];
}

const dirs: Dir[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d.dir, { recursive: true, force: true });
});
function dir(): Dir {
  const d = makeDir();
  dirs.push(d);
  return d;
}

test('staged chunks leave neither template values nor person ids in clear in sync.db or its WAL', async () => {
  const d = dir();
  const t = await terminal(d);
  const { hub, residents } = hubWith(24);
  const snap = hub.snapshot();
  expect(snap.chunks.length).toBeGreaterThan(3);
  // Everything but the last chunk: the snapshot stays staged in the file.
  for (const c of snap.chunks.slice(0, -1)) t.transport.deliver(T.roster, c);
  expect(t.store.version()).toBe(0);
  const staged = t.db.prepare('SELECT COUNT(*) AS n FROM staged_chunks').get() as { n: number };
  expect(staged.n).toBe(snap.chunks.length - 1);

  const sealed = (t.db.prepare('SELECT sealed FROM staged_chunks').all() as Array<{ sealed: Buffer }>).map((r) => Buffer.from(r.sealed).subarray(0, 64));
  const bytes = syncFileBytes(d);
  const text = bytes.toString('latin1');
  expect(sealed.every((b) => bytes.includes(b))).toBe(true);
  // The reading sees what the file holds in clear: the snapshot id is stored unsealed on purpose.
  expect(text.includes(snap.snapshotId)).toBe(true);
  const leaks: string[] = [];
  for (const r of residents) {
    const tpl = r.upsert.templates[0]!;
    if (text.includes(r.upsert.personId)) leaks.push(`person id ${r.upsert.personId}`);
    if (text.includes(tpl.templateId)) leaks.push(`template id ${tpl.templateId}`);
    if (text.includes(tpl.embedding.slice(0, 24))) leaks.push(`embedding text of ${r.upsert.personId}`);
    if (text.includes(JSON.stringify(Array.from(r.floats.subarray(0, 3))).slice(1, -1))) leaks.push(`float text of ${r.upsert.personId}`);
    if (bytes.includes(Buffer.from(r.floats.buffer, r.floats.byteOffset, 32))) leaks.push(`float bytes of ${r.upsert.personId}`);
  }
  expect(leaks).toEqual([]);

  // And the last chunk completes the snapshot from the sealed ones.
  t.transport.deliver(T.roster, snap.chunks.at(-1)!);
  expect(t.store.version()).toBe(1);
  expect(t.store.getPerson(residents[5]!.upsert.personId)).not.toBeNull();
  expect(t.rejected).toEqual([]);
  // Once applied, the staged chunks are gone from the file and from its write-ahead log, even sealed,
  // and so are the pages they took: the file is back to about its size before the snapshot.
  const after = syncFileBytes(d);
  expect(sealed.filter((b) => after.includes(b))).toEqual([]);
  expect(t.db.pragma('freelist_count', { simple: true })).toBe(0);
  expect(statSync(d.syncPath).size).toBeLessThan(bytes.length / 4);
  await t.stop();
});

test('a sync file from before incremental vacuum is rebuilt once to take it, its rows kept', () => {
  const d = dir();
  const old = new Database(d.syncPath);
  old.pragma('journal_mode = WAL');
  old.exec('CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL); INSERT INTO meta VALUES (\'kept\', 7)');
  expect(old.pragma('auto_vacuum', { simple: true })).toBe(0);
  old.close();
  const db = openSyncDb(d.syncPath);
  expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
  expect(db.prepare("SELECT v FROM meta WHERE k = 'kept'").get()).toEqual({ v: 7 });
  db.close();
});

describe('a staged chunk altered in the file', () => {
  test.each([
    ['with one byte of its ciphertext flipped', (db: SyncDb): void => {
      const row = db.prepare('SELECT sealed FROM staged_chunks WHERE idx = 0').get() as { sealed: Buffer };
      const b = Buffer.from(row.sealed);
      b[20] = (b[20] ?? 0) ^ 0x01;
      db.prepare('UPDATE staged_chunks SET sealed = ? WHERE idx = 0').run(b);
    }],
    ['replaced by another chunk of the same snapshot', (db: SyncDb): void => {
      db.prepare('UPDATE staged_chunks SET sealed = (SELECT sealed FROM staged_chunks WHERE idx = 1) WHERE idx = 0').run();
    }],
    ['replaced by a chunk staged from an older snapshot', (db: SyncDb, old?: Buffer): void => {
      db.prepare('UPDATE staged_chunks SET sealed = ? WHERE idx = 0').run(old);
    }],
  ])('(%s) is discarded and asked for again; the applied roster is untouched', async (_name, tamper) => {
    const d = dir();
    const t = await terminal(d);
    const { hub, residents } = hubWith(12);
    // The live roster: version 1 applied from a first snapshot, whose sealed chunk 0 is kept for the
    // replay case.
    const first = hub.snapshot();
    t.transport.deliver(T.roster, first.chunks[0]!);
    const oldSealed = (t.db.prepare('SELECT sealed FROM staged_chunks WHERE idx = 0').get() as { sealed: Buffer }).sealed;
    for (const c of first.chunks.slice(1)) t.transport.deliver(T.roster, c);
    expect(t.store.version()).toBe(1);

    // Version 2 (one resident more) arrives as a snapshot; chunk 0 is altered while it is staged.
    const extra = resident(99);
    hub.change({ upsert: [extra.upsert], remove: [] });
    const snap = hub.snapshot();
    for (const c of snap.chunks.slice(0, -1)) t.transport.deliver(T.roster, c);
    tamper(t.db, oldSealed);
    const before = t.transport.published.length;
    t.transport.deliver(T.roster, snap.chunks.at(-1)!);

    expect(t.rejected.map((r) => r.reason)).toEqual(['staged-chunk-unreadable']);
    expect(t.store.version()).toBe(1);
    expect(t.store.getPerson(extra.upsert.personId)).toBeNull();
    expect(t.store.getPerson(residents[0]!.upsert.personId)).not.toBeNull();
    const asked = t.transport.published.slice(before).filter((p) => p.topic === T.requests).map((p) => JSON.parse(p.payload) as unknown);
    expect(asked).toEqual([{ v: 1, kind: 'snapshot', resume: { snapshotId: snap.snapshotId, missing: [0] } }]);

    // The hub resends chunk 0: the snapshot is applied.
    t.transport.deliver(T.roster, snap.chunks[0]!);
    expect(t.store.version()).toBe(2);
    expect(t.store.getPerson(extra.upsert.personId)).not.toBeNull();
    await t.stop();
  });
});

test('a snapshot interrupted by a restart resumes with the missing chunks only, from the sealed staging', async () => {
  const d = dir();
  const t = await terminal(d);
  const { hub } = hubWith(24);
  const snap = hub.snapshot();
  const half = Math.floor(snap.chunks.length / 2);
  for (const c of snap.chunks.slice(0, half)) t.transport.deliver(T.roster, c);
  await t.stop();

  const again = await terminal(d, false);
  expect(snapshotRequests(again)).toEqual([{ v: 1, kind: 'snapshot', resume: { snapshotId: snap.snapshotId, missing: snap.chunks.slice(half).map((_, i) => half + i) } }]);
  for (const c of snap.chunks.slice(half)) again.transport.deliver(T.roster, c);
  expect(again.store.version()).toBe(1);
  expect(again.store.templateCount()).toBe(24);
  expect(again.rejected).toEqual([]);
  await again.stop();
});

test('after the device secret changes, chunks staged under the old key are discarded at start and a fresh sync is asked for', async () => {
  const d = dir();
  const t = await terminal(d);
  const { hub } = hubWith(24);
  const snap = hub.snapshot();
  for (const c of snap.chunks.slice(0, 3)) t.transport.deliver(T.roster, c);
  await t.stop();

  // A new secret (the roster store is re-created for it: its own key check would refuse the old file).
  writeSecret(d.secretFile);
  rmSync(d.rosterPath);
  const again = await terminal(d, false);
  expect(again.rejected).toEqual([{ reason: 'staged-chunk-unreadable', topic: 'roster' }]);
  expect((again.db.prepare('SELECT COUNT(*) AS n FROM staged_chunks').get() as { n: number }).n).toBe(0);
  expect(snapshotRequests(again)).toEqual([{ v: 1, kind: 'sync', version: 0 }]);
  await again.stop();
});

test('plain chunks staged by an older build are dropped when the sync file is opened, bytes included', () => {
  const d = dir();
  const old = new Database(d.syncPath);
  old.pragma('journal_mode = WAL');
  old.exec(`CREATE TABLE snapshot_chunks (snapshot_id TEXT NOT NULL, version INTEGER NOT NULL, idx INTEGER NOT NULL,
    count INTEGER NOT NULL, items TEXT NOT NULL, PRIMARY KEY (snapshot_id, idx));
    CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, security INTEGER NOT NULL, body TEXT NOT NULL);`);
  const r = resident(7).upsert;
  const insert = old.prepare('INSERT INTO snapshot_chunks VALUES (?, ?, ?, ?, ?)');
  for (let i = 0; i < 40; i++) insert.run('old-snap', 3, i, 80, JSON.stringify([{ ...r, personId: `${r.personId}-${i}` }]));
  old.close();
  expect(syncFileBytes(d).toString('latin1').includes(r.personId)).toBe(true);

  const db = openSyncDb(d.syncPath);
  expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'snapshot_chunks'").get()).toBeUndefined();
  expect(db.pragma('user_version', { simple: true })).toBe(SYNC_DB_VERSION);
  expect(syncFileBytes(d).toString('latin1').includes(r.personId)).toBe(false);
  db.close();
});
