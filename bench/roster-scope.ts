/**
 * `npm run bench:roster-scope -- [--residents 39000] [--seed 16] [--json] [--keep]`
 *
 * What a terminal holds with per-door rosters (issue 16) against the whole roster every terminal held
 * before, at community scale. The community of bench:hub (bench/hub/community.ts: 966 buildings, 200
 * terminals: 192 building doors and 8 gates), here with gates that admit every resident, and
 * `--residents` residents with two 512-d templates each, written straight through the hub's store and
 * marked published as a running hub would leave them. The hub's roster is then opened as the hub opens
 * it at start (openCommunityRoster in provisioning/hub/main.ts), in this process.
 *
 * Figures: the whole roster (persons; bytes of its roster items, what a terminal took in, and of its
 * signed snapshot as it was sent to every door); per terminal, the persons and bytes of roster items of
 * its scope, and the bytes of its snapshot signed and sealed to it as it is sent (a third more: the
 * sealed body is base64) (median and maximum over the terminals, and the gates'), and the time to compute, seal and sign
 * one terminal's snapshot (median over the terminals and over the gates; each is computed once, not
 * from the cache). The machine's load average is printed with them (a shared machine slows the times,
 * not the sizes). `--json`: one last line, snake_case keys with their unit.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../core/clock';
import { removeInside } from '../core/fs';
import { silentLogger } from '../core/log';
import { initCommunity } from '../provisioning';
import { rosterItemOf } from '../provisioning/db';
import { openCommunityRoster } from '../provisioning/hub/main';
import { signedItemBytes } from '../runtime/protocol/limits';
import { communityDoors, GATE_BUILDING, seedCommunity } from './hub/community';
import { load1 } from './soak/processes';
import { median, percentile, r2, wantsJson } from './stats';

const PASSPHRASE = 'roster-scope-bench';
const MB = 1024 * 1024;
const say = (s: string): void => void process.stderr.write(`${s}\n`);

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} takes a positive whole number`);
  return v;
}

function main(): void {
  const residents = arg('residents', 39_000);
  const seed = arg('seed', 16);
  const keep = process.argv.includes('--keep');
  const clock = new SystemClock();
  const base = mkdtempSync(join(os.tmpdir(), 'doorway-roster-scope-'));
  const dir = join(base, 'community');
  const load0 = load1();
  const c = initCommunity({ dir, passphrase: PASSPHRASE, name: 'Bench Village', timeZone: 'Asia/Shanghai', actor: 'root', now: clock.now() });
  try {
    const now = clock.now();
    const doors = communityDoors();
    c.db.tx(() => {
      for (const d of doors) {
        c.db.addTerminal({ id: d.terminalId, doorId: d.doorId, buildingId: d.buildingId, serial: d.terminalId, createdAt: now });
        c.db.createRosterKey(d.terminalId, now);
      }
    });
    say(`seeding ${residents} residents over 966 buildings, ${doors.length} terminals...`);
    const seeded = seedCommunity(c.db, { residents, pending: 0, pendingBuildings: [], now, seed, access: 'building-and-gates' });
    // As a running hub leaves them: every resident published (the bench measures what is held, not the publishing).
    c.db.markPublished(c.db.persons().map((p) => ({ personId: p.personId, rev: p.rev })));
    say(`seeded in ${(seeded.ms / 1000).toFixed(1)} s; opening the hub's roster...`);
    const { roster, scoped } = openCommunityRoster(c.db, c.signingKey(PASSPHRASE), rosterItemOf, clock, silentLogger());

    const whole = roster.snapshot();
    const wholeBytes = whole.chunks.reduce((n, ch) => n + Buffer.byteLength(ch, 'utf8'), 0);
    let wholePersons = 0;
    let wholeItemBytes = 0;
    for (const [, it] of roster.entries()) {
      if (!('personId' in it)) continue;
      wholePersons += 1;
      wholeItemBytes += signedItemBytes(it);
    }

    const rows: Array<{ id: string; gate: boolean; persons: number; bytes: number; wire: number; ms: number }> = [];
    for (const d of doors) {
      const t = scoped.terminal(d.terminalId);
      if (!t) throw new Error(`terminal ${d.terminalId} not active`);
      const t0 = performance.now();
      const snap = scoped.snapshot(t, performance.now());
      let wire = 0;
      for (let i = 0; i < snap.count; i += 1) wire += Buffer.byteLength(scoped.chunk(t.id, snap.snapshotId, i) ?? '', 'utf8');
      const ms = performance.now() - t0;
      rows.push({ id: t.id, gate: d.buildingId === GATE_BUILDING, persons: snap.items, bytes: snap.itemBytes, wire, ms });
    }
    const gates = rows.filter((r) => r.gate);
    const all = (f: (r: (typeof rows)[number]) => number, rs = rows): number[] => rs.map(f);
    const figures = {
      residents,
      terminals: rows.length,
      whole_roster_persons: wholePersons,
      whole_roster_bytes: wholeItemBytes,
      whole_roster_wire_bytes: wholeBytes,
      terminal_persons_p50: median(all((r) => r.persons)),
      terminal_persons_max: Math.max(...all((r) => r.persons)),
      terminal_bytes_p50: median(all((r) => r.bytes)),
      terminal_bytes_max: Math.max(...all((r) => r.bytes)),
      terminal_wire_bytes_p50: median(all((r) => r.wire)),
      terminal_wire_bytes_max: Math.max(...all((r) => r.wire)),
      building_door_persons_max: Math.max(...all((r) => r.persons, rows.filter((r) => !r.gate))),
      gate_persons_p50: median(all((r) => r.persons, gates)),
      gate_bytes_p50: median(all((r) => r.bytes, gates)),
      terminal_share_of_whole_p50_pct: r2((100 * median(all((r) => r.bytes))) / wholeItemBytes),
      snapshot_ms_p50: r2(median(all((r) => r.ms))),
      snapshot_ms_p90: r2(percentile(all((r) => r.ms), 90)),
      snapshot_ms_gate_p50: r2(median(all((r) => r.ms, gates))),
      load1_start: load0,
      load1_end: load1(),
    };
    say(`whole roster: ${wholePersons} persons, ${(wholeItemBytes / MB).toFixed(1)} MiB of roster items, ${(wholeBytes / MB).toFixed(1)} MiB as a signed snapshot (every terminal held it)`);
    say(`per terminal: persons p50 ${figures.terminal_persons_p50}, max ${figures.terminal_persons_max} (a gate); building doors at most ${figures.building_door_persons_max}`);
    say(`per terminal: ${(figures.terminal_bytes_p50 / 1024).toFixed(0)} KiB of roster items p50 (${figures.terminal_share_of_whole_p50_pct} % of the whole), gates ${(figures.gate_bytes_p50 / MB).toFixed(1)} MiB; sealed as sent: ${(figures.terminal_wire_bytes_p50 / 1024).toFixed(0)} KiB p50, ${(figures.terminal_wire_bytes_max / MB).toFixed(1)} MiB at most`);
    say(`snapshot of one terminal's scope, computed, sealed and signed: p50 ${figures.snapshot_ms_p50} ms, p90 ${figures.snapshot_ms_p90} ms, a gate ${figures.snapshot_ms_gate_p50} ms`);
    say(`load average ${load0} at start, ${figures.load1_end} at end`);
    if (wantsJson()) process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    c.close();
    if (keep) say(`kept ${base}`);
    else removeInside(os.tmpdir(), base);
  }
}

main();
