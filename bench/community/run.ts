/**
 * One run of `npm run bench:community` (bench/community.ts prints it; test/bench/community.test.ts runs
 * it at a tiny scale). The community as deployed on one machine:
 *
 *   mosquitto  the community's broker (mutual TLS, ACL from the terminal list), BrokerProcess
 *   hub        `provision hub --http 127.0.0.1:PORT` in its own process, with its HTTPS API
 *   terminals  `--terminals` real protocol clients, each from its own bundle (`addTerminal`: its key,
 *              certificate, device secret, config) with its own sync client, encrypted roster, sync
 *              file and outbox, and its own MQTT connection; grouped in worker processes
 *              (./worker.ts, 10 to a process by default), since 200 Node processes do not fit here
 *
 * Phases, each timed: every terminal from empty to the current roster; a day of turnover replayed
 * through the hub's API (each move a revocation and an approval of a pending registration), timed
 * from the request to the moment each affected terminal's store no longer holds the person (affected:
 * the terminals that held them; with per-door rosters that is the person's building door and the
 * gates, today every door); one missing-person alert tag, to the moment each terminal holds it; the
 * morning peak's entries recorded at every door through the terminal's event recorder, compressed by
 * each factor in turn until the backlog grows, timed from the event's time at the terminal to its
 * arrival in the hub's event store (events.db `received_at`). Throughout: the hub's and the broker's
 * CPU time and peak resident memory (/proc); at the end, the bytes each terminal keeps on disk.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { SystemClock } from '../../core/clock';
import { removeInside } from '../../core/fs';
import { addTerminal, BrokerProcess, EventStore, initCommunity, type Community } from '../../provisioning';
import { HubClient } from '../../provisioning/api/client';
import { OperatorAccounts } from '../../provisioning/operators/accounts';
import { freeLoopbackPort } from '../../provisioning/ports';
import { sleep, waitFor } from '../../test/harness/wait';
import { rng } from '../../test/fixtures/random';
import { communityDoors, GATE_BUILDING, gateDoors, seedCommunity } from '../hub/community';
import { askProbe, Child, cpuMs, load1, type ProbeAnswer, rssBytes } from '../soak/processes';
import { percentile } from '../stats';
import { backlogGrows, groups, peakFactors, perDoorRate, type CommunityBenchArgs } from './figures';
import type { ToBench, ToWorker } from './messages';

const ROOT = resolve(__dirname, '..', '..');
const PASSPHRASE = 'community-bench-passphrase';
const MB = 1024 * 1024;
const TAG = 'missing-bench';
const wallNow = (): number => performance.timeOrigin + performance.now();

export interface PeakRun {
  factor: number;
  entries: number;
  injectS: number;
  eventsPerS: number;
  entryToHubP50Ms: number;
  entryToHubP99Ms: number;
  /** Entries recorded at the doors, and those of them in the hub's event store at the end. */
  arrived: number;
  /** Largest outbox depth of one terminal, and of all of them together, over the run. */
  backlogMax: number;
  backlogTotalMax: number;
  slopePerS: number;
  drainS: number;
  growing: boolean;
  /** Total outbox depth about every second: [s since the injection began, events]. */
  series: Array<[number, number]>;
}

export interface CommunityResult {
  terminals: number;
  residents: number;
  workers: number;
  rosterVersion: number;
  initialSyncS: number;
  /** Each terminal's time to the roster, p50 (the last one is initialSyncS). */
  initialSyncP50S: number;
  moves: number;
  revokeP50Ms: number;
  revokeP99Ms: number;
  /** Every (revocation, affected door) pair. */
  revokeDoorP50Ms: number;
  revokeDoorP99Ms: number;
  revokeAffectedDoorsP50: number;
  /** (revocation, door) pairs where the door still held the person at the end of the wait. */
  revokeMissed: number;
  approvalDoorP50Ms: number;
  approvalDoorP99Ms: number;
  tagP50Ms: number;
  tagP99Ms: number;
  tagDoors: number;
  peaks: PeakRun[];
  hubRssMb: number;
  /** The hub's RSS once every resident was published, before the terminals started. */
  hubRssPublishedMb: number;
  /** The hub's V8 heap right after its last major collection (what was alive then), once published and at the end. */
  hubHeapAfterGcPublishedMb: number;
  hubHeapAfterGcEndMb: number;
  hubCpuS: number;
  brokerRssMb: number;
  brokerCpuS: number;
  /** CPU seconds of hub and broker per phase. */
  phaseCpu: Record<string, { hubS: number; brokerS: number; wallS: number }>;
  terminalDiskBytesP50: number;
  terminalDiskBytesMax: number;
  load1: number;
  work: string;
}

