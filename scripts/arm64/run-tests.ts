/**
 * `npm run test:arm64`: the project's jest suite on an emulated ARM64 machine.
 *
 * prepare (scripts/arm64/prepare.ts) -> stage a copy of this checkout whose node_modules is the arm64
 * one -> pick the test files (scripts/arm64/select.ts; DOORWAY_ARM64_TESTS=all|native|boundary, default all) ->
 * run jest with the ARM64 Node under qemu-aarch64-static. Workers and spawned children are ARM64
 * processes too (binfmt_misc). test/arm64/ proves the run is ARM64 and compares an embedding with x86.
 *
 * Needs the x86 install (npm ci) and the models and test photos (fetched here if missing).
 * Extra arguments go to jest (e.g. `npm run test:arm64 -- test/models`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ARM64_NODE, CACHE, emulatedEnv, QEMU, ROOT, say, STAGE, SYSROOT } from './config';
import { prepare } from './prepare';
import { selectTests, type Mode } from './select';
import { baseEnvironment, fetchTestData, stage } from './stage';

/** jest timeouts (default and explicit) are multiplied by this under emulation. */
const DEFAULT_TIMEOUT_SCALE = 10;

interface JestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { name: string; status: string; assertionResults: { status: string; title: string }[] }[];
}

function main(): number {
  const t0 = Date.now();
  const nm = prepare();
  const tPrepared = Date.now();

  const { modelDir, testDataDir } = fetchTestData();

  stage(nm);
  const mode = (process.env['DOORWAY_ARM64_TESTS'] ?? 'all') as Mode;
  if (mode !== 'all' && mode !== 'native' && mode !== 'boundary') throw new Error(`DOORWAY_ARM64_TESTS must be all, native or boundary, not ${String(mode)}`);
  const extra = process.argv.slice(2);
  const timeoutScale = Number(process.env['DOORWAY_ARM64_TIMEOUT_SCALE'] ?? DEFAULT_TIMEOUT_SCALE);
  const sel = selectTests(STAGE, join(nm, 'node_modules'), mode);
  say(`native runtime dependencies: ${sel.nativePackages.join(', ')}`);
  say(`mode ${mode}: ${sel.selected.length} test files${extra.length ? ` (narrowed by ${extra.join(' ')})` : ''}`);
  for (const l of sel.leftOut) say(`left out: ${l.file}: ${l.reason}`);
  for (const n of sel.notes) say(`not left out: ${n}`);
  const tStaged = Date.now();

  const report = join(STAGE, 'jest-report.json');
  rmSync(report, { force: true });
  const args = [
    '-L', SYSROOT, ARM64_NODE,
    join(STAGE, 'node_modules', 'jest', 'bin', 'jest.js'),
    '--config', join(STAGE, 'jest.arm64.config.js'),
    '--ci',
    // both cores: by now the x86 suite is over, and each emulated worker is mostly one busy thread
    `--maxWorkers=${process.env['DOORWAY_ARM64_WORKERS'] ?? '2'}`,
    '--cacheDirectory', join(CACHE, 'jest-cache'),
    '--json', '--outputFile', report,
    ...(extra.length ? extra : sel.selected.map((f) => join(STAGE, f))),
  ];
  say(`running jest on ARM64 Node under ${QEMU}`);
  const r = spawnSync(QEMU, args, {
    cwd: STAGE,
    stdio: 'inherit',
    env: emulatedEnv({
      DOORWAY_ARM64_RUN: '1',
      DOORWAY_ARM64_BASE_ENVIRONMENT: baseEnvironment(),
      DOORWAY_ARM64_TIMEOUT_SCALE: String(timeoutScale),
      DOORWAY_X86_NODE: process.execPath,
      DOORWAY_X86_ROOT: ROOT,
      DOORWAY_MODEL_DIR: modelDir,
      DOORWAY_TESTDATA_DIR: testDataDir,
    }),
  });
  const tRan = Date.now();
  const s = (a: number, b: number): string => `${((b - a) / 1000).toFixed(1)} s`;
  say(`durations: prepare ${s(t0, tPrepared)}, stage+select ${s(tPrepared, tStaged)}, jest ${s(tStaged, tRan)}, total ${s(t0, tRan)}`);
  const json = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as JestJson) : null;
  if (json) process.stdout.write(`arm64: ${json.numPassedTests} passed, ${json.numFailedTests} failed, ${json.numPendingTests} skipped\n`);
  if (r.status !== 0 || !json) {
    say(`jest on ARM64 failed (exit ${r.status ?? r.signal})`);
    return 1;
  }
  // the proof must not be skipped: the test/arm64 files ran and passed every test
  const proof = json.testResults.filter((t) => t.name.includes('/test/arm64/'));
  const proofTests = proof.flatMap((t) => t.assertionResults);
  if (!extra.length && (proof.length === 0 || proofTests.length === 0 || proofTests.some((a) => a.status !== 'passed'))) {
    say('the ARM64 proof tests (test/arm64/) did not all run and pass');
    return 1;
  }
  say(`ARM64 run passed: ${json.numPassedTests} tests passed, ${json.numPendingTests} skipped, in ${json.testResults.length} files`);
  return 0;
}

process.exitCode = main();
