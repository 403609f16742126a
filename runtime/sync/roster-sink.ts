import { z } from 'zod';
import { TerminalError } from '../../core/errors';
import type { RosterEpoch } from '../protocol/schemas';
import { judgeDelta, judgeSnapshot, positionAfter, type RosterPosition } from '../roster/acceptance';

/**
 * What the sync needs from the roster store. The batch and the snapshot items are opaque JSON here;
 * the SyncClient validates them with the schemas it is given (the roster store's own) before calling
 * the sink, and the sink applies them atomically (all or nothing), itself refusing what the
 * acceptance rule (runtime/roster/acceptance.ts) refuses.
 */
export interface RosterSink {
  /** Version of the roster currently applied (0 = empty, never synced, or wiped). */
  version(): number;
  /** Epoch, version and high-water mark, committed with the roster. */
  position(): RosterPosition;
  /**
   * Apply one delta atomically (`epoch`: the signed delta's, absent from a hub before epochs; `after`:
   * the delta's, when it follows an earlier version than `version - 1`).
   */
  applyBatch(batch: unknown, epoch?: RosterEpoch, after?: number): void;
  /** Replace the whole roster with a complete, verified snapshot at `snapshot.version`. */
  replaceAll(snapshot: RosterSnapshot): void;
  /**
   * True while the roster was wiped by the hub and must stay empty until the hub orders a resync:
   * roster data is then refused and none is asked for (a wipe survives reconnects and restarts).
   */
  held?(): boolean;
}

export interface RosterSnapshot {
  version: number;
  /** The signed snapshot's epoch (absent from a hub before epochs). */
  epoch?: RosterEpoch | undefined;
  items: unknown[];
  /** The hub's resync asked for it: the version already held is taken again. */
  resync?: boolean;
}

/** The sink refused a batch or snapshot (wrong version, integrity): nothing was applied. */
export class RosterSinkError extends TerminalError {
  readonly code = 'roster-sink-refused';
}

/**
 * A simple roster format for protocol tests and the sync bench, whose hub is fed by hand instead of
 * from a store: a person is an id, templates (base64) and tags.
 */
export const SimpleRosterItemSchema = z.strictObject({
  id: z.string().min(1).max(64),
  templates: z.array(z.string().max(4096)).max(8),
  tags: z.array(z.string().max(32)).max(8),
});
export type SimpleRosterItem = z.infer<typeof SimpleRosterItemSchema>;

export const SimpleRosterBatchSchema = z.strictObject({
  version: z.number().int().positive(),
  upsert: z.array(SimpleRosterItemSchema).max(10_000),
  remove: z.array(z.string().min(1).max(64)).max(10_000),
});
export type SimpleRosterBatch = z.infer<typeof SimpleRosterBatchSchema>;

/**
 * In-memory RosterSink over the simple format (tests, bench). Applies atomically by construction and
 * follows the acceptance rule as the real store does.
 */
export class MemoryRosterSink implements RosterSink {
  readonly persons = new Map<string, SimpleRosterItem>();
  private pos: RosterPosition = { epoch: null, version: 0, highWater: 0 };
  /** Every applied change, for assertions: 'delta:5', 'snapshot:12'. */
  readonly history: string[] = [];

  version(): number {
    return this.pos.version;
  }

  position(): RosterPosition {
    return { ...this.pos };
  }

  applyBatch(batch: unknown, epoch?: RosterEpoch, after?: number): void {
    const b = SimpleRosterBatchSchema.parse(batch);
    const verdict = judgeDelta(this.pos, { epoch, version: b.version, after });
    if (verdict.kind !== 'apply') throw new RosterSinkError(`batch version ${b.version} refused (${verdict.kind === 'refuse' ? verdict.reason : verdict.kind})`);
    for (const id of b.remove) this.persons.delete(id);
    for (const p of b.upsert) this.persons.set(p.id, p);
    this.pos = positionAfter(this.pos, verdict.epoch, b.version);
    this.history.push(`delta:${b.version}`);
  }

  replaceAll(snapshot: RosterSnapshot): void {
    const verdict = judgeSnapshot(this.pos, { epoch: snapshot.epoch, version: snapshot.version }, snapshot.resync ?? false);
    if (verdict.kind === 'refuse') throw new RosterSinkError(`snapshot ${snapshot.version} refused (${verdict.reason})`);
    const items = snapshot.items.map((i) => SimpleRosterItemSchema.parse(i));
    this.persons.clear();
    for (const p of items) this.persons.set(p.id, p);
    this.pos = positionAfter(this.pos, verdict.epoch, snapshot.version);
    this.history.push(`snapshot:${snapshot.version}`);
  }

  /** Erases every person, as a wipe does: version 0, the epoch and the high-water mark kept. */
  wipe(): void {
    this.persons.clear();
    this.pos = { ...this.pos, version: 0 };
    this.history.push('wipe');
  }
}
