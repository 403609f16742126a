/**
 * Cards and PINs of residents, set by staff (`setCredentials(ctx, input)`). Only digests are kept (hub.db) and sent (the roster): a
 * keyed slow hash under the community's credential secret (runtime/access/digest.ts), which every
 * terminal bundle carries. The secret lives at hub/credential.secret (0600, plain like the other keys
 * that leave the folder: every terminal needs it unattended); it is made on first use.
 *
 * PINs must be unique in the community: a PIN alone identifies its holder at a PIN door, so two people
 * with one PIN would be refused as ambiguous. A PIN already taken is refused without saying by whom.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TerminalError } from '../../core/errors';
import { cardValue, credentialDigest, credentialKeyFromSecret } from '../../runtime/access/digest';
import { parseId } from '../../runtime/protocol/ids';
import type { Credentials } from '../../runtime/roster/batch';
import type { Community } from '../community';
import type { PersonRecord } from '../db';
import { writePrivate } from '../pki';
import { actorOf, NotFoundError, type AdminContext } from './context';

export class CredentialAdminError extends TerminalError {
  readonly code = 'credential-admin';
}

export function credentialSecretPath(c: Community): string {
  return join(c.paths.dir, 'hub', 'credential.secret');
}

/** The community's credential secret (32 bytes), made on first use. */
export function ensureCredentialSecret(c: Community): Buffer {
  const file = credentialSecretPath(c);
  if (!existsSync(file)) writePrivate(file, randomBytes(32));
  return readFileSync(file);
}

export interface SetCredentialsInput {
  /** The person. */
  id: string;
  /** Cards as facility code and number (replace the person's cards; [] removes them). */
  cards?: Array<[number, number]>;
  /** 4-8 digits (replaces the PIN; null removes it). */
  pin?: string | null;
  /** A different 4-8 digits that opens and raises a silent alarm (null removes it). */
  duressPin?: string | null;
}

const PIN = /^\d{4,8}$/;

export async function setCredentials(ctx: AdminContext, o: SetCredentialsInput): Promise<PersonRecord> {
  const personId = parseId('person', o.id);
  const actor = actorOf(ctx);
  const store = ctx.store;
  const p = store.person(personId);
  if (!p || p.status === 'revoked') throw new NotFoundError('person', personId, `no enrolled person ${personId}`);
  for (const [name, v] of [['PIN', o.pin], ['duress PIN', o.duressPin]] as const) {
    if (typeof v === 'string' && !PIN.test(v)) throw new CredentialAdminError(`the ${name} must be 4 to 8 digits`);
  }
  if (typeof o.pin === 'string' && o.pin === o.duressPin) throw new CredentialAdminError('the duress PIN must differ from the PIN');
  for (const [f, n] of o.cards ?? []) {
    if (!Number.isInteger(f) || f < 0 || f > 65535 || !Number.isInteger(n) || n < 0 || n > 65535) throw new CredentialAdminError('a card is FACILITY:NUMBER, each 0-65535');
  }
  const key = credentialKeyFromSecret(ensureCredentialSecret(ctx.community));
  const prev: Credentials = p.credentials ?? { cards: [] };
  const next: Credentials = { cards: prev.cards };
  if (o.cards !== undefined) next.cards = await Promise.all(o.cards.map(([f, n]) => credentialDigest('card', cardValue(f, n), key)));
  const pin = o.pin === undefined ? prev.pin : o.pin === null ? undefined : await credentialDigest('pin', o.pin, key);
  const duress = o.duressPin === undefined ? prev.duressPin : o.duressPin === null ? undefined : await credentialDigest('pin', o.duressPin, key);
  if (pin !== undefined) next.pin = pin;
  if (duress !== undefined) next.duressPin = duress;
  // Unique across the community (PINs and duress PINs share one space; cards another).
  const others = store.persons({ status: 'active' }).filter((x) => x.personId !== personId && x.credentials);
  const takenPins = new Set(others.flatMap((x) => [x.credentials?.pin, x.credentials?.duressPin]).filter((d): d is string => d !== undefined));
  const takenCards = new Set(others.flatMap((x) => x.credentials?.cards ?? []));
  if ((pin !== undefined && takenPins.has(pin)) || (duress !== undefined && takenPins.has(duress))) throw new CredentialAdminError('that PIN is not available; choose another');
  if (next.cards.some((d) => takenCards.has(d))) throw new CredentialAdminError('that card is enrolled for someone else');
  const now = ctx.clock.now();
  return store.tx(() => {
    const r = store.savePerson({ ...p, credentials: next }, now);
    // What changed, never the values.
    store.audit(actor, 'person.credentials', personId, { cards: next.cards.length, pin: next.pin !== undefined, duressPin: next.duressPin !== undefined }, now);
    return r;
  });
}
