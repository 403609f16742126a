/**
 * A person's export (issue 16 item 6, the right of access): everything the hub holds about one person
 * as one JSON document (`PERSON_EXPORT_VERSION`): their record (access, tags, label, note, card and PIN
 * digests, templates as the hub keeps them: base64 float32), the photos in their folder (enrolment
 * photos and the identity document's, base64 with their file names), their registration, the adapted
 * templates learnt at the doors, the events naming them in events.db (entries, sightings, alarms: what
 * is still within retention), alerts raised on them, the passes they issued and their uses, the audit
 * rows about them, and the state of their erasure when revoked. Audited as `person.export` (who, whom;
 * not what).
 */
import { EventStore, type StoredEvent } from '../hub/event-store';
import type { PersonRecord } from '../db';
import { readPhotos } from '../photos';
import type { HeldAbout } from '../store/erasures';
import { actorOf, type AdminContext } from './context';
import { erasureStatus, type ErasureStatus } from './erasure';
import { getPerson } from './persons';

export const PERSON_EXPORT_VERSION = 1;

export interface PersonExport extends HeldAbout {
  v: typeof PERSON_EXPORT_VERSION;
  exportedAt: number;
  exportedBy: string;
  person: PersonRecord;
  photos: Array<{ name: string; contentType: string; data: string }>;
  events: StoredEvent[];
  erasure: ErasureStatus | null;
}

function contentType(name: string): string {
  return name.endsWith('.png') ? 'image/png' : name.endsWith('.jpg') || name.endsWith('.jpeg') ? 'image/jpeg' : 'application/octet-stream';
}

export function exportPerson(ctx: AdminContext, input: { id: string }): PersonExport {
  const p = getPerson(ctx, input);
  const actor = actorOf(ctx);
  const now = ctx.clock.now();
  const events = EventStore.openReadOnly(ctx.community.paths.eventsDb);
  let about: StoredEvent[] = [];
  try {
    about = events?.aboutPerson(p.personId) ?? [];
  } finally {
    events?.close();
  }
  const out: PersonExport = {
    v: PERSON_EXPORT_VERSION,
    exportedAt: now,
    exportedBy: actor,
    person: p,
    photos: readPhotos(ctx.community.paths.photosDir, p.photoKey).map((f) => ({ name: f.name, contentType: contentType(f.name), data: f.data.toString('base64') })),
    ...ctx.store.erasures.heldAbout(p.personId),
    events: about,
    erasure: p.status === 'revoked' && ctx.store.erasures.erasure(p.personId) ? erasureStatus(ctx, input) : null,
  };
  ctx.store.audit(actor, 'person.export', p.personId, { photos: out.photos.length, events: about.length }, now);
  return out;
}
