/**
 * Roster wipe benchmark: how long the hub's `wipe` takes on a full roster and how long it holds the
 * event loop (the fire alarm and exit button are GPIO callbacks on that loop: the longest stall is how
 * late a fire-alarm edge can be handled while a wipe runs).
 * A roster of N persons with 2 sealed 512-d templates each is built once, then copied for each run;
 * each run opens the copy, wipes it (FULL durability as on a terminal) and reports the total wipe time
 * and the longest event-loop stall seen by perf_hooks.monitorEventLoopDelay during it. Medians of runs.
 * Usage: npm run bench:wipe [-- --persons N] [--runs N] [--json]
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { removeInside } from '../core/fs';
import { randomBytes } from 'node:crypto';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { silentLogger } from '../core/log';
import { encodeEmbedding, type PersonUpsert } from '../runtime/roster/batch';
import { RosterStore } from '../runtime/roster/store';
import { rng, unitVector } from '../test/fixtures/random';

const args = process.argv.slice(2);
const num = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const PERSONS = num('persons', 40_000);
const RUNS = num('runs', 3);
const json = args.includes('--json');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? NaN) : ((s[m - 1] ?? NaN) + (s[m] ?? NaN)) / 2;
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'doorway-bench-wipe-'));
  try {
    const secretFile = join(dir, 'device.secret');
    writeFileSync(secretFile, randomBytes(32), { mode: 0o600 });
    const master = join(dir, 'master.db');
    const rand = rng(42);
    const fill = RosterStore.open({ path: master, secretFile, logger: silentLogger() });
    const per = 5000;
    for (let v = 1, i = 0; i < PERSONS; v++) {
      const upserts: PersonUpsert[] = [];
      for (const end = Math.min(PERSONS, i + per); i < end; i++) {
        upserts.push({
          personId: `p-${i}`,
          templates: [0, 1].map((j) => ({ templateId: `p-${i}-t${j}`, modelId: 'bench-model', embedding: encodeEmbedding(unitVector(rand)) })),
          authorisations: [{ doorIds: ['door-1'], buildingIds: [] }],
          tags: [],
        });
      }
      fill.applyBatch({ version: v, upserts });
    }
    fill.close(); // checkpoints the WAL into the file

    const totals: number[] = [];
    const stalls: number[] = [];
    const gaps: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const path = join(dir, `run-${run}.db`);
      copyFileSync(master, path);
      const store = RosterStore.open({ path, secretFile, logger: silentLogger() });
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      // Let the monitor's timer start ticking, so that a stall from the first instruction is seen (no
      // h.reset() here: on Node 20 it makes the histogram miss the next stall entirely).
      await new Promise((r) => setTimeout(r, 20));
      // Cross-check: the longest gap between two ticks of a 1 ms interval.
      let last = performance.now();
      let gap = 0;
      const ticker = setInterval(() => {
        const now = performance.now();
        gap = Math.max(gap, now - last);
        last = now;
      }, 1);
      const t0 = performance.now();
      const counts = await Promise.resolve(store.wipe());
      const total = performance.now() - t0;
      // Let the monitor see the end of the last stall.
      await new Promise((r) => setTimeout(r, 5));
      h.disable();
      clearInterval(ticker);
      store.close();
      if (counts.persons !== PERSONS) throw new Error(`wiped ${counts.persons} persons, expected ${PERSONS}`);
      totals.push(total);
      stalls.push(h.max / 1e6);
      gaps.push(gap);
      for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) rmSync(f);
    }
    const out = {
      machine: `${cpus().length}-core ${process.arch}, Node ${process.version}`,
      persons: PERSONS,
      templates: PERSONS * 2,
      runs: RUNS,
      wipeMsMedian: Math.round(median(totals)),
      longestStallMsMedian: Math.round(median(stalls)),
      longestTickGapMsMedian: Math.round(median(gaps)),
      wipeMs: totals.map(Math.round),
      longestStallMs: stalls.map(Math.round),
    };
    if (json) console.log(JSON.stringify(out));
    else {
      console.log(`wipe of ${out.persons} persons / ${out.templates} templates on ${out.machine}, ${RUNS} runs`);
      console.log(`  total wipe time      median ${out.wipeMsMedian} ms   (runs: ${out.wipeMs.join(', ')})`);
      console.log(`  longest loop stall   median ${out.longestStallMsMedian} ms   (runs: ${out.longestStallMs.join(', ')})  [monitorEventLoopDelay max]`);
      console.log(`  longest 1 ms tick gap median ${out.longestTickGapMsMedian} ms  [cross-check]`);
    }
  } finally {
    removeInside(tmpdir(), dir);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
