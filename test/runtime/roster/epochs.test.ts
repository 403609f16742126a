/**
 * The encrypted roster store keeps its place in the hub's history (epoch, version, high-water mark)
 * in the same transaction as its rows, enforces the acceptance rule itself, keeps the mark across a
 * wipe, and migrates a store from before epochs without a snapshot.
 */
import Database from 'better-sqlite3';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import type { RosterEpoch } from '../../../runtime/protocol/schemas';
import { RosterEpochError, RosterStore, RosterVersionError } from '../../../runtime/roster/store';
import { person, rng, tempRoster, unitVector } from './fixtures';

const E1: RosterEpoch = { id: 'epoch-one-aaaaaaaaaa', startedAt: 1000, continues: { epoch: null, version: 0 } };
const E2: RosterEpoch = { id: 'epoch-two-bbbbbbbbbb', startedAt: 2000, continues: { epoch: E1.id, version: 3 } };

describe('RosterStore epochs', () => {
  let env: ReturnType<typeof tempRoster>;
  const open = (): RosterStore => RosterStore.open({ path: env.path, secretFile: env.secretFile, logger: silentLogger(), clock: new FakeClock() });
  beforeEach(() => (env = tempRoster()));
  afterEach(() => env.cleanup());
  const p = (id: string, seed: number): ReturnType<typeof person> => person(id, [unitVector(rng(seed))]);

  it('commits the epoch and version with the rows and keeps them across a restart', () => {
    const store = open();
    store.replaceAll({ version: 2, persons: [p('a', 1)], revoked: [] }, E1);
    store.applyBatch({ version: 3, upserts: [p('b', 2)], revocations: [] }, E1);
    store.close();
    const again = open();
    expect(again.rosterPosition()).toEqual({ epoch: { id: E1.id, startedAt: 1000 }, version: 3, highWater: 3 });
    again.close();
  });

  it('refuses a change of an older epoch, or from before epochs, with nothing changed', () => {
    const store = open();
    store.replaceAll({ version: 2, persons: [p('a', 1)], revoked: [] }, E1);
    store.applyBatch({ version: 3, upserts: [], revocations: [] }, E1);
    store.applyBatch({ version: 4, upserts: [p('c', 3)], revocations: [] }, E2);
    expect(() => store.applyBatch({ version: 5, upserts: [], revocations: ['c'] }, E1)).toThrow(RosterEpochError);
    expect(() => store.replaceAll({ version: 9, persons: [], revoked: ['a', 'c'] }, E1)).toThrow(RosterEpochError);
    expect(() => store.applyBatch({ version: 5, upserts: [], revocations: ['c'] })).toThrow(RosterEpochError);
    expect(store.getPerson('c')?.status).toBe('active');
    expect(store.rosterPosition()).toEqual({ epoch: { id: E2.id, startedAt: 2000 }, version: 4, highWater: 4 });
    store.close();
  });

  it('after a wipe takes the snapshot of its epoch at the version erased, but not a replayed older one', async () => {
    const store = open();
    store.replaceAll({ version: 5, persons: [p('a', 1), p('b', 2)], revoked: [] }, E1);
    store.applyBatch({ version: 6, upserts: [], revocations: ['b'] }, E1);
    await store.wipe();
    store.releaseWipeHold();
    expect(store.rosterPosition()).toEqual({ epoch: { id: E1.id, startedAt: 1000 }, version: 0, highWater: 6 });
    // The snapshot at version 5, signed before b was revoked, replayed: b would be back.
    expect(() => store.replaceAll({ version: 5, persons: [p('a', 1), p('b', 2)], revoked: [] }, E1, { resync: true })).toThrow(RosterVersionError);
    expect(store.getPerson('b')).toBeNull();
    store.replaceAll({ version: 6, persons: [p('a', 1)], revoked: ['b'] }, E1, { resync: true });
    expect(store.getPerson('b')?.status).toBe('revoked');
    store.close();
  });

  it('migrates a store from before epochs: version kept as its high-water mark, then joins the epoch that continues it', () => {
    const store = open();
    store.applyBatch({ version: 1, upserts: [p('a', 1)], revocations: [] });
    store.applyBatch({ version: 2, upserts: [p('b', 2)], revocations: [] });
    store.close();
    // As the previous release left it: schema 2, no high-water mark, no epoch.
    const raw = new Database(env.path);
    raw.exec("DELETE FROM roster_meta WHERE key IN ('high_water', 'epoch'); UPDATE schema_version SET version = 2");
    raw.close();
    const again = open();
    expect(again.rosterPosition()).toEqual({ epoch: null, version: 2, highWater: 2 });
    const upgrade: RosterEpoch = { id: 'epoch-upgrade-cccccccc', startedAt: 500, continues: { epoch: null, version: 2 } };
    again.applyBatch({ version: 3, upserts: [p('c', 3)], revocations: [] }, upgrade);
    expect(again.rosterPosition()).toEqual({ epoch: { id: upgrade.id, startedAt: 500 }, version: 3, highWater: 3 });
    expect(again.getPerson('a')?.status).toBe('active');
    again.close();
  });
});
