/**
 * The one place where the hub purges a person's biometric data on its own (a tenancy that ended more
 * than the grace period ago): through the revocation path (admin/persons.ts `revokePerson`: the doors
 * get a tombstone and delete the person; templates and photos are deleted from the hub), then the
 * adapted templates learnt at the doors. When a stronger erasure lands (branch i16-erasure:
 * `provision person erase`, nothing left in hub.db, WAL, events or broker persistence), this function
 * calls it instead; its callers do not change.
 */
import { revokePerson } from '../admin/persons';
import type { AdminContext } from '../admin/context';

export interface PurgeResult {
  personId: string;
  templates: number;
  photos: number;
  adaptedTemplates: number;
}

/** Purge a person whose tenancy ended at `endedAt` (ms) and whose grace period has passed. Audited by the revocation. */
export function purgeEndedTenancy(ctx: AdminContext, personId: string, endedAt: number): PurgeResult {
  const before = ctx.store.person(personId);
  const templates = before?.templates.length ?? 0;
  const photos = before?.photos.length ?? 0;
  revokePerson(ctx, { id: personId, reason: `tenancy ended ${new Date(endedAt).toISOString()}; biometric data purged after the grace period` });
  const adapted = ctx.store.deleteAdaptedTemplates(personId, ctx.clock.now());
  return { personId, templates, photos, adaptedTemplates: adapted.reduce((n, a) => n + a.deleted, 0) };
}
