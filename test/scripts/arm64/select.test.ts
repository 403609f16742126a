/**
 * scripts/arm64/select.ts in boundary mode, on a small project tree written here: the `arm64 boundary:
 * covered by` line leaves a test file out only while every file it names is selected on its own merits,
 * and never where the module under test calls native code itself. (Compiled WebAssembly stands for
 * native code here: the tree has no native package.)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { selectTests } from '../../../scripts/arm64/select';

// spelled in two parts so that this file itself does not read as code that compiles it
const WASM = ['Web', 'Assembly'].join('');
const COVERED = ['// arm64', 'boundary: covered by'].join(' ');

let root: string;

function write(file: string, text: string): void {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), text);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'doorway-arm64-select-'));
  write('package.json', JSON.stringify({ dependencies: {} }));
  mkdirSync(join(root, 'node_modules'));
  // a module that compiles WebAssembly, and its test
  write('lib/kernel.ts', `export const m = new ${WASM}.Module(new Uint8Array(8));\n`);
  write('test/lib/kernel.test.ts', `import { m } from '../../lib/kernel';\nit('x', () => expect(m).toBeDefined());\n`);
  // a module built on it, whose test compiles WebAssembly itself (a fixture) and names the kernel's test
  write('lib/top.ts', `export { m } from './kernel';\n`);
  write('test/lib/top.test.ts', `${COVERED} test/lib/kernel.test.ts\nimport { m } from '../../lib/top';\n${WASM}.validate(new Uint8Array(8));\n`);
  // the same, naming a file that is itself left out through such a line
  write('test/lib/top-chained.test.ts', `${COVERED} test/lib/top.test.ts\n${WASM}.validate(new Uint8Array(8));\n`);
  // the same, naming a file that does not exist
  write('test/lib/top-missing.test.ts', `${COVERED} test/lib/kernel.test.ts, test/lib/gone.test.ts\n${WASM}.validate(new Uint8Array(8));\n`);
  // a module that compiles WebAssembly itself: its test runs whatever it says
  write('lib/kernel2.ts', `export const m = new ${WASM}.Module(new Uint8Array(8));\n`);
  write('test/lib/kernel2.test.ts', `${COVERED} test/lib/kernel.test.ts\nimport { m } from '../../lib/kernel2';\n`);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the ARM64 boundary selection', () => {
  it('leaves out a file whose own native use is covered by a selected file it names, and says by which', () => {
    const s = selectTests(root, join(root, 'node_modules'), 'boundary');
    expect(s.selected).not.toContain('test/lib/top.test.ts');
    expect(s.leftOut.find((l) => l.file === 'test/lib/top.test.ts')?.reason).toMatch(/covered by test\/lib\/kernel\.test\.ts/);
  });

  it('runs a file whose named cover is left out itself or does not exist', () => {
    const s = selectTests(root, join(root, 'node_modules'), 'boundary');
    expect(s.selected).toEqual(expect.arrayContaining(['test/lib/top-chained.test.ts', 'test/lib/top-missing.test.ts']));
    expect(s.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^test\/lib\/top-missing\.test\.ts runs: .*test\/lib\/gone\.test\.ts/)]));
  });

  it('runs the test of a module that calls native code itself, whatever the file says', () => {
    const s = selectTests(root, join(root, 'node_modules'), 'boundary');
    expect(s.selected).toEqual(expect.arrayContaining(['test/lib/kernel.test.ts', 'test/lib/kernel2.test.ts']));
  });

  it('ignores the line outside boundary mode', () => {
    const s = selectTests(root, join(root, 'node_modules'), 'native');
    expect(s.selected).toContain('test/lib/top.test.ts');
  });
});
