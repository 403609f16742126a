/**
 * Power/crash fault: the terminal process is SIGKILLed while uploading its outbox and started again
 * on the same SQLite file. Nothing may be lost and nothing stored twice at the hub.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { generateSigningKeyPair } from '../../../runtime/protocol/signing';
import { MosquittoBroker } from '../../harness/mosquitto';
import { waitFor } from '../../harness/wait';
import { TestPki } from '../../harness/pki';
import { startHub, type TestHub } from '../../harness/sync-site';

const dir = mkdtempSync(join(tmpdir(), 'sync-crash-'));
const keys = generateSigningKeyPair();
let pki: TestPki;
let broker: MosquittoBroker;
let hub: TestHub;
const children: ChildProcess[] = [];

beforeAll(async () => {
  pki = TestPki.create(join(dir, 'pki'));
  broker = await MosquittoBroker.start(join(dir, 'broker'), pki);
  hub = await startHub(broker, pki, dir, keys);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await hub.stop();
  await broker.stop();
});

function startChild(record: number): ChildProcess {
  const creds = pki.client('door-k');
  const cfg = {
    url: broker.url,
    caPath: pki.caPath,
    certPath: creds.certPath,
    keyPath: creds.keyPath,
    id: 'door-k',
    dbPath: join(dir, 'door-k.db'),
    hubPublicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    record,
    idsPath: join(dir, 'ids.json'),
    batchEvents: 10,
    windowBatches: 1,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../../harness/sync-terminal-process.ts')], {
    env: { ...process.env, DOORWAY_SYNC_CHILD: JSON.stringify(cfg) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return child;
}

function outboxDepth(): number {
  const db = new Database(join(dir, 'door-k.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

test('a terminal killed mid-upload and restarted delivers every event to the hub exactly once', async () => {
  const first = startChild(2000);
  await waitFor(() => hub.ingest.count('door-k') >= 100, 30_000, 'upload under way');
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  const atKill = hub.ingest.count('door-k');
  expect(atKill).toBeLessThan(2000);
  await waitFor(() => hub.hub.lastStatus('door-k')?.state === 'offline', 10_000, 'last will (offline) seen by the hub');

  const second = startChild(0);
  await waitFor(() => hub.ingest.count('door-k') === 2000, 30_000, 'every event at the hub');
  await waitFor(() => outboxDepth() === 0, 10_000, 'outbox emptied by acks');
  const ids = JSON.parse(readFileSync(join(dir, 'ids.json'), 'utf8')) as string[];
  expect(ids).toHaveLength(2000);
  expect(hub.ingest.ids('door-k')).toEqual([...ids].sort());
  second.kill('SIGTERM');
  await new Promise((r) => second.once('exit', r));
}, 90_000); // its own waits add up to 80 s on a loaded machine: let them, not jest's default, say what is late
