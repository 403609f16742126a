import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { PUBLISH_WAIT_MS, SnapshotSender } from '../../../provisioning/hub/snapshot-sender';
import { FakeTransport } from '../../../runtime/sync/fake-transport';
import { waitFor } from '../../harness/wait';

/** A snapshot source that records which chunks were sealed, and when (in order with other work). */
function source(count: number) {
  const sealed: string[] = [];
  let current = 'snap-1';
  return {
    sealed,
    replace(id: string) {
      current = id;
    },
    chunk(terminalId: string, snapshotId: string, index: number): string | null {
      if (snapshotId !== current || index >= count) return null;
      sealed.push(`${terminalId}:${snapshotId}:${index}`);
      return `${snapshotId}#${index}`;
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function connected(): FakeTransport {
  const t = new FakeTransport();
  t.connect();
  return t;
}

test('chunks go out one at a time, each sealed when its turn comes, the loop free between two', async () => {
  const t = connected();
  const src = source(40);
  const s = new SnapshotSender(t, src, new FakeClock(0), silentLogger());
  const order: string[] = [];
  const done = s.send('gate-1', 'snap-1', [0, 1, 2, 3]);
  // Nothing is sealed in the caller's turn (a request handler returns at once).
  expect(src.sealed).toEqual([]);
  // Work queued while the chunks go out runs between them, not after all of them.
  void tick().then(() => order.push(`other work after ${src.sealed.length} chunks`));
  await done;
  expect(t.published.map((p) => [p.topic, p.payload])).toEqual([0, 1, 2, 3].map((i) => ['hub/gate-1/roster', `snap-1#${i}`]));
  expect(order).toHaveLength(1);
  expect(order[0]).not.toBe('other work after 4 chunks');
});

test('an ask for chunks still queued is merged: no chunk is queued twice', async () => {
  const t = connected();
  const src = source(40);
  const s = new SnapshotSender(t, src, new FakeClock(0), silentLogger());
  const first = s.send('gate-1', 'snap-1', [0, 1, 2, 3]);
  // The door asks again (chunks stopped coming) before its window went out; then for the next window.
  void s.send('gate-1', 'snap-1', [0, 1, 2, 3]);
  void s.send('gate-1', 'snap-1', [2, 3, 4, 5]);
  expect(s.queued('gate-1')).toBe(6);
  await first;
  expect(t.published.map((p) => p.payload)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `snap-1#${i}`));
  // Once sent, a chunk asked for again is sent again (the broker may have dropped it).
  await s.send('gate-1', 'snap-1', [1]);
  expect(t.published.map((p) => p.payload).slice(-1)).toEqual(['snap-1#1']);
});

test('terminals take turns: a gate\'s long snapshot does not hold a building door\'s behind it', async () => {
  const t = connected();
  const src = source(400);
  const s = new SnapshotSender(t, src, new FakeClock(0), silentLogger());
  const gate = s.send('gate-1', 'snap-1', Array.from({ length: 16 }, (_, i) => i));
  await tick();
  const door = s.send('door-1', 'snap-1', [0]);
  await door;
  const doorAt = t.published.findIndex((p) => p.topic === 'hub/door-1/roster');
  expect(doorAt).toBeGreaterThanOrEqual(0);
  expect(doorAt).toBeLessThan(4);
  await gate;
  expect(t.published.filter((p) => p.topic === 'hub/gate-1/roster')).toHaveLength(16);
});

test('a snapshot gone (a newer one, a revocation) ends the queue; another snapshot replaces what was queued', async () => {
  const t = connected();
  const src = source(40);
  const s = new SnapshotSender(t, src, new FakeClock(0), silentLogger());
  const run = s.send('gate-1', 'snap-1', [0, 1, 2, 3, 4, 5]);
  await tick();
  await tick();
  src.replace('snap-2');
  await run;
  const sent = t.published.length;
  expect(sent).toBeLessThan(6);
  expect(s.queued('gate-1')).toBe(0);
  // The terminal's next ask is for the new snapshot: only its chunks go out.
  await s.send('gate-1', 'snap-2', [0, 1]);
  expect(t.published.slice(sent).map((p) => p.payload)).toEqual(['snap-2#0', 'snap-2#1']);
});

test('a failed publish ends the queue (the terminal asks again); after stop nothing is sent', async () => {
  const t = connected();
  const src = source(40);
  const s = new SnapshotSender(t, src, new FakeClock(0), silentLogger());
  const publish = t.publish.bind(t);
  let fail = true;
  t.publish = (topic, payload, opts) => (fail ? Promise.reject(new Error('offline')) : publish(topic, payload, opts));
  await s.send('gate-1', 'snap-1', [0, 1, 2]);
  expect(s.queued('gate-1')).toBe(0);
  expect(t.published).toHaveLength(0);
  fail = false;
  s.stop();
  await s.send('gate-1', 'snap-1', [0]);
  expect(t.published).toHaveLength(0);
});

test('a publish the broker never acknowledges ends the queue after PUBLISH_WAIT_MS; the next ask starts a new one', async () => {
  const t = connected();
  t.autoAck = false;
  const src = source(40);
  const clock = new FakeClock(0);
  const s = new SnapshotSender(t, src, clock, silentLogger());
  const run = s.send('gate-1', 'snap-1', [0, 1, 2]);
  await waitFor(() => t.published.length === 1, 1000, 'the first chunk published');
  clock.advance(PUBLISH_WAIT_MS - 1);
  await tick();
  expect(s.queued('gate-1')).toBe(2);
  clock.advance(1);
  await run;
  expect(s.queued('gate-1')).toBe(0);
  expect(t.published).toHaveLength(1);
  // The door asks again: a new queue, not stuck behind the lost acknowledgement.
  t.autoAck = true;
  await s.send('gate-1', 'snap-1', [1, 2]);
  expect(t.published.map((p) => p.payload)).toEqual(['snap-1#0', 'snap-1#1', 'snap-1#2']);
});
