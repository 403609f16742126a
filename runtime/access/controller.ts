/**
 * Cards and PINs at one door: Wiegand frames in (drivers/wiegand), decisions out. What opens the door is
 * the door's credential policy (`access.accept`): any listed method is enough, so `face-or-card` is
 * ['face', 'card'] and a card-plus-PIN door is ['card+pin']. A presented card or PIN is digested
 * (runtime/access/digest.ts) and looked up in the in-memory index of the roster's digests; the person
 * found must then be authorised here now, exactly as for a face (runtime/decision/policy.ts).
 *
 * - Card + PIN: after a card, its holder's PIN must be finished within `pinAfterCardMs`.
 * - A duress PIN opens the door like the PIN, and the event carries `duress: true` (the terminal raises
 *   a silent alarm to the hub; nothing at the door differs).
 * - Wrong PINs lock the keypad (keypad-guard.ts); a locked keypad refuses entries unchecked.
 * - Frames the reader refused (parity, length, noise) are `garbled`.
 *
 * Decisions are made one at a time in arrival order. Any error leaves the door locked (`error`).
 * Nothing here logs a card number, a PIN or a digest.
 */
import { z } from 'zod';
import type { Clock } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import type { Logger } from '../../core/log';
import { PinEntry, pinEntryConfigSchema, type PinEntryEvent, type WiegandEvent } from '../../drivers/wiegand';
import { authorisationRefusal, type Door, type PersonFacts } from '../decision/policy';
import type { CredentialIndex } from './credential-index';
import { cardValue, credentialDigest } from './digest';
import { KeypadGuard } from './keypad-guard';

export const CredentialMethodSchema = z.enum(['face', 'card', 'pin', 'card+pin', 'pass']);
export type CredentialMethod = z.infer<typeof CredentialMethodSchema>;

export const AccessConfigSchema = z.strictObject({
  /** What opens this door; any one listed is enough (face-or-card: ['face', 'card']). */
  accept: z.array(CredentialMethodSchema).min(1).default(['face', 'pass']),
  /** Card + PIN: the PIN must be finished within this after the card. */
  pinAfterCardMs: z.number().int().min(1_000).max(120_000).default(15_000),
  keypad: z
    .strictObject({
      /** Wrong PINs in a row that lock the keypad. */
      maxFailures: z.number().int().min(1).max(100).default(5),
      /** How long the keypad stays locked. */
      lockMs: z.number().int().min(1_000).max(86_400_000).default(300_000),
    })
    .prefault({}),
  pinEntry: pinEntryConfigSchema.prefault({}),
});
export type AccessConfig = z.infer<typeof AccessConfigSchema>;

export type AccessDenyReason =
  | 'garbled'
  | 'no-roster'
  | 'unknown'
  | 'ambiguous'
  | 'wrong-pin'
  | 'keypad-locked'
  | 'method-not-accepted'
  | 'revoked'
  | 'not-authorised-here'
  | 'expired'
  | 'outside-hours'
  | 'error';

export interface AccessEvent {
  type: 'access';
  at: number;
  credential: 'card' | 'pin' | 'card+pin';
  outcome: 'grant' | 'deny';
  reason: AccessDenyReason | null;
  personId: string | null;
  /** The PIN given was the person's duress PIN (the door opened; a silent alarm goes to the hub). */
  duress: boolean;
  lock: string | null;
  /** From the end of the card's frame or the PIN's last key to the decision. */
  latencyMs: number;
}

/** A card or PIN lookup found more than one person: the hub's data is wrong; nobody is let in by it. */
export class CredentialConflictError extends TerminalError {
  readonly code = 'credential-conflict';
}

export interface AccessControllerDeps {
  clock: Clock;
  logger: Logger;
  /** The pepper (digest.ts `credentialKeyFromFile`). */
  key: Buffer;
  index: CredentialIndex;
  persons: { facts(personId: string): PersonFacts | null };
  door: () => Door;
  config: () => AccessConfig;
  lock: { grant(source: 'card' | 'pin'): string };
  emit: (e: AccessEvent) => void;
  /**
   * False while the terminal holds no roster it can judge by (never synced, wiped, or the roster file
   * cannot be opened): every card and PIN is then refused as `no-roster`, with the deny tone and a record,
   * rather than as `unknown` or not at all. Default: always true.
   */
  rosterKnown?: () => boolean;
}

