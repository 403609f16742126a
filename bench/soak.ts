/**
 * `npm run bench:soak -- [--minutes N] [--warmup-minutes W] [--outage-minutes O] [--json]
 *                        [--sample-seconds S] [--heap-snapshots K] [--alloc-profile] [--keep]`
 * `npm run bench:soak -- --report bench/results/soak-.../samples.csv [--json]`
 *
 * Does a terminal (and the hub) keep its size over a long run? One community on this machine, each part
 * its own process started from its command line as deployed (compiled to dist/ first, as the image
 * ships it, so no TypeScript loader sits in the measured processes):
 *
 *   mosquitto     `provision broker run` (mutual TLS, ACL from the terminal list)
 *   hub           `provision hub` (with bench/soak/probe.js preloaded: the hub serves no metrics, so its
 *                 heap and event-loop delay are read from inside it over an IPC channel)
 *   terminal      `doorway run --config terminal.json`: its bundle from `provision terminal add`, a file
 *                 camera looping a clip in which franck (enrolled with `provision person add` from three
 *                 registry stills, published by the hub) walks up to the door in front of a plaster wall
 *                 every 5 s, the shipped liveness policy, real models and roster, fake relay; its entry
 *                 records go through its outbox to the hub, which stores and acknowledges them.
 *
 * Every S seconds (default 10) from the terminal's start: resident memory and open descriptors of both
 * processes and of the terminal's ffmpeg (/proc), V8 heap used and external memory (array buffers
 * included) and event-loop delay p99 since the previous sample (terminal: its /metrics; hub: the probe),
 * the SQLite files and their WAL files, the terminal's decisions and outbox depth, the machine's load.
 * After the warm-up (W minutes, default 10), N minutes (default 60) are measured: per figure the median
 * of the first and of the last 10 minutes, the least-squares slope per hour, the maximum. Every sample
 * goes to bench/results/soak-<time>/samples.csv as it is taken (not committed; plot it, or print the
 * figures again with --report), the printed figures to report.txt beside it.
 *
 * --outage-minutes O: in the middle of the measured window mosquitto is stopped for O minutes and
 * started again; the outbox rows before, at the peak and once drained back (to the sample period), how
 * long the drain took, and how long after the restart the hub held every entry record made during the
 * outage. `--heap-snapshots K`: K heap snapshots of each
 * process (node --heapsnapshot-signal), from the end of the warm-up to the end, for bench/heap-diff.ts;
 * a snapshot stops a process for seconds and collects its garbage, so figures of such a run are for
 * diagnosis, not for the record. `--alloc-profile`: V8's sampling heap profiler in both processes from
 * the end of the warm-up, keeping only objects that outlive a minor collection; at the end each writes a
 * .heapprofile beside the samples and the top allocation sites are printed (bench/alloc-profile.ts): what
 * fills the old generation between major collections. --keep: keep the work folder (logs, snapshots).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { removeInside } from '../core/fs';
import { defaultModelDir } from '../models/manifest';
import { freeLoopbackPort } from '../provisioning/ports';
import { FRANCK_STILLS, testFile } from '../test/fixtures/photos';
import { keyedPassagesClip } from '../test/harness/clips';
import { sleep } from '../test/harness/wait';
import { askChild, askProbe, childPids, Child, commandName, fileBytes, load1, openFds, rssBytes, threads } from './soak/processes';
import { OutageBook, type OutageSummary } from './soak/outage';
import { CSV_HEADER, parseSamplesCsv, type Sample, sampleCsvRow, windowSamples } from './soak/sample';
import { floors, parsePrometheus, promValue, ratePerMinute, trend, type Trend } from './soak/series';
import { median, r2, wantsJson } from './stats';
import { allocationReport, type SamplingProfile } from './alloc-profile';

const ROOT = resolve(__dirname, '..');
const MB = 1024 * 1024;
const PASSPHRASE = 'soak-bench-passphrase';
const TERMINAL_ID = 'gate-1-t1';
const DOOR_ID = 'gate-1';

const args = process.argv.slice(2);
function num(name: string, dflt: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} takes a number, not ${args[i + 1] ?? '(nothing)'}`);
  return v;
}
const MINUTES = num('minutes', 60);
const WARMUP = num('warmup-minutes', 10);
const OUTAGE = num('outage-minutes', 0);
const SAMPLE_S = num('sample-seconds', 10);
const SNAPSHOTS = num('heap-snapshots', 0);
const KEEP = args.includes('--keep') || SNAPSHOTS > 0;
const ALLOC_PROFILE = args.includes('--alloc-profile');
if (OUTAGE > 0 && OUTAGE >= MINUTES) throw new Error('--outage-minutes must be shorter than --minutes');
if (SNAPSHOTS === 1) throw new Error('--heap-snapshots: 0, or at least 2 to compare');

const say = (s: string): void => void process.stderr.write(`${s}\n`);

/** Compiles the runtime and the provisioning tool into `app/` as the image does (Dockerfile.arm64). */
function buildApp(work: string): string {
  const app = join(work, 'app');
  const t = performance.now();
  const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(app, 'dist')], { encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  // JSON read at run time (models/manifest.json) goes beside the compiled code
  const copyJson = (dir: string): void => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) copyJson(rel);
      else if (e.name.endsWith('.json')) cpSync(join(ROOT, rel), join(app, 'dist', rel));
    }
  };
  for (const d of ['core', 'runtime', 'models', 'drivers', 'provisioning']) copyJson(d);
  cpSync(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
  say(`built the runtime and provision (tsc, dist/) in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  return app;
}

function provisionSync(app: string, env: NodeJS.ProcessEnv, cliArgs: string[]): string {
  const r = spawnSync(process.execPath, [join(app, 'bin', 'provision.js'), ...cliArgs], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`provision ${cliArgs.slice(0, 2).join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

async function fetchText(url: string, timeoutMs = 5000): Promise<{ status: number; text: string } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(os.tmpdir(), 'doorway-soak-'));
  const logs = join(work, 'logs');
  mkdirSync(logs);
  // the samples, for a reviewer to plot (bench/results/ is not committed)
  const results = join(ROOT, 'bench', 'results', `soak-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
  mkdirSync(results, { recursive: true });
  const csvFile = join(results, 'samples.csv');
  say(`soak: ${WARMUP} min warm-up + ${MINUTES} min measured${OUTAGE ? ` with a ${OUTAGE} min broker outage in the middle` : ''}, a sample every ${SAMPLE_S} s; work folder ${work}`);
  const app = buildApp(work);
  const clip = await keyedPassagesClip('plaster', 30, 25, 100); // 1 s of wall, then 4 s of franck: a passage every 5 s

  // --- the community, through `provision` as its IT staff would set it up ---------------------------
  const community = join(work, 'community');
  const bundle = join(work, 'terminal');
  const brokerPort = await freeLoopbackPort();
  const healthPort = await freeLoopbackPort();
  const httpPort = await freeLoopbackPort();
  // root with the passphrase: the commands after init go through the running hub's API (it records its address in the folder)
  const env: NodeJS.ProcessEnv = { ...process.env, PROVISION_PASSPHRASE: PASSPHRASE, DOORWAY_MODEL_DIR: defaultModelDir() };
  provisionSync(app, env, ['init', '--dir', community, '--name', 'Soak Village', '--broker-url', `mqtts://127.0.0.1:${brokerPort}`, '--time-zone', 'Asia/Shanghai']);
  // --- the three processes -------------------------------------------------------------------------
  const heapDir = join(work, 'heap');
  const nodeFlags = (who: string): string[] => {
    if (SNAPSHOTS === 0) return [];
    mkdirSync(join(heapDir, who), { recursive: true });
    return ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${join(heapDir, who)}`];
  };
  const startBroker = async (): Promise<Child> => {
    const b = new Child('broker', process.execPath, [join(app, 'bin', 'provision.js'), 'broker', 'run', '--dir', community, '--listen', '127.0.0.1'], join(logs, 'broker.log'), { env });
    const deadline = performance.now() + 20_000;
    while (!/mosquitto running/.test(b.tail(5))) {
      if (!b.running() || performance.now() > deadline) throw new Error(`the broker did not start:\n${b.tail()}`);
      await sleep(100);
    }
    return b;
  };
  const children: Child[] = [];
  const killAll = (): void => {
    for (const c of children) if (c.running()) c.proc.kill('SIGKILL');
  };
  process.once('exit', killAll);
  const onSignal = (): void => {
    say('interrupted: stopping the terminal, hub and broker');
    killAll();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let broker = await startBroker();
  children.push(broker);
  const probe = ['--require', join(__dirname, 'soak', 'probe.js')];
  const hub = new Child('hub', process.execPath, [...nodeFlags('hub'), ...probe, join(app, 'bin', 'provision.js'), 'hub', '--dir', community, '--http', `127.0.0.1:${httpPort}`], join(logs, 'hub.log'), { env, ipc: true });
  children.push(hub);
  const apiBy = performance.now() + 60_000;
  while (!/hub API on/.test(hub.tail(20))) {
    if (!hub.running() || performance.now() > apiBy) throw new Error(`the hub API did not start:\n${hub.tail()}`);
    await sleep(100);
  }
  provisionSync(app, env, ['terminal', 'add', '--dir', community, '--id', TERMINAL_ID, '--door', DOOR_ID, '--out', bundle]);
  provisionSync(app, env, ['person', 'add', '--dir', community, '--id', 'resident-franck', ...[0, 1, 10].flatMap((i) => ['--photo', testFile(FRANCK_STILLS[i]!)]), '--doors', DOOR_ID]);
  // the installer's edits for this "board": the file camera, no GPIO here, health on a known port
  const configFile = join(bundle, 'terminal.json');
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  config['camera'] = { kind: 'file', input: { kind: 'video', path: clip }, width: 640, height: 480, realtime: true, loop: true };
  config['gpio'] = { ...(config['gpio'] as object), driver: 'fake' };
  mkdirSync(join(work, 'opt-doorway'));
  config['update'] = { ...(config['update'] as object), root: join(work, 'opt-doorway') };
  // a heap snapshot holds the frame loop for seconds: not a stall to restart for
  config['health'] = { port: healthPort, ...(SNAPSHOTS > 0 ? { stallExitMs: 120_000 } : {}) };
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);

  const t0 = performance.now();
  // The environment doorway.service gives the terminal's allocator (MALLOC_ARENA_MAX), as deployed.
  const unit = join(ROOT, 'deploy', 'doorway.service');
  const malloc = unitMallocEnv(unit);
  const terminalEnv = { ...env, ...malloc };
  // ... and node's own flags from its ExecStart= (V8's young generation, fixed).
  const v8Flags = unitNodeFlags(unit);
  say(`terminal settings from deploy/doorway.service: ${[...Object.entries(malloc).map(([k, v]) => `${k}=${v}`), ...v8Flags].join(' ') || 'none'}`);
  const terminal = new Child('terminal', process.execPath, [...v8Flags, ...nodeFlags('terminal'), ...probe, join(app, 'bin', 'doorway.js'), 'run', '--config', configFile], join(logs, 'terminal.log'), { env: terminalEnv, ipc: true });
  children.push(terminal);
  const metricsUrl = `http://127.0.0.1:${healthPort}/metrics`;

  // Ready: every health check passes (camera fresh, roster and models loaded, hub connected).
  const readyBy = performance.now() + 180_000;
  for (;;) {
    const h = await fetchText(`http://127.0.0.1:${healthPort}/healthz`, 2000);
    if (h?.status === 200) break;
    if (!terminal.running()) throw new Error(`doorway run exited:\n${terminal.tail()}`);
    if (!hub.running()) throw new Error(`provision hub exited:\n${hub.tail()}`);
    if (performance.now() > readyBy) throw new Error(`the terminal was not healthy within 180 s: ${h?.text ?? 'no answer'}`);
    await sleep(500);
  }
  say(`terminal healthy after ${((performance.now() - t0) / 1000).toFixed(1)} s (pid ${terminal.pid}); hub pid ${hub.pid}; broker on 127.0.0.1:${brokerPort}`);

  // --- sampling ------------------------------------------------------------------------------------
  const warmupMs = WARMUP * 60_000;
  const endMs = warmupMs + MINUTES * 60_000;
  const book = OutageBook.inMiddle(warmupMs, MINUTES * 60_000, OUTAGE * 60_000);
  const snapshotAt = SNAPSHOTS > 0 ? Array.from({ length: SNAPSHOTS }, (_, i) => warmupMs + (i * (endMs - warmupMs - SAMPLE_S * 1000)) / (SNAPSHOTS - 1)) : [];
  writeFileSync(csvFile, `${CSV_HEADER}\n`);
  const samples: Sample[] = [];
  const wall = { stopped: NaN, restarted: NaN };
  const bundleData = join(bundle, 'data');
  let probeId = 0;
  let lastProgress = 0;
  let profiling = false;

  for (let k = 0; ; k++) {
    const due = t0 + k * SAMPLE_S * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const t = performance.now() - t0;
    if (t > endMs) break;
    for (const c of [terminal, hub]) if (!c.running()) throw new Error(`${c.name} exited during the soak:\n${c.tail()}`);

    const [page, hubProbe, terminalProbe] = await Promise.all([fetchText(metricsUrl), askProbe(hub, ++probeId), askProbe(terminal, ++probeId)]);
    const prom = parsePrometheus(page?.text ?? '');
    const ffmpegs = childPids(terminal.pid).filter((p) => commandName(p) === 'ffmpeg');
    const s: Sample = {
      t,
      phase: t < warmupMs ? 'warmup' : 'soak',
      outage: book.down,
      load1: load1(),
      terminal: {
        rss: rssBytes(terminal.pid) / MB,
        rssAnon: rssBytes(terminal.pid, 'RssAnon') / MB,
        heapUsed: promValue(prom, 'nodejs_heap_size_used_bytes') / MB,
        heapTotal: promValue(prom, 'nodejs_heap_size_total_bytes') / MB,
        heapAfterGc: (terminalProbe?.heapAfterMajorGc ?? NaN) / MB,
        majorGcs: terminalProbe?.majorGcs ?? NaN,
        external: promValue(prom, 'nodejs_external_memory_bytes') / MB,
        fds: openFds(terminal.pid),
        threads: threads(terminal.pid),
        eventLoopP99: promValue(prom, 'nodejs_eventloop_lag_p99_seconds') * 1000,
        activeHandles: promValue(prom, 'nodejs_active_handles_total'),
        decisions: promValue(prom, 'doorway_decisions_total'),
        grants: promValue(prom, 'doorway_decisions_total', { outcome: 'grant' }),
        outbox: promValue(prom, 'doorway_outbox_depth'),
        ffmpegRss: ffmpegs.reduce((sum, p) => sum + rssBytes(p), 0) / MB,
        rosterDb: fileBytes(join(bundleData, 'roster.db')) / MB,
        rosterWal: fileBytes(join(bundleData, 'roster.db-wal')) / MB,
        syncDb: fileBytes(join(bundleData, 'sync.db')) / MB,
        syncWal: fileBytes(join(bundleData, 'sync.db-wal')) / MB,
      },
      hub: {
        rss: rssBytes(hub.pid) / MB,
        rssAnon: rssBytes(hub.pid, 'RssAnon') / MB,
        heapUsed: (hubProbe?.heapUsed ?? NaN) / MB,
        heapTotal: (hubProbe?.heapTotal ?? NaN) / MB,
        heapAfterGc: (hubProbe?.heapAfterMajorGc ?? NaN) / MB,
        majorGcs: hubProbe?.majorGcs ?? NaN,
        external: (hubProbe?.external ?? NaN) / MB,
        arrayBuffers: (hubProbe?.arrayBuffers ?? NaN) / MB,
        fds: openFds(hub.pid),
        threads: threads(hub.pid),
        eventLoopP99: hubProbe?.eventLoopP99Ms ?? NaN,
        activeResources: hubProbe?.activeResources ?? NaN,
        hubDb: fileBytes(join(community, 'hub.db')) / MB,
        hubWal: fileBytes(join(community, 'hub.db-wal')) / MB,
        eventsDb: fileBytes(join(community, 'events.db')) / MB,
        eventsWal: fileBytes(join(community, 'events.db-wal')) / MB,
      },
    };
    samples.push(s);
    writeFileSync(csvFile, `${sampleCsvRow(s)}\n`, { flag: 'a' });

    // the outage: stopped right after a sample (whose outbox depth is "before"), started again later
    const drainedBefore = book.summary()?.drained ?? false;
    const action = book.observe(t, s.terminal.outbox);
    if (!drainedBefore && book.summary()?.drained) say(`outage: outbox back to ${s.terminal.outbox} rows at ${(t / 60_000).toFixed(1)} min`);
    if (action === 'stop-broker') {
      say(`outage: stopping mosquitto at ${(t / 60_000).toFixed(1)} min (outbox ${s.terminal.outbox} rows)`);
      await broker.stop();
      book.stopped(performance.now() - t0);
      wall.stopped = Date.now();
    } else if (action === 'start-broker') {
      broker = await startBroker();
      children.push(broker);
      book.restarted(performance.now() - t0);
      wall.restarted = Date.now();
      say(`outage: mosquitto started again at ${((performance.now() - t0) / 60_000).toFixed(1)} min (outbox ${s.terminal.outbox} rows)`);
    }
    if (ALLOC_PROFILE && !profiling && t >= warmupMs) {
      profiling = true;
      for (const c of [terminal, hub]) c.proc.send({ type: 'doorway-soak-alloc-start' });
      say(`allocation sampling started in both processes at ${(t / 60_000).toFixed(1)} min`);
    }
    if (snapshotAt.length > 0 && t >= (snapshotAt[0] as number)) {
      snapshotAt.shift();
      say(`heap snapshot ${SNAPSHOTS - snapshotAt.length} of ${SNAPSHOTS} at ${(t / 60_000).toFixed(1)} min`);
      terminal.proc.kill('SIGUSR2');
      hub.proc.kill('SIGUSR2');
    }
    if (t - lastProgress >= 5 * 60_000) {
      lastProgress = t;
      say(`${(t / 60_000).toFixed(0).padStart(3)} min  terminal RSS ${s.terminal.rss.toFixed(1)} MB heap ${s.terminal.heapUsed.toFixed(1)} MB fds ${s.terminal.fds} decisions ${s.terminal.decisions} outbox ${s.terminal.outbox} | hub RSS ${s.hub.rss.toFixed(1)} MB heap ${s.hub.heapUsed.toFixed(1)} MB fds ${s.hub.fds} | load ${s.load1}`);
    }
  }

  // a process writing a heap snapshot answers nothing until the file is complete: wait for both to answer
  // before stopping them (a stop during the write would leave an empty file)
  if (SNAPSHOTS > 0) {
    say('waiting for the last heap snapshots to be written');
    await Promise.all([fetchText(metricsUrl, 300_000), askProbe(hub, ++probeId, 300_000)]);
  }

  const profiles: Array<{ name: string; file: string }> = [];
  if (profiling) {
    for (const c of [terminal, hub]) {
      const file = join(results, `${c.name}.heapprofile`);
      const a = await askChild<{ type: 'doorway-soak-alloc-profile'; id: number; error: string | null }>(c, { type: 'doorway-soak-alloc-profile', id: ++probeId, file }, 120_000);
      if (a && a.error === null) profiles.push({ name: c.name, file });
      else say(`no allocation profile from the ${c.name}: ${a?.error ?? 'no answer'}`);
    }
  }

  // --- stop: terminal first (it flushes its outbox to the hub), then the hub and the broker ------------
  const terminalExit = await terminal.stop();
  const hubExit = await hub.stop();
  await broker.stop();
  if (terminalExit !== 0 || hubExit !== 0) say(`warning: exit status terminal ${terminalExit}, hub ${hubExit}`);
  const events = new Database(join(community, 'events.db'), { readonly: true });
  const atHub = events.prepare("SELECT count(*) AS n FROM events WHERE terminal_id = ? AND type IN ('entry.granted', 'entry.denied')").get(TERMINAL_ID) as { n: number };
  const outageEvents = Number.isFinite(wall.stopped)
    ? (events.prepare('SELECT count(*) AS n, max(received_at) AS last FROM events WHERE terminal_id = ? AND at >= ? AND at < ?').get(TERMINAL_ID, wall.stopped, Number.isFinite(wall.restarted) ? wall.restarted : Date.now()) as { n: number; last: number | null })
    : null;
  events.close();

  const outage = book.summary();
  const printed = report({
    samples,
    outage,
    atHub: atHub.n,
    outageEvents: outageEvents && { n: outageEvents.n, atHubAfterS: outageEvents.last !== null && Number.isFinite(wall.restarted) ? (outageEvents.last - wall.restarted) / 1000 : NaN },
  });
  for (const p of profiles) {
    const lines = ['', ...allocationReport(`${p.name} (${p.file})`, JSON.parse(readFileSync(p.file, 'utf8')) as SamplingProfile)];
    for (const line of lines) say(line);
    printed.push(...lines);
  }
  writeFileSync(join(results, 'report.txt'), `${printed.join('\n')}\n`);
  say(`samples: ${csvFile}`);
  if (KEEP) say(`work folder kept: ${work} (logs/${SNAPSHOTS > 0 ? ', heap/' : ''})`);
  else removeInside(os.tmpdir(), work);
}

/** A number for the JSON line: two decimals, null when there is none (JSON has no NaN). */
const j2 = (v: number): number | null => (Number.isFinite(v) ? r2(v) : null);

/**
 * Prints the figures of a run (and returns the lines, for report.txt): samples after the warm-up only,
 * time counted from the first of them. Also used by `--report samples.csv`, without the hub's count.
 */
function report(r: { samples: Sample[]; outage: OutageSummary | null; atHub: number | null; outageEvents: { n: number; atHubAfterS: number } | null }): string[] {
  const out: string[] = [];
  const print = (line: string): void => {
    out.push(line);
    console.log(line);
  };
  const soak = r.samples.filter((s) => s.phase === 'soak');
  if (soak.length < 2) throw new Error('fewer than two samples after the warm-up: nothing to measure');
  const warmupMs = (soak[0] as Sample).t;
  const at = soak.map((s) => s.t - warmupMs);
  const minutes = ((at[at.length - 1] as number) - (at[0] as number)) / 60_000;
  const edge = Math.min(10, minutes / 4) * 60_000;
  const tr = (f: (s: Sample) => number): Trend => trend(at, soak.map(f), edge);
  // the heap after collections: the lowest sample of each 5 minutes (at least 4 windows)
  const floorMs = Math.min(5 * 60_000, ((at[at.length - 1] as number) - (at[0] as number)) / 4);
  const floorTrend = (f: (s: Sample) => number): Trend => {
    const fl = floors(at, soak.map(f), floorMs);
    return trend(fl.at, fl.values, edge);
  };
  const T = {
    rss: tr((s) => s.terminal.rss),
    rssAnon: tr((s) => s.terminal.rssAnon),
    heap: tr((s) => s.terminal.heapUsed),
    heapFloor: floorTrend((s) => s.terminal.heapUsed),
    heapAfterGc: tr((s) => s.terminal.heapAfterGc),
    majorGcs: tr((s) => s.terminal.majorGcs),
    external: tr((s) => s.terminal.external),
    // what RSS is besides buffers awaiting collection: flat while the growth is only dead buffers
    rssLessExternal: tr((s) => s.terminal.rss - s.terminal.external),
    // memory outside V8's heap (native: addons, SQLite, malloc): flat while RSS only follows the heap
    anonLessHeap: tr((s) => s.terminal.rssAnon - s.terminal.heapTotal),
    fds: tr((s) => s.terminal.fds),
    threads: tr((s) => s.terminal.threads),
    handles: tr((s) => s.terminal.activeHandles),
    loopDelay: tr((s) => s.terminal.eventLoopP99),
    ffmpeg: tr((s) => s.terminal.ffmpegRss),
    rosterDb: tr((s) => s.terminal.rosterDb),
    syncDb: tr((s) => s.terminal.syncDb),
    wal: tr((s) => s.terminal.rosterWal + s.terminal.syncWal),
    outbox: tr((s) => s.terminal.outbox),
  };
  const H = {
    rss: tr((s) => s.hub.rss),
    rssAnon: tr((s) => s.hub.rssAnon),
    anonLessHeap: tr((s) => s.hub.rssAnon - s.hub.heapTotal),
    heap: tr((s) => s.hub.heapUsed),
    heapFloor: floorTrend((s) => s.hub.heapUsed),
    heapAfterGc: tr((s) => s.hub.heapAfterGc),
    majorGcs: tr((s) => s.hub.majorGcs),
    external: tr((s) => s.hub.external),
    fds: tr((s) => s.hub.fds),
    threads: tr((s) => s.hub.threads),
    handles: tr((s) => s.hub.activeResources),
    loopDelay: tr((s) => s.hub.eventLoopP99),
    hubDb: tr((s) => s.hub.hubDb),
    eventsDb: tr((s) => s.hub.eventsDb),
    wal: tr((s) => s.hub.hubWal + s.hub.eventsWal),
  };
  // major collections during the measured window (the probe counts from the process's start)
  const majorGcsIn = (f: (s: Sample) => number): number => f(soak[soak.length - 1] as Sample) - f(soak[0] as Sample);
  const decisionsPerMinute = ratePerMinute(at, soak.map((s) => s.terminal.decisions));
  const grantsPerMinute = ratePerMinute(at, soak.map((s) => s.terminal.grants));
  const loads = soak.map((s) => s.load1);
  const lastDecisions = soak[soak.length - 1]?.terminal.decisions ?? NaN;
  const o = r.outage;

  const cpu = os.cpus();
  print(`machine: ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB; node ${process.version}; load (1 min) during the measured window: median ${r2(median(loads))}, max ${r2(Math.max(...loads))}`);
  print(`measured ${r2(minutes)} min after a ${r2(warmupMs / 60_000)} min warm-up, ${soak.length} samples; decisions ${r2(decisionsPerMinute)}/min (grants ${r2(grantsPerMinute)}/min); terminal decisions counted ${lastDecisions}${r.atHub !== null ? `, entry records at the hub ${r.atHub}` : ''}`);
  const f = (v: number, d = 1): string => (Number.isFinite(v) ? v.toFixed(d) : '-');
  const row = (name: string, x: Trend, d = 1): string => `| ${name} | ${f(x.first, d)} | ${f(x.last, d)} | ${f(x.perHour, 2)} | ${f(x.max, d)} |`;
  const head = (who: string): string => `| ${who} | first ${r2(edge / 60_000)} min (median) | last ${r2(edge / 60_000)} min (median) | slope per hour | max |\n|---|---|---|---|---|`;
  print(['', head('terminal (doorway run)'),
    row('RSS, MB', T.rss), row('RSS anonymous (no mapped files), MB', T.rssAnon), row('V8 heap used, MB', T.heap), row(`V8 heap used, lowest per ${r2(floorMs / 60_000)} min, MB`, T.heapFloor), row('V8 heap after the last major GC, MB', T.heapAfterGc), row('major GCs since start', T.majorGcs, 0), row('external + array buffers, MB', T.external), row('RSS minus external, MB', T.rssLessExternal), row('RSS anonymous minus V8 heap total, MB', T.anonLessHeap), row('open fds', T.fds, 0), row('threads', T.threads, 0),
    row('active handles', T.handles, 0), row('event-loop delay p99, ms', T.loopDelay), row('ffmpeg RSS, MB', T.ffmpeg), row('roster.db, MB', T.rosterDb, 3), row('sync.db (outbox), MB', T.syncDb, 3),
    row('WAL files (roster + sync), MB', T.wal, 3), row('outbox rows', T.outbox, 0)].join('\n'));
  print(['', head('hub (provision hub)'),
    row('RSS, MB', H.rss), row('RSS anonymous (no mapped files), MB', H.rssAnon), row('V8 heap used, MB', H.heap), row(`V8 heap used, lowest per ${r2(floorMs / 60_000)} min, MB`, H.heapFloor), row('V8 heap after the last major GC, MB', H.heapAfterGc), row('RSS anonymous minus V8 heap total, MB', H.anonLessHeap), row('major GCs since start', H.majorGcs, 0), row('external + array buffers, MB', H.external), row('open fds', H.fds, 0), row('threads', H.threads, 0),
    row('active resources', H.handles, 0), row('event-loop delay p99, ms', H.loopDelay), row('hub.db, MB', H.hubDb, 3), row('events.db, MB', H.eventsDb, 3),
    row('WAL files (hub + events), MB', H.wal, 3)].join('\n'));
  if (o) {
    print(`\nbroker outage ${f(o.downMs / 60_000, 2)} min: outbox ${o.rowsBefore} rows before, ${o.rowsPeak} at the peak, ` +
      (o.drained ? `${o.rowsAfter} ${f(o.drainMs / 1000, 0)} s after mosquitto restarted (to the ${SAMPLE_S} s sample period)` : 'NOT back to its size before by the end') +
      (r.outageEvents ? `; ${r.outageEvents.n} entry records made during the outage, the last of them at the hub ${f(r.outageEvents.atHubAfterS)} s after the restart (reconnect backoff included)` : ''));
  }
  const peaks = (x: Trend): string => `${f(x.peakFirst)} MB in the first ${r2(edge / 60_000)} min, ${f(x.peakLast)} MB in the last (${f(x.peakLast - x.peakFirst)} MB)`;
  print(`\nresident memory's highest: terminal ${peaks(T.rss)}; hub ${peaks(H.rss)}`);
  const goal = [T.rss, T.heap, H.rss, H.heap].every((x) => x.perHour <= 1);
  print(`\ngoal (RSS and heap slopes <= 1 MB/h for both processes): ${goal ? 'met' : 'NOT met'}`);
  if (wantsJson()) {
    print(JSON.stringify({
      minutes: j2(minutes),
      warmup_minutes: j2(warmupMs / 60_000),
      samples: soak.length,
      terminal_rss_mb_first: j2(T.rss.first), terminal_rss_mb_last: j2(T.rss.last), terminal_rss_mb_per_hour: j2(T.rss.perHour),
      terminal_rss_anon_mb_per_hour: j2(T.rssAnon.perHour),
      terminal_rss_mb_peak_growth: j2(T.rss.peakLast - T.rss.peakFirst),
      terminal_heap_mb_first: j2(T.heap.first), terminal_heap_mb_last: j2(T.heap.last), terminal_heap_mb_per_hour: j2(T.heap.perHour),
      terminal_heap_floor_mb_per_hour: j2(T.heapFloor.perHour),
      terminal_heap_after_gc_mb_per_hour: j2(T.heapAfterGc.perHour), terminal_major_gcs: j2(majorGcsIn((s) => s.terminal.majorGcs)),
      terminal_external_mb_per_hour: j2(T.external.perHour),
      terminal_rss_minus_external_mb_per_hour: j2(T.rssLessExternal.perHour),
      terminal_fds_max: j2(T.fds.max), terminal_fds_per_hour: j2(T.fds.perHour),
      terminal_active_handles_max: j2(T.handles.max),
      terminal_ffmpeg_rss_mb_per_hour: j2(T.ffmpeg.perHour),
      terminal_wal_mb_max: j2(T.wal.max), terminal_wal_mb_per_hour: j2(T.wal.perHour),
      terminal_sync_db_mb_max: j2(T.syncDb.max), terminal_roster_db_mb_max: j2(T.rosterDb.max),
      terminal_loop_delay_p99_ms_median: j2(T.loopDelay.median), terminal_loop_delay_p99_ms_slope_per_hour: j2(T.loopDelay.perHour),
      hub_rss_mb_first: j2(H.rss.first), hub_rss_mb_last: j2(H.rss.last), hub_rss_mb_per_hour: j2(H.rss.perHour),
      hub_rss_anon_mb_per_hour: j2(H.rssAnon.perHour),
      hub_rss_mb_peak_growth: j2(H.rss.peakLast - H.rss.peakFirst),
      hub_heap_mb_first: j2(H.heap.first), hub_heap_mb_last: j2(H.heap.last), hub_heap_mb_per_hour: j2(H.heap.perHour),
      hub_heap_floor_mb_per_hour: j2(H.heapFloor.perHour),
      hub_heap_after_gc_mb_per_hour: j2(H.heapAfterGc.perHour), hub_major_gcs: j2(majorGcsIn((s) => s.hub.majorGcs)),
      hub_events_db_mb_last: j2(H.eventsDb.last),
      hub_external_mb_per_hour: j2(H.external.perHour),
      hub_fds_max: j2(H.fds.max), hub_fds_per_hour: j2(H.fds.perHour),
      hub_wal_mb_max: j2(H.wal.max), hub_wal_mb_per_hour: j2(H.wal.perHour),
      hub_events_db_mb_per_hour: j2(H.eventsDb.perHour),
      hub_loop_delay_p99_ms_median: j2(H.loopDelay.median), hub_loop_delay_p99_ms_slope_per_hour: j2(H.loopDelay.perHour),
      decisions_per_minute: j2(decisionsPerMinute), grants_per_minute: j2(grantsPerMinute),
      terminal_decisions: j2(lastDecisions),
      ...(r.atHub !== null ? { entry_records_at_hub: r.atHub } : {}),
      ...(o
        ? {
            outage_minutes: j2(o.downMs / 60_000),
            outbox_rows_before: j2(o.rowsBefore), outbox_rows_peak: j2(o.rowsPeak), outbox_rows_after: j2(o.rowsAfter), outbox_drain_s: j2(o.drainMs / 1000),
            ...(r.outageEvents ? { outage_entry_records: r.outageEvents.n, outage_records_at_hub_after_s: j2(r.outageEvents.atHubAfterS) } : {}),
          }
        : {}),
      load_1m_median: j2(median(loads)), load_1m_max: j2(Math.max(...loads)),
      goal_met: goal,
    }));
  }
  return out;
}

/**
 * `--report samples.csv [--from-minute A] [--to-minute B]`: the figures of an earlier run again, from its
 * CSV (no processes started), of all of it or of minutes A to B after its warm-up.
 */
function reportFromCsv(file: string): void {
  const all = parseSamplesCsv(readFileSync(file, 'utf8'));
  const from = num('from-minute', 0);
  const to = num('to-minute', Infinity);
  const samples = windowSamples(all, from, to); // all of them when no window is asked for
  if (from > 0 || to < Infinity) say(`minutes ${from} to ${to === Infinity ? 'the end' : to} after the warm-up`);
  const outage = OutageBook.replay(samples.map((s) => ({ t: s.t, depth: s.terminal.outbox, down: s.outage })));
  report({ samples, outage, atHub: null, outageEvents: null });
}

const reportFile = args.includes('--report') ? args[args.indexOf('--report') + 1] : undefined;
(reportFile !== undefined ? Promise.resolve().then(() => reportFromCsv(reportFile)) : main()).catch((e: unknown) => {
  say(`bench:soak failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});

/** The flags a systemd unit's ExecStart= gives node before the script (`/usr/bin/node --flag ... script.js`). */
function unitNodeFlags(unitFile: string): string[] {
  const line = readFileSync(unitFile, 'utf8').split('\n').find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error(`${unitFile} has no ExecStart=`);
  const words = line.slice('ExecStart='.length).trim().split(/\s+/);
  const flags: string[] = [];
  for (const w of words.slice(1)) {
    if (!w.startsWith('--')) break;
    flags.push(w);
  }
  return flags;
}

/** The MALLOC_* variables of a systemd unit's Environment= lines (the allocator settings the terminal runs with). */
function unitMallocEnv(unitFile: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(unitFile, 'utf8').split('\n')) {
    const m = /^Environment=(.*)$/.exec(line.trim());
    if (!m) continue;
    for (const pair of (m[1] as string).split(/\s+/)) {
      const [k, v] = pair.split('=', 2);
      if (k && v !== undefined && k.startsWith('MALLOC_')) out[k] = v;
    }
  }
  return out;
}
