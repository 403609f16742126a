/**
 * Alert tags (a missing elderly person or child): a tagged person is published to every door; a door
 * that identifies them sends an `alert.sighting` event, which the hub stores and forwards to the
 * webhook (provisioning/hub/alerts.ts). `addAlert` either tags an enrolled person (`personId`) or
 * enrols a new alert subject from photos (authorised at no door); `clearAlert` removes the tag
 * everywhere.
 */
import { TerminalError } from '../../core/errors';
import { parseId } from '../../runtime/protocol/ids';
import type { AlertRecord, PersonRecord } from '../db';
import { actorOf, NotFoundError, type AdminContext } from './context';
import { revokePerson } from './persons';
import { registerPerson } from './registrations';

export class AlertAdminError extends TerminalError {
  readonly code = 'alert-admin';
}

export interface AddAlertInput {
  tag: string;
  /** Tag an enrolled person... */
  personId?: string;
  /** ...or enrol a new alert subject from photos. */
  photos?: string[];
  /** Id of the new subject (default alert-<tag>-<time>). */
  subjectId?: string;
  note?: string;
}

export async function addAlert(ctx: AdminContext, o: AddAlertInput): Promise<PersonRecord> {
  const tag = parseId('tag', o.tag);
  const now = ctx.clock.now();
  const actor = actorOf(ctx);
  const store = ctx.store;
  if (o.personId !== undefined) {
    const personId = parseId('person', o.personId);
    const p = store.person(personId);
    if (!p || p.status === 'revoked') throw new NotFoundError('person', personId, `no enrolled person ${personId}`);
    return store.tx(() => {
      const r = store.savePerson({ ...p, tags: [...new Set([...p.tags, tag])], note: o.note ?? p.note }, now);
      store.audit(actor, 'alert.add', personId, { tag, note: o.note ?? null }, now);
      return r;
    });
  }
  if (!o.photos || o.photos.length === 0) throw new AlertAdminError('give --person ID or at least one --photo');
  if (!ctx.enroller) throw new AlertAdminError('photos need the face pipeline');
  // A tag may be 64 characters long: the default subject id keeps 40 of them to stay an id.
  const id = parseId('person', o.subjectId ?? `alert-${tag.slice(0, 40)}-${now.toString(36)}`);
  // An alert subject is identified at every door but authorised at none.
  await registerPerson(ctx, { id, photos: o.photos, kind: 'alert', tags: [tag], ...(o.note ? { note: o.note } : {}) });
  return store.tx(() => {
    const p = store.person(id);
    if (!p) throw new AlertAdminError(`alert subject ${id} was not stored`);
    const r = store.savePerson({ ...p, status: 'active' }, now);
    store.audit(actor, 'alert.add', id, { tag, note: o.note ?? null }, now);
    return r;
  });
}

/** Remove a tag: untag residents, revoke alert subjects (deleting their photos and templates). */
export function clearAlert(ctx: AdminContext, input: { tag: string }): { untagged: string[]; revoked: string[] } {
  const tag = parseId('tag', input.tag);
  const now = ctx.clock.now();
  const actor = actorOf(ctx);
  const untagged: string[] = [];
  const revoked: string[] = [];
  for (const p of ctx.store.persons({ tag })) {
    if (p.status === 'revoked') continue;
    if (p.kind === 'alert') {
      revokePerson(ctx, { id: p.personId, reason: `alert ${tag} cleared` });
      revoked.push(p.personId);
    } else {
      ctx.store.savePerson({ ...p, tags: p.tags.filter((t) => t !== tag) }, now);
      untagged.push(p.personId);
    }
  }
  ctx.store.audit(actor, 'alert.clear', tag, { untagged, revoked }, now);
  return { untagged, revoked };
}

/** Persons tagged now (with `tag`, or any) and the sightings stored. */
export function listAlerts(ctx: AdminContext, input: { tag?: string } = {}): { active: PersonRecord[]; sightings: AlertRecord[] } {
  const tag = input.tag === undefined ? undefined : parseId('tag', input.tag);
  // Filtered in the database: only tagged persons are read and opened (not every resident's templates).
  const active = ctx.store.persons({ status: 'active', tagged: true, ...(tag ? { tag } : {}) });
  return { active, sightings: ctx.store.alerts(tag) };
}
