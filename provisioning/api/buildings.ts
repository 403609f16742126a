/**
 * Which buildings a resource belongs to, for the policy (policy.ts): a door's is its terminals'
 * building; a resident's are the buildings of their access (buildings named, and the buildings of the
 * doors named) and, while pending, the building they registered for.
 */
import type { Community } from '../community';
import type { PersonRecord } from '../db';

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

export function personBuildings(c: Community, p: PersonRecord, doors = doorBuildings(c)): string[] {
  const out = new Set<string>();
  for (const a of p.authorisations) for (const b of accessBuildings(doors, { doors: a.doorIds, buildings: a.buildingIds })) out.add(b);
  const reg = c.db.db.prepare('SELECT building_id FROM registrations WHERE person_id = ?').get(p.personId) as { building_id: string } | undefined;
  if (reg) out.add(reg.building_id);
  return [...out];
}
