/**
 * The protocol's largest legitimate messages, measured on the real encoders, against the limits the
 * terminal, the hub and both brokers enforce (runtime/protocol/limits.ts): a snapshot chunk and a
 * roster delta of the largest batch cut by the hub, and an events message cut by the terminal.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { EVENTS_MESSAGE_TARGET_BYTES, MAX_PACKET_BYTES, MAX_PAYLOAD_BYTES, ROSTER_MESSAGE_TARGET_BYTES } from '../../../runtime/protocol/limits';
import { generateSigningKeyPair } from '../../../runtime/protocol/signing';
import { topicsFor } from '../../../runtime/protocol/topics';
import { encodeEmbedding, type PersonUpsert } from '../../../runtime/roster/batch';
import { SyncClient } from '../../../runtime/sync/client';
import { openSyncDb } from '../../../runtime/sync/db';
import { FakeTransport } from '../../../runtime/sync/fake-transport';
import { MemoryRosterSink, SimpleRosterBatchSchema, SimpleRosterItemSchema } from '../../../runtime/sync/roster-sink';
import { HubRosterStore, RosterMessageTooLargeError, ROSTER_STORE_FORMAT } from '../../../provisioning/hub/roster';
import { addTerminal, startCommunityHub, initCommunity } from '../../../provisioning';
import { newPhotoKey } from '../../../provisioning/photos';
import { admin } from '../../harness/admin';

const keys = generateSigningKeyPair();
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * The largest person enrolment gives: five 512-d templates (five photos), a 200-character label in
 * three-byte UTF-8, access to 30 doors and 10 buildings with dates and seven weekly windows, 20 tags.
 */
function largePerson(i: number): PersonUpsert {
  const v = new Float32Array(512).map((_, k) => Math.sin(i * 7 + k) + 0.01);
  return {
    personId: `p-${String(i).padStart(6, '0')}`,
    label: '住'.repeat(200),
    templates: Array.from({ length: 5 }, (_, t) => ({ templateId: `p-${i}-t${t}-1790000000000`, modelId: 'faceplugin-face-recognition-js@0.0.1/fr_feature', embedding: encodeEmbedding(v) })),
    authorisations: [{
      doorIds: Array.from({ length: 30 }, (_, d) => `building-${d}-gate`),
      buildingIds: Array.from({ length: 10 }, (_, b) => `building-${b}`),
      validFrom: '2026-01-01T00:00:00+08:00',
      validUntil: '2027-01-01T00:00:00+08:00',
      windows: Array.from({ length: 7 }, (_, d) => ({ days: [d + 1], start: '06:00', end: '23:30' })),
    }],
    tags: Array.from({ length: 20 }, (_, t) => `tag-${t}`),
  };
}

test('every snapshot chunk of a large roster stays near the 1 MiB target, under the payload limit', () => {
  const items = Array.from({ length: 600 }, (_, i) => largePerson(i));
  const hub = new HubRosterStore<PersonUpsert>({ now: () => Date.now(), signingKey: keys.privateKey, ...ROSTER_STORE_FORMAT, initial: { version: 1, items, deltas: [] } });
  const sizes = hub.snapshot().chunks.map(bytes);
  expect(sizes.length).toBeGreaterThan(5);
  const largest = Math.max(...sizes);
  expect(largest).toBeGreaterThan(ROSTER_MESSAGE_TARGET_BYTES * 0.95);
  expect(largest).toBeLessThan(ROSTER_MESSAGE_TARGET_BYTES + 4096);
  expect(largest * 1.9).toBeLessThan(MAX_PAYLOAD_BYTES);
  expect(MAX_PAYLOAD_BYTES).toBeLessThan(MAX_PACKET_BYTES);
});

