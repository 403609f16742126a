import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monotonicFactory } from 'ulid';
import { silentLogger } from '../../../core/log';
import type { SyncEvent } from '../../../runtime/protocol/schemas';
import { openSyncDb } from '../../../runtime/sync/db';
import { Outbox, OutboxEventError } from '../../../runtime/sync/outbox';
import { entryEvent } from '../../harness/sync-site';

const ulid = monotonicFactory();
const alarm = (at: number): SyncEvent => ({ id: ulid(at), at, type: 'alarm.forced-open' });
const outbox = (capacity: number, path = ':memory:'): Outbox => new Outbox(openSyncDb(path), { capacity, log: silentLogger() });

test('stored events survive closing and reopening the database file, in order', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'outbox-')), 'sync.db');
  const db = openSyncDb(path);
  const a = new Outbox(db, { capacity: 10, log: silentLogger() });
  const evs = [entryEvent(1), alarm(2), entryEvent(3)];
  for (const e of evs) a.enqueue(e);
  db.close();
  const b = new Outbox(openSyncDb(path), { capacity: 10, log: silentLogger() });
  expect(b.depth()).toBe(3);
  expect(b.after(0, 10).map((r) => JSON.parse(r.body) as unknown)).toEqual(evs);
});

test('when full, the oldest plain events are dropped and counted while alarms are kept', () => {
  const o = outbox(4);
  const e1 = entryEvent(1);
  const a1 = alarm(2);
  const e2 = entryEvent(3);
  const a2 = alarm(4);
  for (const e of [e1, a1, e2, a2]) o.enqueue(e);
  const e3 = entryEvent(5);
  expect(o.enqueue(e3)).toBe('queued');
  expect(o.after(0, 10).map((r) => r.id)).toEqual([a1.id, e2.id, a2.id, e3.id]);
  expect(o.dropped()).toBe(1);
  expect(o.depth()).toBe(4);
});

test('alarms are never dropped, even past capacity, and a plain event is refused when only alarms are stored', () => {
  const o = outbox(2);
  const alarms = [alarm(1), alarm(2), alarm(3)];
  for (const a of alarms) expect(o.enqueue(a)).toBe('queued');
  expect(o.depth()).toBe(3);
  expect(o.enqueue(entryEvent(4))).toBe('dropped');
  expect(o.after(0, 10).map((r) => r.id)).toEqual(alarms.map((a) => a.id));
  expect(o.dropped()).toBe(1);
});

test('a capacity of 100,000 events holds and then drops only the oldest plain one', () => {
  const db = openSyncDb(':memory:');
  const fill = db.prepare('INSERT INTO outbox (id, security, body) VALUES (?, 0, ?)');
  const first = entryEvent(1);
  db.transaction(() => {
    fill.run(first.id, JSON.stringify(first));
    for (let i = 1; i < 100_000; i++) {
      const e = entryEvent(i + 1);
      fill.run(e.id, JSON.stringify(e));
    }
  })();
  const o = new Outbox(db, { capacity: 100_000, log: silentLogger() });
  expect(o.depth()).toBe(100_000);
  const a = alarm(200_000);
  o.enqueue(a);
  expect(o.depth()).toBe(100_000);
  expect(o.dropped()).toBe(1);
  expect(o.pending([first.id, a.id]).map((r) => r.id)).toEqual([a.id]);
});

test('the same event id is stored once', () => {
  const o = outbox(10);
  const e = entryEvent(1);
  expect(o.enqueue(e)).toBe('queued');
  expect(o.enqueue(e)).toBe('duplicate');
  expect(o.depth()).toBe(1);
});

test('an event that fails its schema is refused with a typed error and nothing is stored', () => {
  const o = outbox(10);
  const bad = { ...entryEvent(1), score: 7 } as SyncEvent;
  expect(() => o.enqueue(bad)).toThrow(OutboxEventError);
  expect(() => o.enqueue({ ...entryEvent(2), extra: 1 } as unknown as SyncEvent)).toThrow(OutboxEventError);
  expect(o.depth()).toBe(0);
});

test('ack deletes exactly the acknowledged ids and ignores unknown ones', () => {
  const o = outbox(10);
  const evs = [entryEvent(1), entryEvent(2), entryEvent(3)];
  for (const e of evs) o.enqueue(e);
  expect(o.ack([evs[0]!.id, evs[2]!.id, entryEvent(9).id])).toBe(2);
  expect(o.depth()).toBe(1);
  expect(o.after(0, 10).map((r) => r.id)).toEqual([evs[1]!.id]);
});

test('once the hub has acknowledged every entry, no byte of them is left in the sync file or its WAL', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'outbox-')), 'sync.db');
  const db = openSyncDb(path);
  const o = new Outbox(db, { capacity: 100, log: silentLogger() });
  const evs = [entryEvent(1, 'p-left-no-trace'), entryEvent(2, 'p-left-no-trace')];
  for (const e of evs) o.enqueue(e);
  const bytes = (): string => [path, `${path}-wal`].map((f) => (existsSync(f) ? readFileSync(f).toString('latin1') : '')).join('');
  expect(bytes()).toContain('p-left-no-trace');
  o.ack([evs[0]!.id]);
  expect(bytes()).toContain('p-left-no-trace'); // one is still waiting for the hub
  o.ack([evs[1]!.id]);
  expect(o.depth()).toBe(0);
  expect(bytes()).not.toContain('p-left-no-trace');
  db.close();
});
