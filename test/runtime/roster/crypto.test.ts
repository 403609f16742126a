import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { readFileSync } from 'node:fs';
import { Sealer, SealError, deriveKeyFromSecretFile } from '../../../runtime/roster/crypto';
import { tempRoster } from './fixtures';

describe('Sealer', () => {
  let env: ReturnType<typeof tempRoster>;
  beforeEach(() => (env = tempRoster()));
  afterEach(() => env.cleanup());

  it('uses a fresh nonce per seal and opens only with the same associated data', () => {
    const s = new Sealer(deriveKeyFromSecretFile(env.secretFile, Buffer.alloc(16)));
    const a = s.seal(Buffer.from('hello'), 'template|1|1');
    const b = s.seal(Buffer.from('hello'), 'template|1|1');
    expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
    expect(s.open(a, 'template|1|1').toString()).toBe('hello');
    expect(() => s.open(a, 'template|2|1')).toThrow(SealError);
    expect(() => s.open(a.subarray(0, 20), 'template|1|1')).toThrow(SealError);
  });

  it('derives different keys for different salts and never shows key bytes when printed', () => {
    const k1 = deriveKeyFromSecretFile(env.secretFile, randomBytes(16));
    const k2 = deriveKeyFromSecretFile(env.secretFile, randomBytes(16));
    expect(k1.equals(k2)).toBe(false);
    const printed = inspect(k1) + JSON.stringify(k1);
    const secret = readFileSync(env.secretFile);
    expect(printed).not.toContain(secret.toString('hex').slice(0, 16));
    expect(printed).not.toContain(k1.export().toString('hex').slice(0, 16));
  });
});
