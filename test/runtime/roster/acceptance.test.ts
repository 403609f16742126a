/** The roster acceptance rule, case by case (runtime/roster/acceptance.ts). */
import { judgeDelta, judgeSnapshot, positionAfter, type RosterPosition } from '../../../runtime/roster/acceptance';
import type { RosterEpoch } from '../../../runtime/protocol/schemas';

const E1: RosterEpoch = { id: 'epoch-one-aaaaaaaaaa', startedAt: 1000, continues: { epoch: null, version: 0 } };
/** The hub restarted at version 80 of E1. */
const E2: RosterEpoch = { id: 'epoch-two-bbbbbbbbbb', startedAt: 2000, continues: { epoch: E1.id, version: 80 } };
/** A hub restored from a backup at version 50 of E1. */
const R: RosterEpoch = { id: 'epoch-restored-cccccc', startedAt: 3000, continues: { epoch: E1.id, version: 50 } };
/** A hub upgraded at version 40 of a roster from before epochs. */
const U: RosterEpoch = { id: 'epoch-upgrade-dddddddd', startedAt: 500, continues: { epoch: null, version: 40 } };
const held = (e: RosterEpoch): RosterPosition['epoch'] => ({ id: e.id, startedAt: e.startedAt });
const at = (e: RosterEpoch | null, version: number, highWater = version): RosterPosition => ({ epoch: e ? held(e) : null, version, highWater });

describe('deltas', () => {
  test.each([
    ['of the held epoch, next version: applied', at(E1, 80), { epoch: E1, version: 81 }, 'apply'],
    ['of the held epoch, a gap: held while the gap is asked for', at(E1, 80), { epoch: E1, version: 83 }, 'hold'],
    ['of the held epoch, replayed: stale', at(E1, 80), { epoch: E1, version: 80 }, 'stale-version'],
    ['of an epoch continuing the held one from this version: applied', at(E1, 80), { epoch: E2, version: 81 }, 'apply'],
    ['of an epoch continuing the held one from a later version: held', at(E1, 70), { epoch: E2, version: 81 }, 'hold'],
    ['of a restored hub whose history forks below this version: ask the hub', at(E1, 80), { epoch: R, version: 51 }, 'ask'],
    ['of an older epoch: stale', at(E2, 90), { epoch: E1, version: 91 }, 'stale-epoch'],
    ['from before epochs, once an epoch is held: stale', at(E1, 80), { version: 81 }, 'stale-epoch'],
    ['from before epochs, none held: the old rule', at(null, 40), { version: 41 }, 'apply'],
    ['of the first epoch after an upgrade, for a roster from before epochs at that version: applied', at(null, 40), { epoch: U, version: 41 }, 'apply'],
    ['of the first epoch after an upgrade, for a roster from before epochs ahead of it: ask', at(null, 45), { epoch: U, version: 41 }, 'ask'],
    ['of an epoch with the held id but another start (forged or corrupt): stale', at(E1, 80), { epoch: { ...E1, startedAt: 9999 }, version: 81 }, 'stale-epoch'],
    ['of the held epoch, following an earlier version this roster holds or passed (per-door): applied', at(E1, 80), { epoch: E1, version: 90, after: 75 }, 'apply'],
    ['of the held epoch, following exactly the version held: applied', at(E1, 80), { epoch: E1, version: 90, after: 80 }, 'apply'],
    ['of the held epoch, following a version this roster has not reached: held', at(E1, 80), { epoch: E1, version: 90, after: 85 }, 'hold'],
    ['of the held epoch, following an earlier version but not newer than the roster: stale', at(E1, 80), { epoch: E1, version: 80, after: 70 }, 'stale-version'],
    ['of an epoch continuing the held one, following a version this roster holds: applied', at(E1, 78), { epoch: E2, version: 85, after: 75 }, 'apply'],
    ['of an epoch continuing the held one, following a version this roster has not reached: held', at(E1, 70), { epoch: E2, version: 85, after: 75 }, 'hold'],
    ['of a restored hub whose history forks below this version, whatever it follows: ask the hub', at(E1, 80), { epoch: R, version: 60, after: 10 }, 'ask'],
    ['of an older epoch, whatever it follows: stale', at(E2, 90), { epoch: E1, version: 95, after: 10 }, 'stale-epoch'],
  ])('%s', (_what, pos, msg, expected) => {
    const v = judgeDelta(pos, msg);
    expect(v.kind === 'refuse' ? v.reason : v.kind).toBe(expected);
  });

  test('applying a delta of a continuing epoch moves the roster into it with a fresh high-water mark', () => {
    const v = judgeDelta(at(E1, 80), { epoch: E2, version: 81 });
    expect(v).toEqual({ kind: 'apply', epoch: held(E2) });
    expect(positionAfter(at(E1, 80), held(E2), 81)).toEqual(at(E2, 81));
  });
});

describe('snapshots', () => {
  test.each([
    ['of the held epoch, newer: accepted', at(E1, 80), { epoch: E1, version: 85 }, false, 'accept'],
    ['of the held epoch, the same version: refused unless a resync asked for it', at(E1, 80), { epoch: E1, version: 80 }, false, 'stale-version'],
    ['of the held epoch, the same version after a resync: accepted', at(E1, 80), { epoch: E1, version: 80 }, true, 'accept'],
    ['of the held epoch after a wipe, as new as what was erased: accepted', at(E1, 0, 80), { epoch: E1, version: 80 }, true, 'accept'],
    ['of the held epoch after a wipe, older than what was erased (a replay): refused', at(E1, 0, 80), { epoch: E1, version: 50 }, true, 'stale-version'],
    ['of a newer epoch, at a lower version (a restored hub): accepted', at(E1, 80), { epoch: R, version: 52 }, false, 'accept'],
    ['of a newer epoch after a wipe: accepted', at(E1, 0, 80), { epoch: R, version: 52 }, false, 'accept'],
    ['of an older epoch, at a higher version (a replay): refused', at(R, 52), { epoch: E1, version: 80 }, false, 'stale-epoch'],
    ['from before epochs, once an epoch is held: refused', at(E1, 0, 80), { version: 90 }, true, 'stale-epoch'],
    ['of any epoch, none held: accepted', at(null, 45), { epoch: U, version: 41 }, false, 'accept'],
    ['from before epochs, none held, after a wipe, older than what was erased: refused', at(null, 0, 45), { version: 30 }, true, 'stale-version'],
  ])('%s', (_what, pos, msg, resync, expected) => {
    const v = judgeSnapshot(pos, msg, resync);
    expect(v.kind === 'refuse' ? v.reason : v.kind).toBe(expected);
  });
});
