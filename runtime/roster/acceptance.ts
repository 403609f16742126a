/**
 * Which roster change a terminal accepts: the one rule, used by the sync client (to apply, hold or
 * ask the hub) and again by the roster stores inside their transactions (so nothing else can apply
 * a change the rule refuses). Pure functions of where the roster stands and what the message says.
 *
 * Where the roster stands (`RosterPosition`): the epoch it holds (null: none yet, a fresh terminal or
 * a roster from before epochs), its version, and its high-water mark: the highest version it ever
 * held in that epoch, kept when a wipe resets the version to 0.
 *
 * A delta (epoch E, version v):
 * - from before epochs (no E): the old rule (v = version + 1 applies, a lower one is stale, a higher one
 *   is held while the gap is asked for) while the roster holds no epoch; refused (`stale-epoch`) once
 *   it holds one;
 * - of the held epoch: the same old rule;
 * - of an epoch that continues the held one (`E.continues` names it, or null for no epoch) at a
 *   version at or above the roster's: it applies when it is version + 1 (the roster takes E), is held
 *   otherwise while the missing deltas are asked for;
 * - of any other epoch newer than the held one (started later): nothing to apply; the hub is asked for
 *   a sync and answers with the deltas along its history or a snapshot;
 * - of an older epoch (or one started at the same time): refused (`stale-epoch`).
 * "version + 1" above reads "version + 1, or any version above the delta's `after` when it has one":
 * a delta that says it follows version `after` (per-door rosters: no version between concerned this
 * terminal) applies onto any version in [after, v); onto a lower one it is held while the gap is asked
 * for, exactly as a delta after a gap.
 *
 * A snapshot (epoch E, version v):
 * - of the held epoch (or from before epochs while none is held): newer than the roster (or the same
 *   version when a resync asked for it) and never below the high-water mark, so that a terminal wiped
 *   to version 0 does not take a replayed older snapshot;
 * - of a newer epoch, or any epoch while none is held: accepted whatever its version (a hub restored
 *   from a backup brings every terminal to its truth this way);
 * - of an older epoch, or from before epochs once an epoch is held: refused (`stale-epoch`).
 */
import type { HeldEpoch, RosterEpoch } from '../protocol/schemas';

export interface RosterPosition {
  epoch: HeldEpoch | null;
  version: number;
  /** Highest version held in `epoch`, kept across a wipe. */
  highWater: number;
}

/** What a roster message says about its place in the hub's history. */
export interface RosterMessagePlace {
  epoch?: RosterEpoch | undefined;
  version: number;
  /** A delta's `after`: it applies onto any version in [after, version). */
  after?: number | undefined;
}

export type StaleReason = 'stale-version' | 'stale-epoch';

export type DeltaVerdict =
  /** Apply it; the roster then holds `epoch`. */
  | { kind: 'apply'; epoch: HeldEpoch | null }
  /** It follows a gap: keep it and ask the hub for the missing deltas. */
  | { kind: 'hold' }
  /** From a newer history the roster cannot go on from: ask the hub (replay or snapshot). */
  | { kind: 'ask' }
  | { kind: 'refuse'; reason: StaleReason; detail: string };

export type SnapshotVerdict = { kind: 'accept'; epoch: HeldEpoch | null } | { kind: 'refuse'; reason: StaleReason; detail: string };

export function heldOf(e: RosterEpoch | undefined): HeldEpoch | null {
  return e === undefined ? null : { id: e.id, startedAt: e.startedAt };
}

/** -1: `a` is older than `b`, 1: newer, 0: the same epoch; null: they cannot be ordered (same start, other id). */
function order(a: HeldEpoch, b: HeldEpoch): -1 | 0 | 1 | null {
  if (a.id === b.id) return a.startedAt === b.startedAt ? 0 : null;
  if (a.startedAt === b.startedAt) return null;
  return a.startedAt > b.startedAt ? 1 : -1;
}

/** The delta at `v` (following `after`, when it says so) goes straight onto version `held`. */
function follows(held: number, v: number, after: number | undefined): boolean {
  return v === held + 1 || (after !== undefined && after <= held && held < v);
}

function sameLine(pos: RosterPosition, v: number, after: number | undefined): DeltaVerdict {
  if (v <= pos.version) return { kind: 'refuse', reason: 'stale-version', detail: `delta ${v} <= current ${pos.version}` };
  return follows(pos.version, v, after) ? { kind: 'apply', epoch: pos.epoch } : { kind: 'hold' };
}

export function judgeDelta(pos: RosterPosition, msg: RosterMessagePlace): DeltaVerdict {
  const e = msg.epoch;
  if (e === undefined) {
    if (pos.epoch !== null) return { kind: 'refuse', reason: 'stale-epoch', detail: 'delta from before epochs' };
    return sameLine(pos, msg.version, msg.after);
  }
  const held = heldOf(e) as HeldEpoch;
  const o = pos.epoch === null ? 1 : order(held, pos.epoch);
  if (o === 0) return sameLine(pos, msg.version, msg.after);
  if (o === null || o < 0) return { kind: 'refuse', reason: 'stale-epoch', detail: `delta of an epoch older than the one held` };
  const c = e.continues;
  if (c !== null && c.epoch === (pos.epoch?.id ?? null) && pos.version <= c.version && msg.version > c.version) {
    if (follows(pos.version, msg.version, msg.after)) return { kind: 'apply', epoch: held };
    return { kind: 'hold' };
  }
  return { kind: 'ask' };
}

export function judgeSnapshot(pos: RosterPosition, msg: RosterMessagePlace, resync: boolean): SnapshotVerdict {
  const e = msg.epoch;
  const held = heldOf(e);
  const o = held === null ? (pos.epoch === null ? 0 : -1) : pos.epoch === null ? 1 : order(held, pos.epoch);
  if (o === 0) {
    const v = msg.version;
    if ((v > pos.version || (v === pos.version && resync)) && v >= pos.highWater) return { kind: 'accept', epoch: pos.epoch };
    return { kind: 'refuse', reason: 'stale-version', detail: `snapshot ${v} not newer than ${pos.version} (high water ${pos.highWater})` };
  }
  if (o === 1) return { kind: 'accept', epoch: held };
  return { kind: 'refuse', reason: 'stale-epoch', detail: held === null ? 'snapshot from before epochs' : 'snapshot of an epoch older than the one held' };
}

/** The position after applying a change at `version` in `epoch`. */
export function positionAfter(pos: RosterPosition, epoch: HeldEpoch | null, version: number): RosterPosition {
  const same = (epoch?.id ?? null) === (pos.epoch?.id ?? null);
  return { epoch, version, highWater: same ? Math.max(pos.highWater, version) : version };
}
