/**
 * The real-name check a tenant's registration passes before it is stored: does this identity document
 * number belong to this name? In production an identity verification service answers it; the hub only
 * sees this interface. `FakeRealNameCheck` (tests, demos) knows a fixed list of identities.
 */
export type RealNameVerdict = 'verified' | 'mismatch' | 'unavailable' | 'unchecked';

/** The portrait an identity service holds for an identity (the photo of the identity document). */
export interface IdentityPortrait {
  contentType: 'image/jpeg' | 'image/png';
  data: Buffer;
}

export interface RealNameCheck {
  check(identity: { name: string; idNumber: string }): Promise<RealNameVerdict>;
  /**
   * The identity's portrait, for a verified identity, where the service gives one: the manager sees it
   * beside the registration photos. Kept with the registration until it is decided, then deleted.
   */
  portrait?(identity: { name: string; idNumber: string }): Promise<IdentityPortrait | null>;
}

export class FakeRealNameCheck implements RealNameCheck {
  readonly calls: number[] = [];
  constructor(private readonly known: ReadonlyArray<{ name: string; idNumber: string; portrait?: IdentityPortrait }>) {}

  check(identity: { name: string; idNumber: string }): Promise<RealNameVerdict> {
    this.calls.push(1);
    const hit = this.known.find((k) => k.idNumber === identity.idNumber);
    return Promise.resolve(hit === undefined || hit.name !== identity.name ? 'mismatch' : 'verified');
  }

  portrait(identity: { name: string; idNumber: string }): Promise<IdentityPortrait | null> {
    const hit = this.known.find((k) => k.idNumber === identity.idNumber && k.name === identity.name);
    return Promise.resolve(hit?.portrait ?? null);
  }
}

/**
 * What `provision hub --http` uses until an identity service is configured: every registration is
 * refused as `unavailable` (503), so nothing unchecked enters the queue by accident.
 */
export class NoRealNameCheck implements RealNameCheck {
  check(): Promise<RealNameVerdict> {
    return Promise.resolve('unavailable');
  }
}

/**
 * `provision hub --http ... --real-name-check off` (a trial without an identity service): registrations
 * are accepted and stored as `unchecked`, which the approval queue shows to the manager.
 */
export class SkippedRealNameCheck implements RealNameCheck {
  check(): Promise<RealNameVerdict> {
    return Promise.resolve('unchecked');
  }
}

/** Keeps the first 4 and last 4 characters of an identity document number: enough for a manager to compare with the card in hand. */
export function maskIdNumber(n: string): string {
  return n.length <= 8 ? '*'.repeat(n.length) : `${n.slice(0, 4)}${'*'.repeat(n.length - 8)}${n.slice(-4)}`;
}
