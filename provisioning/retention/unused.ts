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
import type { PersonRecord } from '../db';
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

/**
 * Read in the order that keeps it cheap at community scale: the ids of the active residents from the
 * listing index, less those let in since (one row per person in events.db's `last_granted`) and those
 * confirmed since; only the residents left are read in full (their access, registration, buildings).
 */
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
  const store = new SqliteRetention(c.db.db);
  const confirmed = store.confirmations();
  const doors = doorBuildings(c);
  const inPlaces = (buildings: readonly string[], p: Places | undefined): boolean => p === undefined || buildings.some((b) => p.buildings.includes(b));
  const out: UnusedResident[] = [];
  for (const id of store.activeResidentIds()) {
    const last = seen.get(id) ?? null;
    if (last !== null && last >= since) continue;
    const conf = confirmed.get(id) ?? null;
    if (conf !== null && conf > since) continue;
    const facts = store.residentFacts(id);
    if (facts === null || facts.createdAt > since) continue;
    const createdAt = facts.createdAt;
    // The access as savePerson validated and stored it (only the places are read here).
    const access = { authorisations: JSON.parse(facts.authorisations) as PersonRecord['authorisations'] };
    const registration = c.db.registrationOf(id);
    const buildings = residentBuildings(doors, access, registration?.buildingId ?? null);
    if (!inPlaces(buildings, q.within) || !inPlaces(buildings, q.building)) continue;
    out.push({ personId: id, name: registration?.name || null, room: registration?.room ?? null, buildings, createdAt, lastSeenAt: last, confirmedAt: conf });
  }
  return out.sort((a, b) => (a.personId < b.personId ? -1 : 1));
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
