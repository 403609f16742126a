import { generateKeyPairSync, sign } from 'node:crypto';
import { base45Decode, base45Encode, decodePass, encodePass, passBody, PASS_PREFIX, type PassFields } from '../../../runtime/protocol/pass';
import { signBody, verifyEnvelope } from '../../../runtime/protocol/signing';

const hub = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const fields: PassFields = { passId: '0123456789abcdef', notBefore: T0, notAfter: T0 + 2 * 3600_000, uses: 1, doors: ['gate-1', 'door-7'], buildings: ['b-12'] };

describe('pass payload', () => {
  it('round-trips every field through the signed QR text', () => {
    const text = encodePass(fields, hub.privateKey);
    expect(text.startsWith(PASS_PREFIX)).toBe(true);
    expect(/^[0-9A-Z $%*+\-./:]+$/.test(text)).toBe(true); // QR alphanumeric mode only
    expect(decodePass(text, hub.publicKey)).toEqual({ ok: true, pass: { format: 1, ...fields } });
  });

  it('stays small: one door, 2 h, single use is under 140 characters', () => {
    const text = encodePass({ ...fields, doors: ['gate-1'], buildings: [] }, hub.privateKey);
    expect(text.length).toBeLessThan(140);
  });

  it('is a bad signature when another key signed it', () => {
    const text = encodePass(fields, other.privateKey);
    expect(decodePass(text, hub.publicKey)).toEqual({ ok: false, reason: 'bad-signature', passId: fields.passId });
  });

  it('is a bad signature when one byte of a genuine pass was changed (a door id edited)', () => {
    const bytes = base45Decode(encodePass(fields, hub.privateKey).slice(PASS_PREFIX.length))!;
    const at = bytes.indexOf(Buffer.from('gate-1'));
    bytes[at + 5] = '2'.charCodeAt(0); // gate-1 -> gate-2
    expect(decodePass(PASS_PREFIX + base45Encode(bytes), hub.publicKey)).toMatchObject({ ok: false, reason: 'bad-signature' });
  });

  it('is garbled when the text is not base45, or too short to hold a signature', () => {
    expect(decodePass(`${PASS_PREFIX}hello world`, hub.publicKey)).toEqual({ ok: false, reason: 'garbled', passId: null });
    expect(decodePass(`${PASS_PREFIX}ABC`, hub.publicKey)).toEqual({ ok: false, reason: 'garbled', passId: null });
    expect(decodePass('https://example.org/', hub.publicKey)).toEqual({ ok: false, reason: 'garbled', passId: null });
  });

  it('is garbled when the hub signed a layout that does not parse (a scope entry running past the end)', () => {
    const body = passBody(fields);
    body[18] = 5; // claims five scope entries, holds three
    const sig = sign(null, Buffer.concat([Buffer.from('doorway/pass/v1\0', 'ascii'), body]), hub.privateKey);
    expect(decodePass(PASS_PREFIX + base45Encode(Buffer.concat([body, sig])), hub.publicKey)).toMatchObject({ ok: false, reason: 'garbled', passId: fields.passId });
  });

  it('cannot be confused with a roster envelope signed by the same key (domain separation)', () => {
    const body = passBody(fields);
    // A signature over the bare bytes (what a roster or command signature is) does not make a pass...
    const bare = sign(null, body, hub.privateKey);
    expect(decodePass(PASS_PREFIX + base45Encode(Buffer.concat([body, bare])), hub.publicKey)).toMatchObject({ ok: false, reason: 'bad-signature' });
    // ...and a pass signature does not verify as an envelope over the same bytes.
    const text = encodePass(fields, hub.privateKey);
    const sig = base45Decode(text.slice(PASS_PREFIX.length))!.subarray(-64).toString('base64');
    expect(verifyEnvelope({ v: 1, body: body.toString('latin1'), sig }, hub.publicKey)).toBe(false);
    expect(JSON.parse(signBody({ a: 1 }, hub.privateKey))).toHaveProperty('sig');
  });

  it('refuses to sign what the layout cannot carry (no door, nine doors, uses above 255, an end before the start)', () => {
    expect(() => passBody({ ...fields, doors: [], buildings: [] })).toThrow();
    expect(() => passBody({ ...fields, doors: Array.from({ length: 9 }, (_, i) => `d${i}`), buildings: [] })).toThrow();
    expect(() => passBody({ ...fields, uses: 256 })).toThrow();
    expect(() => passBody({ ...fields, notAfter: fields.notBefore })).toThrow();
  });

  it('base45 matches the RFC 9285 examples', () => {
    expect(base45Encode(Buffer.from('AB'))).toBe('BB8');
    expect(base45Encode(Buffer.from('Hello!!'))).toBe('%69 VD92EX0');
    expect(base45Encode(Buffer.from('base-45'))).toBe('UJCLQE7W581');
    expect(base45Decode('QED8WEX0')?.toString()).toBe('ietf!');
    expect(base45Decode('GGW')).toBeNull(); // 65535 + 1 overflows two bytes
  });
});
