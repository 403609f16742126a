/**
 * The roster half of the terminal's hub sync (the SyncClient hands it every verified roster message):
 * signed deltas and chunked snapshots in, sync and snapshot requests out. What it applies, holds,
 * asks about or refuses follows the acceptance rule (runtime/roster/acceptance.ts, epochs included);
 * the sink enforces the same rule again when it commits.
 */
import type { z } from 'zod';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { checkWith, ProtocolRejectError } from '../protocol/codec';
import { SNAPSHOT_WINDOW_CHUNKS } from '../protocol/limits';
import { SCHEMA_VERSION, type RequestMessage, type RosterBody, type RosterDelta, type RosterEpoch, type RosterSnapshotChunk } from '../protocol/schemas';
import { judgeDelta, judgeSnapshot } from '../roster/acceptance';
import type { RosterSink } from './roster-sink';
import { StagedChunkError, type SnapshotStaging } from './snapshot-staging';

export interface RosterApplied {
  kind: 'delta' | 'snapshot';
  version: number;
}

export interface RosterSyncDeps {
  sink: RosterSink;
  /** The roster store's batch schema (applied to `batch` of each delta before applyBatch). */
  batchSchema: z.ZodType;
  /** The roster store's schema of one snapshot item. */
  itemSchema: z.ZodType;
  staging: SnapshotStaging;
  clock: Clock;
  log: Logger;
  /** Minimum time between two identical requests to the hub. */
  resyncRetryMs: number;
  /** Sends a request to the hub (door/<id>/requests); called only while connected. */
  request: (req: RequestMessage) => void;
  connected: () => boolean;
  onApplied: (a: RosterApplied) => void;
  onSnapshotReceived: (s: { version: number; chunks: number }) => void;
}

const MAX_BUFFERED_DELTAS = 1000;

export class RosterSync {
  private buffered = new Map<number, { epoch: RosterEpoch | undefined; after: number | undefined; batch: unknown }>();
  private lastRequestAt = -Infinity;
  private lastRequestKey = '';
  private snapshotWanted = false;
  private lastChunkAt = -Infinity;
  private lastAppliedSnapshotId = '';
  /** After a reconnect with the session kept: when to ask for a sync (the broker's queue may have dropped deltas). */
  private syncDueAt: number | null = null;
  /**
   * The window of snapshot chunks asked for and not in yet (null: not known yet; the first chunk of a
   * new snapshot tells); when it is empty the next window is asked for at once. `eager` turns off when
   * chunks outside the window come (a hub from before windows, or chunks the broker kept for us across
   * a restart) until the next request: meanwhile the missing chunks are asked for when they stop coming.
   */
  private window: { pending: Set<number> | null; eager: boolean } = { pending: null, eager: true };

  constructor(private readonly deps: RosterSyncDeps) {}

  held(): boolean {
    return this.deps.sink.held?.() ?? false;
  }

  onConnect(sessionPresent: boolean): void {
    const staged = this.deps.staging.current();
    if (staged) {
      // With the session kept, the broker is still delivering the queued chunks: ask for the
      // missing ones only if they stop coming (tick). Without it, ask for them now.
      if (sessionPresent) this.lastChunkAt = this.deps.clock.monotonic();
      else this.requestSnapshot(true);
    } else if (this.held()) {
      // Wiped by the hub: ask for nothing until it orders a resync.
    } else if (!sessionPresent || this.deps.sink.version() === 0 || this.snapshotWanted) this.requestSync(true);
    // With the session kept the broker delivers what it queued, but its queue is bounded and may
    // have dropped the newest deltas: once the queued ones are in, ask the hub whether more exist.
    else this.syncDueAt = this.deps.clock.monotonic() + this.deps.resyncRetryMs;
  }

  onDisconnect(): void {
    this.syncDueAt = null;
  }

  tick(): void {
    const now = this.deps.clock.monotonic();
    if (this.syncDueAt !== null && now >= this.syncDueAt) {
      this.syncDueAt = null;
      if (!this.deps.staging.current() && !this.held()) this.requestSync(false);
    }
    // A snapshot that stopped arriving while connected: ask for the missing chunks.
    if (this.deps.staging.current() && now - this.lastChunkAt >= this.deps.resyncRetryMs) this.requestSnapshot(false);
  }

