/**
 * Per-door rosters (issue 16): each terminal is sent only what concerns its door (roster-scope.ts),
 * without names, sealed to it (runtime/protocol/roster-seal.ts), on its own topic hub/<id>/roster.
 *
 * Why this design: it keeps the machinery terminals already trust. There is still one global version
 * sequence and one line of epochs (HubRosterStore); a version is simply not sent to a terminal it does
 * not concern. A delta says which earlier version it follows (`after`: the last version that changed
 * that terminal's roster), so a terminal holding any version in [after, version) applies it, and the
 * acceptance rule (runtime/roster/acceptance.ts: epochs, monotonic versions, fail closed) is the same
 * rule with "version + 1" widened to that range. A terminal that missed one asks for a sync as today;
 * the answer is computed for it from the current state: of the persons in the versions since its own
 * that were sent to it (roster_log names them and the terminals, ids only), those now in its scope as
 * upserts and the others (left its scope, revoked) as removals, in one delta after its version; or a
 * snapshot of its scope when roster_log no longer reaches back or the catch-up is too
 * large. Nothing signed is kept for replay, so nothing of a revoked person remains in roster_log or
 * in this memory (a tombstone is an id).
 *
 * A snapshot of a terminal's scope holds its persons and the revoked passes of its doors, and no
 * tombstones (a tombstone of every revoked person would name them to every door): a revoked person is
 * simply absent from it, and a terminal that held them is sent their removal as a delta.
 *
 * A terminal that may still hold a whole roster from before per-door rosters (no `scoped_from` yet)
 * gets no delta: it gets a snapshot of its scope first (asked by it, or pushed at its heartbeat), at a
 * version above the one it holds (the hub records an empty version at start for that).
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import type { Logger } from '../../core/log';
import { ROSTER_MESSAGE_TARGET_BYTES, signedItemBytes } from '../../runtime/protocol/limits';
import { rosterKeyOf, sealRosterBody } from '../../runtime/protocol/roster-seal';
import { SCHEMA_VERSION, type RosterDelta, type RosterEpoch, type RosterSnapshotChunk } from '../../runtime/protocol/schemas';
import { signBody } from '../../runtime/protocol/signing';
import type { PassRecord, PersonRecord, TerminalRecord } from '../db';
import type { HubStore } from '../store/hub-store';
import type { TerminalRosterState } from '../store/terminal-rosters';
import { checkedSize, type HubRosterStore } from './roster';
import { covers, EVERY_PLACE, NO_PLACE, scopeOfPass, scopeOfPerson, type PlaceScope } from './roster-scope';

export interface TerminalRostersDeps<Item> {
  store: HubStore;
  roster: HubRosterStore<Item>;
  signingKey: KeyObject;
  log: Logger;
  /** What a revoked pass is in the roster. */
  passItemOf: (p: PassRecord) => Item;
  /**
   * Target of one snapshot chunk's items, bytes of signed JSON before sealing (default three quarters
   * of ROSTER_MESSAGE_TARGET_BYTES: sealing adds a third, and the sealed chunk stays under the limit).
   */
  maxChunkBytes?: number;
  /** A terminal further behind than this many versions gets a snapshot (default 10,000). */
  maxCatchUpVersions?: number;
}

/** One terminal's part of a change: what to publish on its topic. */
export interface TerminalMessageOut {
  terminalId: string;
  payload: string;
}

/** A person changed by one version, and what it now is in the roster (null: nothing yet). */
export interface PersonChange<Item> {
  record: PersonRecord;
  item: Item | null;
}

/** A terminal's snapshot not asked for within this long is dropped (a door that stopped syncing). */
const SNAPSHOT_KEEP_MS = 15 * 60_000;

/**
 * A snapshot of one terminal's scope at one version: how many chunks, how many items and their bytes
 * as JSON (what the terminal takes in). Its chunks are sealed one at a time when they are sent
 * (`chunk`): what the hub keeps for it is its items grouped by chunk, as references to the roster's
 * items (a new version replaces an item, never changes it), a few pointers a person. Cutting and
 * keeping every chunk sealed made a gate's snapshot (39,000 residents, 292 MB sealed) a 17.5 s block
 * of the hub's loop and 292 MB of its memory; eight gates asking at once held the loop past the MQTT
 * keepalive, and each new one evicted the last from a bounded cache, so that none could be resumed.
 */
