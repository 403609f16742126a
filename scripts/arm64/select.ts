/**
 * Which test files the ARM64 run executes. The rule, so that tests added later are picked up without
 * editing a list:
 *
 * - mode `all` (the default): every file jest's testMatch finds (test/**\/*.test.ts).
 * - mode `native`: only the files whose source closure touches native code, plus test/arm64/. A file's
 *   closure is the file, every project file it imports (relative `import`/`require`, transitively), and
 *   every project .ts file it names in a string (a child script it spawns, e.g. `join(__dirname, 'x.ts')`).
 *   The closure touches native code when it imports a runtime dependency (package.json `dependencies`)
 *   that ships a compiled `.node` file, or depends on a package that does (sharp -> @img/sharp-linux-*,
 *   onoff -> epoll), or when one of its files compiles WebAssembly (V8 emits NEON code for it on ARM64).
 *   Today: onnxruntime-node (every model), better-sqlite3, sharp, onoff/epoll, the matcher's SIMD kernel.
 *
 * In both modes, a test file that holds a real-time deadline itself (`Date.now()` or `performance.now()`
 * in the .test.ts file: a wall-clock wait such as "a decision within 15 s of video") is left out. Under
 * emulation native code runs 10-50x slower than on x86 or a board, so such a deadline fails a correct
 * program, and its leaked timers then crash the other test files of the same jest worker. These files
 * run in the x86 suite; their native parts (models, SQLite) are covered on ARM64 by the other files.
 * jest's own timeouts are scaled instead (scripts/arm64/emulated-environment.js).
 * For the same reason the site tier (test/site/: a hub and several complete terminals, each running its
 * frame loop on a camera clip played in real time) is left out, and so is any test file that starts
 * terminals on such a clip (Site.start, passagesClip): each waits for decisions in real time.
 *
 * - mode `boundary` (CI): of the `native` files, only those that test the native boundary itself: the
 *   test file, or the module it tests (test/ mirrors the source tree: test/a/b.test.ts tests a/b.ts), imports a native runtime
 *   dependency or compiles WebAssembly itself. What sits further up (a terminal built on the roster
 *   store, an update agent writing its state through SQLite) is JavaScript whose behaviour does not
 *   change with the CPU once the modules that call native code are proven there.
 *   A test file that imports a native dependency itself only to make its fixtures (an image composed with
 *   sharp) or to read its result back (a row read with better-sqlite3), while the module it tests calls no
 *   native code itself, may say so on a line `// arm64 boundary: covered by A.test.ts, B.test.ts`, naming
 *   the selected files that prove on ARM64 the native code under what it tests. It is then left out,
 *   but only while every file it names is selected on its own merits (not through such a line); otherwise
 *   it runs. The line is ignored where the module under test calls native code itself.
 *
 * `native` and `boundary` exist for a CI budget that cannot hold the whole suite under emulation (the
 * whole CI run must stay under 20 minutes on a 2-core machine); the runner prints every file it leaves
 * out and why.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export type Mode = 'all' | 'native' | 'boundary';

export interface Selection {
  selected: string[];
  leftOut: { file: string; reason: string }[];
  nativePackages: string[];
  /** Files that run although they say `arm64 boundary: covered by`, and why. */
  notes: string[];
}

const WALL_CLOCK = /\b(Date\.now|performance\.now)\(\)/;
/** Complete terminals deciding on a camera clip played in real time (the site tier's reason, in one file). */
const REAL_TIME_CLIP = /\b(Site\.start|passagesClip|videoPassagesClip|keyedPassagesClip)\(/;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function hasNodeFile(dir: string, depth = 0): boolean {
  if (!existsSync(dir) || depth > 6) return false;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile() && e.name.endsWith('.node')) return true;
    if (e.isDirectory() && e.name !== 'node_modules' && hasNodeFile(join(dir, e.name), depth + 1)) return true;
  }
  return false;
}

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Runtime dependencies that ship native code themselves or through one of their own dependencies. */
export function nativeRuntimePackages(root: string, nodeModules: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;
  const isNative = (name: string, seen = new Set<string>()): boolean => {
    if (seen.has(name)) return false;
    seen.add(name);
    const dir = join(nodeModules, name);
    if (!existsSync(join(dir, 'package.json'))) return false;
    if (hasNodeFile(dir)) return true;
    const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
    return Object.keys({ ...p.dependencies, ...p.optionalDependencies }).some((d) => isNative(d, seen));
  };
  return Object.keys(pkg.dependencies ?? {}).filter((d) => isNative(d)).sort();
}

export const WASM = '(WebAssembly)';

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;
const TS_STRING = /['"`]([\w./-]+\.ts)['"`]/g;

function resolveLocal(from: string, spec: string): string | null {
  const base = resolve(dirname(from), spec);
  for (const c of [base, `${base}.ts`, `${base}.js`, join(base, 'index.ts'), join(base, 'index.js')]) {
    if (existsSync(c) && statSync(c).isFile()) return c;
  }
  return null;
}

function packageOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? spec);
}

