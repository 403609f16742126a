/**
 * The terminal's in-memory index from credential digests to persons, built from the encrypted roster
 * (runtime/roster/store.ts `credentials()`) and kept in step with it: a person re-enrolled or revoked
 * is re-read or dropped as soon as the roster change commits; a snapshot or a wipe rebuilds it all.
 */
import type { Logger } from '../../core/log';
import type { PersonCredentials, RosterChange } from '../roster/store';

export interface CredentialSource {
  credentials(personIds?: readonly string[]): { persons: PersonCredentials[] };
  onChange(fn: (c: RosterChange) => void): () => void;
}

export type CredentialMatch = { personId: string; duress: boolean };

export class CredentialIndex {
  private byPerson = new Map<string, PersonCredentials>();
  private cards = new Map<string, string[]>();
  private pins = new Map<string, CredentialMatch[]>();
  private off: (() => void) | null = null;

  constructor(
    private readonly source: CredentialSource,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.rebuild();
    this.off = this.source.onChange((c) => {
      try {
        if (c.replacedAll) this.rebuild();
        else this.update([...c.upserted, ...c.revoked]);
      } catch (e) {
        // Fail closed: nobody opens by card or PIN until the next change rebuilds the index.
        this.clear();
        this.log.error({ err: (e as Error).message }, 'credential index could not follow the roster; cleared');
      }
    });
  }

  stop(): void {
    this.off?.();
    this.off = null;
  }

  /** Persons holding this card digest (more than one is an error of the hub's: the caller refuses). */
  card(digest: string): readonly string[] {
    return this.cards.get(digest) ?? [];
  }

  /** Persons whose PIN or duress PIN has this digest. */
  pin(digest: string): readonly CredentialMatch[] {
    return this.pins.get(digest) ?? [];
  }

  /** The person's own PIN: is `digest` it, their duress PIN, or neither? */
  pinOf(personId: string, digest: string): 'pin' | 'duress' | null {
    const p = this.byPerson.get(personId);
    if (!p) return null;
    if (p.pin === digest) return 'pin';
    if (p.duressPin === digest) return 'duress';
    return null;
  }

  hasPin(personId: string): boolean {
    return this.byPerson.get(personId)?.pin !== undefined;
  }

  size(): number {
    return this.byPerson.size;
  }

  private clear(): void {
    this.byPerson = new Map();
    this.cards = new Map();
    this.pins = new Map();
  }

  private rebuild(): void {
    this.clear();
    for (const p of this.source.credentials().persons) this.byPerson.set(p.personId, p);
    this.reindex();
  }

  private update(ids: readonly string[]): void {
    for (const id of ids) this.byPerson.delete(id);
    for (const p of this.source.credentials(ids).persons) this.byPerson.set(p.personId, p);
    this.reindex();
  }

  private reindex(): void {
    const cards = new Map<string, string[]>();
    const pins = new Map<string, CredentialMatch[]>();
    const add = <T>(m: Map<string, T[]>, k: string, v: T): void => {
      const a = m.get(k);
      if (a) a.push(v);
      else m.set(k, [v]);
    };
    for (const p of this.byPerson.values()) {
      for (const c of p.cards) add(cards, c, p.personId);
      if (p.pin !== undefined) add(pins, p.pin, { personId: p.personId, duress: false });
      if (p.duressPin !== undefined) add(pins, p.duressPin, { personId: p.personId, duress: true });
    }
    this.cards = cards;
    this.pins = pins;
  }
}
