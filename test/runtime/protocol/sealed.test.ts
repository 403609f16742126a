/** The sealed box adapted templates travel in (runtime/protocol/sealed.ts): only the hub's key opens it, bound to its message. */
import { createPublicKey } from 'node:crypto';
import { generateSealKeyPair, loadSealPublicKey, openSealed, SealedBoxError, SealedBoxSchema, sealTo } from '../../../runtime/protocol/sealed';
import { generateSigningKeyPair } from '../../../runtime/protocol/signing';

const hub = generateSealKeyPair();
const plain = Buffer.from(Float32Array.from({ length: 512 }, (_, i) => Math.sin(i)).buffer);

describe('sealed box', () => {
  it('opens with the hub key and the same associated data, and hides the bytes', () => {
    const box = sealTo(hub.publicKey, plain, 'terminal t-a|person li|id 1');
    expect(SealedBoxSchema.safeParse(box).success).toBe(true);
    expect(Buffer.from(box.ct, 'base64').includes(plain.subarray(0, 16))).toBe(false);
    expect(openSealed(hub.privateKey, box, 'terminal t-a|person li|id 1').equals(plain)).toBe(true);
  });

  it('gives two different boxes for the same bytes (a fresh key and nonce each time)', () => {
    const a = sealTo(hub.publicKey, plain, 'x');
    const b = sealTo(hub.publicKey, plain, 'x');
    expect(a.epk).not.toBe(b.epk);
    expect(a.ct).not.toBe(b.ct);
  });

  it('refuses another key, other associated data, and an altered box with a typed error', () => {
    const box = sealTo(hub.publicKey, plain, 'person li');
    expect(() => openSealed(generateSealKeyPair().privateKey, box, 'person li')).toThrow(SealedBoxError);
    expect(() => openSealed(hub.privateKey, box, 'person wu')).toThrow(SealedBoxError);
    const ct = Buffer.from(box.ct, 'base64');
    ct[3] = (ct[3] ?? 0) ^ 1;
    expect(() => openSealed(hub.privateKey, { ...box, ct: ct.toString('base64') }, 'person li')).toThrow(SealedBoxError);
  });

  it('takes only an X25519 key as the hub sealing key', () => {
    expect(() => loadSealPublicKey(createPublicKey(generateSigningKeyPair().privateKey))).toThrow(SealedBoxError);
    expect(loadSealPublicKey(hub.publicKey.export({ type: 'spki', format: 'pem' })).asymmetricKeyType).toBe('x25519');
  });
});
