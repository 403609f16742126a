/**
 * A terminal's sync side as its own process, so tests can SIGKILL it mid-upload and start it again
 * on the same SQLite file. Configured by the JSON in env DOORWAY_SYNC_CHILD; records `record`
 * events (and writes their ids to `idsPath`) before connecting, then runs until SIGTERM.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { SystemClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { loadPublicKey } from '../../runtime/protocol/signing';
import { SyncClient } from '../../runtime/sync/client';
import { openSyncDb } from '../../runtime/sync/db';
import { MemoryRosterSink, SimpleRosterBatchSchema, SimpleRosterItemSchema } from '../../runtime/sync/roster-sink';
import { MqttTransport } from '../../runtime/sync/transport';
import { entryEvent } from './sync-site';

interface ChildConfig {
  url: string;
  caPath: string;
  certPath: string;
  keyPath: string;
  id: string;
  dbPath: string;
  hubPublicKeyPem: string;
  record: number;
  idsPath: string;
  batchEvents: number;
  windowBatches: number;
}

const cfg = JSON.parse(process.env['DOORWAY_SYNC_CHILD'] ?? '{}') as ChildConfig;
const log = silentLogger();
const db = openSyncDb(cfg.dbPath);
const client = new SyncClient({
  terminalId: cfg.id,
  transport: new MqttTransport({
    url: cfg.url,
    clientId: cfg.id,
    ca: readFileSync(cfg.caPath),
    cert: readFileSync(cfg.certPath),
    key: readFileSync(cfg.keyPath),
    reconnectMinMs: 100,
    reconnectMaxMs: 1000,
    connectTimeoutMs: 5000,
    keepaliveS: 30,
    log,
  }),
  clock: new SystemClock(),
  log,
  db,
  hubPublicKey: loadPublicKey(cfg.hubPublicKeyPem),
  roster: { sink: new MemoryRosterSink(), batchSchema: SimpleRosterBatchSchema, itemSchema: SimpleRosterItemSchema },
  health: () => ({ cameraFps: null, lastDecisionLatencyMs: null }),
  versions: { software: 'child', model: 'none' },
  timing: { ackTimeoutMs: 2000, tickMs: 100 },
  batchEvents: cfg.batchEvents,
  windowBatches: cfg.windowBatches,
});

const ids: string[] = [];
for (let i = 0; i < cfg.record; i++) {
  const e = entryEvent(Date.now() + i);
  client.record(e);
  ids.push(e.id);
}
if (cfg.record > 0) writeFileSync(cfg.idsPath, JSON.stringify(ids));
client.start();
process.stdout.write('started\n');
process.on('SIGTERM', () => {
  void client.stop().then(() => {
    db.close();
    process.exit(0);
  });
});
