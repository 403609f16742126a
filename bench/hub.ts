/**
 * `npm run bench:hub -- [--residents 40000] [--operators 50] [--seconds 30] [--runs 3] [--approvals 20]
 *                       [--think-ms 500] [--admin-share 0.2] [--seed 15] [--json] [--keep] [--profile]`
 *
 * The hub as the community's service under its daily load. One community on this machine, as deployed:
 *
 *   mosquitto  the community's broker (mutual TLS, ACL from the terminal list), BrokerProcess
 *   hub        `provision hub --http 127.0.0.1:PORT` in its own process (the sources through tsx, as
 *              bin/provision.js runs them without dist/), with its HTTPS API
 *   terminal   bench/hub/terminal.ts in its own process: a terminal's sync side from its bundle
 *              (`addTerminal`), its real encrypted roster and matcher, no camera or models
 *
 * Set-up (not measured): the community (966 buildings, 200 doors with terminals, 683 building managers
 * and some admins as operator accounts with argon2id passwords) and `--residents` residents are written
 * straight through the hub's store (bench/hub/community.ts); the hub publishes them to the doors as it
 * would any approved person, and the terminal takes them in from its sync. Each of the `--operators`
 * operators (managers spread over the community, each limited to their buildings, and admins) logs in
 * through the API and changes its one-time password; half keep their session cookie, half make an API
 * token and use that.
 *
 * Each of `--runs` runs of `--seconds`: every operator in a loop, a pause (exponential, mean
 * `--think-ms`), then a resident search (`q`: a name, part of one, a room, an id) or a list page
 * (`GET /api/residents`, 50 a page; admins browse deeper pages), timed at the operator from request to
 * parsed answer. Meanwhile `--approvals` pending registrations are approved through the API (by the
 * manager of their building), evenly spread over the run: approval-to-roster is from the moment the
 * approval request is sent until the terminal process sees the person in its encrypted roster (the
 * terminal's clock: the same machine's wall clock, sub-ms). Figures: per run p50/p99, printed as the
 * medians over the runs; the hub's peak resident memory; the hub's CPU time per request answered (from
 * /proc: unlike the latencies, it does not grow with the other load on a shared machine); the machine's
 * load average.
 * `--json`: one last line, snake_case keys with their unit. `--keep` keeps the work folder (logs, the
 * community); `--profile` also writes a CPU profile of the hub there (node --cpu-prof).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { SystemClock } from '../core/clock';
import { removeInside } from '../core/fs';
import { addTerminal, BrokerProcess, initCommunity, type Community } from '../provisioning';
import { ApiClientError, HubClient } from '../provisioning/api/client';
import { OperatorAccounts } from '../provisioning/operators/accounts';
import { hashPassword } from '../provisioning/operators/passwords';
import { freeLoopbackPort } from '../provisioning/ports';
import { sleep, waitFor } from '../test/harness/wait';
import { buildingId, communityDoors, MANAGERS, managerBuildings, managerId, seedCommunity, type SeedResult } from './hub/community';
import { rng } from '../test/fixtures/random';
import { figureOf, parseHubBenchArgs, thinkTime, type Figure } from './hub/figures';
import { Child, cpuMs, load1, rssBytes } from './soak/processes';
import { median, percentile, r2 } from './stats';

const ROOT = resolve(__dirname, '..');
const PASSPHRASE = 'hub-bench-passphrase';
const NEW_PASSWORD = 'bench operator password 1';
const TERMINAL_ID = 'gate-1-t1';
const MB = 1024 * 1024;
const say = (s: string): void => void process.stderr.write(`${s}\n`);
const wallNow = (): number => performance.timeOrigin + performance.now();
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

interface Operator {
  id: string;
  role: 'admin' | 'manager';
  buildings: string[];
  via: 'session' | 'token';
  client: HubClient;
}

interface TerminalMessage {
  type: 'roster' | 'seen';
  version?: number;
  templates?: number;
  id?: string;
  at?: number;
}

interface RunResult {
  search: number[];
  list: number[];
  approval: number[];
  errors: number;
  requests: number;
  hubRssMb: number;
  /** CPU time the hub used in the run (all its threads), per request answered. */
  hubCpuMsPerRequest: number;
  load1: number;
}

