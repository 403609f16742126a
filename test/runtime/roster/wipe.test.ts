/**
 * The hub's `wipe` at the roster level: a real encrypted SQLite file, the matcher following it, and the
 * raw bytes of the file (and its WAL) searched for what was erased.
 */
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { Matcher } from '../../../runtime/roster/matcher';
import { RosterStore, WipeInProgressError, WipeInterruptedError } from '../../../runtime/roster/store';
import { MODEL, person, rng, tempRoster, unitVector } from './fixtures';

describe('RosterStore.wipe', () => {
  let env: ReturnType<typeof tempRoster>;
  const clock = new FakeClock(Date.UTC(2026, 10, 1));
  const open = (): RosterStore => RosterStore.open({ path: env.path, secretFile: env.secretFile, logger: silentLogger(), clock });
  beforeEach(() => (env = tempRoster()));
  afterEach(() => env.cleanup());

  /** Both files of the database as they are on disk. */
  function fileBytes(): Buffer {
    const parts = [readFileSync(env.path)];
    if (existsSync(`${env.path}-wal`)) parts.push(readFileSync(`${env.path}-wal`));
    return Buffer.concat(parts);
  }

  /** The sealed bytes of every template and person row, read through a second connection. */
  function sealedRows(): Buffer[] {
    const raw = new Database(env.path, { readonly: true });
    try {
      const t = raw.prepare('SELECT sealed FROM template').all() as { sealed: Buffer }[];
      const p = raw.prepare('SELECT sealed FROM person').all() as { sealed: Buffer }[];
      return [...t, ...p].map((r) => r.sealed);
    } finally {
      raw.close();
    }
  }

  it('erases every person and template so that a face that matched before matches no one, and holds the roster empty at version 0', async () => {
    const store = open();
    const faces = [1, 2, 3].map((i) => unitVector(rng(i)));
    store.applyBatch({ version: 1, upserts: faces.map((f, i) => person(`p-${i}`, [f, unitVector(rng(100 + i))])) });
    store.applyBatch({ version: 2, upserts: [], revocations: ['p-2'] });
    const matcher = Matcher.fromStore(store, { modelId: MODEL, logger: silentLogger() });
    expect(matcher.search(faces[0]!, 1)[0]).toMatchObject({ personId: 'p-0' });

    await expect(store.wipe()).resolves.toEqual({ persons: 3, templates: 4 });

    expect(matcher.search(faces[0]!, 1)).toEqual([]);
    expect(matcher.size).toBe(0);
    expect(store.getPerson('p-0')).toBeNull();
    expect(store.getPerson('p-2')).toBeNull(); // the tombstone's id is gone too
    expect(store.templateCount()).toBe(0);
    expect(store.version()).toBe(0);
    expect(store.wipedAt()).toBe(clock.now());
    matcher.close();
    store.close();

    // The hold survives a restart.
    const again = open();
    expect(again.wipedAt()).toBe(clock.now());
    expect(again.version()).toBe(0);
    again.close();
  });

  it('leaves none of the erased rows\' bytes in the database file or its WAL', async () => {
    const store = open();
    store.applyBatch({ version: 1, upserts: [1, 2, 3, 4].map((i) => person(`p-${i}`, [unitVector(rng(i)), unitVector(rng(50 + i))], { label: `Flat ${i}-101` })) });
    store.applyBatch({ version: 2, upserts: [person('p-1', [unitVector(rng(9))])] }); // old rows rewritten once
    const sealed = sealedRows();
    expect(sealed).toHaveLength(4 + 7);
    // Sanity: the search below does find them while they are stored.
    const before = fileBytes();
    expect(sealed.every((b) => before.includes(b.subarray(0, 32)))).toBe(true);

    await store.wipe();

    const after = fileBytes();
    const left = sealed.filter((b) => after.includes(b.subarray(0, 32)) || after.includes(b.subarray(b.length - 32)));
    expect(left).toHaveLength(0);
    store.close();
  });

  it('takes a full snapshot again once the hold is released, and the faces match again', async () => {
    const store = open();
    const face = unitVector(rng(7));
    store.applyBatch({ version: 1, upserts: [person('p-7', [face])] });
    for (let v = 2; v <= 5; v++) store.applyBatch({ version: v, upserts: [], revocations: [`gone-${v}`] });
    const matcher = Matcher.fromStore(store, { modelId: MODEL, logger: silentLogger() });
    await store.wipe();
    store.releaseWipeHold();
    expect(store.wipedAt()).toBeNull();

    // The hub's snapshot carries its current version (5): accepted because the wipe reset ours to 0.
    store.replaceAll({ version: 5, persons: [person('p-7', [face])], revoked: [] });

    expect(store.version()).toBe(5);
    expect(matcher.search(face, 1)[0]).toMatchObject({ personId: 'p-7' });
    matcher.close();
    store.close();
  });

  /** `n` persons with two templates each, in batches; returns the first person's first face. */
  function fill(store: RosterStore, n: number): Float32Array {
    const rand = rng(11);
    const first = unitVector(rand);
    for (let v = 1, i = 0; i < n; v++) {
      const upserts = [];
      for (const end = Math.min(n, i + 1000); i < end; i++) upserts.push(person(`p-${i}`, [i === 0 ? first : unitVector(rand), unitVector(rand)]));
      store.applyBatch({ version: v, upserts });
    }
    return first;
  }

  function rawCount(): number {
    const raw = new Database(env.path, { readonly: true });
    try {
      return (raw.prepare('SELECT COUNT(*) AS n FROM person').get() as { n: number }).n;
    } finally {
      raw.close();
    }
  }

  it('fails closed before it returns: the hold is on disk, the matcher is empty and no person is readable while rows are still being erased', async () => {
    const store = open();
    const face = fill(store, 600);
    const matcher = Matcher.fromStore(store, { modelId: MODEL, logger: silentLogger() });
    expect(matcher.search(face, 1)[0]).toMatchObject({ personId: 'p-0' });

    const wiping = store.wipe({ batchPersons: 100 });

    // Nothing erased yet (the first batch waits for the next turn of the loop)...
    expect(rawCount()).toBe(600);
    // ...but nothing can match or be read any more, and a second connection sees the hold committed.
    expect(matcher.size).toBe(0);
    expect(matcher.search(face, 1)).toEqual([]);
    expect(store.getPerson('p-0')).toBeNull();
    expect(store.loadTemplates().templates).toEqual([]);
    expect(store.wipeInProgress()).toBe(true);
    const raw = new Database(env.path, { readonly: true });
    expect(raw.prepare("SELECT value FROM roster_meta WHERE key = 'wiped_at'").get()).toEqual({ value: String(clock.now()) });
    raw.close();
    // Roster data cannot come in, nor the hold be released, before the erasing has finished.
    expect(() => store.applyBatch({ version: 1, upserts: [person('late', [face])] })).toThrow(WipeInProgressError);
    expect(() => store.releaseWipeHold()).toThrow(WipeInProgressError);

    await expect(wiping).resolves.toEqual({ persons: 600, templates: 1200 });
    expect(store.wipeFinishedAtOpen()).toBeNull();
    expect(store.wipeInProgress()).toBe(false);
    expect(rawCount()).toBe(0);
    matcher.close();
    store.close();
  });

  it('yields to the event loop between batches: a callback queued just after the wipe starts (a GPIO edge) runs before the wipe ends', async () => {
    const store = open();
    fill(store, 1500);
    const order: string[] = [];
    const done = store.wipe({ batchPersons: 100 }).then(() => order.push('wipe done'));
    setImmediate(() => order.push(`edge handled with ${rawCount()} persons left`));
    await done;
    expect(order).toHaveLength(2);
    expect(order[1]).toBe('wipe done');
    // The edge ran while rows were still there: the wipe had not held the loop until the end.
    expect(order[0]).toMatch(/^edge handled with \d+ persons left$/);
    expect(Number(/(\d+)/.exec(order[0]!)?.[1])).toBeGreaterThan(0);
    store.close();
  });

  it('is finished when the roster is opened again after the process stopped in the middle of it: held, nothing matches, no row or byte of it left', async () => {
    const store = open();
    fill(store, 2000);
    const sealed = sealedRows();
    const wiping = store.wipe({ batchPersons: 100 });
    const settled = wiping.catch((e: unknown) => e);
    // Stop after some batches (as a power cut or a SIGKILL would).
    while (rawCount() === 2000) await new Promise<void>((r) => setImmediate(r));
    store.close();
    expect(await settled).toBeInstanceOf(WipeInterruptedError);
    const left = rawCount();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(2000);

    const again = open();
    expect(again.wipedAt()).toBe(clock.now());
    expect(again.version()).toBe(0);
    expect(again.wipeInProgress()).toBe(false);
    expect(again.wipeFinishedAtOpen()).toEqual({ persons: 2000, templates: 4000 });
    expect(rawCount()).toBe(0);
    const matcher = Matcher.fromStore(again, { modelId: MODEL, logger: silentLogger() });
    expect(matcher.size).toBe(0);
    const bytes = fileBytes();
    expect(sealed.filter((b) => bytes.includes(b.subarray(0, 32)) || bytes.includes(b.subarray(b.length - 32)))).toHaveLength(0);
    matcher.close();
    again.close();
  });
});