/**
 * Bare package names imported anywhere in the file's closure; '(WebAssembly)' stands for a closure file
 * that compiles WebAssembly (V8 turns it into the CPU's own machine code: NEON on ARM64, SSE/AVX on x86).
 */
/** Native runtime packages (of `nativePackages`) and WebAssembly the file uses itself, not through imports. */
export function directNative(file: string, nativePackages: readonly string[]): string[] {
  const src = readFileSync(file, 'utf8');
  const out = new Set<string>();
  if (/\bWebAssembly\b/.test(src)) out.add(WASM);
  for (const m of src.matchAll(IMPORT)) {
    const spec = m[1] as string;
    if (!spec.startsWith('.') && !spec.startsWith('node:') && nativePackages.includes(packageOf(spec))) out.add(packageOf(spec));
  }
  return [...out];
}


export function closurePackages(file: string): Set<string> {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const stack = [file];
  while (stack.length > 0) {
    const f = stack.pop() as string;
    if (seen.has(f)) continue;
    seen.add(f);
    const src = readFileSync(f, 'utf8');
    if (/\bWebAssembly\b/.test(src)) packages.add(WASM);
    for (const m of src.matchAll(IMPORT)) {
      const spec = m[1] as string;
      if (spec.startsWith('.')) {
        const r = resolveLocal(f, spec);
        if (r) stack.push(r);
      } else if (!spec.startsWith('node:')) packages.add(packageOf(spec));
    }
    for (const m of src.matchAll(TS_STRING)) {
      const r = resolveLocal(f, m[1] as string);
      if (r) stack.push(r);
    }
  }
  return packages;
}

export function selectTests(root: string, nodeModules: string, mode: Mode): Selection {
  const all = walk(join(root, 'test')).map((f) => relative(root, f)).sort();
  const nativePackages = nativeRuntimePackages(root, nodeModules);
  const selected: string[] = [];
  const leftOut: Selection['leftOut'] = [];
  const coveredClaims: { file: string; by: string[] }[] = [];
  const notes: string[] = [];
  for (const f of all) {
    if (f.startsWith('test/arm64/')) {
      selected.push(f);
      continue;
    }
    if (f.startsWith('test/site/')) {
      leftOut.push({ file: f, reason: 'site tier: several complete terminals on real-time camera clips' });
      continue;
    }
    const text = readFileSync(join(root, f), 'utf8');
    if (REAL_TIME_CLIP.test(text)) {
      leftOut.push({ file: f, reason: 'runs complete terminals on a camera clip played in real time (as the site tier)' });
      continue;
    }
    if (WALL_CLOCK.test(text)) {
      leftOut.push({ file: f, reason: 'holds a wall-clock deadline (Date.now/performance.now in the test file)' });
      continue;
    }
    if (mode === 'native' || mode === 'boundary') {
      const pk = closurePackages(join(root, f));
      if (!pk.has(WASM) && !nativePackages.some((n) => pk.has(n))) {
        leftOut.push({ file: f, reason: 'touches no native addon or model' });
        continue;
      }
    }
    if (mode === 'boundary') {
      const file = join(root, f);
      // the module under test: test/ mirrors the source tree (test/runtime/roster/store.test.ts tests
      // runtime/roster/store.ts)
      const mirrored = join(root, f.replace(/^test\//, '').replace(/\.test\.ts$/, '.ts'));
      const moduleNative = existsSync(mirrored) && directNative(mirrored, nativePackages).length > 0;
      if (!moduleNative && directNative(file, nativePackages).length === 0) {
        leftOut.push({ file: f, reason: 'reaches native code only through other modules (boundary mode)' });
        continue;
      }
      const coveredBy = moduleNative ? [] : coveredByOf(text);
      if (coveredBy.length > 0) {
        coveredClaims.push({ file: f, by: coveredBy });
        continue;
      }
    }
    selected.push(f);
  }
  // A `covered by` claim holds only when every file it names is itself selected on its own merits (not
  // through a claim of its own); otherwise the claiming file runs after all.
  const onTheirOwn = new Set(selected);
  for (const c of coveredClaims) {
    const missing = c.by.filter((b) => !onTheirOwn.has(b));
    if (missing.length > 0) {
      selected.push(c.file);
      notes.push(`${c.file} runs: it names as its cover ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not selected on ${missing.length > 1 ? 'their' : 'its'} own`);
      continue;
    }
    leftOut.push({ file: c.file, reason: `uses native code itself only for fixtures or to read its result back; the native part of what it tests is covered by ${c.by.join(', ')} (boundary mode)` });
  }
  selected.sort();
  return { selected, leftOut, nativePackages, notes };
}

/**
 * The files a test file names on its `arm64 boundary: covered by` line (boundary mode): the test files
 * that prove on ARM64 the native code under what it tests. See the header and scripts/arm64/README.md.
 */
export function coveredByOf(text: string): string[] {
  const m = /^\s*\/\/ arm64 boundary: covered by (.+)$/m.exec(text);
  if (!m) return [];
  return (m[1] as string).split(',').map((s) => s.trim()).filter(Boolean);
}