/** A worker process and what it has told the bench. */
class Worker {
  readonly child: Child;
  opened: string[] | null = null;
  /** When its terminals were opened and started (wall clock ms). */
  openedAt = NaN;
  recorded = 0;
  depths: number[] = [];
  entriesDone = false;
  disk: Array<{ terminal: string; bytes: number }> | null = null;
  private seq = 0;
  private depthSeq = -1;

  constructor(name: string, configs: readonly string[], log: string, onMessage: (m: ToBench) => void) {
    this.child = new Child(name, process.execPath, ['--import', 'tsx', join(__dirname, 'worker.ts'), ...configs], log, { env: { ...process.env, DOORWAY_LOG_LEVEL: 'warn' }, ipc: true });
    this.child.proc.on('message', (m: ToBench) => {
      if (m.type === 'opened') {
        this.opened = m.terminals;
        this.openedAt = wallNow();
      } else if (m.type === 'depths' && m.seq >= this.depthSeq) {
        this.depthSeq = m.seq;
        this.depths = m.depths;
      } else if (m.type === 'entries-done') {
        this.entriesDone = true;
        this.recorded = m.recorded;
      } else if (m.type === 'disk') {
        this.disk = m.bytes;
      }
      onMessage(m);
    });
  }

  send(m: ToWorker): void {
    if (this.child.running() && this.child.proc.connected) this.child.proc.send(m);
  }

  sample(): void {
    this.send({ type: 'sample', seq: ++this.seq });
  }
}

/**
 * The doors run: the community's gates and building doors in their proportion (8 of 200), at least one
 * gate; all 200 at full scale.
 */
export function doorsOf(terminals: number): ReturnType<typeof communityDoors> {
  const all = communityDoors();
  const gates = all.filter((d) => d.buildingId === GATE_BUILDING);
  const buildings = all.filter((d) => d.buildingId !== GATE_BUILDING);
  const g = Math.min(gates.length, Math.max(1, Math.round((terminals * gates.length) / all.length)));
  return [...gates.slice(0, g), ...buildings.slice(0, terminals - g)];
}

/** Stops what a run started (its processes, files): on SIGINT or SIGTERM before the run ends by itself. */
const cleanups = new Set<() => Promise<void>>();
export async function abortCommunityBench(): Promise<void> {
  for (const f of [...cleanups]) await f();
}