export interface ScopedSnapshot {
  snapshotId: string;
  version: number;
  count: number;
  items: number;
  itemBytes: number;
}

interface SnapshotPlan<Item> extends ScopedSnapshot {
  epoch: RosterEpoch;
  groups: Item[][];
  usedAt: number;
}

export class TerminalRosters<Item> {
  /** The scope of each item in the roster (persons by id, passes by their roster key). */
  private readonly scopes = new Map<string, PlaceScope>();
  /** Persons changed while the hub was down: the scope they were published with is unknown (taken as every door). */
  private readonly unknownBefore = new Set<string>();
  private terminals: TerminalRecord[] = [];
  private readonly states = new Map<string, TerminalRosterState>();
  private readonly keys = new Map<string, KeyObject | null>();
  private readonly snapshots = new Map<string, SnapshotPlan<Item>>();
  /** Each item's bytes in a signed message (items are never changed in place). */
  private readonly itemSizes = new WeakMap<object, number>();
  private readonly warnedKeyless = new Set<string>();

  constructor(private readonly deps: TerminalRostersDeps<Item>) {}

  /** The scopes of the persons published and the passes revoked (at start), and where each terminal stands. */
  load(persons: Iterable<PersonRecord>, revokedPasses: Iterable<PassRecord>): void {
    for (const p of persons) {
      if (p.publishedRev === 0) continue;
      this.scopes.set(p.personId, scopeOfPerson(p));
      if (p.rev > p.publishedRev) this.unknownBefore.add(p.personId);
    }
    for (const p of revokedPasses) this.scopes.set(this.passKey(p), scopeOfPass(p));
    for (const s of this.deps.store.terminalRosterStates()) this.states.set(s.terminalId, s);
    this.refresh();
  }

  /** Re-reads the active terminals (every tick: a terminal added or revoked while the hub runs). */
  refresh(): void {
    this.terminals = this.deps.store.terminals().filter((t) => t.status === 'active');
  }

  terminal(id: string): TerminalRecord | undefined {
    return this.terminals.find((t) => t.id === id);
  }

  /** Some active terminal may still hold a roster from before per-door rosters at a version above 0. */
  someUnscoped(): boolean {
    return this.terminals.some((t) => (this.states.get(t.id)?.scopedFrom ?? null) === null);
  }

  /** The terminal was sent a snapshot of its scope at or below `version` (it may take deltas from there). */
  scopedAt(terminalId: string, version: number): boolean {
    const from = this.states.get(terminalId)?.scopedFrom ?? null;
    return from !== null && version >= from;
  }

  /** Where a delta to this terminal follows from: the last version that changed its roster, never below its first scoped snapshot. */
  private afterOf(terminalId: string): number {
    const s = this.states.get(terminalId);
    return Math.max(s?.lastVersion ?? 0, s?.scopedFrom ?? 0);
  }

  private passKey(p: PassRecord): string {
    return this.deps.roster.idOf(this.deps.passItemOf(p));
  }

  /**
   * Each scoped terminal's part of version `version` (persons changed, passes revoked): the persons now
   * in its scope as upserts, those that were and are no longer as removals. Nothing is changed here;
   * `commit` records it once the version is recorded.
   */
  plan(version: number, persons: ReadonlyArray<PersonChange<Item>>, passes: readonly PassRecord[]): TerminalMessageOut[] {
    const roster = this.deps.roster;
    const moves = persons.map((p) => ({
      id: p.record.personId,
      item: p.item,
      now: p.item === null ? NO_PLACE : scopeOfPerson(p.record),
      before: this.unknownBefore.has(p.record.personId) ? EVERY_PLACE : (this.scopes.get(p.record.personId) ?? NO_PLACE),
    }));
    const passMoves = passes.map((p) => ({ item: this.deps.passItemOf(p), scope: scopeOfPass(p) }));
    const out: TerminalMessageOut[] = [];
    for (const t of this.terminals) {
      if (!this.scopedAt(t.id, version - 1)) continue; // it gets a snapshot of its scope first
      const upsert: Item[] = [];
      const remove: string[] = [];
      for (const m of moves) {
        if (m.item !== null && covers(m.now, t)) upsert.push(m.item);
        else if (covers(m.before, t)) remove.push(m.id);
      }
      for (const p of passMoves) if (covers(p.scope, t)) upsert.push(p.item);
      if (upsert.length === 0 && remove.length === 0) continue;
      const body: RosterDelta = { v: SCHEMA_VERSION, kind: 'roster.delta', epoch: roster.epoch(), version, after: this.afterOf(t.id), batch: roster.batchOf(version, { upsert, remove }) };
      out.push({ terminalId: t.id, payload: this.seal(t.id, body, `roster delta ${version} for ${t.id}`) });
    }
    return out;
  }

