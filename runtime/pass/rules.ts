/**
 * Whether a pass opens this door now: a pure function of the decoded pass, the door, the time, the
 * revocation list and the uses this terminal has counted. The order of the checks is the order of the
 * reasons a security office wants to read first: a revoked pass is `revoked` even at the wrong door.
 */
import type { Pass, PassDecodeResult, PassId } from '../protocol/pass';

export type PassDenyReason =
  | 'garbled'
  | 'bad-signature'
  | 'no-roster'
  | 'revoked'
  | 'wrong-door'
  | 'not-yet-valid'
  | 'expired'
  | 'used-up';

export const PASS_DENY_REASONS: readonly PassDenyReason[] = ['garbled', 'bad-signature', 'no-roster', 'revoked', 'wrong-door', 'not-yet-valid', 'expired', 'used-up'];

export interface PassContext {
  readonly now: number;
  readonly doorId: string;
  readonly buildingId: string;
  /**
   * False while the terminal holds no roster (never synced, or wiped): it cannot know which passes were
   * revoked, so it admits none (`no-roster`).
   */
  readonly revocationsKnown: boolean;
  readonly isRevoked: (passId: PassId) => boolean;
  /** Uses this terminal has already counted for the pass. */
  readonly usesSoFar: (passId: PassId) => number;
}

export type PassVerdict =
  | { readonly ok: true; readonly pass: Pass }
  | { readonly ok: false; readonly reason: PassDenyReason; readonly passId: PassId | null; readonly pass: Pass | null };

export function judgePass(decoded: PassDecodeResult, ctx: PassContext): PassVerdict {
  if (!decoded.ok) return { ok: false, reason: decoded.reason, passId: decoded.passId, pass: null };
  const p = decoded.pass;
  const deny = (reason: PassDenyReason): PassVerdict => ({ ok: false, reason, passId: p.passId, pass: p });
  if (!ctx.revocationsKnown) return deny('no-roster');
  if (ctx.isRevoked(p.passId)) return deny('revoked');
  if (!p.doors.includes(ctx.doorId) && !p.buildings.includes(ctx.buildingId)) return deny('wrong-door');
  if (ctx.now < p.notBefore) return deny('not-yet-valid');
  if (ctx.now >= p.notAfter) return deny('expired');
  if (p.uses > 0 && ctx.usesSoFar(p.passId) >= p.uses) return deny('used-up');
  return { ok: true, pass: p };
}
