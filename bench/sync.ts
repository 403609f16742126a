/**
 * Hub sync benchmark against a real mosquitto (mutual TLS, ACL) on loopback:
 *   1. a 40,000-person snapshot (2 float32 512-d templates each) from hub publish to applied in the
 *      terminal's encrypted RosterStore;
 *   2. outbox drain rate after the broker comes back (events recorded during the outage);
 *   3. delta propagation from hub publish to applied on 200 simulated terminals (in-memory rosters),
 *      p50 and p99.
 * Everything (hub, broker clients, 200 terminals) shares this machine, so figures are pessimistic
 * for a real site where each terminal is its own device.
 * Usage: npm run bench:sync [-- --json] [--persons N] [--terminals N] [--deltas N] [--events N]
 */
import { mkdirSync } from 'node:fs';
import { removeInside } from '../core/fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SystemClock } from '../core/clock';
import { silentLogger } from '../core/log';
import { generateSigningKeyPair } from '../runtime/protocol/signing';
import { encodeEmbedding, type PersonUpsert } from '../runtime/roster/batch';
import { RosterStore } from '../runtime/roster/store';
import { SyncClient } from '../runtime/sync/client';
import { openSyncDb } from '../runtime/sync/db';
import { ROSTER_STORE_SCHEMAS, RosterStoreSink } from '../runtime/sync/roster-store-sink';
import { Hub } from '../provisioning/hub/hub';
import { EventStore } from '../provisioning/hub/event-store';
import { HubRosterStore, ROSTER_STORE_FORMAT } from '../provisioning/hub/roster';
import { MosquittoBroker } from '../test/harness/mosquitto';
import { sleep, waitFor } from '../test/harness/wait';
import { TestPki } from '../test/harness/pki';
import { entryEvent, makeTerminal, mqttTransport, person, startHub, type TestTerminal } from '../test/harness/sync-site';

const args = process.argv.slice(2);
const json = args.includes('--json');
const num = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const PERSONS = num('persons', 40_000);
const TERMINALS = num('terminals', 200);
const DELTAS = num('deltas', 20);
const EVENTS = num('events', 20_000);
const say = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function embedding(): string {
  const v = new Float32Array(512);
  const r = randomBytes(512);
  for (let i = 0; i < 512; i++) v[i] = ((r[i] ?? 0) - 127.5) / 128;
  return encodeEmbedding(v);
}