  /** A verified roster message (signature and schema already checked by the caller). */
  onBody(body: RosterBody): void {
    if (body.kind === 'roster.delta') this.onDelta(body);
    else this.onChunk(body);
  }

  /** The hub ordered a resync: a full snapshot, even of the version already held. */
  resync(): void {
    this.snapshotWanted = true;
    this.requestSnapshot(true);
  }

  /** Forget every roster state kept here after a wipe (the staged chunks hold templates). */
  wiped(): void {
    this.buffered.clear();
    this.snapshotWanted = false;
    this.lastAppliedSnapshotId = '';
    this.lastRequestKey = '';
    this.lastChunkAt = -Infinity;
    this.deps.staging.clear();
  }

  private onDelta(d: RosterDelta): void {
    if (this.held()) throw new ProtocolRejectError('roster-held', 'roster wiped; waiting for a resync command');
    const verdict = judgeDelta(this.deps.sink.position(), d);
    if (verdict.kind === 'refuse') throw new ProtocolRejectError(verdict.reason, verdict.detail);
    if (verdict.kind === 'ask') {
      // A newer history this roster cannot go on from by itself: the hub replays along its own
      // history, or sends a snapshot.
      this.deps.log.info({ version: d.version }, 'roster delta of a newer epoch: asking the hub');
      if (!this.deps.staging.current()) this.requestSync(false);
      return;
    }
    const batch = checkWith(this.deps.batchSchema, d.batch, 'roster batch');
    if (verdict.kind === 'hold' || this.deps.staging.current()) {
      // A gap (or a snapshot in progress): hold it and ask the hub for what is missing.
      if (this.buffered.size < MAX_BUFFERED_DELTAS) this.buffered.set(d.version, { epoch: d.epoch, after: d.after, batch });
      if (!this.deps.staging.current()) this.requestSync(false);
      return;
    }
    this.applyDelta(d.version, d.epoch, d.after, batch);
    this.applyBuffered();
  }

  private applyDelta(version: number, epoch: RosterEpoch | undefined, after: number | undefined, batch: unknown): void {
    const sink = this.deps.sink;
    sink.applyBatch(batch, epoch, after);
    if (sink.version() !== version) {
      throw new ProtocolRejectError('store-refused', `store reports version ${sink.version()} after delta ${version}`);
    }
    this.deps.log.info({ version }, 'roster delta applied');
    this.deps.onApplied({ kind: 'delta', version });
  }

  private applyBuffered(): void {
    const sink = this.deps.sink;
    for (;;) {
      const pos = sink.position();
      for (const v of [...this.buffered.keys()]) if (v <= pos.version) this.buffered.delete(v);
      // The lowest held delta that follows the version now held (version + 1, or one whose `after` it passed).
      let v: number | undefined;
      for (const [k, d] of this.buffered) if ((k === pos.version + 1 || (d.after !== undefined && d.after <= pos.version)) && (v === undefined || k < v)) v = k;
      const next = v === undefined ? undefined : this.buffered.get(v);
      if (v === undefined || next === undefined) return;
      this.buffered.delete(v);
      // Held under another epoch than the one now held (a snapshot came between): judged again.
      if (judgeDelta(pos, { epoch: next.epoch, version: v, after: next.after }).kind !== 'apply') continue;
      this.applyDelta(v, next.epoch, next.after, next.batch);
    }
  }