export class AccessController {
  private readonly log: Logger;
  private readonly guard: KeypadGuard;
  private readonly entry: PinEntry;
  private pendingCard: { personId: string | null; at: number } | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly deps: AccessControllerDeps) {
    this.log = deps.logger.child({ module: 'access' });
    this.guard = new KeypadGuard(() => deps.config().keypad);
    this.entry = new PinEntry(deps.clock, () => deps.config().pinEntry, (e) => this.onEntry(e));
  }

  /** Wiegand frames from the reader and the keypad (they may share the lines). */
  onFrame(e: WiegandEvent): void {
    switch (e.kind) {
      case 'key':
        this.entry.key(e.key);
        return;
      case 'card': {
        const value = cardValue(e.facility, e.number);
        const t0 = this.deps.clock.monotonic();
        this.enqueue(() => this.card(value, t0));
        return;
      }
      case 'error':
        this.emit({ credential: 'card', outcome: 'deny', reason: 'garbled', personId: null, duress: false, lock: null }, this.deps.clock.monotonic());
        return;
    }
  }

  /** Resolves when every decision asked for so far has been made (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue;
  }

  stop(): void {
    this.entry.stop();
    this.pendingCard = null;
  }

  private onEntry(e: PinEntryEvent): void {
    if (e.kind === 'abandoned') return;
    const t0 = this.deps.clock.monotonic();
    this.enqueue(() => this.pin(e.digits, t0));
  }

  private enqueue(job: () => Promise<void>): void {
    const started = this.deps.clock.monotonic();
    this.queue = this.queue.then(job).catch((err: unknown) => {
      this.log.error({ code: err instanceof TerminalError ? err.code : 'internal', err: (err as Error).message }, 'card or PIN decision failed; door stays locked');
      this.emit({ credential: 'card', outcome: 'deny', reason: 'error', personId: null, duress: false, lock: null }, started);
    });
  }

  private rosterKnown(): boolean {
    return this.deps.rosterKnown?.() ?? true;
  }

  private accepts(m: CredentialMethod): boolean {
    return this.deps.config().accept.includes(m);
  }

  private async card(value: string, t0: number): Promise<void> {
    const cardAlone = this.accepts('card');
    const withPin = this.accepts('card+pin');
    if (!cardAlone && !withPin) return this.emit({ credential: 'card', outcome: 'deny', reason: 'method-not-accepted', personId: null, duress: false, lock: null }, t0);
    // No roster: said at once, even at a card-and-PIN door (no PIN could be checked either).
    if (!this.rosterKnown()) return this.emit({ credential: 'card', outcome: 'deny', reason: 'no-roster', personId: null, duress: false, lock: null }, t0);
    const holders = this.deps.index.card(await credentialDigest('card', value, this.deps.key));
    if (holders.length > 1) throw new CredentialConflictError('one card digest belongs to several persons');
    const personId = holders[0] ?? null;
    if (cardAlone) {
      if (personId === null) return this.emit({ credential: 'card', outcome: 'deny', reason: 'unknown', personId: null, duress: false, lock: null }, t0);
      return this.grantIfAuthorised('card', personId, false, t0);
    }
    // Card + PIN: wait for the PIN (an unknown card waits too, so the keypad tells nothing about cards).
    this.pendingCard = { personId, at: t0 };
  }

  private async pin(digits: string, t0: number): Promise<void> {
    // Times are those of the frames (t0), not of this job: a digest still being computed for the card
    // does not shorten the holder's time to type the PIN.
    const card = this.pendingCard && t0 - this.pendingCard.at < this.deps.config().pinAfterCardMs ? this.pendingCard : null;
    this.pendingCard = null;
    const credential = card ? 'card+pin' : 'pin';
    if (this.guard.locked(t0)) return this.emit({ credential, outcome: 'deny', reason: 'keypad-locked', personId: card?.personId ?? null, duress: false, lock: null }, t0);
    if (!card && !this.accepts('pin')) return this.emit({ credential, outcome: 'deny', reason: 'method-not-accepted', personId: null, duress: false, lock: null }, t0);
    // Not a wrong PIN: the keypad's count of failures is left alone.
    if (!this.rosterKnown()) return this.emit({ credential, outcome: 'deny', reason: 'no-roster', personId: null, duress: false, lock: null }, t0);
    const digest = await credentialDigest('pin', digits, this.deps.key);
    if (card) {
      const which = card.personId === null ? null : this.deps.index.pinOf(card.personId, digest);
      if (which === null || card.personId === null) return this.wrongPin(credential, card.personId, 'wrong-pin', t0);
      this.guard.succeeded();
      return this.grantIfAuthorised('card+pin', card.personId, which === 'duress', t0);
    }
    const found = this.deps.index.pin(digest);
    if (found.length === 0) return this.wrongPin(credential, null, 'unknown', t0);
    if (found.length > 1) return this.emit({ credential, outcome: 'deny', reason: 'ambiguous', personId: null, duress: false, lock: null }, t0);
    const m = found[0] as { personId: string; duress: boolean };
    this.guard.succeeded();
    return this.grantIfAuthorised('pin', m.personId, m.duress, t0);
  }

  private wrongPin(credential: 'pin' | 'card+pin', personId: string | null, reason: 'unknown' | 'wrong-pin', t0: number): void {
    if (this.guard.failed(t0)) this.log.warn({ lockMs: this.deps.config().keypad.lockMs }, 'keypad locked after wrong PINs');
    this.emit({ credential, outcome: 'deny', reason, personId, duress: false, lock: null }, t0);
  }

  private grantIfAuthorised(credential: 'card' | 'pin' | 'card+pin', personId: string, duress: boolean, t0: number): void {
    const facts = this.deps.persons.facts(personId);
    if (facts === null) return this.emit({ credential, outcome: 'deny', reason: 'unknown', personId, duress, lock: null }, t0);
    const refused = authorisationRefusal(facts, this.deps.door(), this.deps.clock.now());
    if (refused !== null) return this.emit({ credential, outcome: 'deny', reason: refused, personId, duress, lock: null }, t0);
    const lock = this.deps.lock.grant(credential === 'card' ? 'card' : credential === 'pin' ? 'pin' : 'card');
    this.emit({ credential, outcome: 'grant', reason: null, personId, duress, lock }, t0);
  }

  private emit(e: Omit<AccessEvent, 'type' | 'at' | 'latencyMs'>, t0: number): void {
    const { clock } = this.deps;
    this.log.info({ credential: e.credential, outcome: e.outcome, reason: e.reason }, 'card or PIN decision');
    this.deps.emit({ type: 'access', at: clock.now(), latencyMs: Math.max(0, clock.monotonic() - t0), ...e });
  }
}