test('a person too large for one message is refused by the hub roster, which stays unchanged', () => {
  const hub = new HubRosterStore<PersonUpsert>({ now: () => Date.now(), signingKey: keys.privateKey, ...ROSTER_STORE_FORMAT });
  hub.change({ upsert: [largePerson(1)], remove: [] });
  const huge = { ...largePerson(2), templates: Array.from({ length: 64 }, (_, t) => ({ templateId: `t${t}`, modelId: 'm', embedding: Buffer.alloc(40_000, t + 1).toString('base64') })) };
  expect(() => hub.change({ upsert: [huge], remove: [] })).toThrow(RosterMessageTooLargeError);
  expect([hub.version(), hub.size()]).toEqual([1, 1]);
});

test("the hub service's delta of the largest batch (200 persons) is cut at the 1 MiB target", async () => {
  const root = mkdtempSync(join(tmpdir(), 'limits-'));
  const pass = 'limits-passphrase';
  const c = initCommunity({ dir: join(root, 'c'), passphrase: pass, now: Date.now(), actor: 'test-operator' });
  addTerminal(admin(c, { passphrase: pass }), { id: 't1', doorId: 'building-0-gate', out: join(root, 't1') });
  const now = Date.now();
  c.db.tx(() => {
    for (let i = 0; i < 250; i++) {
      const p = largePerson(i);
      c.db.savePerson({ personId: p.personId, kind: 'resident', status: 'active', label: p.label ?? null, note: null, templates: p.templates, authorisations: p.authorisations, tags: p.tags, photoKey: newPhotoKey(), photos: [] }, now);
    }
  });
  // The terminal already holds the (empty) roster of its door: every version that concerns it is sent to it.
  c.db.markTerminalScoped('t1', 0);
  const fake = new FakeTransport();
  let started = false;
  const p = startCommunityHub({ community: c, passphrase: pass, transport: fake, clock: new FakeClock(now), log: silentLogger(), pollMs: 60_000 }).finally(() => (started = true));
  while (!started) {
    fake.connect();
    await new Promise((r) => setTimeout(r, 5));
  }
  const svc = await p;
  // Each delta sealed to the terminal (a third larger than its signed body) still stays under the target.
  const deltas = fake.published.filter((m) => m.topic === 'hub/t1/roster').map((m) => bytes(m.payload));
  await svc.stop();
  c.close();
  expect(deltas.length).toBeGreaterThan(2);
  const largest = Math.max(...deltas);
  expect(largest).toBeLessThan(ROSTER_MESSAGE_TARGET_BYTES + 64 * 1024);
  expect(largest * 1.9).toBeLessThan(MAX_PAYLOAD_BYTES);
}, 60_000);

test("a terminal's events message of the largest events is cut at its target, under the payload limit", async () => {
  const transport = new FakeTransport();
  const clock = new FakeClock();
  const client = new SyncClient({
    terminalId: 'door-1',
    transport,
    clock,
    log: silentLogger(),
    db: openSyncDb(':memory:'),
    hubPublicKey: keys.publicKey,
    roster: { sink: new MemoryRosterSink(), batchSchema: SimpleRosterBatchSchema, itemSchema: SimpleRosterItemSchema },
    health: () => ({ cameraFps: null, lastDecisionLatencyMs: null }),
    versions: { software: 't', model: 'm' },
  });
  client.start();
  // The largest event the schema allows: a config reload naming 32 sections and 20 long problems.
  for (let i = 0; i < 400; i++) {
    client.record({
      id: ulid(clock.now() + i),
      at: clock.now(),
      type: 'config.reload',
      outcome: 'rejected',
      sections: Array.from({ length: 32 }, (_, k) => `section${k}abcdefghijklmnopqrstu`),
      problems: Array.from({ length: 20 }, () => 'p'.repeat(200)),
    });
  }
  transport.connect(false);
  await new Promise((r) => setImmediate(r));
  const sizes = transport.published.filter((m) => m.topic === topicsFor('door-1').events).map((m) => bytes(m.payload));
  await client.stop();
  expect(sizes.length).toBeGreaterThan(2);
  expect(Math.max(...sizes)).toBeLessThanOrEqual(EVENTS_MESSAGE_TARGET_BYTES + 8 * 1024);
  expect(Math.max(...sizes) * 3).toBeLessThan(MAX_PAYLOAD_BYTES);
});
