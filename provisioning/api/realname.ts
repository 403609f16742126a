/**
 * The real-name check a tenant's registration passes before it is stored: does this identity document
 * number belong to this name? When it does, the service also gives the document's photo, from which
 * the person is enrolled with the app's selfies (issue 17; registrations.ts). In production an identity
 * verification service answers it; the hub only sees this interface. `FakeRealNameCheck` (tests,
 * demos) knows a fixed list of identities, each with a photo (a file, or the photo itself) or none.
 */
import { readFileSync } from 'node:fs';

export type RealNameVerdict = 'verified' | 'mismatch' | 'unavailable' | 'unchecked';

/** The identity document's photo, as the identity service returns it (never logged, never sent to a door). */
export interface IdPhoto {
  contentType: 'image/jpeg' | 'image/png';
  data: Buffer;
}

/** The verdict, and with `verified` the document's photo when the service has one. */
export type RealNameResult = { verdict: 'verified'; idPhoto: IdPhoto | null } | { verdict: Exclude<RealNameVerdict, 'verified'> };

export interface RealNameCheck {
  check(identity: { name: string; idNumber: string }): Promise<RealNameResult>;
}

export class FakeRealNameCheck implements RealNameCheck {
  readonly calls: number[] = [];
  constructor(private readonly known: ReadonlyArray<{ name: string; idNumber: string; photo?: string | IdPhoto }>) {}

  check(identity: { name: string; idNumber: string }): Promise<RealNameResult> {
    this.calls.push(1);
    const hit = this.known.find((k) => k.idNumber === identity.idNumber);
    if (hit === undefined || hit.name !== identity.name) return Promise.resolve({ verdict: 'mismatch' });
    const p = hit.photo;
    const idPhoto = p === undefined ? null : typeof p !== 'string' ? p : { contentType: p.toLowerCase().endsWith('.png') ? 'image/png' as const : 'image/jpeg' as const, data: readFileSync(p) };
    return Promise.resolve({ verdict: 'verified', idPhoto });
  }
}

/**
 * What `provision hub --http` uses until an identity service is configured: every registration is
 * refused as `unavailable` (503), so nothing unchecked enters the queue by accident.
 */
export class NoRealNameCheck implements RealNameCheck {
  check(): Promise<RealNameResult> {
    return Promise.resolve({ verdict: 'unavailable' });
  }
}

/**
 * `provision hub --http ... --real-name-check off` (a trial without an identity service): registrations
 * are accepted and stored as `unchecked`, which the approval queue shows to the manager.
 */
export class SkippedRealNameCheck implements RealNameCheck {
  check(): Promise<RealNameResult> {
    return Promise.resolve({ verdict: 'unchecked' });
  }
}

/** Keeps the first 4 and last 4 characters of an identity document number: enough for a manager to compare with the card in hand. */
export function maskIdNumber(n: string): string {
  return n.length <= 8 ? '*'.repeat(n.length) : `${n.slice(0, 4)}${'*'.repeat(n.length - 8)}${n.slice(-4)}`;
}