export async function runCommunityBench(a: CommunityBenchArgs, say: (s: string) => void): Promise<CommunityResult> {
  const clock = new SystemClock();
  const work = mkdtempSync(join(os.tmpdir(), 'doorway-bench-community-'));
  const logs = join(work, 'logs');
  mkdirSync(logs);
  const children: Child[] = [];
  let broker: BrokerProcess | null = null;
  let community: Community | null = null;
  let events: EventStore | null = null;
  const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  let cleaned = false;
  const cleanUp = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    cleanups.delete(cleanUp);
    for (const ch of children.reverse()) await ch.stop(15_000);
    await broker?.stop();
    events?.close();
    community?.close();
    if (!a.keep && !a.profile) removeInside(os.tmpdir(), work);
    else say(`work folder kept: ${work}`);
  };
  cleanups.add(cleanUp);
  try {
    // --- the community -------------------------------------------------------------------------------
    const brokerPort = await freeLoopbackPort();
    const httpPort = await freeLoopbackPort();
    const dir = join(work, 'community');
    const c = initCommunity({ dir, passphrase: PASSPHRASE, name: 'Bench Village', brokerUrl: `mqtts://127.0.0.1:${brokerPort}`, timeZone: 'Asia/Shanghai', actor: 'root', now: clock.now() });
    community = c;
    const doors = doorsOf(a.terminals);
    const t0 = performance.now();
    const configs = doors.map((d) => addTerminal({ clock, actor: 'root', community: c, store: c.db, passphrase: PASSPHRASE }, { id: d.terminalId, doorId: d.doorId, buildingId: d.buildingId, out: join(work, 'bundles', d.terminalId) }).configFile);
    say(`${doors.length} terminals added (each its key, certificate and bundle) in ${secs(performance.now() - t0)}`);
    // Registrations to approve in the replayed day: in the buildings that have a door terminal.
    const doorBuildings = doors.map((d) => d.buildingId).filter((b) => b !== GATE_BUILDING);
    const pendingBuildings = doorBuildings.length > 0 ? doorBuildings : ['b-001'];
    const seed = seedCommunity(c.db, { residents: a.residents, pending: a.moves, pendingBuildings, now: clock.now(), seed: a.seed, access: 'building-and-gates' });
    say(`${seed.residents} residents (their building and every gate) and ${seed.pending.length} pending registrations seeded through the store in ${secs(seed.ms)}`);
    // Who moves out: residents of the buildings with a door (so that a per-door roster affects a building door and the gates).
    const r = rng(a.seed);
    const inDoorBuildings = c.db.db.prepare(`SELECT person_id AS id FROM registrations WHERE status = 'approved' AND building_id IN (${pendingBuildings.map(() => '?').join(',')}) ORDER BY person_id`).all(...pendingBuildings) as Array<{ id: string }>;
    const anywhere = c.db.db.prepare(`SELECT person_id AS id FROM registrations WHERE status = 'approved' ORDER BY person_id LIMIT ?`).all(4 * (a.moves + 1)) as Array<{ id: string }>;
    const shuffled = (xs: Array<{ id: string }>): string[] => xs.map((x) => x.id).sort(() => r() - 0.5);
    const leavers = [...new Set([...shuffled(inDoorBuildings), ...shuffled(anywhere)])].slice(0, a.moves + 1);
    if (leavers.length < a.moves + 1) throw new Error(`only ${leavers.length} registered residents; need ${a.moves + 1} (more --residents)`);
    const tagged = leavers.pop() as string;
    const entrants = (c.db.db.prepare(`SELECT person_id AS id FROM registrations WHERE status = 'approved' ORDER BY person_id LIMIT 2000`).all() as Array<{ id: string }>).map((x) => x.id).filter((id) => !leavers.includes(id));
    const accounts = new OperatorAccounts(c.db, clock);
    const admin = await accounts.add({ id: 'bench-admin', role: 'admin', buildings: [] }, { id: 'root' });

    // --- broker and hub ------------------------------------------------------------------------------
    broker = new BrokerProcess(c, { listenHost: '127.0.0.1', clock });
    await broker.start();
    const brokerPid = broker.pid() ?? NaN;
    const profile = a.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(work, 'profile')}`] : [];
    const tHub = performance.now();
    // bench:soak's probe: the hub's V8 heap (what is alive after a major collection, against its RSS).
    const probe = ['--require', join(ROOT, 'bench', 'soak', 'probe.js')];
    const hub = new Child('hub', process.execPath, [...profile, ...probe, join(ROOT, 'bin', 'provision.js'), 'hub', '--dir', dir, '--http', `127.0.0.1:${httpPort}`, '--real-name-check', 'off'], join(logs, 'hub.log'), {
      env: { ...process.env, PROVISION_PASSPHRASE: PASSPHRASE, DOORWAY_LOG_LEVEL: 'warn' },
      ipc: true,
    });
    let probeId = 0;
    const hubHeap = async (): Promise<ProbeAnswer | null> => askProbe(hub, ++probeId, 30_000);
    const heapSay = (h: ProbeAnswer | null): string => (h ? `heap used ${(h.heapUsed / MB).toFixed(0)} MB, after the last major GC ${(h.heapAfterMajorGc / MB).toFixed(0)} MB (${h.majorGcs} major GCs), external ${(h.external / MB).toFixed(0)} MB` : 'heap: no answer from the probe');
    children.push(hub);
    await waitFor(() => {
      if (!hub.running()) throw new Error(`the hub exited:\n${hub.tail()}`);
      return /hub API on/.test(hub.tail(40));
    }, 600_000, 'the hub and its API');
    const dirty = c.db.db.prepare('SELECT COUNT(*) AS n FROM persons WHERE rev > published_rev');
    await waitFor(() => (dirty.get() as { n: number }).n === 0, 1_800_000, 'every resident published', 200);
    const target = c.db.rosterVersion();
    // The hub holding the community before any terminal asks for anything: its roster, kept deltas and store.
    const hubRssPublishedMb = rssBytes(hub.pid) / MB;
    const heapPublished = await hubHeap();
    say(`hub (pid ${hub.pid}) published every resident as roster version ${target} after ${secs(performance.now() - tHub)} (rss ${hubRssPublishedMb.toFixed(0)} MB; ${heapSay(heapPublished)}); broker pid ${brokerPid}`);
    const client = new HubClient({ baseUrl: `https://127.0.0.1:${httpPort}`, ca: readFileSync(c.paths.ca.cert, 'utf8') });
    await client.login('bench-admin', admin.password);
    await client.changePassword(admin.password, 'bench admin password 1');

    // --- resources, sampled all along ------------------------------------------------------------------
    const peak = { hub: 0, broker: 0 };
    const hubCpu0 = cpuMs(hub.pid);
    const brokerCpu0 = cpuMs(brokerPid);
    const phaseCpu: CommunityResult['phaseCpu'] = {};
    let phase = { name: '', hub: 0, broker: 0, t: 0 };
    const beginPhase = (name: string): void => {
      phase = { name, hub: cpuMs(hub.pid), broker: cpuMs(brokerPid), t: performance.now() };
    };
    const endPhase = (): void => {
      phaseCpu[phase.name] = { hubS: (cpuMs(hub.pid) - phase.hub) / 1000, brokerS: (cpuMs(brokerPid) - phase.broker) / 1000, wallS: (performance.now() - phase.t) / 1000 };
      const p = phaseCpu[phase.name];
      if (p) say(`  [${phase.name}: ${p.wallS.toFixed(1)} s; hub CPU ${p.hubS.toFixed(1)} s, broker CPU ${p.brokerS.toFixed(1)} s; hub rss peak ${peak.hub.toFixed(0)} MB, broker ${peak.broker.toFixed(0)} MB; load ${load1()}]`);
    };
    const sampler = setInterval(() => {
      peak.hub = Math.max(peak.hub, rssBytes(hub.pid) / MB || 0);
      peak.broker = Math.max(peak.broker, rssBytes(brokerPid) / MB || 0);
    }, 500);

    // --- the terminals -------------------------------------------------------------------------------
    const version = new Map<string, number>();
    const synced = new Map<string, number>();
    /** Per revoked person: the answers of the workers so far, the terminals that held them, when each let go. */
    const watching = new Map<string, { answers: number; held: Set<string> }>();
    const gone = new Map<string, Map<string, number>>();
    const seen = new Map<string, Map<string, number>>();
    const tags = new Map<string, number>();
    const onMessage = (m: ToBench): void => {
      if (m.type === 'roster') {
        version.set(m.terminal, m.version);
        if (m.version >= target && !synced.has(m.terminal)) synced.set(m.terminal, wallNow());
      } else if (m.type === 'watching') {
        const w = watching.get(m.id) ?? { answers: 0, held: new Set<string>() };
        w.answers += 1;
        for (const t of m.held) w.held.add(t);
        watching.set(m.id, w);
      } else if (m.type === 'gone') {
        const g = gone.get(m.id) ?? new Map<string, number>();
        g.set(m.terminal, m.at);
        gone.set(m.id, g);
      } else if (m.type === 'seen') {
        const s = seen.get(m.id) ?? new Map<string, number>();
        s.set(m.terminal, m.at);
        seen.set(m.id, s);
      } else if (m.type === 'tagged' && m.id === tagged) tags.set(m.terminal, m.at);
    };
    const parts = groups(configs, a.workers);
    beginPhase('initial sync');
    const tSync = wallNow();
    const workers = parts.map((cs, i) => new Worker(`worker-${i + 1}`, cs, join(logs, `worker-${i + 1}.log`), onMessage));
    children.push(...workers.map((w) => w.child));
    say(`${doors.length} terminals in ${workers.length} worker processes (${parts.map((p) => p.length).join(', ')} terminals each), each terminal its own MQTT connection, files and certificate`);
    let lastSay = performance.now();
    await waitFor(() => {
      for (const w of workers) if (!w.child.running()) throw new Error(`${w.child.name} exited:\n${w.child.tail()}`);
      if (performance.now() - lastSay > 15_000) {
        lastSay = performance.now();
        say(`  ${synced.size}/${doors.length} terminals at version ${target} after ${secs(wallNow() - tSync)} (from the worker processes' start); lowest version ${Math.min(...doors.map((d) => version.get(d.terminalId) ?? 0))}`);
      }
      return synced.size === doors.length;
    }, a['sync-timeout-s'] * 1000, `every terminal at roster version ${target}`, 100);
    // From the moment the first worker had its terminals started (its start-up, loading the sources, left out).
    const t0Sync = Math.min(...workers.map((w) => w.openedAt));
    const syncTimes = [...synced.values()].map((t) => (t - t0Sync) / 1000);
    const initialSyncS = Math.max(...syncTimes);
    say(`initial sync: all ${doors.length} terminals from empty to version ${target} (${a.residents} residents) in ${initialSyncS.toFixed(1)} s (p50 ${percentile(syncTimes, 50).toFixed(1)} s)`);
    endPhase();
    const broadcast = (m: ToWorker): void => {
      for (const w of workers) w.send(m);
    };

    // --- a day of turnover ---------------------------------------------------------------------------
    beginPhase('turnover');
    const revokeSent = new Map<string, number>();
    const approveSent = new Map<string, number>();
    for (let k = 0; k < a.moves; k++) {
      const due = performance.now() + a['move-interval-ms'];
      const leaver = leavers[k] as string;
      broadcast({ type: 'watch-gone', id: leaver });
      // Every worker has said which of its terminals hold the leaver: the watch is set before the revocation can arrive.
      await waitFor(() => (watching.get(leaver)?.answers ?? 0) === workers.length, 30_000, `the doors' answer about ${leaver}`, 2);
      revokeSent.set(leaver, wallNow());
      await client.residents.revoke(leaver, 'moved out');
      const reg = seed.pending[k];
      if (reg) {
        broadcast({ type: 'watch-seen', id: reg.id });
        approveSent.set(reg.id, wallNow());
        await client.registrations.approve(reg.id, { buildings: [reg.buildingId], doors: gateDoors() });
      }
      await sleep(Math.max(0, due - performance.now()));
    }
    const moved = leavers.slice(0, a.moves);
    const doneAt = (id: string): number[] => [...(watching.get(id)?.held ?? [])].map((t) => gone.get(id)?.get(t) ?? NaN);
    await waitFor(() => moved.every((id) => doneAt(id).every((at) => !Number.isNaN(at))), 120_000, 'every revocation at every affected door', 50).catch((e: unknown) => say(`  ${(e as Error).message}`));
    const revokeLast: number[] = [];
    const revokeDoor: number[] = [];
    const affectedCounts: number[] = [];
    let missed = 0;
    for (const id of moved) {
      const sent = revokeSent.get(id) ?? NaN;
      const at = doneAt(id).map((x) => x - sent);
      affectedCounts.push(at.length);
      missed += at.filter((x) => Number.isNaN(x)).length;
      revokeDoor.push(...at.filter((x) => !Number.isNaN(x)));
      // A door that never let go makes this revocation's figure infinite.
      if (at.length > 0) revokeLast.push(at.some((x) => Number.isNaN(x)) ? Infinity : Math.max(...at));
    }
    await waitFor(() => seed.pending.slice(0, a.moves).every((p) => (seen.get(p.id)?.size ?? 0) > 0), 60_000, 'every approval at a door', 50).catch((e: unknown) => say(`  ${(e as Error).message}`));
    await sleep(1000); // the slower doors' arrivals of the last approvals
    const approvalDoor = [...approveSent].flatMap(([id, sent]) => [...(seen.get(id)?.values() ?? [])].map((at) => at - sent));
    say(`turnover: ${a.moves} moves (revocation + approval), one every ${a['move-interval-ms']} ms (a day of 40% a year compressed ${Math.round(86_400_000 / a.moves / Math.max(1, a['move-interval-ms']))}x)`);
    say(`  revocation to every affected door: p50 ${percentile(revokeLast, 50).toFixed(0)} ms, p99 ${percentile(revokeLast, 99).toFixed(0)} ms (affected doors per revocation p50 ${percentile(affectedCounts, 50)}; per door p50 ${percentile(revokeDoor, 50).toFixed(0)} ms, p99 ${percentile(revokeDoor, 99).toFixed(0)} ms, ${revokeDoor.length} pairs${missed > 0 ? `; ${missed} door(s) STILL HOLD a revoked person` : ''})`);
    say(`  approval to a door's roster: p50 ${percentile(approvalDoor, 50).toFixed(0)} ms, p99 ${percentile(approvalDoor, 99).toFixed(0)} ms (${approvalDoor.length} pairs)`);
    endPhase();

    // --- one missing-person alert --------------------------------------------------------------------
    beginPhase('alert tag');
    broadcast({ type: 'watch-tag', id: tagged, tag: TAG });
    await sleep(200);
    const tagSent = wallNow();
    await client.alertTags.add({ tag: TAG, personId: tagged });
    await waitFor(() => tags.size === doors.length, 60_000, 'the alert at every door', 20).catch((e: unknown) => say(`  ${(e as Error).message}`));
    const tagMs = [...tags.values()].map((t) => t - tagSent);
    say(`alert tag to every door: p50 ${percentile(tagMs, 50).toFixed(0)} ms, p99 ${percentile(tagMs, 99).toFixed(0)} ms, last ${Math.max(...tagMs).toFixed(0)} ms (${tags.size}/${doors.length} doors)`);
    endPhase();

    // --- the morning peak ----------------------------------------------------------------------------
    events = EventStore.openReadOnly(c.paths.eventsDb);
    const peaks: PeakRun[] = [];
    for (const factor of peakFactors(a)) {
      beginPhase(`peak x${factor}`);
      const perSecond = perDoorRate(a.entries, a['peak-minutes'], factor);
      const injectS = (a['peak-minutes'] * 60) / factor;
      const eventsPerS = perSecond * doors.length * 2; // entry.granted + door.released
      const mark = events?.tailStart(0) ?? 0;
      for (const w of workers) {
        w.entriesDone = false;
        w.recorded = 0;
      }
      const tPeak = performance.now();
      broadcast({ type: 'entries', perSecond, durationMs: injectS * 1000, persons: entrants.length > 0 ? entrants : leavers, seed: a.seed + factor });
      const series: Array<[number, number]> = [];
      let backlogMax = 0;
      let drainS = NaN;
      const drainLimitS = Math.max(10, injectS / 2);
      for (;;) {
        for (const w of workers) w.sample();
        await sleep(500);
        const t = (performance.now() - tPeak) / 1000;
        const depths = workers.flatMap((w) => w.depths);
        const total = depths.reduce((s, d) => s + d, 0);
        backlogMax = Math.max(backlogMax, ...depths);
        series.push([Math.round(t * 10) / 10, total]);
        const injected = workers.every((w) => w.entriesDone);
        if (injected && total === 0) {
          drainS = Math.max(0, t - injectS);
          break;
        }
        if (t > injectS + drainLimitS) break;
      }
      const entryMs: number[] = [];
      let after = mark;
      for (;;) {
        const page = events?.read(after, 5000) ?? { events: [], last: after };
        for (const e of page.events) if (e.event.type === 'entry.granted') entryMs.push(e.receivedAt - e.event.at);
        if (page.last === after) break;
        after = page.last;
      }
      const g = backlogGrows(series, injectS, eventsPerS, drainS, drainLimitS);
      const recorded = workers.reduce((s, w) => s + w.recorded, 0);
      const run: PeakRun = {
        factor, entries: recorded, injectS, eventsPerS,
        entryToHubP50Ms: percentile(entryMs, 50), entryToHubP99Ms: percentile(entryMs, 99), arrived: entryMs.length,
        backlogMax, backlogTotalMax: Math.max(...series.map(([, d]) => d)), slopePerS: g.slopePerS, drainS, growing: g.growing, series,
      };
      peaks.push(run);
      say(`peak x${factor}: ${run.entries} entries in ${injectS.toFixed(0)} s (${eventsPerS.toFixed(0)} events/s); entry to hub p50 ${run.entryToHubP50Ms.toFixed(0)} ms, p99 ${run.entryToHubP99Ms.toFixed(0)} ms (${run.arrived} arrived); outbox max ${backlogMax} at one door, ${run.backlogTotalMax} in all; slope ${g.slopePerS.toFixed(1)} events/s; ${Number.isNaN(drainS) ? 'NOT drained' : `drained ${drainS.toFixed(1)} s after the last entry`}: backlog ${g.growing ? 'GROWS' : 'does not grow'}`);
      say(`  total outbox depth over time (s: events): ${series.filter((_, i) => i % Math.max(1, Math.round(series.length / 16)) === 0).map(([t, d]) => `${t}: ${d}`).join(', ')}`);
      endPhase();
      if (g.growing) break;
    }

    // --- resources and disk --------------------------------------------------------------------------
    clearInterval(sampler);
    const hubCpuS = (cpuMs(hub.pid) - hubCpu0) / 1000;
    const brokerCpuS = (cpuMs(brokerPid) - brokerCpu0) / 1000;
    for (const w of workers) w.send({ type: 'disk' });
    await waitFor(() => workers.every((w) => w.disk !== null), 60_000, 'the terminals\' disk use');
    const disk = workers.flatMap((w) => w.disk ?? []).map((x) => x.bytes);
    const load = load1();
    const heapEnd = await hubHeap();
    say(`hub at the end: rss ${(rssBytes(hub.pid) / MB).toFixed(0)} MB; ${heapSay(heapEnd)}`);
    say(`hub: peak rss ${peak.hub.toFixed(0)} MB, CPU ${hubCpuS.toFixed(1)} s since its start; broker: peak rss ${peak.broker.toFixed(0)} MB, CPU ${brokerCpuS.toFixed(1)} s; terminal on disk p50 ${(percentile(disk, 50) / MB).toFixed(1)} MB, max ${(Math.max(...disk) / MB).toFixed(1)} MB; load ${load}`);
    return {
      terminals: doors.length, residents: a.residents, workers: workers.length, rosterVersion: target,
      initialSyncS, initialSyncP50S: percentile(syncTimes, 50),
      moves: a.moves, revokeMissed: missed,
      revokeP50Ms: percentile(revokeLast, 50), revokeP99Ms: percentile(revokeLast, 99),
      revokeDoorP50Ms: percentile(revokeDoor, 50), revokeDoorP99Ms: percentile(revokeDoor, 99),
      revokeAffectedDoorsP50: percentile(affectedCounts, 50),
      approvalDoorP50Ms: percentile(approvalDoor, 50), approvalDoorP99Ms: percentile(approvalDoor, 99),
      tagP50Ms: percentile(tagMs, 50), tagP99Ms: percentile(tagMs, 99), tagDoors: tags.size,
      peaks,
      hubRssMb: peak.hub, hubRssPublishedMb, hubCpuS,
      hubHeapAfterGcPublishedMb: (heapPublished?.heapAfterMajorGc ?? NaN) / MB, hubHeapAfterGcEndMb: (heapEnd?.heapAfterMajorGc ?? NaN) / MB, brokerRssMb: peak.broker, brokerCpuS, phaseCpu,
      terminalDiskBytesP50: percentile(disk, 50), terminalDiskBytesMax: Math.max(...disk),
      load1: load, work,
    };
  } finally {
    await cleanUp();
  }
}
