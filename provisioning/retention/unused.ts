/**
 * "Registered but long unused" (issue 16 item 5; the study lists it among the failures of paper
 * registration): active residents not let in at any door for `days` days, computed on the hub from the
 * granted entries in events.db, for their building manager to confirm ("still lives here") or end.
 *
 * Not listed: residents added fewer than `days` days ago, and those confirmed fewer than `days` days
 * ago (a confirmation hides a resident for `days` more days). `days` is at most the retention of entry
 * events (`retention.entryDays`): beyond it the hub no longer knows. `lastSeenAt` is the last granted
 * entry within that retention, or null. Ending access goes through the existing routes (revoke, or a
 * change of `--until`); confirming is recorded (resident_confirmations) and audited.
 */
import { InvalidInputError } from '../../core/errors';
import { parseId } from '../../runtime/protocol/ids';
import type { Places } from '../store/hub-store';
import type { Community } from '../community';
import { EventStore } from '../hub/event-store';
import { SqliteRetention } from '../store/retention-sqlite';
import { residentBuildings, doorBuildings } from '../api/buildings';
import { NotFoundError, ConflictError } from '../admin/context';
import { DAY_MS } from './config';

export const DEFAULT_UNUSED_DAYS = 90;

export interface UnusedResident {
  personId: string;
  name: string | null;
  room: string | null;
  buildings: string[];
  createdAt: number;
  /** The last granted entry within the retention of entry events, or null. */
  lastSeenAt: number | null;
  /** When a manager last confirmed the resident still lives there (more than `days` ago), or null. */
  confirmedAt: number | null;
}

export interface UnusedQuery {
  days: number;
  /** Only residents of these places (a manager's buildings and their doors). */
  within?: Places;
  /** And of these (the building filter). */
  building?: Places;
}

/** The days asked for, checked against the retention of entry events. */
export function unusedDays(c: Community, days: number | undefined): number {
  const max = c.config.retention.entryDays;
  const d = days ?? Math.min(DEFAULT_UNUSED_DAYS, max);
  if (!Number.isInteger(d) || d < 1 || d > max) throw new InvalidInputError('unused residents', [`days: a whole number from 1 to ${max} (entry events are kept ${max} days)`]);
  return d;
}

export function unusedResidents(c: Community, now: number, q: UnusedQuery): UnusedResident[] {
  const days = unusedDays(c, q.days);
  const since = now - days * DAY_MS;
  const events = EventStore.openReadOnly(c.paths.eventsDb);
  let seen: Map<string, number>;
  try {
    seen = events?.lastGrantedSince(now - c.config.retention.entryDays * DAY_MS) ?? new Map<string, number>();
  } finally {
    events?.close();
  }
  const confirmed = new SqliteRetention(c.db.db).confirmations();
  const doors = doorBuildings(c);
  const { items } = c.db.residentsPage({ status: 'active', ...(q.within ? { within: q.within } : {}), ...(q.building ? { building: q.building } : {}), offset: 0, limit: 1_000_000 });
  const out: UnusedResident[] = [];
  for (const r of items) {
    const p = r.person;
    if (p.kind !== 'resident' || p.createdAt > since) continue;
    const last = seen.get(p.personId) ?? null;
    if (last !== null && last >= since) continue;
    const conf = confirmed.get(p.personId) ?? null;
    if (conf !== null && conf > since) continue;
    out.push({
      personId: p.personId,
      name: r.registration?.name || null,
      room: r.registration?.room ?? null,
      buildings: residentBuildings(doors, p, r.registration?.buildingId ?? null),
      createdAt: p.createdAt,
      lastSeenAt: last,
      confirmedAt: conf,
    });
  }
  return out;
}

/** A manager confirms the resident still lives there: hidden from the report for its days again; audited. */
export function confirmResident(c: Community, actor: string, now: number, id: string): { personId: string; confirmedAt: number } {
  const personId = parseId('person', id);
  const p = c.db.person(personId);
  if (!p || p.kind !== 'resident') throw new NotFoundError('person', personId);
  if (p.status !== 'active') throw new ConflictError(`person ${personId} is ${p.status}, not an active resident`);
  const store = new SqliteRetention(c.db.db);
  c.db.tx(() => {
    store.confirmResident(personId, parseId('operator', actor), now);
    c.db.audit(actor, 'person.confirm-resident', personId, {}, now);
  });
  return { personId, confirmedAt: now };
}
