/**
 * Which terminals a roster item concerns (per-door rosters, issue 16). A terminal serves one door of
 * one building (terminals.door_id, building_id). An active resident concerns the terminals of every
 * door and every building named in any of their authorisations (runtime/roster/batch.ts
 * AuthorisationSchema; the same places as person_places), whatever the validity dates and windows:
 * the terminal still judges those, so a tenancy's end changes nothing here until the access itself is
 * changed or revoked. An active alert subject (kind 'alert') concerns every terminal: a sighting must be
 * raised at any door. A pending or revoked person concerns none. A revoked visitor pass concerns the
 * terminals of the doors and buildings it was issued for.
 */
import type { PassRecord, PersonRecord, TerminalRecord } from '../db';

export interface PlaceScope {
  /** Every terminal. */
  all: boolean;
  doors: ReadonlySet<string>;
  buildings: ReadonlySet<string>;
}

export const NO_PLACE: PlaceScope = { all: false, doors: new Set(), buildings: new Set() };
export const EVERY_PLACE: PlaceScope = { all: true, doors: new Set(), buildings: new Set() };

export function scopeOfPerson(p: PersonRecord): PlaceScope {
  if (p.status !== 'active') return NO_PLACE;
  if (p.kind === 'alert') return EVERY_PLACE;
  // A resident tagged for an alert (a missing person) must be seen at every door, not only where they may open.
  if (p.tags.length > 0) return EVERY_PLACE;
  const doors = new Set<string>();
  const buildings = new Set<string>();
  for (const a of p.authorisations) {
    for (const d of a.doorIds) doors.add(d);
    for (const b of a.buildingIds) buildings.add(b);
  }
  return { all: false, doors, buildings };
}

export function scopeOfPass(p: PassRecord): PlaceScope {
  return { all: false, doors: new Set(p.doors), buildings: new Set(p.buildings) };
}

export function covers(s: PlaceScope, t: Pick<TerminalRecord, 'doorId' | 'buildingId'>): boolean {
  return s.all || s.doors.has(t.doorId) || s.buildings.has(t.buildingId);
}
