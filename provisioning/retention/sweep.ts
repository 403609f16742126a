/**
 * The hub's daily retention sweep (issue 16 item 4), with the periods of community.json's `retention`
 * (config.ts). One run:
 *
 * - deletes door events older than `entryDays` and alert sightings older than `sightingDays` from
 *   events.db, and the alerts older than `sightingDays` and audit rows older than `auditDays` from hub.db;
 *   visitor passes (a label may name the visitor) and their use counts `entryDays` after the pass ended,
 *   when the entries that name them are gone too;
 * - refuses registrations still pending after `pendingRegistrationDays` as expired (their person
 *   revoked: templates, selfies and the identity document's photo deleted, name and number erased), and
 *   revokes staff-registered pending persons as old; deletes rejected registrations' rows
 *   `rejectedRegistrationDays` after the decision;
 * - deletes photo folders that belong to no person who is not revoked (left by an interrupted enrolment
 *   or revocation) when a sweep at least a day after the one that first found them still finds them
 *   (an enrolment in progress writes its folder before its person);
 * - marks each tenancy whose access ended (every authorisation has a `validUntil` in the past) once,
 *   audited as `person.access-ended`; the doors refuse such a person as `expired` from that moment on
 *   their own (runtime/decision/policy.ts); `tenancyGraceDays` later their biometric data is purged
 *   (purge.ts). A tenancy extended before that is simply no longer ended.
 *
 * Then it audits itself as `retention.sweep` with counts only: never an id, a name or what was deleted.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock';
import { removeInside } from '../../core/fs';
import { AuthorisationSchema } from '../../runtime/roster/batch';
import { z } from 'zod';
import type { AdminContext } from '../admin/context';
import { revokePerson } from '../admin/persons';
import { rejectRegistration } from '../api/registrations';
import type { Community } from '../community';
import type { EventStore } from '../hub/event-store';
import { PhotoKeySchema } from '../photos';
import { SqliteRetention } from '../store/retention-sqlite';
import { DAY_MS } from './config';
import { purgeEndedTenancy } from './purge';

/** The actor of what the sweep changes, in the audit log. */
export const RETENTION_ACTOR = 'hub';

export interface SweepCounts {
  entryEvents: number;
  sightingEvents: number;
  alerts: number;
  auditRows: number;
  passes: number;
  expiredRegistrations: number;
  rejectedRegistrations: number;
  orphanPhotoFolders: number;
  accessEnded: number;
  tenanciesPurged: number;
}

const AccessSchema = z.array(AuthorisationSchema);

/** When a resident's access ended (the last `validUntil`, all in the past), or null while any is open-ended or still running. */
export function accessEndedAt(authorisationsJson: string, now: number): number | null {
  const parsed = AccessSchema.safeParse(JSON.parse(authorisationsJson));
  if (!parsed.success || parsed.data.length === 0) return null;
  let last = -Infinity;
  for (const a of parsed.data) {
    if (a.validUntil === undefined) return null;
    last = Math.max(last, Date.parse(a.validUntil));
  }
  return last <= now ? last : null;
}

/** Events deleted per statement: between two, the hub's event loop handles terminals' messages. */
const EVENT_CHUNK = 5_000;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function deleteEvents(events: EventStore, before: number, types: { only: readonly string[] } | { except: readonly string[] }): Promise<number> {
  let n = 0;
  for (;;) {
    const k = events.deleteBefore(before, types, EVENT_CHUNK);
    n += k;
    if (k < EVENT_CHUNK) return n;
    await nextTurn();
  }
}

/**
 * One sweep at `clock.now()`; `events` is the hub's own event store (null: events.db is left alone).
 * Events go in chunks of EVENT_CHUNK with a turn of the event loop between them (a day's entries of a
 * large community would otherwise hold the hub for seconds); the rest is small.
 */
export async function sweepRetention(c: Community, events: EventStore | null, clock: Clock): Promise<SweepCounts> {
  const now = clock.now();
  const r = c.config.retention;
  const db = c.db;
  const store = new SqliteRetention(db.db);
  const ctx: AdminContext = { clock, actor: RETENTION_ACTOR, community: c, store: db };
  const counts: SweepCounts = { entryEvents: 0, sightingEvents: 0, alerts: 0, auditRows: 0, passes: 0, expiredRegistrations: 0, rejectedRegistrations: 0, orphanPhotoFolders: 0, accessEnded: 0, tenanciesPurged: 0 };

  if (events) {
    counts.entryEvents = await deleteEvents(events, now - r.entryDays * DAY_MS, { except: ['alert.sighting'] });
    counts.sightingEvents = await deleteEvents(events, now - r.sightingDays * DAY_MS, { only: ['alert.sighting'] });
  }
  db.tx(() => {
    counts.alerts = store.deleteAlertsBefore(now - r.sightingDays * DAY_MS);
    counts.auditRows = store.deleteAuditBefore(now - r.auditDays * DAY_MS);
    counts.passes = store.deletePassesEndedBefore(now - r.entryDays * DAY_MS);
  });

  for (const p of store.pendingBefore(now - r.pendingRegistrationDays * DAY_MS)) {
    const reason = `expired: not decided within ${r.pendingRegistrationDays} days`;
    if (p.registrationId !== null) rejectRegistration({ community: c, clock, now, actor: RETENTION_ACTOR }, p.registrationId, reason);
    else revokePerson(ctx, { id: p.personId, reason });
    counts.expiredRegistrations += 1;
  }
  counts.rejectedRegistrations = store.deleteRejectedRegistrationsBefore(now - r.rejectedRegistrationDays * DAY_MS);

  const ended = new Set<string>();
  for (const p of store.activeResidents()) {
    const at = accessEndedAt(p.authorisations, now);
    if (at === null) continue;
    if (at + r.tenancyGraceDays * DAY_MS <= now) {
      purgeEndedTenancy(ctx, p.personId, at);
      counts.tenanciesPurged += 1;
      continue;
    }
    ended.add(p.personId);
    db.tx(() => {
      if (!store.markAccessEnded(p.personId, at)) return;
      db.audit(RETENTION_ACTOR, 'person.access-ended', p.personId, { until: new Date(at).toISOString(), purgeAfter: new Date(at + r.tenancyGraceDays * DAY_MS).toISOString() }, now);
      counts.accessEnded += 1;
    });
  }
  store.keepAccessEnded(ended);
  store.deleteStaleConfirmations();

  counts.orphanPhotoFolders = removeOrphanPhotoFolders(c, store, now);

  db.audit(RETENTION_ACTOR, 'retention.sweep', 'hub', { ...counts, periods: r }, now);
  return counts;
}

function removeOrphanPhotoFolders(c: Community, store: SqliteRetention, now: number): number {
  const dir = c.paths.photosDir;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  const inUse = store.photoKeysInUse();
  const orphans = names.filter((n) => PhotoKeySchema.safeParse(n).success && !inUse.has(n));
  let n = 0;
  for (const key of c.db.tx(() => store.orphanFolders(orphans, now, now - DAY_MS))) {
    if (removeInside(dir, join(dir, key)) === 'removed') n += 1;
    store.forgetOrphanFolder(key);
  }
  return n;
}