  /** After version `version` was recorded: the new scopes, and the terminals it was planned for. */
  commit(version: number, persons: ReadonlyArray<PersonChange<Item>>, passes: readonly PassRecord[], sent: readonly TerminalMessageOut[]): void {
    // A revoked person's templates must not stay in this memory: snapshots cut before (kept for
    // resumption, holding the person's item) are dropped; a terminal resuming one gets a new one.
    if (persons.some((p) => p.record.status === 'revoked')) this.snapshots.clear();
    for (const p of persons) {
      this.unknownBefore.delete(p.record.personId);
      if (p.item === null || p.record.status !== 'active') this.scopes.delete(p.record.personId);
      else this.scopes.set(p.record.personId, scopeOfPerson(p.record));
    }
    for (const p of passes) this.scopes.set(this.passKey(p), scopeOfPass(p));
    for (const m of sent) this.states.set(m.terminalId, { terminalId: m.terminalId, scopedFrom: this.states.get(m.terminalId)?.scopedFrom ?? null, lastVersion: version });
  }

  /**
   * A terminal holding version `from` (on this hub's history, scoped): one delta from `from` to the
   * current version with what changed in its scope since, computed from the current state; [] when
   * it is up to date; null when a snapshot must be sent instead (roster_log does not reach back, too
   * many versions, or too large).
   */
  catchUp(t: TerminalRecord, from: number, now: number): string[] | null {
    const roster = this.deps.roster;
    const v = roster.version();
    if (from >= v) return [];
    if (v - from > (this.deps.maxCatchUpVersions ?? 10_000)) return null;
    const rows = this.deps.store.rosterChanges(from);
    if (rows.length !== v - from || rows[0]?.[0] !== from + 1) return null; // compacted, or a gap
    const persons = new Set<string>();
    const passes = new Set<string>();
    for (const [, c] of rows) {
      // Only the versions this terminal was sent: the persons of the others never concerned it.
      if (c.terminals !== undefined && !c.terminals.includes(t.id)) continue;
      for (const p of c.persons) persons.add(p.id);
      for (const id of c.passes) passes.add(id);
    }
    const upsert: Item[] = [];
    const remove: string[] = [];
    for (const id of persons) {
      const item = roster.item(id);
      const scope = this.scopes.get(id);
      if (item !== undefined && scope !== undefined && covers(scope, t)) upsert.push(item);
      else remove.push(id);
    }
    for (const id of passes) {
      const p = this.deps.store.pass(id);
      if (p && p.revokedAt !== null && p.notAfter > now && covers(scopeOfPass(p), t)) upsert.push(this.deps.passItemOf(p));
    }
    const body: RosterDelta = { v: SCHEMA_VERSION, kind: 'roster.delta', epoch: roster.epoch(), version: v, after: from, batch: roster.batchOf(v, { upsert, remove }) };
    try {
      return [this.seal(t.id, body, `catch-up for ${t.id}`)];
    } catch {
      return null; // too large for one message: a snapshot
    }
  }

