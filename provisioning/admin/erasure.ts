/**
 * A person's erasure (issue 16 item 6), the one function for it (`erasePerson`): the API's
 * `POST /api/persons/{id}/erase`, `provision person erase`, and the retention job (a tenancy's end
 * after its grace period) call it.
 *
 * It does what a revocation does (persons.ts revokePerson: the tombstone to the doors; templates,
 * photos, label, note, credentials, adapted templates deleted) and also deletes the person's
 * registrations, sightings, the labels of the passes they issued, photo moves still pending, and
 * events.db's events naming them; audit rows about them keep who did what when, their detail reduced
 * to `{"erased":true}`. One audit row, `person.erase`, records that it happened (by whom, when, the id,
 * the counts). hub.db and events.db free their pages and truncate their write-ahead logs (secure delete
 * zeroes what was deleted: provisioning/store/reclaim.ts). The running hub records the version of the
 * person's tombstone once it is out (roster_log holds ids only), and the terminals that confirm it
 * (`erasureStatus`).
 *
 * An unknown id is a NotFoundError and changes nothing. Erasing again is harmless, and finishes an
 * erasure interrupted after its hub.db transaction (the photos and events.db are done after it).
 */
import { existsSync } from 'node:fs';
import type { PersonRecord } from '../db';
import { EventStore } from '../hub/event-store';
import { countPhotos, removePhotos } from '../photos';
import type { ErasedRows, ErasureConfirmation } from '../store/erasures';
import { actorOf, ConflictError, type AdminContext } from './context';
import { getPerson } from './persons';

export interface ErasureStatus {
  personId: string;
  kind: 'revoke' | 'erase';
  requestedAt: number;
  requestedBy: string;
  /** The roster version that carried the tombstone (null: the hub has not published it yet). */
  tombstoneVersion: number | null;
  /** Older roster deltas holding the person deleted by the hub (null: not yet). */
  compactedDeltas: number | null;
  /** Active terminals that report a roster at or past the tombstone, and those that do not yet. */
  confirmed: ErasureConfirmation[];
  pending: string[];
}

export interface ErasureReport {
  personId: string;
  erasedAt: number;
  erasedBy: string;
  /** Where what was deleted. */
  deleted: {
    hubDb: ErasedRows & { templates: number; credentials: boolean; label: boolean; note: boolean; tombstone: 'new' | 'already revoked' };
    photos: number;
    eventsDb: number;
  };
  /** The write-ahead logs truncated and free pages given back (hub.db, events.db). */
  reclaimed: { hubDb: { freedPages: number; walTruncated: boolean }; eventsDb: { freedPages: number; walTruncated: boolean } | null };
  status: ErasureStatus;
}

/** Which terminals have deleted a revoked or erased person (ConflictError: the person is neither). */
export function erasureStatus(ctx: AdminContext, input: { id: string }): ErasureStatus {
  const p = getPerson(ctx, input);
  const e = ctx.store.erasures.erasure(p.personId);
  if (!e || p.status !== 'revoked') throw new ConflictError(`person ${p.personId} is ${p.status}, not revoked or erased`);
  const confirmed = e.version === null ? [] : ctx.store.erasures.confirmations(p.personId);
  const by = new Set(confirmed.map((c) => c.terminalId));
  // Per-door rosters: only the terminals the tombstone was sent to ever held the person (a version from
  // before per-door rosters names none: every active terminal is waited for).
  const sentTo = e.version === null ? undefined : ctx.store.rosterChanges(e.version - 1)[0]?.[1].terminals;
  const active = ctx.store.terminals().filter((t) => t.status === 'active' && (sentTo === undefined || sentTo.includes(t.id))).map((t) => t.id);
  return {
    personId: p.personId,
    kind: e.kind,
    requestedAt: e.requestedAt,
    requestedBy: e.requestedBy,
    tombstoneVersion: e.version,
    compactedDeltas: e.compactedDeltas,
    confirmed: confirmed.filter((c) => active.includes(c.terminalId)),
    pending: active.filter((t) => !by.has(t)),
  };
}

/** Erase everything held about a person, everywhere on the hub; the report says where what was deleted. */
export function erasePerson(ctx: AdminContext, input: { id: string }): ErasureReport {
  const p: PersonRecord = getPerson(ctx, input);
  const id = p.personId;
  const actor = actorOf(ctx);
  const now = ctx.clock.now();
  const store = ctx.store;
  const photosDir = ctx.community.paths.photosDir;
  const wasRevoked = p.status === 'revoked';
  const hubRows = store.tx(() => {
    const rec = wasRevoked && p.label === null && p.note === null && p.templates.length === 0 && p.credentials === undefined
      ? p
      : store.savePerson({ ...p, status: 'revoked', label: null, note: null, templates: [], photos: [], authorisations: [], tags: [], credentials: undefined }, now);
    const rows = store.erasures.eraseHeldAbout(id);
    store.erasures.recordErasure({ personId: id, kind: 'erase', requestedBy: actor, rev: rec.rev }, now);
    return rows;
  });
  const photos = countPhotos(photosDir, p.photoKey);
  removePhotos(photosDir, p.photoKey);
  let events: { deleted: number; freedPages: number; walTruncated: boolean } | null = null;
  if (existsSync(ctx.community.paths.eventsDb)) {
    const es = new EventStore(ctx.community.paths.eventsDb);
    try {
      events = es.eraseAboutPerson(id);
    } finally {
      es.close();
    }
  }
  const deleted: ErasureReport['deleted'] = {
    hubDb: { ...hubRows, templates: p.templates.length, credentials: p.credentials !== undefined, label: p.label !== null, note: p.note !== null, tombstone: wasRevoked ? 'already revoked' : 'new' },
    photos,
    eventsDb: events?.deleted ?? 0,
  };
  store.audit(actor, 'person.erase', id, { deleted }, now);
  const hubReclaimed = store.reclaim();
  return {
    personId: id,
    erasedAt: now,
    erasedBy: actor,
    deleted,
    reclaimed: { hubDb: hubReclaimed, eventsDb: events ? { freedPages: events.freedPages, walTruncated: events.walTruncated } : null },
    status: erasureStatus(ctx, { id }),
  };
}
