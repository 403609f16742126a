/**
 * The hub's `wipe` at the roster level: a real encrypted SQLite file, the matcher following it, and the
 * raw bytes of the file (and its WAL) searched for what was erased.
 */
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { FakeClock } from '../../../runtime/clock';
import { silentLogger } from '../../../runtime/log';
import { Matcher } from '../../../runtime/roster/matcher';
import { RosterStore } from '../../../runtime/roster/store';
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

  it('erases every person and template so that a face that matched before matches no one, and holds the roster empty at version 0', () => {
    const store = open();
    const faces = [1, 2, 3].map((i) => unitVector(rng(i)));
    store.applyBatch({ version: 1, upserts: faces.map((f, i) => person(`p-${i}`, [f, unitVector(rng(100 + i))])) });
    store.applyBatch({ version: 2, upserts: [], revocations: ['p-2'] });
    const matcher = Matcher.fromStore(store, { modelId: MODEL, logger: silentLogger() });
    expect(matcher.search(faces[0]!, 1)[0]).toMatchObject({ personId: 'p-0' });

    expect(store.wipe()).toEqual({ persons: 3, templates: 4 });

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

  it('leaves none of the erased rows\' bytes in the database file or its WAL', () => {
    const store = open();
    store.applyBatch({ version: 1, upserts: [1, 2, 3, 4].map((i) => person(`p-${i}`, [unitVector(rng(i)), unitVector(rng(50 + i))], { label: `Flat ${i}-101` })) });
    store.applyBatch({ version: 2, upserts: [person('p-1', [unitVector(rng(9))])] }); // old rows rewritten once
    const sealed = sealedRows();
    expect(sealed).toHaveLength(4 + 7);
    // Sanity: the search below does find them while they are stored.
    const before = fileBytes();
    expect(sealed.every((b) => before.includes(b.subarray(0, 32)))).toBe(true);

    store.wipe();

    const after = fileBytes();
    const left = sealed.filter((b) => after.includes(b.subarray(0, 32)) || after.includes(b.subarray(b.length - 32)));
    expect(left).toHaveLength(0);
    store.close();
  });

  it('takes a full snapshot again once the hold is released, and the faces match again', () => {
    const store = open();
    const face = unitVector(rng(7));
    store.applyBatch({ version: 1, upserts: [person('p-7', [face])] });
    for (let v = 2; v <= 5; v++) store.applyBatch({ version: v, upserts: [], revocations: [`gone-${v}`] });
    const matcher = Matcher.fromStore(store, { modelId: MODEL, logger: silentLogger() });
    store.wipe();
    store.releaseWipeHold();
    expect(store.wipedAt()).toBeNull();

    // The hub's snapshot carries its current version (5): accepted because the wipe reset ours to 0.
    store.replaceAll({ version: 5, persons: [person('p-7', [face])], revoked: [] });

    expect(store.version()).toBe(5);
    expect(matcher.search(face, 1)[0]).toMatchObject({ personId: 'p-7' });
    matcher.close();
    store.close();
  });
});
