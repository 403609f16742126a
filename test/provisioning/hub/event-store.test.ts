import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProtocolRejectError } from '../../../runtime/protocol/codec';
import { EventStore } from '../../../provisioning/hub/event-store';
import { entryEvent } from '../../harness/sync-site';

const msg = (events: unknown[]): Buffer => Buffer.from(JSON.stringify({ v: 1, events }));

test('an event sent twice is stored once and acknowledged both times', () => {
  const ing = new EventStore(':memory:');
  const a = entryEvent(1);
  const b = entryEvent(2);
  expect(ing.ingest('door-1', msg([a, b]), 10)).toMatchObject({ ids: [a.id, b.id], stored: 2, duplicates: 0 });
  expect(ing.ingest('door-1', msg([b]), 11)).toMatchObject({ ids: [b.id], stored: 0, duplicates: 1 });
  expect(ing.count('door-1')).toBe(2);
  expect(ing.ids('door-1')).toEqual([a.id, b.id]);
  expect(ing.duplicates()).toBe(1);
});

test('a message with one invalid event is refused whole and stores nothing', () => {
  const ing = new EventStore(':memory:');
  expect(() => ing.ingest('door-1', msg([entryEvent(1), { ...entryEvent(2), type: 'bogus' }]), 1)).toThrow(ProtocolRejectError);
  expect(() => ing.ingest('door-1', Buffer.from('nope'), 1)).toThrow(ProtocolRejectError);
  expect(ing.count()).toBe(0);
});

const unknownFace = (at: number, personId: string | null, reason = 'unknown', credential = 'face') =>
  ({ id: entryEvent(at).id, at, type: 'entry.denied', reason, credential, personId, score: 0.42, liveness: 0.9, latencyMs: 200 });

test('a denial of an unknown face from an older terminal is kept without the nearest resident, a card holder\'s denial with them', () => {
  const ing = new EventStore(':memory:');
  const r = ing.ingest('door-1', msg([unknownFace(1, 'p-near'), unknownFace(2, 'p-near', 'ambiguous'), unknownFace(3, 'p-ana', 'expired'), unknownFace(4, 'p-card', 'wrong-pin', 'card')]), 10);
  expect(r.events.map((e) => (e.event as { personId: string | null }).personId)).toEqual([null, null, 'p-ana', 'p-card']);
  const stored = ing.read(0).events.map((e) => e.event as { personId: string | null; score: number });
  expect(stored.map((e) => e.personId)).toEqual([null, null, 'p-ana', 'p-card']);
  expect(stored[0]?.score).toBe(0.42);
});

test('opening an events.db from before loses the nearest resident of the unknown faces it stored and learns the last granted entries, once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'events-'));
  {
    const file = join(dir, 'events.db');
    const old = new Database(file);
    old.exec('CREATE TABLE events (id TEXT PRIMARY KEY, terminal_id TEXT NOT NULL, type TEXT NOT NULL, at INTEGER NOT NULL, body TEXT NOT NULL, received_at INTEGER NOT NULL)');
    const put = old.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)');
    for (const e of [unknownFace(1, 'p-near'), unknownFace(2, 'p-ana', 'revoked'), entryEvent(3, 'p-ana')]) put.run(e.id, 'door-1', e.type, e.at, JSON.stringify(e), 5);
    old.close();
    const s = new EventStore(file);
    expect(s.read(0).events.map((e) => (e.event as { personId: string | null }).personId)).toEqual([null, 'p-ana', 'p-ana']);
    expect(Object.fromEntries(s.lastGrantedSince(0))).toEqual({ 'p-ana': 3 });
    s.close();
    const raw = new Database(file, { readonly: true });
    expect((raw.prepare("SELECT COUNT(*) AS n FROM events WHERE body LIKE '%p-near%'").get() as { n: number }).n).toBe(0);
    raw.close();
  }
});

test('each person\'s last granted entry is kept on ingest, from the latest entry whatever the order, and goes with the entries', () => {
  const ing = new EventStore(':memory:');
  ing.ingest('door-1', msg([entryEvent(5_000, 'p-ana'), entryEvent(3_000, 'p-ana'), entryEvent(4_000, 'p-bo')]), 10);
  ing.ingest('door-2', msg([entryEvent(2_000, 'p-ana')]), 11);
  expect(Object.fromEntries(ing.lastGrantedSince(0))).toEqual({ 'p-ana': 5_000, 'p-bo': 4_000 });
  expect(Object.fromEntries(ing.lastGrantedSince(4_500))).toEqual({ 'p-ana': 5_000 });
  expect(ing.deleteBefore(4_500, { except: ['alert.sighting'] })).toBe(3);
  expect(Object.fromEntries(ing.lastGrantedSince(0))).toEqual({ 'p-ana': 5_000 });
  expect(ing.deleteBefore(9_000, { only: ['alert.sighting'] })).toBe(0);
  expect(Object.fromEntries(ing.lastGrantedSince(0))).toEqual({ 'p-ana': 5_000 });
});

test('old events are deleted at most a given number at a time, the newer ones kept', () => {
  const ing = new EventStore(':memory:');
  ing.ingest('door-1', msg([1, 2, 3, 4, 5, 9].map((at) => entryEvent(at * 1000))), 10);
  expect([2, 2, 2].map(() => ing.deleteBefore(6_000, { except: ['alert.sighting'] }, 2))).toEqual([2, 2, 1]);
  expect(ing.count()).toBe(1);
});
