/**
 * Erasure benchmark (issue 16 item 2): what a real erasure costs on a community-sized hub.db.
 * A hub.db of N persons (default 40,000; 2 templates of 512 float32 each, base64, as the hub keeps them;
 * a label, a note and a registration with name and room each) and the roster log that published them
 * (deltas of 200 persons, as the hub cuts them), and an events.db of E entry events (default 200,000),
 * are built once. Then, on copies:
 * - `erase`: erasePerson (provisioning/admin/erasure.ts) of one person: the hub.db transaction, the
 *   photos, events.db's delete (a scan of every event's JSON) with its reclaim, hub.db's reclaim;
 * - `compact`: what the hub does once the person's tombstone is published (roster_log holds ids only,
 *   so nothing is left to compact): finding the tombstone's version in roster_log (erasure-tombstones.ts)
 *   and the reclaim after the erasure (incremental vacuum of the freed pages, WAL checkpoint and
 *   truncate); the JSON keys keep their names;
 * - `convert`: the one VACUUM that turns a hub.db made before erasures to incremental auto-vacuum
 *   (once, at the first open), which is also what a full VACUUM after each erasure would cost.
 * Medians of runs. Usage: npm run bench:erasure [-- --persons N] [--events N] [--runs N] [--json]
 * (`--json`: one last line with snake_case keys naming figure and unit).
 */
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { FakeClock } from '../core/clock';
import { removeInside } from '../core/fs';
import { erasePerson } from '../provisioning/admin/erasure';
import { Community, initCommunity } from '../provisioning/community';
import { HubDb } from '../provisioning/db';
import { EventStore } from '../provisioning/hub/event-store';
import { tombstoneVersion } from '../provisioning/hub/erasure-tombstones';
import { newPhotoKey } from '../provisioning/photos';
import { convertToIncrementalVacuum } from '../provisioning/store/reclaim';
import { encodeEmbedding } from '../runtime/roster/batch';
import { rng, unitVector } from '../test/fixtures/random';
import { median, wantsJson } from './stats';

const args = process.argv.slice(2);
const num = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const PERSONS = num('persons', 40_000);
const EVENTS = num('events', 200_000);
const RUNS = num('runs', 3);
const PASS = 'bench-erasure-pass';

/** The master community: hub.db filled with raw inserts (the schema of the migrations), events.db. */
function build(dir: string): { community: string; victim: string } {
  const community = join(dir, 'master');
  initCommunity({ dir: community, passphrase: PASS, actor: 'bench', now: Date.now() }).close();
  const db = new HubDb(join(community, 'hub.db'));
  const rand = rng(7);
  const now = Date.now();
  const ins = db.db.prepare(`INSERT INTO persons (person_id, kind, status, label, note, templates, authorisations, tags, photos, rev, published_rev, created_at, updated_at, photo_key)
    VALUES (?, 'resident', 'active', ?, ?, ?, ?, '[]', '[]', 1, 1, ?, ?, ?)`);
  const reg = db.db.prepare(`INSERT INTO registrations (id, person_id, name, id_number_masked, building_id, room, photos, real_name, status, submitted_at)
    VALUES (?, ?, ?, '1101********1234', ?, ?, '[]', 'verified', 'approved', ?)`);
  const log = db.db.prepare('INSERT INTO roster_log (version, changes, persons, created_at) VALUES (?, ?, ?, ?)');
  const perDelta = 200;
  for (let v = 1, i = 0; i < PERSONS; v++) {
    db.tx(() => {
      const upserts: unknown[] = [];
      for (const end = Math.min(PERSONS, i + perDelta); i < end; i++) {
        const id = `p-${String(i).padStart(6, '0')}`;
        const templates = [0, 1].map((k) => ({ templateId: `${id}-t${k}`, modelId: 'bench-model', embedding: encodeEmbedding(unitVector(rand)) }));
        const access = [{ doorIds: [`door-${i % 200}`], buildingIds: [] }];
        ins.run(id, `Resident ${i}`, `note ${i}`, JSON.stringify(templates), JSON.stringify(access), now, now, newPhotoKey());
        reg.run(id, id, `Name ${i}`, `b-${i % 966}`, `${i % 16000}`, now);
        upserts.push({ personId: id, label: `Resident ${i}`, templates, authorisations: access, tags: [] });
      }
      // What the hub records of a version: the persons it covered, never their data.
      const persons = (upserts as Array<{ personId: string }>).map((u) => ({ id: u.personId, rev: 1 }));
      log.run(v, JSON.stringify({ persons, passes: [] }), persons.length, now);
    });
  }
  db.close();
  const events = new EventStore(join(community, 'events.db'));
  for (let i = 0; i < EVENTS; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, EVENTS - i) }, (_, k) => ({ id: ulid(now - EVENTS + i + k), at: now, type: 'entry.granted', personId: `p-${String((i + k) % PERSONS).padStart(6, '0')}`, credential: 'face', score: 0.9, liveness: 0.8, latencyMs: 200 }));
    events.ingest(`t-${i % 200}`, Buffer.from(JSON.stringify({ v: 1, events: batch })), now);
  }
  events.close();
  return { community, victim: `p-${String(Math.floor(PERSONS / 2)).padStart(6, '0')}` };
}

