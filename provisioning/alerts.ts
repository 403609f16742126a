/**
 * Alert tags (a missing elderly person or child): a tagged person is published to every door; a door
 * that identifies them sends an `alert.sighting` event, which the hub stores and forwards to the
 * configured webhook. `alert add` either tags an enrolled person (`--person`) or enrols a new alert
 * subject from photos (who is not authorised at any door); `alert clear` removes the tag everywhere.
 */
import { TerminalError } from '../core/errors';
import { parseId } from '../runtime/protocol/ids';
import { actorOf, type Community } from './community';
import type { AlertRecord, PersonRecord } from './db';
import { registerPerson, revokePerson, type Enroller } from './persons';

export class AlertAdminError extends TerminalError {
  readonly code = 'alert-admin';
}

export interface AddAlertOptions {
  tag: string;
  /** Tag an enrolled person... */
  personId?: string;
  /** ...or enrol a new alert subject from photos. */
  photos?: string[];
  /** Id of the new subject (default alert-<tag>-<time>). */
  subjectId?: string;
  note?: string;
  actor?: string;
  now?: number;
}

export async function addAlert(c: Community, enroller: Enroller | null, o: AddAlertOptions): Promise<PersonRecord> {
  const tag = parseId('tag', o.tag);
  const now = o.now ?? Date.now();
  const actor = actorOf(o.actor);
  if (o.personId !== undefined) {
    const personId = parseId('person', o.personId);
    const p = c.db.person(personId);
    if (!p || p.status === 'revoked') throw new AlertAdminError(`no enrolled person ${personId}`);
    return c.db.tx(() => {
      const r = c.db.savePerson({ ...p, tags: [...new Set([...p.tags, tag])], note: o.note ?? p.note }, now);
      c.db.audit(actor, 'alert.add', personId, { tag, note: o.note ?? null }, now);
      return r;
    });
  }
  if (!o.photos || o.photos.length === 0) throw new AlertAdminError('give --person ID or at least one --photo');
  if (!enroller) throw new AlertAdminError('photos need the face pipeline');
  // A tag may be 64 characters long: the default subject id keeps 40 of them to stay an id.
  const id = parseId('person', o.subjectId ?? `alert-${tag.slice(0, 40)}-${now.toString(36)}`);
  // An alert subject is identified at every door but authorised at none.
  await registerPerson(c, enroller, { id, photos: o.photos, kind: 'alert', tags: [tag], ...(o.note ? { note: o.note } : {}), actor, now });
  return c.db.tx(() => {
    const p = c.db.person(id);
    if (!p) throw new AlertAdminError(`alert subject ${id} was not stored`);
    const r = c.db.savePerson({ ...p, status: 'active' }, now);
    c.db.audit(actor, 'alert.add', id, { tag, note: o.note ?? null }, now);
    return r;
  });
}

/** Remove a tag: untag residents, revoke alert subjects (deleting their photos and templates). */
export function clearAlert(c: Community, tagArg: string, o: { actor?: string; now?: number } = {}): { untagged: string[]; revoked: string[] } {
  const tag = parseId('tag', tagArg);
  const now = o.now ?? Date.now();
  const actor = actorOf(o.actor);
  const untagged: string[] = [];
  const revoked: string[] = [];
  for (const p of c.db.persons({ tag })) {
    if (p.status === 'revoked') continue;
    if (p.kind === 'alert') {
      revokePerson(c, p.personId, { actor, now, reason: `alert ${tag} cleared` });
      revoked.push(p.personId);
    } else {
      c.db.savePerson({ ...p, tags: p.tags.filter((t) => t !== tag) }, now);
      untagged.push(p.personId);
    }
  }
  c.db.audit(actor, 'alert.clear', tag, { untagged, revoked }, now);
  return { untagged, revoked };
}

export function listAlerts(c: Community, tagArg?: string): { active: PersonRecord[]; sightings: AlertRecord[] } {
  const tag = tagArg === undefined ? undefined : parseId('tag', tagArg);
  const active = c.db.persons({ status: 'active' }).filter((p) => p.tags.length > 0 && (!tag || p.tags.includes(tag)));
  return { active, sightings: c.db.alerts(tag) };
}
