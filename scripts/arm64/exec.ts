/**
 * `npx tsx scripts/arm64/exec.ts FILE.ts [args]`: runs one TypeScript entry point of this checkout with
 * the ARM64 Node under qemu, in the stage (arm64 node_modules), e.g. the pipeline benchmark:
 *   npx tsx scripts/arm64/exec.ts bench/pipeline.ts --frames 10
 * Emulation timings are for information only: they say nothing about a real board.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ARM64_NODE, emulatedEnv, QEMU, STAGE, SYSROOT } from './config';
import { prepare } from './prepare';
import { fetchTestData, stage } from './stage';

const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: exec.ts FILE.ts [args]\n');
  process.exit(2);
}
const nm = prepare();
const { modelDir, testDataDir } = fetchTestData();
stage(nm);
const r = spawnSync(QEMU, ['-L', SYSROOT, ARM64_NODE, '--import', 'tsx', join(STAGE, entry), ...args], {
  cwd: STAGE,
  stdio: 'inherit',
  env: emulatedEnv({ DOORWAY_MODEL_DIR: modelDir, DOORWAY_TESTDATA_DIR: testDataDir }),
});
process.exitCode = r.status ?? 1;
