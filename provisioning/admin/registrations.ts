/**
 * Tenants' registrations: what the tenant app sends once identity is checked arrives as a *pending*
 * person (templates from the photos, nothing reaches the doors yet); a building manager approves it
 * for doors or buildings with dates and hours, and the running hub publishes it.
 */
import type { PersonRecord } from '../db';
import { authorisationOf, type AccessSpec } from './access';
import { actorOf, ConflictError, type AdminContext } from './context';
import { enrol, getPerson, type EnrolInput } from './persons';

/** A tenant's registration: templates from the photos, waiting for a manager's approval. */
export function registerPerson(ctx: AdminContext, input: EnrolInput): Promise<PersonRecord> {
  return enrol(ctx, input, 'pending', [], 'person.register');
}

/** Registrations waiting for approval, oldest id first. */
export function pendingRegistrations(ctx: AdminContext): PersonRecord[] {
  return ctx.store.persons({ status: 'pending' });
}

/** A building manager approves a pending registration for doors/buildings and dates. */
export function approvePerson(ctx: AdminContext, input: AccessSpec & { id: string }): PersonRecord {
  const p = getPerson(ctx, input);
  const id = p.personId;
  const actor = actorOf(ctx);
  if (p.status !== 'pending') throw new ConflictError(`person ${id} is ${p.status}, not pending`);
  const access = authorisationOf(input, ctx.community.config.timeZone);
  const now = ctx.clock.now();
  const store = ctx.store;
  return store.tx(() => {
    const rec = store.savePerson({ ...p, status: 'active', authorisations: [access] }, now);
    store.audit(actor, 'person.approve', id, { access }, now);
    return rec;
  });
}
