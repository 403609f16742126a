/**
 * scripts/together.js, which `npm test` runs its typecheck and lint through, as a real process on a
 * small package whose npm scripts are shell commands written here.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '../../scripts/together.js');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'doorway-together-'));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'together-fixture',
      private: true,
      scripts: {
        fine: 'echo all fine',
        broken: 'echo one finding; echo and its detail >&2; exit 3',
        // each waits for the other's file: only scripts running at the same time both finish
        ping: 'touch ping; while [ ! -e pong ]; do sleep 0.05; done; echo ping saw pong',
        pong: 'touch pong; while [ ! -e ping ]; do sleep 0.05; done; echo pong saw ping',
      },
    }),
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function together(...scripts: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, ...scripts], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('scripts/together.js', () => {
  it('runs the scripts at the same time and exits 0 when every one succeeds, each output whole under its name', async () => {
    const r = await together('ping', 'pong');
    expect(r.code).toBe(0);
    expect(r.out).toContain('> npm run ping\nping saw pong\n');
    expect(r.out).toContain('> npm run pong\npong saw ping\n');
  });

  it('runs every script to its end and exits 1 naming the one that failed, with its output', async () => {
    const r = await together('broken', 'fine');
    expect(r.code).toBe(1);
    expect(r.out).toContain('> npm run fine\nall fine\n');
    expect(r.out).toContain('> npm run broken (failed: exit 3)\n');
    expect(r.out).toContain('one finding');
    expect(r.out).toContain('and its detail');
    expect(r.err).toBe('npm run broken failed\n');
  });
});
