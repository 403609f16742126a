/**
 * Authorisation in one place. A route declares the permission it needs and, for a resource that
 * belongs to buildings, how to find them (route.ts); the one hook in server.ts asks `decide` and
 * answers what it says. Handlers never check roles themselves.
 *
 * - no principal: 401.
 * - a role without the permission: 403. A password that must be changed first: 403 for everything but
 *   the `session` permission (me, password, logout).
 * - a manager, for a building-scoped permission: allowed only when the resource's buildings are known and
 *   all of them are the manager's. A resource in another building, and one that does not exist, both
 *   answer 403, so that a manager learns nothing about other buildings (not even whether an id exists);
 *   lists are filtered by `visibleTo` (or in the store, by `visibleBuildings`) instead. Reading a resource needs one of its buildings to be the
 *   manager's (a resident with access to b-1 and b-2 is seen by both managers); changing it needs all.
 * - root and admin: allowed (a resource that does not exist is then a 404 from the handler).
 */
import type { Principal } from '../operators/auth';
import { BUILDING_SCOPED, ROLE_PERMISSIONS, type Permission } from '../operators/roles';

const READS: ReadonlySet<Permission> = new Set(['registrations.read', 'residents.read', 'doors.read', 'live']);

export type Decision = { allow: true } | { allow: false; status: 401 | 403; reason: string };

/** `buildings`: the resource's buildings; null when the route has no resource or it does not exist. */
export function decide(p: Principal | null, permission: Permission | 'public', buildings?: readonly string[] | null): Decision {
  if (permission === 'public') return { allow: true };
  if (!p) return { allow: false, status: 401, reason: 'authentication required' };
  if (p.role === 'root') return { allow: true };
  if (p.mustChangePassword && permission !== 'session') return { allow: false, status: 403, reason: 'change your one-time password first' };
  if (!ROLE_PERMISSIONS[p.role].has(permission)) return { allow: false, status: 403, reason: `${/^[aeiou]/.test(p.role) ? 'an' : 'a'} ${p.role} may not do this (${permission})` };
  if (p.role !== 'manager' || !BUILDING_SCOPED.has(permission) || buildings === undefined) return { allow: true };
  const mine = (b: string): boolean => p.buildings.includes(b);
  // Reading needs one of the resource's buildings to be theirs; changing it needs all of them.
  const ok = buildings !== null && buildings.length > 0 && (READS.has(permission) ? buildings.some(mine) : buildings.every(mine));
  return ok ? { allow: true } : { allow: false, status: 403, reason: 'not in your buildings' };
}

/** For lists: may `p` see an item in `buildings`? (a manager: when any of them is theirs) */
export function visibleTo(p: Principal, buildings: readonly string[]): boolean {
  if (p.role !== 'manager') return true;
  return buildings.some((b) => p.buildings.includes(b));
}

/** For lists filtered in the store: the buildings `p` is limited to (a manager's), or null for all of them. */
export function visibleBuildings(p: Principal): readonly string[] | null {
  return p.role === 'manager' ? p.buildings : null;
}
