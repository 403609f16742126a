import { generateKeyPairSync } from 'node:crypto';
import { decodePass, encodePass, type PassFields } from '../../../runtime/protocol/pass';
import { judgePass, type PassContext } from '../../../runtime/pass/rules';

const hub = generateKeyPairSync('ed25519');
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const base: PassFields = { passId: '00000000000000aa', notBefore: T0, notAfter: T0 + 3600_000, uses: 2, doors: ['gate-1'], buildings: [] };
const decoded = (over: Partial<PassFields> = {}) => decodePass(encodePass({ ...base, ...over }, hub.privateKey), hub.publicKey);
const ctx = (over: Partial<PassContext> = {}): PassContext => ({
  now: T0 + 1000, doorId: 'gate-1', buildingId: 'b-1', revocationsKnown: true, isRevoked: () => false, usesSoFar: () => 0, ...over,
});

describe('judgePass', () => {
  it('admits a pass at its door inside its window with uses left', () => {
    expect(judgePass(decoded(), ctx())).toMatchObject({ ok: true });
  });

  it('is not-yet-valid 1 ms before notBefore and valid at it', () => {
    expect(judgePass(decoded(), ctx({ now: T0 - 1 }))).toMatchObject({ ok: false, reason: 'not-yet-valid' });
    expect(judgePass(decoded(), ctx({ now: T0 }))).toMatchObject({ ok: true });
  });

  it('is valid 1 ms before notAfter and expired at it', () => {
    expect(judgePass(decoded(), ctx({ now: T0 + 3600_000 - 1 }))).toMatchObject({ ok: true });
    expect(judgePass(decoded(), ctx({ now: T0 + 3600_000 }))).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('is used-up when this terminal has counted all its uses; 0 uses means no limit', () => {
    expect(judgePass(decoded(), ctx({ usesSoFar: () => 1 }))).toMatchObject({ ok: true });
    expect(judgePass(decoded(), ctx({ usesSoFar: () => 2 }))).toMatchObject({ ok: false, reason: 'used-up' });
    expect(judgePass(decoded({ uses: 0 }), ctx({ usesSoFar: () => 1000 }))).toMatchObject({ ok: true });
  });

  it('is wrong-door at another door, unless the pass names this building', () => {
    expect(judgePass(decoded(), ctx({ doorId: 'gate-2' }))).toMatchObject({ ok: false, reason: 'wrong-door' });
    expect(judgePass(decoded({ doors: [], buildings: ['b-1'] }), ctx({ doorId: 'gate-2' }))).toMatchObject({ ok: true });
  });

  it('says revoked before anything else it could say about a valid signature', () => {
    expect(judgePass(decoded(), ctx({ isRevoked: () => true, doorId: 'elsewhere', now: T0 + 9e9 }))).toMatchObject({ ok: false, reason: 'revoked' });
  });

  it('admits nothing while the revocations are unknown (no roster yet, or wiped)', () => {
    expect(judgePass(decoded(), ctx({ revocationsKnown: false }))).toMatchObject({ ok: false, reason: 'no-roster' });
  });
});
