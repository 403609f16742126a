import { randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { TerminalError } from '../../core/errors';
import { MAX_PAYLOAD_BYTES, ROSTER_MESSAGE_TARGET_BYTES, signedItemBytes } from '../../runtime/protocol/limits';
import { SCHEMA_VERSION, type HeldEpoch, type RosterDelta, type RosterEpoch, type RosterSnapshotChunk } from '../../runtime/protocol/schemas';
import { signBody } from '../../runtime/protocol/signing';
import type { PersonUpsert } from '../../runtime/roster/batch';
import type { SimpleRosterItem } from '../../runtime/sync/roster-sink';

/**
 * A signed roster message would exceed the protocol's payload limit (one person too large to send):
 * nothing was changed, nothing is published; the broker would disconnect the hub for it.
 */
export class RosterMessageTooLargeError extends TerminalError {
  readonly code = 'roster-message-too-large';
}

export interface RosterChange<Item> {
  upsert: Item[];
  remove: string[];
}

export interface HubRosterOptions<Item> {
  /** The hub's Ed25519 private key; terminals pin its public half. */
  signingKey: KeyObject;
  /**
   * Target size of one snapshot chunk's items, as bytes of signed envelope (runtime/protocol/limits.ts);
   * default ROSTER_MESSAGE_TARGET_BYTES. A chunk never exceeds the protocol's payload limit.
   */
  maxChunkBytes?: number;
  /** Deltas kept for replay; a terminal further behind gets a snapshot. */
  keepDeltas?: number;
  idOf: (item: Item) => string;
  /** The terminal roster store's batch for one change (default: { version, upsert, remove }). */
  toBatch?: (version: number, change: RosterChange<Item>) => unknown;
  /**
   * State to resume from after a restart (a hub that persists its roster): the roster at `version`, the
   * signed deltas still kept, so versions keep increasing and replays stay byte-identical, and the
   * epochs of that history, oldest first (none: a roster from before epochs).
   */
  initial?: { version: number; items: Iterable<Item>; deltas: Iterable<readonly [number, string]>; epochs?: readonly RosterEpoch[] };
  /**
   * The epoch to sign in. Default: a new one, started now, continuing the last of `initial.epochs`
   * (or the history from before epochs) at the initial version: a hub starts a new epoch every time it
   * starts, so that a hub restored from a backup never signs a second, different version N in an epoch
   * whose version N a terminal may already hold.
   */
  epoch?: RosterEpoch;
  /** The hub's clock (epoch start times). */
  now: () => number;
}

/** A new epoch with a random id, started at `startedAt`, continuing `continues`. */
export function newEpoch(startedAt: number, continues: RosterEpoch['continues']): RosterEpoch {
  return { id: randomBytes(16).toString('base64url'), startedAt, continues };
}

/** Hub options for terminals running the encrypted RosterStore (runtime/roster) behind RosterStoreSink. */
export const ROSTER_STORE_FORMAT = {
  idOf: (p: PersonUpsert): string => p.personId,
  toBatch: (version: number, c: RosterChange<PersonUpsert>): unknown => ({ version, upserts: c.upsert, revocations: c.remove }),
};

export interface SignedSnapshot {
  snapshotId: string;
  version: number;
  /** Signed envelope text of each chunk, in order. */
  chunks: string[];
}

/**
 * The hub's master roster (minimal, in memory): its items, its version sequence and its epochs. A hub
 * fed by hand (protocol tests, the sync bench) makes every change one signed delta for every door
 * (`change`), keeps deltas for replay to terminals that missed them, as long as the terminal's place
 * lies on this hub's history (its epochs, each continuing the one before), and cuts the whole roster
 * into signed chunks for the others. A community hub only `advance`s it: each terminal's part of a
 * version, its catch-ups and snapshots are made by the per-door rosters (terminal-rosters.ts), and no
 * signed delta is kept.
 */
export class HubRosterStore<Item = SimpleRosterItem> {
  private readonly items = new Map<string, Item>();
  private v = 0;
  private readonly history: RosterEpoch[];
  private readonly deltas = new Map<number, string>();
  private snapshotCache: SignedSnapshot[] = [];
  private readonly maxChunkBytes: number;
  private readonly keepDeltas: number;

  constructor(private readonly opts: HubRosterOptions<Item>) {
    this.maxChunkBytes = opts.maxChunkBytes ?? ROSTER_MESSAGE_TARGET_BYTES;
    this.keepDeltas = opts.keepDeltas ?? 10_000;
    if (opts.initial) {
      this.v = opts.initial.version;
      for (const it of opts.initial.items) this.items.set(opts.idOf(it), it);
      for (const [version, payload] of opts.initial.deltas) {
        if (version > this.v - this.keepDeltas && version <= this.v) this.deltas.set(version, payload);
      }
    }
    this.history = [...(opts.initial?.epochs ?? [])];
    const last = this.history[this.history.length - 1];
    this.history.push(opts.epoch ?? newEpoch(Math.max(this.now(), (last?.startedAt ?? 0) + 1), { epoch: last?.id ?? null, version: this.v }));
  }

  version(): number {
    return this.v;
  }

  /** The epoch this hub signs in. */
  epoch(): RosterEpoch {
    return this.history[this.history.length - 1] as RosterEpoch;
  }

  /** This hub's history: its epochs, oldest first, the current one last. */
  epochs(): readonly RosterEpoch[] {
    return this.history;
  }

  /**
   * Starts a new epoch continuing the current one at the current version, started at `notBefore` or
   * now, whichever is later (and after the current one). Snapshots cut before are not sent again.
   */
  startEpoch(notBefore = 0): RosterEpoch {
    const cur = this.epoch();
    const e = newEpoch(Math.max(this.now(), notBefore, cur.startedAt + 1), { epoch: cur.id, version: this.v });
    this.history.push(e);
    this.snapshotCache = [];
    return e;
  }

  /** An epoch of this hub's history. */
  knows(id: string): boolean {
    return this.history.some((e) => e.id === id);
  }

  /**
   * A terminal holding `version` of `held` (null: no epoch) lies on this hub's history: its roster is
   * what this hub's deltas made at that version, so replaying the deltas after it brings it up to date.
   */
  onHistory(held: HeldEpoch | null, version: number): boolean {
    const h = this.history;
    if (held === null) {
      const root = h[0]?.continues;
      return root !== null && root !== undefined && root.epoch === null && version <= root.version;
    }
    const k = h.findIndex((e) => e.id === held.id && e.startedAt === held.startedAt);
    if (k < 0) return false;
    const start = h[k]?.continues?.version ?? 0;
    const end = k === h.length - 1 ? this.v : (h[k + 1]?.continues?.version ?? -1);
    return version >= start && version <= end;
  }

  /**
   * What to send a terminal that asks for a sync from `version` of `held`: the deltas after it when it
   * lies on this hub's history and they are still kept, otherwise null (send a snapshot).
   */
  answerSync(held: HeldEpoch | null, version: number): string[] | null {
    if (version === 0 || !this.onHistory(held, version)) return null;
    return this.deltasSince(version);
  }

  private now(): number {
    return this.opts.now();
  }

  size(): number {
    return this.items.size;
  }

  /**
   * Apply a change to the master roster; returns the new version and its signed delta text. Throws
   * RosterMessageTooLargeError (and changes nothing) when the delta would exceed the payload limit.
   */
  change(change: RosterChange<Item>): { version: number; payload: string } {
    const version = this.v + 1;
    const batch = this.batchOf(version, change);
    const body: RosterDelta = { v: SCHEMA_VERSION, kind: 'roster.delta', epoch: this.epoch(), version, batch };
    const payload = checkedSize(signBody(body, this.opts.signingKey), `roster delta ${version}`);
    for (const id of change.remove) this.items.delete(id);
    for (const it of change.upsert) this.items.set(this.opts.idOf(it), it);
    this.v = version;
    this.deltas.set(version, payload);
    this.deltas.delete(version - this.keepDeltas);
    return { version, payload };
  }

  /**
   * Apply a change to the master roster without signing or keeping a delta (per-door rosters,
   * terminal-rosters.ts: each terminal gets its own part of the change); returns the new version.
   */
  advance(change: RosterChange<Item>): number {
    for (const id of change.remove) this.items.delete(id);
    for (const it of change.upsert) this.items.set(this.opts.idOf(it), it);
    this.v += 1;
    return this.v;
  }

  /** The roster's item under `id` (a person, a tombstone, a revoked pass), or undefined. */
  item(id: string): Item | undefined {
    return this.items.get(id);
  }

  /** Every item of the roster with its id. */
  entries(): IterableIterator<[string, Item]> {
    return this.items.entries();
  }

  /** The terminals' batch for one change at `version` (the format this roster was built with). */
  batchOf(version: number, change: RosterChange<Item>): unknown {
    return this.opts.toBatch ? this.opts.toBatch(version, change) : { version, upsert: change.upsert, remove: change.remove };
  }

  idOf(item: Item): string {
    return this.opts.idOf(item);
  }

  /** Signed deltas after `version`, or null if some are no longer kept (send a snapshot). */
  deltasSince(version: number): string[] | null {
    const out: string[] = [];
    for (let x = version + 1; x <= this.v; x++) {
      const d = this.deltas.get(x);
      if (d === undefined) return null;
      out.push(d);
    }
    return out;
  }

  /** The roster at the current version as signed chunks (cached until the next change or epoch). */
  snapshot(): SignedSnapshot {
    const cached = this.snapshotCache.find((s) => s.version === this.v);
    if (cached) return cached;
    const snapshotId = randomUUID();
    const groups: Item[][] = [];
    let cur: Item[] = [];
    let bytes = 0;
    for (const it of this.items.values()) {
      const len = signedItemBytes(it);
      if (cur.length > 0 && bytes + len > this.maxChunkBytes) {
        groups.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(it);
      bytes += len;
    }
    groups.push(cur);
    const chunks = groups.map((items, index) => {
      const body: RosterSnapshotChunk = {
        v: SCHEMA_VERSION,
        kind: 'roster.snapshot',
        epoch: this.epoch(),
        snapshotId,
        version: this.v,
        index,
        count: groups.length,
        items,
      };
      return checkedSize(signBody(body, this.opts.signingKey), `snapshot chunk ${index}`);
    });
    const snap = { snapshotId, version: this.v, chunks };
    this.snapshotCache = [snap, ...this.snapshotCache].slice(0, 2);
    return snap;
  }

  /** Some chunks of a snapshot still cached (resume), or null if it is gone. */
  snapshotChunks(snapshotId: string, indices: readonly number[]): string[] | null {
    const s = this.snapshotCache.find((x) => x.snapshotId === snapshotId);
    if (!s) return null;
    const out: string[] = [];
    for (const i of indices) {
      const c = s.chunks[i];
      if (c === undefined) return null;
      out.push(c);
    }
    return out;
  }
}

export function checkedSize(payload: string, what: string): string {
  const bytes = Buffer.byteLength(payload, 'utf8');
  if (bytes > MAX_PAYLOAD_BYTES) throw new RosterMessageTooLargeError(`${what} is ${bytes} bytes, over the ${MAX_PAYLOAD_BYTES}-byte limit`);
  return payload;
}