async function main(): Promise<void> {
  const dir = join(tmpdir(), `doorway-bench-sync-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const keys = generateSigningKeyPair();
  const log = silentLogger();
  say(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}; mosquitto on loopback with mutual TLS`);
  const pki = TestPki.create(join(dir, 'pki'));
  const broker = await MosquittoBroker.start(join(dir, 'broker'), pki);
  try {
    // --- 1. snapshot --------------------------------------------------------------------------------
    say(`building a ${PERSONS}-person roster (2 templates each) at the hub...`);
    const persons: PersonUpsert[] = [];
    for (let i = 0; i < PERSONS; i++) {
      persons.push({
        personId: `p${i}`,
        templates: [0, 1].map((k) => ({ templateId: `p${i}-t${k}`, modelId: 'faceplugin-fr_feature@0.0.1', embedding: embedding() })),
        authorisations: [{ doorIds: [], buildingIds: [`b${i % 966}`] }],
        tags: [],
      });
    }
    // Loaded as a hub restarting from its database would (one delta of 40,000 persons is over the
    // protocol's payload limit and never published).
    const hubRoster = new HubRosterStore<PersonUpsert>({ now: () => Date.now(), signingKey: keys.privateKey, ...ROSTER_STORE_FORMAT, initial: { version: 1, items: persons, deltas: [] } });
    const tBuild = performance.now();
    const snap = hubRoster.snapshot();
    const buildS = (performance.now() - tBuild) / 1000;
    const mb = snap.chunks.reduce((n, c) => n + c.length, 0) / 1e6;
    say(`hub snapshot: ${snap.chunks.length} signed chunks, ${mb.toFixed(0)} MB, built and signed in ${buildS.toFixed(2)} s`);

    const ingest = new EventStore(join(dir, 'hub-events.db'));
    const hub = new Hub({ transport: mqttTransport(broker, pki, 'hub'), roster: hubRoster, events: ingest, signingKey: keys.privateKey, clock: new SystemClock(), log });
    await hub.start();
    mkdirSync(join(dir, 'roster'), { recursive: true });
    const secretFile = join(dir, 'roster', 'device.secret');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(secretFile, randomBytes(32), { mode: 0o600 });
    const store = RosterStore.open({ path: join(dir, 'roster', 'roster.db'), secretFile, logger: log });
    const syncDb = openSyncDb(join(dir, 'snap-sync.db'));
    const snapClient = new SyncClient({
      terminalId: 'door-snap',
      transport: mqttTransport(broker, pki, 'door-snap'),
      clock: new SystemClock(),
      log,
      db: syncDb,
      hubPublicKey: keys.publicKey,
      roster: { sink: new RosterStoreSink(store), ...ROSTER_STORE_SCHEMAS },
      health: () => ({ cameraFps: null, lastDecisionLatencyMs: null }),
      versions: { software: 'bench', model: 'bench' },
      timing: { resyncRetryMs: 30_000 },
    });
    let snapshotAppliedAt = 0;
    let snapshotReceivedAt = 0;
    snapClient.on('snapshot-received', () => (snapshotReceivedAt = performance.now()));
    snapClient.on('roster-applied', (a) => {
      if (a.kind === 'snapshot') snapshotAppliedAt = performance.now();
    });
    // The terminal starts empty, asks for a sync from version 0 and the hub answers with the snapshot.
    const tSnap = performance.now();
    snapClient.start();
    await waitFor(() => snapshotAppliedAt > 0, 600_000, 'snapshot applied');
    const snapshotS = (snapshotAppliedAt - tSnap) / 1000;
    const transferS = (snapshotReceivedAt - tSnap) / 1000;
    say(`snapshot ${PERSONS} persons: connect + request + transfer + verify + apply = ${snapshotS.toFixed(2)} s ` +
      `(all chunks received and verified after ${transferS.toFixed(2)} s; store holds ${store.templateCount()} templates)`);
    await snapClient.stop();
    syncDb.close();
    store.close();
    await hub.stop();
    ingest.close();

    // --- 2. outbox drain after an outage -------------------------------------------------------------
    const small = await startHub(broker, pki, dir, keys, {
      roster: new HubRosterStore({ now: () => Date.now(), signingKey: keys.privateKey, idOf: (p) => p.id }),
    });
    small.roster.change({ upsert: Array.from({ length: 10 }, (_, i) => person(i)), remove: [] });
    const drainT = makeTerminal({ broker, pki, id: 'door-drain', dbPath: join(dir, 'drain.db'), hubPublicKey: keys.publicKey, synchronous: 'full' });
    drainT.client.start();
    await waitFor(() => drainT.client.connected() && drainT.sink.version() > 0, 10_000, 'drain terminal synced');
    await broker.stop();
    await waitFor(() => !drainT.client.connected(), 10_000, 'outage noticed');
    for (let i = 0; i < EVENTS; i++) drainT.client.record(entryEvent(Date.now() + i, `p-${i % 500}`));
    let reconnectedAt = 0;
    drainT.client.once('connected', () => (reconnectedAt = performance.now()));
    await broker.restart();
    await waitFor(() => drainT.client.outbox.depth() === 0, 300_000, 'outbox drained');
    const drainS = (performance.now() - reconnectedAt) / 1000;
    const drainRate = EVENTS / drainS;
    const atHub = small.ingest.count('door-drain');
    say(`outbox drain after reconnect: ${EVENTS} events in ${drainS.toFixed(2)} s = ${drainRate.toFixed(0)}/s (hub stored ${atHub}, duplicates received ${small.ingest.duplicates()})`);
    await drainT.stop();

    // --- 3. delta propagation to many terminals ------------------------------------------------------
    say(`issuing ${TERMINALS} terminal certificates and connecting...`);
    const terms: TestTerminal[] = [];
    for (let i = 0; i < TERMINALS; i++) {
      const id = `door-${String(i).padStart(3, '0')}`;
      terms.push(makeTerminal({ broker, pki, id, dbPath: join(dir, `${id}.db`), hubPublicKey: keys.publicKey, overrides: { timing: { heartbeatMs: 30_000, resyncRetryMs: 5_000 } } }));
    }
    const latencies: number[] = [];
    const publishedAt = new Map<number, number>();
    for (const t of terms) {
      t.client.on('roster-applied', (a) => {
        const p = publishedAt.get(a.version);
        if (a.kind === 'delta' && p !== undefined) latencies.push(performance.now() - p);
      });
      t.client.start();
    }
    await waitFor(() => terms.every((t) => t.client.connected() && t.sink.version() === small.roster.version()), 60_000, 'all terminals synced');
    say(`${TERMINALS} terminals connected and synced`);
    for (let d = 0; d < DELTAS; d++) {
      const version = small.roster.version() + 1;
      publishedAt.set(version, performance.now());
      await small.hub.publishChange({ upsert: [person(1000 + d)], remove: d % 2 === 0 ? [] : [`p-${String(d).padStart(6, '0')}`] });
      await waitFor(() => terms.every((t) => t.sink.version() >= version), 30_000, `delta ${version} everywhere`);
      await sleep(100);
    }
    latencies.sort((a, b) => a - b);
    const p50 = pct(latencies, 50);
    const p99 = pct(latencies, 99);
    say(`delta propagation to ${TERMINALS} terminals x ${DELTAS} deltas (${latencies.length} samples): p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${(latencies.at(-1) ?? NaN).toFixed(1)} ms`);
    for (const t of terms) await t.stop();
    await small.stop();

    const goals = [
      ['snapshot_40k_s <= 30', snapshotS <= 30],
      ['delta_p99_ms <= 2000', p99 <= 2000],
      ['outbox_drain_per_s >= 1000', drainRate >= 1000],
    ] as const;
    for (const [g, ok] of goals) say(`goal ${g}: ${ok ? 'met' : 'NOT met'}`);
    const result = {
      persons: PERSONS,
      snapshot_40k_s: Number(snapshotS.toFixed(3)),
      snapshot_chunks: snap.chunks.length,
      snapshot_mb: Number(mb.toFixed(1)),
      snapshot_build_s: Number(buildS.toFixed(3)),
      snapshot_received_s: Number(transferS.toFixed(3)),
      terminals: TERMINALS,
      delta_samples: latencies.length,
      delta_p50_ms: Number(p50.toFixed(1)),
      delta_p99_ms: Number(p99.toFixed(1)),
      outbox_events: EVENTS,
      outbox_drain_per_s: Math.round(drainRate),
      cpus: cpus().length,
    };
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await broker.stop();
    removeInside(tmpdir(), dir);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${String(err)}\n`);
    process.exit(1);
  },
);
