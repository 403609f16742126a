import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monotonicFactory } from 'ulid';
import { SystemClock, type Clock } from '../../core/clock';
import { silentLogger, type Logger } from '../../core/log';
import { SCHEMA_VERSION, type Command, type CommandBody, type SyncEvent } from '../../runtime/protocol/schemas';
import { signBody, type SigningKeyPair } from '../../runtime/protocol/signing';
import { SyncClient, type SyncClientDeps } from '../../runtime/sync/client';
import { openSyncDb, type SyncDb } from '../../runtime/sync/db';
import { stagingKeyFromSecretFile } from '../../runtime/sync/snapshot-staging';
import {
  MemoryRosterSink,
  SimpleRosterBatchSchema,
  SimpleRosterItemSchema,
  type SimpleRosterItem,
} from '../../runtime/sync/roster-sink';
import { MqttTransport } from '../../runtime/sync/transport';
import { Hub } from '../../provisioning/hub/hub';
import { EventStore } from '../../provisioning/hub/event-store';
import { HubRosterStore } from '../../provisioning/hub/roster';
import type { MosquittoBroker } from './mosquitto';
import type { TestPki } from './pki';

/** Wiring of hubs and terminals against a real broker, shared by integration tests and the bench. */

export function mqttTransport(broker: MosquittoBroker, pki: TestPki, cn: string, log: Logger = silentLogger()): MqttTransport {
  const c = pki.client(cn);
  return new MqttTransport({
    url: broker.url,
    clientId: cn,
    ca: pki.ca,
    cert: c.cert,
    key: c.key,
    reconnectMinMs: 100,
    reconnectMaxMs: 1000,
    connectTimeoutMs: 5000,
    keepaliveS: 30,
    log,
  });
}

export interface TestHub {
  hub: Hub<SimpleRosterItem>;
  roster: HubRosterStore<SimpleRosterItem>;
  ingest: EventStore;
  stop(): Promise<void>;
}

export async function startHub(
  broker: MosquittoBroker,
  pki: TestPki,
  dir: string,
  keys: SigningKeyPair,
  opts: { roster?: HubRosterStore<SimpleRosterItem>; clock?: Clock } = {},
): Promise<TestHub> {
  const roster = opts.roster ?? new HubRosterStore<SimpleRosterItem>({ now: () => Date.now(), signingKey: keys.privateKey, idOf: (p) => p.id });
  const ingest = new EventStore(join(dir, 'hub-events.db'));
  const hub = new Hub({
    transport: mqttTransport(broker, pki, 'hub'),
    roster,
    events: ingest,
    signingKey: keys.privateKey,
    clock: opts.clock ?? new SystemClock(),
    log: silentLogger(),
  });
  await hub.start();
  return {
    hub,
    roster,
    ingest,
    stop: async () => {
      await hub.stop();
      ingest.close();
    },
  };
}

export interface TestTerminal {
  client: SyncClient;
  sink: MemoryRosterSink;
  db: SyncDb;
  stop(): Promise<void>;
}

export function makeTerminal(opts: {
  broker: MosquittoBroker;
  pki: TestPki;
  id: string;
  dbPath: string;
  hubPublicKey: SigningKeyPair['publicKey'];
  sink?: MemoryRosterSink;
  overrides?: Partial<SyncClientDeps>;
  /** Outbox durability; tests use 'normal' (survives a process kill), production 'full'. */
  synchronous?: 'full' | 'normal';
}): TestTerminal {
  const sink = opts.sink ?? new MemoryRosterSink();
  const db = openSyncDb(opts.dbPath, { synchronous: opts.synchronous ?? 'normal' });
  // The terminal's device secret beside its sync file (kept across restarts, as on a terminal), from
  // which the snapshot staging key is derived.
  const secretFile = `${opts.dbPath}.secret`;
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32), { mode: 0o600 });
  const client = new SyncClient({
    terminalId: opts.id,
    transport: mqttTransport(opts.broker, opts.pki, opts.id),
    clock: new SystemClock(),
    log: silentLogger(),
    db,
    stagingKey: stagingKeyFromSecretFile(db, secretFile),
    hubPublicKey: opts.hubPublicKey,
    roster: { sink, batchSchema: SimpleRosterBatchSchema, itemSchema: SimpleRosterItemSchema },
    health: () => ({ cameraFps: 25, lastDecisionLatencyMs: 120 }),
    versions: { software: 'test', model: 'test-model' },
    timing: { ackTimeoutMs: 2000, tickMs: 100, resyncRetryMs: 500 },
    ...opts.overrides,
  });
  return {
    client,
    sink,
    db,
    stop: async () => {
      await client.stop();
      db.close();
    },
  };
}

const nextUlid = monotonicFactory();

/** An entry record with a fresh ULID. */
export function entryEvent(at = Date.now(), personId = 'p-000001'): SyncEvent {
  return { id: nextUlid(at), at, type: 'entry.granted', personId, credential: 'face', score: 0.91, liveness: 0.8, latencyMs: 240 };
}

/** A person in the simple roster format with `templates` base64 templates of `bytes` bytes. */
export function person(i: number, templates = 2, bytes = 512): SimpleRosterItem {
  const t: string[] = [];
  for (let k = 0; k < templates; k++) {
    const b = Buffer.alloc(bytes);
    for (let j = 0; j < bytes; j++) b[j] = (i * 31 + k * 7 + j) & 0xff;
    t.push(b.toString('base64'));
  }
  return { id: `p-${String(i).padStart(6, '0')}`, templates: t, tags: [] };
}

/**
 * A hub command for door-1, signed with `key`, valid for 30 s from the clock's now, with a fresh nonce;
 * `over` replaces any field (terminal, times, nonce) to forge a bad one.
 */
export function signedCommand(command: Command, clock: Clock, key: SigningKeyPair['privateKey'], over: Partial<CommandBody> = {}): string {
  const body: CommandBody = {
    v: SCHEMA_VERSION,
    kind: 'command',
    terminalId: 'door-1',
    nonce: `nonce-${Math.random().toString(36).slice(2)}-abcdefgh`,
    issuedAt: clock.now(),
    expiresAt: clock.now() + 30_000,
    command,
    ...over,
  };
  return signBody(body, key);
}
