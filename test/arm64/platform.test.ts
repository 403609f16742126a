/**
 * Proof that the ARM64 run (npm run test:arm64) really runs on ARM64: the Node, its workers and every
 * native addon it loads. In the x86 suite the ARM64-only assertions are skipped; the ARM64 runner fails
 * when they did not run.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';

const arm64Run = process.env['DOORWAY_ARM64_RUN'] === '1';
const onArm64 = arm64Run ? it : it.skip;

/** ELF e_machine of a shared object: 183 = AArch64, 62 = x86-64. */
function elfMachine(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(20);
    readSync(fd, b, 0, 20, 0);
    return b.readUInt32BE(0) === 0x7f454c46 ? b.readUInt16LE(18) : -1;
  } finally {
    closeSync(fd);
  }
}
const MACHINE: Record<string, number> = { arm64: 183, x64: 62 };

function loadedAddons(): string[] {
  const report = process.report.getReport() as unknown as { sharedObjects: string[] };
  return report.sharedObjects.filter((f) => f.endsWith('.node'));
}

describe('ARM64 run', () => {
  onArm64('runs the tests on an ARM64 Node', () => {
    expect(process.arch).toBe('arm64');
  });

  onArm64('starts child Node processes that are ARM64 too', () => {
    const r = spawnSync(process.execPath, ['-p', 'process.arch'], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('arm64');
  });

  it('loads a build of every native addon made for the architecture it runs on', () => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    require('onnxruntime-node');
    const Database = require('better-sqlite3') as typeof import('better-sqlite3');
    const sharp = require('sharp') as typeof import('sharp');
    require('epoll');
    const argon2 = require('@node-rs/argon2') as typeof import('@node-rs/argon2');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const db = new Database(':memory:');
    expect(db.prepare('select 6 * 7 as x').get()).toEqual({ x: 42 });
    db.close();
    expect(sharp.versions.vips).toMatch(/^\d+\.\d+/);
    expect(argon2.hashSync('x', { memoryCost: 1024, timeCost: 1 })).toMatch(/^\$argon2id\$/);

    const addons = loadedAddons();
    for (const name of ['onnxruntime_binding.node', 'better_sqlite3.node', 'epoll.node', `sharp-linux-${process.arch}`, `argon2.linux-${process.arch}-gnu.node`]) {
      expect({ name, loaded: addons.some((f) => f.includes(name)) }).toEqual({ name, loaded: true });
    }
    for (const f of addons) expect({ f, machine: elfMachine(f) }).toEqual({ f, machine: MACHINE[process.arch] });
  });
});
