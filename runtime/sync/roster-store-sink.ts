import { z } from 'zod';
import { PassRevocationSchema, PersonUpsertSchema, RevokedPersonIdSchema, RosterBatchSchema, type PassRevocation, type PersonUpsert, type RosterBatchInput } from '../roster/batch';
import type { RosterStore } from '../roster/store';
import type { RosterEpoch } from '../protocol/schemas';
import type { RosterPosition } from '../roster/acceptance';
import type { RosterSink, RosterSnapshot } from './roster-sink';

/**
 * One item of a roster snapshot as the hub sends it in chunks: a person (PersonUpsert), the id of
 * a revoked person (tombstone, so a revoked face is told apart from an unknown one), or a revoked
 * visitor pass.
 */
export const RosterSnapshotItemSchema = z.union([
  PersonUpsertSchema,
  z.strictObject({ revokedPersonId: RevokedPersonIdSchema }),
  z.strictObject({ revokedPassId: PassRevocationSchema.shape.passId, notAfter: PassRevocationSchema.shape.notAfter }),
]);
export type RosterSnapshotItem = z.infer<typeof RosterSnapshotItemSchema>;

/** The schemas to hand to SyncClient's `roster` dependency together with a RosterStoreSink. */
export const ROSTER_STORE_SCHEMAS = { batchSchema: RosterBatchSchema, itemSchema: RosterSnapshotItemSchema } as const;

/**
 * Adapts the encrypted RosterStore (runtime/roster) to the sync's RosterSink: deltas go to its atomic
 * applyBatch, a complete snapshot to replaceAll, each with its epoch (the store itself enforces the
 * acceptance rule in the same transaction).
 */
export class RosterStoreSink implements RosterSink {
  constructor(private readonly store: RosterStore) {}

  version(): number {
    return this.store.version();
  }

  position(): RosterPosition {
    return this.store.rosterPosition();
  }

  held(): boolean {
    return this.store.wipedAt() !== null;
  }

  applyBatch(batch: unknown, epoch?: RosterEpoch, after?: number): void {
    this.store.applyBatch(batch as RosterBatchInput, epoch, after);
  }

  replaceAll(snapshot: RosterSnapshot): void {
    const persons: PersonUpsert[] = [];
    const revoked: string[] = [];
    const revokedPasses: PassRevocation[] = [];
    for (const raw of snapshot.items) {
      const item = raw as RosterSnapshotItem;
      if ('revokedPersonId' in item) revoked.push(item.revokedPersonId);
      else if ('revokedPassId' in item) revokedPasses.push({ passId: item.revokedPassId, notAfter: item.notAfter });
      else persons.push(item);
    }
    this.store.replaceAll({ version: snapshot.version, persons, revoked, revokedPasses }, snapshot.epoch, { resync: snapshot.resync ?? false });
  }
}
