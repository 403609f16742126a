/**
 * The soak bench's probe (bench/soak/probe.js), loaded with --require into a real node process as the
 * bench loads it into the hub and the terminal: its count of major collections and the heap they left.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { askProbe, Child } from '../../../bench/soak/processes';

const PROBE = resolve(__dirname, '..', '..', '..', 'bench', 'soak', 'probe.js');

// Holds about 16 MB alive, makes three major collections, then waits to be asked.
const SCRIPT = `
globalThis.kept = Array.from({ length: 16 }, () => new Array(131072).fill(1.5));
for (let i = 0; i < 3; i++) gc();
setInterval(() => {}, 1000);
`;

describe('soak probe', () => {
  it('counts the major collections and reports the heap the last one left', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'doorway-probe-')), 'child.log');
    const child = new Child('probe', process.execPath, ['--expose-gc', '--require', PROBE, '-e', SCRIPT], log, { ipc: true });
    try {
      let a = await askProbe(child, 1, 10_000);
      for (let i = 0; i < 50 && a !== null && a.majorGcs < 3; i++) a = await askProbe(child, i + 2, 10_000);
      expect(a).not.toBeNull();
      expect(a?.majorGcs).toBeGreaterThanOrEqual(3);
      // 16 arrays of 131,072 doubles (1 MB each) alive after every collection: at least 16 MB
      expect(a?.heapAfterMajorGc).toBeGreaterThan(16 * 1024 * 1024);
      expect(a?.heapAfterMajorGc).toBeLessThan(a?.heapTotal ?? 0);
      const again = await askProbe(child, 99, 10_000);
      expect(again?.majorGcs).toBe(a?.majorGcs); // none since: the count does not move by itself
    } finally {
      child.proc.kill('SIGKILL');
      await child.exited;
    }
  }, 60_000);
});