  /**
   * The terminal's scope at the current version as a snapshot (kept for resumption, its chunks sealed
   * when sent: `chunk`); marks it scoped. `now`: the hub's monotonic clock (snapshots unused for
   * SNAPSHOT_KEEP_MS are dropped).
   */
  snapshot(t: TerminalRecord, now: number): ScopedSnapshot {
    const roster = this.deps.roster;
    const epoch = roster.epoch();
    for (const [id, s] of this.snapshots) if (now - s.usedAt > SNAPSHOT_KEEP_MS) this.snapshots.delete(id);
    const cached = this.snapshots.get(t.id);
    if (cached && cached.version === roster.version() && cached.epoch.id === epoch.id) {
      cached.usedAt = now;
      return cached;
    }
    const max = this.deps.maxChunkBytes ?? Math.floor((ROSTER_MESSAGE_TARGET_BYTES * 3) / 4);
    const groups: Item[][] = [];
    let cur: Item[] = [];
    let bytes = 0;
    let itemBytes = 0;
    for (const [id, item] of roster.entries()) {
      const scope = this.scopes.get(id);
      if (scope === undefined || !covers(scope, t)) continue;
      const len = this.sizeOf(item);
      itemBytes += len;
      if (cur.length > 0 && bytes + len > max) {
        groups.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(item);
      bytes += len;
    }
    groups.push(cur);
    const version = roster.version();
    const snap: SnapshotPlan<Item> = { snapshotId: randomUUID(), version, count: groups.length, items: groups.reduce((n, g) => n + g.length, 0), itemBytes, epoch, groups, usedAt: now };
    this.snapshots.set(t.id, snap);
    if (!this.scopedAt(t.id, version)) {
      this.deps.store.markTerminalScoped(t.id, version);
      const s = this.states.get(t.id);
      this.states.set(t.id, { terminalId: t.id, scopedFrom: s?.scopedFrom ?? version, lastVersion: s?.lastVersion ?? 0 });
    }
    return snap;
  }

  /** The terminal's snapshot `snapshotId` if it is still kept (resume), else undefined. */
  keptSnapshot(terminalId: string, snapshotId: string, now: number): ScopedSnapshot | undefined {
    const s = this.snapshots.get(terminalId);
    if (s?.snapshotId !== snapshotId) return undefined;
    s.usedAt = now;
    return s;
  }

  /**
   * Chunk `index` of the terminal's snapshot `snapshotId`, signed and sealed to it; null when that
   * snapshot is no longer kept (a newer one, a revocation since) or has no such chunk.
   */
  chunk(terminalId: string, snapshotId: string, index: number): string | null {
    const s = this.snapshots.get(terminalId);
    const items = s?.snapshotId === snapshotId ? s.groups[index] : undefined;
    if (s === undefined || items === undefined) return null;
    const body: RosterSnapshotChunk = { v: SCHEMA_VERSION, kind: 'roster.snapshot', epoch: s.epoch, snapshotId, version: s.version, index, count: s.count, items };
    return this.seal(terminalId, body, `snapshot chunk ${index} for ${terminalId}`);
  }

  private sizeOf(item: Item): number {
    if (typeof item !== 'object' || item === null) return signedItemBytes(item);
    const key = item as object;
    let n = this.itemSizes.get(key);
    if (n === undefined) {
      n = signedItemBytes(item);
      this.itemSizes.set(key, n);
    }
    return n;
  }

  /**
   * The signed message for one terminal: the body sealed to its roster key. A terminal created before
   * roster keys has none: it is sent its (already scoped, nameless) roster signed but not sealed until
   * it is given a bundle with a key (provisioning/hub/README.md), and the hub says so once.
   */
  private seal(terminalId: string, body: RosterDelta | RosterSnapshotChunk, what: string): string {
    const key = this.keyOf(terminalId);
    if (key === null) {
      if (!this.warnedKeyless.has(terminalId)) {
        this.warnedKeyless.add(terminalId);
        this.deps.log.warn({ terminal: terminalId }, 'terminal has no roster key: its roster is signed but not sealed');
      }
      return checkedSize(signBody(body, this.deps.signingKey), what);
    }
    const payload = signBody(sealRosterBody(JSON.stringify(body), terminalId, key), this.deps.signingKey);
    return checkedSize(payload, what);
  }

  private keyOf(terminalId: string): KeyObject | null {
    let k = this.keys.get(terminalId);
    if (k === undefined) {
      const raw = this.deps.store.rosterKey(terminalId);
      k = raw === null ? null : rosterKeyOf(raw);
      raw?.fill(0);
      this.keys.set(terminalId, k);
    }
    return k;
  }
}