function copyCommunity(from: string, to: string): void {
  initCommunity({ dir: to, passphrase: PASS, actor: 'bench', now: Date.now() }).close();
  for (const f of ['hub.db', 'events.db']) copyFileSync(join(from, f), join(to, f));
}

function sizeMb(f: string): number {
  return Math.round((statSync(f).size / 1e6) * 10) / 10;
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'doorway-bench-erasure-'));
  try {
    const load = loadavg()[0] ?? 0;
    const { community: master, victim } = build(dir);
    const hubMb = sizeMb(join(master, 'hub.db'));
    const eventsMb = sizeMb(join(master, 'events.db'));
    const erase: number[] = [];
    const compact: number[] = [];
    const convert: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const cdir = join(dir, `run-${run}`);
      copyCommunity(master, cdir);
      const c = Community.open(cdir);
      const clock = new FakeClock(Date.now());
      const t0 = performance.now();
      const report = erasePerson({ clock, actor: 'bench', community: c, store: c.db }, { id: victim });
      erase.push(performance.now() - t0);
      if (report.deleted.eventsDb === 0 || report.deleted.hubDb.registrations !== 1) throw new Error('the erasure deleted nothing');
      // What the hub does once the tombstone is out (its version recorded as the hub would): find it, reclaim.
      const published = c.db.rosterVersion() + 1;
      c.db.recordVersion(published, { persons: [{ id: victim, rev: 2 }], passes: [] }, [], Date.now());
      const t1 = performance.now();
      const found = c.db.tx(() => tombstoneVersion(c.db, victim));
      c.db.reclaim();
      compact.push(performance.now() - t1);
      if (found !== published) throw new Error(`tombstone found at ${found}, published at ${published}`);
      c.close();
      // A hub.db from before erasures: no auto-vacuum; its one conversion (= a full VACUUM).
      const old = join(cdir, 'old-hub.db');
      copyFileSync(join(master, 'hub.db'), old);
      const raw = new Database(old);
      raw.pragma('journal_mode = DELETE');
      raw.pragma('auto_vacuum = NONE');
      raw.exec('VACUUM');
      raw.pragma('journal_mode = WAL');
      const t2 = performance.now();
      convertToIncrementalVacuum(raw);
      convert.push(performance.now() - t2);
      raw.close();
      removeInside(dir, cdir);
    }
    const out = {
      machine: `${cpus().length}-core ${process.arch}, Node ${process.version}, load average ${load.toFixed(1)} at start`,
      persons: PERSONS,
      events: EVENTS,
      runs: RUNS,
      hub_db_mb: hubMb,
      events_db_mb: eventsMb,
      erase_ms_median: Math.round(median(erase)),
      compact_and_reclaim_ms_median: Math.round(median(compact)),
      full_vacuum_ms_median: Math.round(median(convert)),
      erase_ms: erase.map(Math.round),
      compact_and_reclaim_ms: compact.map(Math.round),
      full_vacuum_ms: convert.map(Math.round),
    };
    console.log(`erasure on a hub of ${PERSONS} persons (hub.db ${hubMb} MB) and ${EVENTS} events (events.db ${eventsMb} MB); ${out.machine}; ${RUNS} runs`);
    console.log(`  erasePerson (hub.db, photos, events.db scan and delete, both reclaimed)  median ${out.erase_ms_median} ms  (runs: ${out.erase_ms.join(', ')})`);
    console.log(`  tombstone version (scan of roster_log's ids) and reclaim        median ${out.compact_and_reclaim_ms_median} ms  (runs: ${out.compact_and_reclaim_ms.join(', ')})`);
    console.log(`  a full VACUUM (the one-time conversion to incremental auto-vacuum)       median ${out.full_vacuum_ms_median} ms  (runs: ${out.full_vacuum_ms.join(', ')})`);
    if (wantsJson()) console.log(JSON.stringify(out));
  } finally {
    removeInside(tmpdir(), dir);
  }
}

main();
