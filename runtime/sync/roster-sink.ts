import { z } from 'zod';
import { TerminalError } from '../../core/errors';

/**
 * What the sync needs from the roster store. The batch and the snapshot items are opaque JSON here;
 * the SyncClient validates them with the schemas it is given (the roster store's own) before calling
 * the sink, and the sink applies them atomically (all or nothing).
 */
export interface RosterSink {
  /** Version of the roster currently applied (0 = empty, never synced). */
  version(): number;
  /** Apply one delta atomically; the store itself refuses a batch that is not version()+1. */
  applyBatch(batch: unknown): void;
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
  items: unknown[];
}

/** The sink refused a batch or snapshot (wrong version, integrity): nothing was applied. */
export class RosterSinkError extends TerminalError {
  readonly code = 'roster-sink-refused';
}

/**
 * A simple roster format used by tests, the bench and the minimal hub until the real roster store's
 * schemas are wired in: a person is an id, templates (base64) and tags.
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

/** In-memory RosterSink over the simple format (tests, bench). Applies atomically by construction. */
export class MemoryRosterSink implements RosterSink {
  readonly persons = new Map<string, SimpleRosterItem>();
  private v = 0;
  /** Every applied change, for assertions: 'delta:5', 'snapshot:12'. */
  readonly history: string[] = [];

  version(): number {
    return this.v;
  }

  applyBatch(batch: unknown): void {
    const b = SimpleRosterBatchSchema.parse(batch);
    if (b.version !== this.v + 1) throw new RosterSinkError(`batch version ${b.version} is not ${this.v + 1}`);
    for (const id of b.remove) this.persons.delete(id);
    for (const p of b.upsert) this.persons.set(p.id, p);
    this.v = b.version;
    this.history.push(`delta:${b.version}`);
  }

  replaceAll(snapshot: RosterSnapshot): void {
    const items = snapshot.items.map((i) => SimpleRosterItemSchema.parse(i));
    this.persons.clear();
    for (const p of items) this.persons.set(p.id, p);
    this.v = snapshot.version;
    this.history.push(`snapshot:${snapshot.version}`);
  }
}
