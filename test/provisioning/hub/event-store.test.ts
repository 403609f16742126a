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
