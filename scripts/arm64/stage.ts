/**
 * The stage: a copy of this checkout whose node_modules is the arm64 one, where the emulated jest (and
 * any emulated command, scripts/arm64/exec.ts) runs, so that every `require` resolves to arm64 parts.
 */
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { removeInside } from '../../core/fs';
import { join } from 'node:path';
import { ROOT, run, STAGE } from './config';

/** Tracked and untracked-but-not-ignored files of the checkout (what a clone plus local edits holds). */
function sourceFiles(): string[] {
  const out = run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT });
  return out.split('\0').filter((f) => f && existsSync(join(ROOT, f)));
}

export function stage(nodeModules: string): void {
  mkdirSync(STAGE, { recursive: true });
  for (const name of readdirSync(STAGE)) {
    const p = join(STAGE, name);
    // The previous stage's node_modules is a link to the arm64 copy outside the stage: unlink it (the
    // copy stays); removeInside refuses links that point outside their folder.
    if (lstatSync(p).isSymbolicLink()) unlinkSync(p);
    else removeInside(STAGE, p);
  }
  for (const f of sourceFiles()) cpSync(join(ROOT, f), join(STAGE, f), { recursive: true, verbatimSymlinks: true });
  symlinkSync(join(nodeModules, 'node_modules'), join(STAGE, 'node_modules'));
  // the project's jest config, anchored to the stage (its ignore patterns, e.g. '/.cache/', must not match
  // the stage's own path, which is under ~/.cache), with timeouts scaled for emulation
  writeFileSync(
    join(STAGE, 'jest.arm64.config.js'),
    `const base = require('./jest.config.js');
const scale = Number(process.env.DOORWAY_ARM64_TIMEOUT_SCALE || '1');
module.exports = {
  ...base,
  rootDir: __dirname,
  testPathIgnorePatterns: (base.testPathIgnorePatterns || []).map((p) => (p.startsWith('/') ? '<rootDir>' + p : p)),
  testEnvironment: '<rootDir>/scripts/arm64/emulated-environment.js',
  testTimeout: (base.testTimeout || 5000) * scale,
};
`,
  );
}

/** Absolute path of the project's own jest test environment, which the emulated one extends. */
export function baseEnvironment(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const base = require(join(STAGE, 'jest.config.js')) as { testEnvironment?: string };
  const env = base.testEnvironment ?? 'node';
  if (env.startsWith('<rootDir>')) return join(STAGE, env.slice('<rootDir>'.length));
  return require.resolve(env === 'node' ? 'jest-environment-node' : env, { paths: [STAGE] });
}

/** Models and test photos: the x86 fetchers (cached, verified); emulated runs read them in place. */
export function fetchTestData(): { modelDir: string; testDataDir: string } {
  const modelDir = process.env['DOORWAY_MODEL_DIR'] ?? join(ROOT, '.cache', 'models');
  const testDataDir = process.env['DOORWAY_TESTDATA_DIR'] ?? join(ROOT, '.cache', 'testdata');
  const tsx = require.resolve('tsx/cli', { paths: [ROOT] });
  run(process.execPath, [tsx, join(ROOT, 'models', 'fetch.ts'), modelDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  run(process.execPath, [tsx, join(ROOT, 'test', 'fixtures', 'fetch.ts')], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DOORWAY_TESTDATA_DIR: testDataDir } });
  return { modelDir, testDataDir };
}
