/**
 * Retention at community scale: how long the hub's daily sweep takes (it runs on the hub's event loop)
 * and how long the unused-residents report answers, on a community of N residents (2 templates of
 * 512 floats each, as enrolled) and an events.db of `--per-day` granted entries a day over `--days`
 * days. Each run copies the built files, sweeps one day's worth of old entries, and asks the report
 * (admin: every building). One resident in twenty is never let in (they are the ones listed). Medians of runs.
 * Usage: npm run bench:retention [-- --residents N] [--per-day N] [--days N] [--runs N] [--json]
 */
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { FakeClock } from '../core/clock';
import { removeInside } from '../core/fs';
import { EventStore } from '../provisioning/hub/event-store';
import { Community, initCommunity } from '../provisioning';
import { DAY_MS } from '../provisioning/retention/config';
import { sweepRetention } from '../provisioning/retention/sweep';
import { unusedResidents } from '../provisioning/retention/unused';
import { newPhotoKey } from '../provisioning/photos';
import { encodeEmbedding } from '../runtime/roster/batch';
import { rng, unitVector } from '../test/fixtures/random';
import { entryEvent } from '../test/harness/sync-site';
import { median, r2, wantsJson } from './stats';

const args = process.argv.slice(2);
const num = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const RESIDENTS = num('residents', 39_000);
const PER_DAY = num('per-day', 5_000);
const DAYS = num('days', 100);
const RUNS = num('runs', 3);
const json = wantsJson();

function build(dir: string, now: number): Community {
  const c = initCommunity({ dir: join(dir, 'c'), passphrase: 'bench-retention-pass', now: now - 400 * DAY_MS, actor: 'bench' });
  const rand = rng(16);
  const db = c.db;
  const at = now - 200 * DAY_MS;
  for (let i = 0; i < RESIDENTS; i += 1000) {
    db.tx(() => {
      for (let k = i; k < Math.min(RESIDENTS, i + 1000); k++) {
        db.savePerson({
          personId: `p-${k}`, kind: 'resident', status: 'active', label: null, note: null,
          templates: [0, 1].map((j) => ({ templateId: `p-${k}-t${j}`, modelId: 'bench-model', embedding: encodeEmbedding(unitVector(rand)) })),
          authorisations: [{ doorIds: [], buildingIds: [`b-${k % 40}`] }], tags: [], photoKey: newPhotoKey(), photos: [],
        }, at);
      }
    });
  }
  const events = new EventStore(c.paths.eventsDb);
  for (let d = DAYS; d > 0; d--) {
    const dayStart = now - d * DAY_MS;
    for (let i = 0; i < PER_DAY; i += 1000) {
      const batch = [];
      for (let k = i; k < Math.min(PER_DAY, i + 1000); k++) batch.push(entryEvent(dayStart + Math.floor((k / PER_DAY) * DAY_MS), `p-${Math.floor(rand() * RESIDENTS * 0.95)}`));
      events.ingest('t1', Buffer.from(JSON.stringify({ v: 1, events: batch })), dayStart);
    }
  }
  events.close();
  c.close();
  return Community.open(join(dir, 'c'));
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'doorway-bench-retention-'));
  try {
    const now = Date.UTC(2026, 11, 1, 4, 0, 0);
    const built = Date.now();
    const master = build(dir, now);
    const buildS = (Date.now() - built) / 1000;
    master.close();
    const sweeps: number[] = [];
    const stalls: number[] = [];
    const reports: number[] = [];
    const entryReads: number[] = [];
    let listed = 0;
    let deleted = 0;
    for (let r = 0; r < RUNS; r++) {
      const run = join(dir, `run-${r}`);
      mkdirSync(run, { mode: 0o700 });
      for (const f of ['community.json', 'hub.db', 'events.db']) copyFileSync(join(dir, 'c', f), join(run, f));
      const cr = Community.open(run);
      const events = new EventStore(cr.paths.eventsDb);
      const clock = new FakeClock(now);
      let t = performance.now();
      const delay = monitorEventLoopDelay({ resolution: 1 });
      delay.enable();
      deleted = (await sweepRetention(cr, events, clock)).entryEvents;
      delay.disable();
      stalls.push(delay.max / 1e6);
      sweeps.push(performance.now() - t);
      events.close();
      t = performance.now();
      listed = unusedResidents(cr, now, { days: 90 }).length;
      reports.push(performance.now() - t);
      // Its read of events.db alone: each person's last granted entry.
      t = performance.now();
      const ev = EventStore.openReadOnly(cr.paths.eventsDb);
      ev?.lastGrantedSince(now - 90 * DAY_MS);
      ev?.close();
      entryReads.push(performance.now() - t);

      cr.close();
    }
    const out = {
      residents: RESIDENTS, entries: PER_DAY * DAYS, runs: RUNS, build_s: r2(buildS),
      sweep_ms: r2(median(sweeps)), sweep_longest_stall_ms: r2(median(stalls)), sweep_deleted: deleted, unused_report_ms: r2(median(reports)), unused_listed: listed,
      entries_read_ms: r2(median(entryReads)),
      cpus: cpus().length, load1: r2(loadavg()[0] ?? 0),
    };
    if (json) console.log(JSON.stringify(out));
    else {
      console.log(`retention on ${RESIDENTS} residents, ${PER_DAY * DAYS} entries over ${DAYS} days (built in ${out.build_s} s; load ${out.load1} on ${out.cpus} cpus)`);
      console.log(`  daily sweep: ${out.sweep_ms} ms median (${deleted} entries past 90 days deleted), the hub's event loop held at most ${out.sweep_longest_stall_ms} ms at a time`);
      console.log(`  unused report (90 days, every building): ${out.unused_report_ms} ms median, ${listed} listed (last entries read ${out.entries_read_ms} ms)`);
      console.log(JSON.stringify(out));
    }
  } finally {
    removeInside(tmpdir(), dir);
  }
}

void main();
