// Child process for crash.test.ts: applies a big batch and, halfway through the transaction, says
// "mid" on stdout and waits to be killed.
import { writeSync } from 'node:fs';
import { silentLogger } from '../../../core/log';
import { RosterStore } from '../../../runtime/roster/store';
import { person, rng, unitVector } from './fixtures';

const [path, secretFile] = process.argv.slice(2);
if (!path || !secretFile) throw new Error('usage: apply-child <db> <secret>');
const rand = rng(42);
const store = RosterStore.open({
  path,
  secretFile,
  logger: silentLogger(),
  onApplyProgress: (done) => {
    if (done === 150) {
      writeSync(1, 'mid\n');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    }
  },
});
const upserts = Array.from({ length: 300 }, (_, i) => person(`new-${i}`, [unitVector(rand), unitVector(rand)]));
store.applyBatch({ version: store.version() + 1, upserts, revocations: ['old-0'] });
writeSync(1, 'finished\n');
