/**
 * The hub's admin operations as plain library calls: `operation(ctx, input)`, grouped by resource
 * (persons.ts, registrations.ts, terminals.ts, alerts.ts, doors.ts, certificates.ts, updates.ts,
 * fleet.ts, audit.ts). The caller (the `provision` command line, the hub's HTTP API) has
 * authenticated the operator and checked their role; an operation checks its input, changes the
 * store in one transaction with its audit row naming `ctx.actor`, and returns plain data. Bad input
 * or a missing thing is a typed error with a stable `code` (below, and each resource's own) and
 * changes nothing.
 */
import type { Clock } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import { parseId } from '../../runtime/protocol/ids';
import type { Community } from '../community';
import type { HubStore } from '../store/hub-store';
import type { Enroller } from './enrol';

export interface AdminContext {
  clock: Clock;
  /** The acting operator's id (the one identifier rule), authenticated by the caller; written to the audit log. */
  actor: string;
  /** The community folder: CA, keys, photos, community.json. */
  community: Community;
  /** The community's stored state (normally community.db). */
  store: HubStore;
  /** Turns photos into templates; operations that enrol photos refuse without one. */
  enroller?: Enroller | null;
  /** The community passphrase, for operations that use the CA or a signing key. */
  passphrase?: string;
}

/** The thing named does not exist (an API answers 404). */
export class NotFoundError extends TerminalError {
  readonly code = 'not-found';

  constructor(
    readonly resource: string,
    readonly id: string,
    message = `no ${resource} ${id}`,
  ) {
    super(message);
  }
}

/** The operation does not fit the thing's state: it exists already, is revoked, is not pending (409). */
export class ConflictError extends TerminalError {
  readonly code = 'conflict';
}

/** The operation needs the community passphrase and the context has none (the hub was started without it). */
export class PassphraseRequiredError extends TerminalError {
  readonly code = 'passphrase-required';
}

/** The operation enrols photos and the context has no enroller (face pipeline). */
export class EnrollerRequiredError extends TerminalError {
  readonly code = 'enroller-required';
}

/** The acting operator's id, checked against the one identifier rule. */
export function actorOf(ctx: AdminContext): string {
  return parseId('operator', ctx.actor);
}

export function passphraseOf(ctx: AdminContext): string {
  if (ctx.passphrase === undefined) throw new PassphraseRequiredError('this operation needs the community passphrase');
  return ctx.passphrase;
}

export function enrollerOf(ctx: AdminContext, why: string): Enroller {
  if (!ctx.enroller) throw new EnrollerRequiredError(`${why} need the face pipeline`);
  return ctx.enroller;
}