async function main(): Promise<void> {
  const a = parseHubBenchArgs(process.argv.slice(2));
  const clock = new SystemClock();
  const work = mkdtempSync(join(os.tmpdir(), 'doorway-bench-hub-'));
  const logs = join(work, 'logs');
  mkdirSync(logs);
  const children: Child[] = [];
  let broker: BrokerProcess | null = null;
  let community: Community | null = null;
  const cleanUp = async (): Promise<void> => {
    for (const c of children.reverse()) await c.stop(10_000);
    await broker?.stop();
    community?.close();
    if (!a.keep && !a.profile) removeInside(os.tmpdir(), work);
    else say(`work folder kept: ${work}`);
  };
  process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));
  say(`bench:hub: ${a.residents} residents, ${a.operators} operators, ${a.runs} runs of ${a.seconds} s, ${a.approvals} approvals each; ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, load ${load1()}`);
  try {
    // --- the community -------------------------------------------------------------------------------
    const brokerPort = await freeLoopbackPort();
    const httpPort = await freeLoopbackPort();
    const dir = join(work, 'community');
    const c = initCommunity({ dir, passphrase: PASSPHRASE, name: 'Bench Village', brokerUrl: `mqtts://127.0.0.1:${brokerPort}`, timeZone: 'Asia/Shanghai', actor: 'root', now: clock.now() });
    community = c;
    // Every door's terminal with its bundle and certificate (the bench's terminal is the first gate's).
    const tDoors = performance.now();
    const bundles = join(work, 'bundles');
    for (const d of communityDoors()) addTerminal({ clock, actor: 'root', community: c, store: c.db, passphrase: PASSPHRASE }, { id: d.terminalId, doorId: d.doorId, buildingId: d.buildingId, out: join(bundles, d.terminalId) });
    const bundle = join(bundles, TERMINAL_ID);
    say(`${communityDoors().length} terminals added (certificates from the community CA) in ${secs(performance.now() - tDoors)}`);

    const admins = Math.round(a.operators * a['admin-share']);
    const managers = a.operators - admins;
    const active: Array<Omit<Operator, 'client'>> = [
      ...Array.from({ length: managers }, (_, i) => {
        const m = Math.floor((i * MANAGERS) / managers);
        return { id: managerId(m), role: 'manager' as const, buildings: managerBuildings(m), via: i % 2 === 0 ? ('session' as const) : ('token' as const) };
      }),
      ...Array.from({ length: admins }, (_, i) => ({ id: `admin-${String(i + 1).padStart(2, '0')}`, role: 'admin' as const, buildings: [], via: i % 2 === 0 ? ('token' as const) : ('session' as const) })),
    ];
    // Registrations to approve: in the buildings of the first managers (or anywhere, when only admins read).
    const approvers = active.filter((o) => o.role === 'manager').slice(0, 10);
    const pendingBuildings = approvers.length > 0 ? approvers.map((o) => o.buildings[0] ?? buildingId(0)) : [buildingId(0)];
    say('seeding the community through the store...');
    const seed: SeedResult = seedCommunity(c.db, { residents: a.residents, pending: a.runs * a.approvals + 2, pendingBuildings, now: clock.now(), seed: a.seed });
    say(`  ${seed.residents} residents, ${seed.pending.length} pending registrations in ${secs(seed.ms)}`);
    const t0 = performance.now();
    const accounts = new OperatorAccounts(c.db, clock);
    const passwords = new Map<string, string>();
    for (let i = 0; i < active.length; i += 4) {
      const added = await Promise.all(active.slice(i, i + 4).map((o) => accounts.add({ id: o.id, role: o.role, buildings: o.buildings }, { id: 'root' })));
      for (const x of added) passwords.set(x.operator.id, x.password);
    }
    // The other managers only need to exist (they do not log in): one argon2id hash of a password nobody knows for all of them.
    const unknown = await hashPassword(randomBytes(24).toString('base64url'));
    const bystander = c.db.db.prepare(`INSERT INTO operators (id, role, buildings, password_hash, must_change_password, created_at, created_by, password_changed_at)
      VALUES (?, 'manager', ?, ?, 1, ?, 'root', ?)`);
    c.db.tx(() => {
      for (let m = 0; m < MANAGERS; m++) if (!passwords.has(managerId(m))) bystander.run(managerId(m), JSON.stringify(managerBuildings(m)), unknown, clock.now(), clock.now());
    });
    say(`  ${accounts.count()} operator accounts (${active.length} of them with their own argon2id password) in ${secs(performance.now() - t0)}`);

    // --- broker, hub, terminal -----------------------------------------------------------------------
    broker = new BrokerProcess(c, { listenHost: '127.0.0.1', clock });
    await broker.start();
    const env = { ...process.env, PROVISION_PASSPHRASE: PASSPHRASE, DOORWAY_LOG_LEVEL: 'warn' };
    const tHub = performance.now();
    const profile = a.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(work, 'profile')}`] : [];
    const hub = new Child('hub', process.execPath, [...profile, join(ROOT, 'bin', 'provision.js'), 'hub', '--dir', dir, '--http', `127.0.0.1:${httpPort}`, '--real-name-check', 'off'], join(logs, 'hub.log'), { env });
    children.push(hub);
    await waitFor(() => {
      if (!hub.running()) throw new Error(`the hub exited:\n${hub.tail()}`);
      return /hub API on/.test(hub.tail(40));
    }, 300_000, 'the hub and its API');
    say(`hub running (pid ${hub.pid}) after ${secs(performance.now() - tHub)}`);
    const dirty = c.db.db.prepare('SELECT COUNT(*) AS n FROM persons WHERE rev > published_rev');
    await waitFor(() => (dirty.get() as { n: number }).n === 0, 600_000, 'every resident published');
    say(`  every resident published as roster version ${c.db.rosterVersion()} after ${secs(performance.now() - tHub)}`);

    const tTerm = performance.now();
    const terminal = new Child('terminal', process.execPath, ['--import', 'tsx', join(__dirname, 'hub', 'terminal.ts'), join(bundle, 'terminal.json')], join(logs, 'terminal.log'), { env: { ...process.env, DOORWAY_LOG_LEVEL: 'warn' }, ipc: true });
    children.push(terminal);
    let templates = 0;
    const seen = new Map<string, number>();
    terminal.proc.on('message', (m: TerminalMessage) => {
      if (m.type === 'roster') templates = m.templates ?? 0;
      if (m.type === 'seen' && m.id !== undefined && m.at !== undefined) seen.set(m.id, m.at);
    });
    await waitFor(() => {
      if (!terminal.running()) throw new Error(`the terminal exited:\n${terminal.tail()}`);
      return templates >= 2 * a.residents;
    }, 900_000, 'the terminal holding every resident');
    say(`terminal (pid ${terminal.pid}) holds ${templates} templates after ${secs(performance.now() - tTerm)}`);

    // --- the operators log in ------------------------------------------------------------------------
    const baseUrl = `https://127.0.0.1:${httpPort}`;
    const ca = readFileSync(c.paths.ca.cert, 'utf8');
    const operators: Operator[] = [];
    for (const o of active) {
      const client = new HubClient({ baseUrl, ca });
      const otp = passwords.get(o.id) ?? '';
      await client.login(o.id, otp);
      await client.changePassword(otp, NEW_PASSWORD);
      operators.push({ ...o, client: o.via === 'token' ? new HubClient({ baseUrl, ca, credential: { kind: 'token', token: (await client.createMyToken('bench')).token } }) : client });
    }
    say(`${operators.length} operators logged in (${managers} managers, ${admins} admins; ${operators.filter((o) => o.via === 'token').length} with API tokens)`);

    // --- the runs ------------------------------------------------------------------------------------
    const pending = [...seed.pending];
    const approverOf = (b: string): Operator | undefined => operators.find((o) => o.role === 'manager' && o.buildings.includes(b)) ?? operators.find((o) => o.role === 'admin');
    const runs: RunResult[] = [];
    for (let run = 0; run < a.runs; run++) {
      const r = rng(a.seed * 1000 + run);
      const res: RunResult = { search: [], list: [], approval: [], errors: 0, requests: 0, hubRssMb: 0, hubCpuMsPerRequest: NaN, load1: 0 };
      const cpu0 = cpuMs(hub.pid);
      const end = performance.now() + a.seconds * 1000;
      const timed = async (into: number[], f: () => Promise<unknown>): Promise<void> => {
        const t = performance.now();
        try {
          await f();
          into.push(performance.now() - t);
        } catch (e) {
          if (!(e instanceof ApiClientError)) throw e;
          res.errors += 1;
          if (res.errors <= 3) say(`  error: ${e.message}`);
        }
        res.requests += 1;
      };
      const reader = async (o: Operator): Promise<void> => {
        while (performance.now() < end) {
          await sleep(thinkTime(a['think-ms'], r()));
          if (performance.now() >= end) break;
          const kind = r();
          if (kind < 0.5) {
            const pickOf = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(r() * xs.length)];
            const which = r();
            const name = pickOf(seed.names) ?? '王';
            const q = which < 0.4 ? name : which < 0.6 ? [...name].slice(0, 2).join('') : which < 0.8 ? (pickOf(seed.rooms) ?? '1-101') : (pickOf(seed.ids) ?? 'p-000001');
            await timed(res.search, () => o.client.residents.list({ q }));
          } else {
            // A manager's residents fit in a page or two; an admin browses the community, mostly its first pages.
            const page = o.role === 'manager' ? 1 + Math.floor(r() * 1.5) : 1 + Math.floor(r() ** 3 * (a.residents / 50));
            await timed(res.list, () => o.client.residents.list({ page, pageSize: 50 }));
          }
        }
      };
      const approver = async (): Promise<void> => {
        const every = (a.seconds * 1000) / a.approvals;
        const started = performance.now();
        const waits: Array<Promise<void>> = [];
        for (let k = 0; k < a.approvals; k++) {
          await sleep(Math.max(0, started + k * every + every / 2 - performance.now()));
          const reg = pending.shift();
          const by = reg ? approverOf(reg.buildingId) : undefined;
          if (!reg || !by) break;
          terminal.proc.send({ type: 'watch', id: reg.id });
          const sent = wallNow();
          waits.push(by.client.registrations.approve(reg.id).then(
            () => waitFor(() => seen.has(reg.id), 60_000, `${reg.id} at the terminal`).then(() => void res.approval.push((seen.get(reg.id) ?? NaN) - sent)),
            (e: unknown) => {
              res.errors += 1;
              say(`  approval failed: ${(e as Error).message}`);
            },
          ));
        }
        await Promise.all(waits);
      };
      const sampler = async (): Promise<void> => {
        while (performance.now() < end) {
          res.hubRssMb = Math.max(res.hubRssMb, rssBytes(hub.pid) / MB);
          await sleep(500);
        }
      };
      await Promise.all([...operators.map(reader), approver(), sampler()]);
      res.hubCpuMsPerRequest = (cpuMs(hub.pid) - cpu0) / Math.max(1, res.requests + res.approval.length);
      res.load1 = load1();
      runs.push(res);
      const f = (v: number[]): string => (v.length ? `p50 ${percentile(v, 50).toFixed(1)} ms, p99 ${percentile(v, 99).toFixed(1)} ms (${v.length})` : 'none');
      say(`run ${run + 1}/${a.runs}: search ${f(res.search)}; list ${f(res.list)}; approval to roster ${f(res.approval)}; ${(res.requests / a.seconds).toFixed(0)} requests/s, ${res.errors} errors; hub rss ${res.hubRssMb.toFixed(0)} MB, ${res.hubCpuMsPerRequest.toFixed(2)} ms of hub CPU per request; load ${res.load1}`);
    }

    const search = figureOf(runs.map((x) => x.search));
    const list = figureOf(runs.map((x) => x.list));
    const approval = figureOf(runs.map((x) => x.approval));
    const hubRss = Math.max(...runs.map((x) => x.hubRssMb));
    const hubCpu = median(runs.map((x) => x.hubCpuMsPerRequest));
    const show = (name: string, fig: Figure): void => say(`${name}: p50 ${fig.p50.toFixed(1)} ms, p99 ${fig.p99.toFixed(1)} ms (medians of ${fig.runs.length} runs, ${fig.n} samples)`);
    show('resident search', search);
    show('resident list', list);
    show('approval to the terminal roster', approval);
    const errors = runs.reduce((s, x) => s + x.errors, 0);
    const goals = [
      ['search_p99_ms <= 100', search.p99 <= 100],
      ['list_p99_ms <= 100', list.p99 <= 100],
      ['approval_to_roster_p99_ms <= 2000', approval.p99 <= 2000],
      ['errors == 0', errors === 0],
    ] as const;
    for (const [g, ok] of goals) say(`goal ${g}: ${ok ? 'met' : 'NOT met'}`);
    say(`hub peak rss ${hubRss.toFixed(0)} MB; hub CPU per request ${hubCpu.toFixed(2)} ms (median of the runs, background work included; it hardly grows with the machine's other load); load average (1 min) ${runs.map((x) => x.load1).join(', ')}`);
    if (a.json) {
      process.stdout.write(`${JSON.stringify({
        residents: a.residents,
        operators: a.operators,
        runs: a.runs,
        seconds_per_run: a.seconds,
        think_ms: a['think-ms'],
        search_p50_ms: r2(search.p50),
        search_p99_ms: r2(search.p99),
        list_p50_ms: r2(list.p50),
        list_p99_ms: r2(list.p99),
        approval_to_roster_p50_ms: r2(approval.p50),
        approval_to_roster_p99_ms: r2(approval.p99),
        approvals: approval.n,
        requests_per_s: r2(runs.reduce((s, x) => s + x.requests, 0) / (a.runs * a.seconds)),
        errors,
        hub_rss_mb: r2(hubRss),
        hub_cpu_ms_per_request: r2(hubCpu),
        load1: runs.at(-1)?.load1 ?? NaN,
      })}\n`);
    }
  } finally {
    await cleanUp();
  }
}

main().catch((e: unknown) => {
  say(`bench:hub failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