  private onChunk(c: RosterSnapshotChunk): void {
    if (this.held()) throw new ProtocolRejectError('roster-held', 'roster wiped; waiting for a resync command');
    // A late duplicate of the snapshot just applied (queued by the broker and also resent on request).
    if (c.snapshotId === this.lastAppliedSnapshotId) return;
    const verdict = judgeSnapshot(this.deps.sink.position(), c, this.snapshotWanted);
    if (verdict.kind === 'refuse') throw new ProtocolRejectError(verdict.reason, verdict.detail);
    if (c.index >= c.count) throw new ProtocolRejectError('schema', 'chunk index out of range');
    const items = c.items.map((it, i) => checkWith(this.deps.itemSchema, it, `snapshot item ${i}`));
    this.lastChunkAt = this.deps.clock.monotonic();
    const staging = this.deps.staging;
    const before = staging.current();
    const same = before?.snapshotId === c.snapshotId;
    // The first chunk of a snapshot (a new one, or another than the one staged): its count tells the window.
    if (!same) this.window = { pending: null, eager: true };
    const staged = staging.put(c.snapshotId, c.version, c.index, c.count, JSON.stringify(items), c.epoch);
    if (staged.received < staged.count) {
      this.nextWindow(c.index, c.count, !same, staged.received > (same && before ? before.received : 0));
      return;
    }
    let texts: string[];
    try {
      texts = staging.chunks(staged.snapshotId);
    } catch (e) {
      if (!(e instanceof StagedChunkError)) throw e;
      // The unreadable chunks are gone from staging; the live roster is untouched. Ask for them again
      // (only those, when the rest of the snapshot is still staged).
      this.requestSnapshot(true);
      throw new ProtocolRejectError('staged-chunk-unreadable', e.message);
    }
    this.deps.onSnapshotReceived({ version: staged.version, chunks: staged.count });
    const all: unknown[] = [];
    for (const text of texts) {
      for (const it of JSON.parse(text) as unknown[]) all.push(it);
    }
    try {
      this.deps.sink.replaceAll({ version: staged.version, epoch: staged.epoch, items: all, resync: this.snapshotWanted });
    } finally {
      staging.clear();
    }
    this.snapshotWanted = false;
    this.lastAppliedSnapshotId = staged.snapshotId;
    this.deps.log.info({ version: staged.version, persons: all.length }, 'roster snapshot applied');
    this.deps.onApplied({ kind: 'snapshot', version: staged.version });
    this.applyBuffered();
  }

  /** A chunk of a snapshot still incomplete arrived: when its window is complete, ask for the next one. */
  private nextWindow(index: number, count: number, first: boolean, isNew: boolean): void {
    const w = this.window;
    // The first chunk of a snapshot not staged yet: the hub sends its first window.
    if (w.pending === null && first) w.pending = new Set(Array.from({ length: Math.min(SNAPSHOT_WINDOW_CHUNKS, count) }, (_, i) => i));
    if (w.pending === null || (!w.pending.has(index) && isNew)) w.eager = false;
    w.pending?.delete(index);
    if (w.eager && w.pending?.size === 0) this.requestSnapshot(true);
  }

  // --- requests to the hub ---------------------------------------------------------------------

  /** Rate limit: the same request is not repeated within resyncRetryMs unless forced. */
  private canRequest(key: string, force: boolean): boolean {
    const now = this.deps.clock.monotonic();
    if (!this.deps.connected()) return false;
    if (!force && key === this.lastRequestKey && now - this.lastRequestAt < this.deps.resyncRetryMs) return false;
    this.lastRequestAt = now;
    this.lastRequestKey = key;
    return true;
  }

  private requestSync(force: boolean): void {
    const pos = this.deps.sink.position();
    if (!this.canRequest(`sync:${pos.epoch?.id ?? '-'}:${pos.version}`, force)) return;
    // The epoch is left out while none is held, so a hub from before epochs still understands it.
    const req: RequestMessage = { v: SCHEMA_VERSION, kind: 'sync', version: pos.version, ...(pos.epoch ? { epoch: pos.epoch } : {}) };
    this.deps.request(req);
  }

  /** Asks for a full snapshot; `force` skips the rate limit. */
  requestSnapshot(force: boolean): void {
    if (!this.canRequest('snapshot', force)) return;
    const staging = this.deps.staging;
    const staged = staging.current();
    const resume = staged && !this.snapshotWanted ? { snapshotId: staged.snapshotId, missing: staging.missing() } : null;
    const req: RequestMessage = { v: SCHEMA_VERSION, kind: 'snapshot', resume };
    // The hub sends the first window of what is asked for.
    this.window = { pending: resume ? new Set(resume.missing.slice(0, SNAPSHOT_WINDOW_CHUNKS)) : null, eager: true };
    if (staged) this.lastChunkAt = this.deps.clock.monotonic();
    this.deps.request(req);
  }
}
