/**
 * Which buildings a resource belongs to, for the policy (policy.ts): a door's is its terminals'
 * building; a resident's are the buildings of their access (buildings named, and the buildings of the
 * doors named) and the building they registered for.
 */
import type { Community } from '../community';
import type { PersonRecord } from '../db';
import type { Places } from '../store/hub-store';

export function doorBuildings(c: Community): Map<string, string> {
  return new Map(c.db.terminals().map((t) => [t.doorId, t.buildingId]));
}

export function knownBuildings(c: Community): Set<string> {
  return new Set(c.db.terminals().map((t) => t.buildingId));
}

export function accessBuildings(doors: Map<string, string>, access: { doors?: string[] | undefined; buildings?: string[] | undefined }): string[] {
  const out = new Set(access.buildings ?? []);
  for (const d of access.doors ?? []) out.add(doors.get(d) ?? `unknown-door:${d}`); // an unknown door belongs to nobody's buildings
  return [...out];
}

/** A resident's buildings: those of their access, and the one they registered for (null: none). */
export function residentBuildings(doors: Map<string, string>, p: Pick<PersonRecord, 'authorisations'>, registeredFor: string | null): string[] {
  const out = new Set<string>();
  for (const a of p.authorisations) for (const b of accessBuildings(doors, { doors: a.doorIds, buildings: a.buildingIds })) out.add(b);
  if (registeredFor !== null) out.add(registeredFor);
  return [...out];
}

export function personBuildings(c: Community, p: PersonRecord, doors = doorBuildings(c)): string[] {
  return residentBuildings(doors, p, c.db.registrationOf(p.personId)?.buildingId ?? null);
}

/** Buildings and the doors in them, for the store's resident queries (a resident of a building has access to it or one of its doors, or registered for it). */
export function placesOf(doors: Map<string, string>, buildings: readonly string[]): Places {
  return { buildings: [...buildings], doors: [...doors].filter(([, b]) => buildings.includes(b)).map(([d]) => d) };
}
