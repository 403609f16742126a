/**
 * 1:N matcher benchmark: `npm run bench:match [-- --json] [-- --sizes 10000,100000] [-- --no-alt]`
 * (the script runs node with --expose-gc so the measured anonymous RSS growth can be printed too).
 *
 * For each roster size: builds an encrypted roster (synthetic unit-vector faces, two templates per
 * person) under .cache/bench-match/, then measures the cold load (open + decrypt + build the index),
 * the index memory, search latency (p50/p90 over near-enrolled and stranger queries), and checks
 * top-1 against a float64 brute force. It also times the raw scoring kernels that were considered
 * (float32 JS loop, Int8 JS loop, onnxruntime MatMul / MatMulInteger, int8 WebAssembly SIMD).
 * With --json the last line is one JSON object.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { silentLogger } from '../core/log';
import { encodeEmbedding, type PersonUpsert } from '../runtime/roster/batch';
import { Int8DotKernel } from '../runtime/roster/kernel';
import { Matcher } from '../runtime/roster/matcher';
import { RosterStore } from '../runtime/roster/store';
import { float32Loop, int8Loop, ortScorer } from './match-kernels';
import { chmodSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { rng, unitVector } from '../test/fixtures/random';

const MODEL = 'faceplugin-fr_feature@0.0.1';
const DIM = 512;
const args = process.argv.slice(2);
const json = args.includes('--json');
const withAlt = !args.includes('--no-alt');
const sizesArg = args[args.indexOf('--sizes') + 1];
const sizes = args.includes('--sizes') && sizesArg ? sizesArg.split(',').map(Number) : [10_000, 100_000];
const say = (s: string): void => {
  process.stdout.write(`${s}\n`);
};



function near(base: Float32Array, rand: () => number, noise: number): Float32Array {
  const r = unitVector(rand, DIM);
  const v = new Float32Array(DIM);
  let sq = 0;
  for (let d = 0; d < DIM; d++) {
    v[d] = (base[d] ?? 0) + noise * (r[d] ?? 0);
    sq += (v[d] ?? 0) ** 2;
  }
  const n = Math.sqrt(sq);
  for (let d = 0; d < DIM; d++) v[d] = (v[d] ?? 0) / n;
  return v;
}

/** n templates, two per person: rows[i*DIM..] and their person ids. Deterministic per n. */
function population(n: number): { rows: Float32Array; person: string[] } {
  const rand = rng(n);
  const rows = new Float32Array(n * DIM);
  const person: string[] = [];
  const base = new Float32Array(DIM);
  for (let i = 0; i < n; i += 2) {
    unitVector(rand, DIM, base);
    for (let j = 0; j < 2 && i + j < n; j++) {
      rows.set(near(base, rand, 0.5), (i + j) * DIM);
      person.push(`person-${i / 2}`);
    }
  }
  return { rows, person };
}

function ensureRoster(dir: string, n: number, pop: { rows: Float32Array; person: string[] }): { path: string; secretFile: string; buildS: number } {
  const path = join(dir, `roster-${n}.db`);
  const secretFile = join(dir, `device-${n}.secret`);
  if (existsSync(path) && existsSync(secretFile)) return { path, secretFile, buildS: 0 };
  rmSync(path, { force: true });
  writeFileSync(secretFile, randomBytes(32), { mode: 0o600 });
  chmodSync(secretFile, 0o600);
  const t0 = performance.now();
  const store = RosterStore.open({ path, secretFile, logger: silentLogger() });
  const PER_BATCH = 10_000;
  for (let start = 0; start < n; start += PER_BATCH) {
    const byPerson = new Map<string, PersonUpsert>();
    for (let i = start; i < Math.min(n, start + PER_BATCH); i++) {
      const pid = pop.person[i] ?? '';
      let p = byPerson.get(pid);
      if (!p) byPerson.set(pid, (p = { personId: pid, templates: [], authorisations: [{ doorIds: ['gate-1'], buildingIds: [] }], tags: [] }));
      p.templates.push({ templateId: `t-${i}`, modelId: MODEL, embedding: encodeEmbedding(pop.rows.subarray(i * DIM, (i + 1) * DIM)) });
    }
    store.applyBatch({ version: store.version() + 1, upserts: [...byPerson.values()] });
  }
  store.close();
  return { path, secretFile, buildS: (performance.now() - t0) / 1000 };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

function brute64(rows: Float32Array, n: number, q: Float32Array): { index: number; score: number } {
  let qq = 0;
  for (let d = 0; d < DIM; d++) qq += (q[d] ?? 0) ** 2;
  const qn = Math.sqrt(qq);
  let best = -Infinity;
  let index = -1;
  for (let i = 0; i < n; i++) {
    let dot = 0;
    let xx = 0;
    const o = i * DIM;
    for (let d = 0; d < DIM; d++) {
      const x = rows[o + d] ?? 0;
      dot += ((q[d] ?? 0) / qn) * x;
      xx += x * x;
    }
    const s = dot / Math.sqrt(xx);
    if (s > best) {
      best = s;
      index = i;
    }
  }
  return { index, score: best };
}

async function timeIt(reps: number, fn: () => void | Promise<void>): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    await fn();
    ts.push(performance.now() - t);
  }
  return pct(ts, 50);
}

