/**
 * Roles and permissions: the one table that says who may do what. A route of the hub's API declares
 * one permission (provisioning/api/route.ts); the policy (provisioning/api/policy.ts) checks it against
 * this table and, for a manager, against the buildings of the resource.
 *
 * - admin: everything, and alone manages terminals (add, revoke, wipe, resync, renew, config push).
 * - security: the security office: alerts and sightings, doors (state, alarms, remote unlock), events,
 *   terminals and fleet health, visitor passes, the live feed, software rollouts (read). No residents, registrations, operators or audit.
 * - manager: the residents, registrations and doors of their own buildings (and a resident's export), nothing else.
 * - a person's erasure is the admin's alone (`persons.erase`).
 * - auditor: reads everything except operators' secrets, exports the audit log, changes nothing.
 *
 * `root` is not a role anyone is given: it is the community passphrase acting as the built-in root
 * operator (provisioning/operators/root.ts), with every permission, audited as `root`.
 */
import { z } from 'zod';

export const ROLES = ['admin', 'security', 'manager', 'auditor'] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

export const PERMISSIONS = [
  'session', // the caller's own session, profile, password and tokens: any authenticated operator
  'operators.read',
  'operators.write',
  'registrations.read',
  'registrations.decide',
  'residents.read',
  'residents.write',
  'persons.export', // a person's export (the right of access): everything held about them
  'persons.erase', // a person's erasure, everywhere
  'alerts.read',
  'alerts.write',
  'doors.read',
  'doors.unlock',
  'terminals.read',
  'terminals.write',
  'passes.read',
  'passes.write',
  'events.read',
  'audit.read',
  'live',
  'updates.read', // software rollouts: status and log
  'updates.manage', // start, pause, resume, abort a rollout
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Permissions whose resources belong to buildings: a manager holds them only within their buildings. */
export const BUILDING_SCOPED: ReadonlySet<Permission> = new Set(['registrations.read', 'registrations.decide', 'residents.read', 'residents.write', 'persons.export', 'doors.read', 'live']);

const ALL: readonly Permission[] = PERMISSIONS;

export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  admin: new Set(ALL),
  security: new Set<Permission>(['session', 'alerts.read', 'alerts.write', 'doors.read', 'doors.unlock', 'terminals.read', 'passes.read', 'passes.write', 'events.read', 'live', 'updates.read']),
  manager: new Set<Permission>(['session', 'registrations.read', 'registrations.decide', 'residents.read', 'residents.write', 'persons.export', 'doors.read', 'live']),
  auditor: new Set<Permission>(['session', 'operators.read', 'registrations.read', 'residents.read', 'alerts.read', 'doors.read', 'terminals.read', 'passes.read', 'events.read', 'audit.read', 'live', 'updates.read']),
};

/** The built-in root operator's id (the community passphrase); no operator may take it. */
export const ROOT_OPERATOR = 'root';
