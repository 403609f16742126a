/**
 * Operator passwords through the real argon2id addon (also run on the emulated ARM64 machine: this file
 * tests the module that calls the native code).
 */
import { hashPassword, oneTimePassword, PasswordSchema, verifyDecoy, verifyPassword } from '../../../provisioning/operators/passwords';

describe('operator passwords', () => {
  it('are stored as argon2id with the OWASP minimum (19 MiB, 2 passes, 1 lane) and a fresh salt each time', async () => {
    const a = await hashPassword('correct horse battery');
    const b = await hashPassword('correct horse battery');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct horse battery');
  });

  it('verify only the password they were made from, and a malformed stored hash lets nobody in', async () => {
    const stored = await hashPassword('correct horse battery');
    await expect(verifyPassword(stored, 'correct horse battery')).resolves.toBe(true);
    await expect(verifyPassword(stored, 'correct horse batterY')).resolves.toBe(false);
    await expect(verifyPassword('not-a-hash', 'correct horse battery')).resolves.toBe(false);
    await expect(verifyDecoy('anything at all')).resolves.toBeUndefined();
  });

  it('one-time passwords have the asked length, no look-alike characters, and differ', () => {
    const a = oneTimePassword();
    expect(a).toHaveLength(20);
    expect(a).toMatch(/^[a-km-np-zA-HJ-NP-Z2-9]+$/);
    expect(oneTimePassword()).not.toBe(a);
    expect(PasswordSchema.safeParse(a).success).toBe(true);
    expect(PasswordSchema.safeParse('short').success).toBe(false);
  });
});