async function alternatives(pop: { rows: Float32Array }, n: number, key: string, out: Record<string, number>): Promise<void> {
  const rand = rng(7);
  const q = unitVector(rand, DIM);
  const f32 = new Float32Array(n);
  out[`${key}_alt_float32_js_ms`] = await timeIt(5, () => float32Loop(pop.rows, n, DIM, q, f32));
  const codes = new Int8Array(n * DIM);
  for (let i = 0; i < n * DIM; i++) codes[i] = Math.max(-127, Math.min(127, Math.round((pop.rows[i] ?? 0) * 600)));
  const q16 = Int16Array.from(q, (x) => Math.round(x * 4095 * 4));
  const q8 = Int8Array.from(q, (x) => Math.max(-127, Math.min(127, Math.round(x * 600))));
  out[`${key}_alt_int8_js_ms`] = await timeIt(5, () => int8Loop(codes, n, DIM, q16, new Int32Array(n)));
  const k = new Int8DotKernel(DIM, n);
  for (let i = 0; i < n; i++) k.setRow(i, codes.subarray(i * DIM, (i + 1) * DIM));
  out[`${key}_alt_int8_wasm_simd_ms`] = await timeIt(30, () => void k.scan(q16, n));
  for (const threads of [1, 2]) {
    const sf = await ortScorer('float32', pop.rows, n, DIM, q, threads);
    out[`${key}_alt_ort_matmul_f32_t${threads}_ms`] = await timeIt(10, () => sf.run());
    await sf.release();
    const si = await ortScorer('int8', codes, n, DIM, q8, threads);
    out[`${key}_alt_ort_matmulinteger_i8_t${threads}_ms`] = await timeIt(10, () => si.run());
    await si.release();
  }
}

async function main(): Promise<void> {
  const dir = join(process.cwd(), '.cache', 'bench-match');
  mkdirSync(dir, { recursive: true });
  const result: Record<string, number | string> = { machine: `${process.arch} ${process.platform}, node ${process.version}` };
  for (const n of sizes) {
    const key = n % 1000 === 0 ? `n${n / 1000}k` : `n${n}`;
    const pop = population(n);
    const { path, secretFile, buildS } = ensureRoster(dir, n, pop);
    if (buildS > 0) say(`${key}: built encrypted roster in ${buildS.toFixed(1)} s`);

    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const mem0 = anonRss();
    const t0 = performance.now();
    const store = RosterStore.open({ path, secretFile, logger: silentLogger() });
    const t1 = performance.now();
    const matcher = Matcher.fromStore(store, { modelId: MODEL });
    const t2 = performance.now();
    const loadS = (t2 - t0) / 1000;
    gc?.();
    const mem1 = anonRss();
    // Anonymous resident memory growth across the load, after a full GC (needs --expose-gc): the
    // cross-check of memoryBytes(). Wasm memory is not in heapUsed, and plain RSS also counts the
    // page cache of the memory-mapped database file, which is not index memory.
    const measuredMb = gc ? (mem1 - mem0) / 2 ** 20 : NaN;
    const indexMb = matcher.memoryBytes() / 2 ** 20;

    const rand = rng(n + 1);
    const queries: Float32Array[] = [];
    for (let i = 0; i < 100; i++) {
      const src = Math.floor(rand() * n);
      queries.push(near(pop.rows.subarray(src * DIM, (src + 1) * DIM), rand, 0.4));
      queries.push(unitVector(rand, DIM));
    }
    for (const q of queries.slice(0, 10)) matcher.search(q, 2);
    const times: number[] = [];
    for (const q of queries) {
      const t = performance.now();
      matcher.search(q, 2);
      times.push(performance.now() - t);
    }
    const checks = Math.min(queries.length, n >= 100_000 ? 20 : 40);
    let agree = 0;
    for (const q of queries.slice(0, checks)) {
      const got = matcher.search(q, 1)[0];
      const want = brute64(pop.rows, n, q);
      if (got && got.templateId === `t-${want.index}` && Math.abs(got.score - want.score) < 1e-12) agree++;
    }
    result[`${key}_ms_p50`] = round(pct(times, 50));
    result[`${key}_ms_p90`] = round(pct(times, 90));
    result[`index_mb_${key.slice(1)}`] = round(indexMb);
    if (gc) result[`anon_rss_growth_mb_${key.slice(1)}`] = round(measuredMb);
    result[`load_${key.slice(1)}_s`] = round(loadS);
    result[`open_${key.slice(1)}_s`] = round((t1 - t0) / 1000);
    result[`exact_top1_${key.slice(1)}`] = `${agree}/${checks}`;
    say(
      `${key}: search p50 ${pct(times, 50).toFixed(2)} ms, p90 ${pct(times, 90).toFixed(2)} ms; index ${indexMb.toFixed(1)} MB${gc ? ` (anonymous RSS grew ${measuredMb.toFixed(1)} MB)` : ''}; ` +
        `cold load ${loadS.toFixed(2)} s (open ${((t1 - t0) / 1000).toFixed(3)} s, decrypt+build ${((t2 - t1) / 1000).toFixed(2)} s); ` +
        `exact top-1 vs float64 brute force ${agree}/${checks}`,
    );
    matcher.close();
    store.close();

    if (withAlt) {
      const alt: Record<string, number> = {};
      await alternatives(pop, n, key, alt);
      for (const [k, v] of Object.entries(alt)) result[k] = round(v);
      say(`${key}: raw scoring kernels, p50 ms: ${Object.entries(alt).map(([k, v]) => `${k.replace(`${key}_alt_`, '').replace(/_ms$/, '')} ${v.toFixed(2)}`).join(', ')}`);
    }
  }
  if (json) say(JSON.stringify(result));
}

/** Anonymous resident bytes of this process (Linux); plain RSS elsewhere. */
function anonRss(): number {
  try {
    const m = /RssAnon:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
