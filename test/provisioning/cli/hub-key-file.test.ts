/**
 * `provision hub key-file --out PATH` writes the at-rest key for an unattended start (0600, never over
 * a file), and `provision hub --key-file PATH` refuses a key file that is not the community's, or that
 * others may read, in one line before it starts anything; `provision hub rotate-key` makes the key files
 * written before useless.
 */
import { chmodSync, existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../provisioning/cli';

const PASS = 'cli-key-file-passphrase';
let root: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'provision-key-file-'));
  process.env['PROVISION_PASSPHRASE'] = PASS;
});

afterAll(() => {
  delete process.env['PROVISION_PASSPHRASE'];
});

describe('provision hub key-file and --key-file', () => {
  it('writes the key file 0600 once, and refuses to start the hub with another community\'s key file or a readable one', async () => {
    const dir = join(root, 'c');
    const other = join(root, 'other');
    expect((await cli('init', '--dir', dir, '--admin', 'it-wang')).code).toBe(0);
    expect((await cli('init', '--dir', other, '--admin', 'it-wang')).code).toBe(0);

    const keyFile = join(root, 'hub.key');
    const made = await cli('hub', 'key-file', '--dir', dir, '--out', keyFile);
    expect(made).toMatchObject({ code: 0, out: expect.stringMatching(/^at-rest key [0-9a-f]{16} written to .*hub\.key \(0600\)/) as unknown });
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const again = await cli('hub', 'key-file', '--dir', dir, '--out', keyFile);
    expect(again).toMatchObject({ code: 1, err: expect.stringMatching(/exists already: a key file is never written over/) as unknown });

    const otherKey = join(root, 'other.key');
    expect((await cli('hub', 'key-file', '--dir', other, '--out', otherKey)).code).toBe(0);
    const wrong = await cli('hub', '--dir', dir, '--key-file', otherKey);
    expect(wrong.code).not.toBe(0);
    expect(wrong.err).toMatch(/does not open the community's templates and photos/);
    expect(wrong.err.split('\n')).toHaveLength(1);

    chmodSync(keyFile, 0o644);
    const loose = await cli('hub', '--dir', dir, '--key-file', keyFile);
    expect(loose.code).not.toBe(0);
    expect(loose.err).toMatch(/may be read by others/);

    const garbage = join(root, 'garbage.key');
    writeFileSync(garbage, 'not a key', { mode: 0o600 });
    expect((await cli('hub', '--dir', dir, '--key-file', garbage)).err).toMatch(/is not an unencrypted at-rest key file/);
    expect(existsSync(join(dir, 'events.db'))).toBe(false); // nothing was started

    // After a rotation, the key file written before is another key.
    chmodSync(keyFile, 0o600);
    const rotated = await cli('hub', 'rotate-key', '--dir', dir);
    expect(rotated).toMatchObject({ code: 0, out: expect.stringMatching(/^at-rest key replaced by [0-9a-f]{16}: sealed again .* key files written before open nothing any more/) as unknown });
    expect((await cli('hub', '--dir', dir, '--key-file', keyFile)).err).toMatch(/does not open the community's templates and photos/);
  }, 120_000);
});
