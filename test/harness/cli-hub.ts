/**
 * One community with its hub running as `provision hub --http` runs it, for the command line's tests:
 * made by the real `provision init`, real mosquitto on a loopback port, the hub (roster publishing,
 * commands) and its HTTPS API in this process (address recorded in hub/api.json for root), real SQLite,
 * and by default the real face pipeline for enrolment. Operators of each role with API tokens.
 *
 * `cli(env, ...argv)` runs the command line in this process (the exported `run`, as bin/provision.js
 * does) with exactly the credential variables given (the others unset, XDG_CONFIG_HOME an empty folder
 * unless given), capturing stdout and stderr; `bin` spawns the real entry point. One per test file.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../core/clock';
import { silentLogger } from '../../core/log';
import { FacePipeline } from '../../models/pipeline';
import { BrokerProcess, Community } from '../../provisioning';
import { lazyPipelineEnroller, type Enroller } from '../../provisioning/admin/enrol';
import { HubClient } from '../../provisioning/api/client';
import { serveApi } from '../../provisioning/api/endpoint';
import { FakeRealNameCheck } from '../../provisioning/api/realname';
import type { HubApi } from '../../provisioning/api/server';
import { run } from '../../provisioning/cli';
import { startCommunityHub, type CommunityHub } from '../../provisioning/hub/main';
import { freeLoopbackPort } from '../../provisioning/ports';
import { runBin, type BinResult } from './bins';
import { IDENTITIES, NEW_PASSWORD } from './hub-api';
import { treeEntries } from './tree';

export { NEW_PASSWORD };

/** The variables through which the command line finds its credential (all unset unless given). */
const CREDENTIAL_VARS = ['PROVISION_HUB', 'PROVISION_TOKEN', 'PROVISION_CA', 'PROVISION_PASSPHRASE', 'PROVISION_DIR', 'PROVISION_ACTOR', 'PROVISION_PASSWORD', 'PROVISION_NEW_PASSWORD', 'XDG_CONFIG_HOME'] as const;
export type CliEnv = Partial<Record<(typeof CREDENTIAL_VARS)[number], string>>;

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export const OPERATORS = {
  sec: { role: 'security', buildings: [] },
  'mgr-1': { role: 'manager', buildings: ['b-1'] },
  'mgr-2': { role: 'manager', buildings: ['b-2'] },
  aud: { role: 'auditor', buildings: [] },
} as const;
export type Who = 'admin' | keyof typeof OPERATORS;

export interface CliHub {
  root: string;
  dir: string;
  passphrase: string;
  url: string;
  caFile: string;
  community: Community;
  api: HubApi;
  /** The environment of root: the passphrase and the folder. */
  rootEnv: CliEnv;
  /** The environment of an operator's API token. */
  as(who: Who): CliEnv;
  token(who: Who): string;
  cli(env: CliEnv, ...argv: string[]): Promise<CliResult>;
  bin(env: CliEnv, ...argv: string[]): Promise<BinResult>;
  /** The community's state as a command would change it (rows of hub.db, the files but the databases and the broker's). */
  state(): string;
  stop(): Promise<void>;
}

/** The command line run in this process with exactly the credential variables given (also for tests on an API site without a broker). */
export async function inProcess(env: CliEnv, argv: string[], emptyConfig: string): Promise<CliResult> {
  const saved = new Map(CREDENTIAL_VARS.map((k) => [k, process.env[k]]));
  for (const k of CREDENTIAL_VARS) delete process.env[k];
  Object.assign(process.env, { XDG_CONFIG_HOME: emptyConfig }, env);
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** `operators: false`: no operator logins (their argon2 work), for tests that act as root only. */
export async function startCliHub(o: { passphrase?: string; enroller?: Enroller; timeZone?: string; operators?: boolean } = {}): Promise<CliHub> {
  const passphrase = o.passphrase ?? 'cli-hub-passphrase';
  const root = mkdtempSync(join(tmpdir(), 'provision-cli-hub-'));
  const dir = join(root, 'c');
  const emptyConfig = join(root, 'no-login');
  mkdirSync(emptyConfig);
  const rootEnv: CliEnv = { PROVISION_PASSPHRASE: passphrase, PROVISION_DIR: dir };
  const mqttPort = await freeLoopbackPort();
  const init = await inProcess(rootEnv, ['init', '--broker-url', `mqtts://127.0.0.1:${mqttPort}`, '--time-zone', o.timeZone ?? 'Asia/Shanghai', '--admin', 'admin'], emptyConfig);
  if (init.code !== 0) throw new Error(`provision init: ${init.err}`);
  const adminOnce = /one-time password (\S+)/.exec(init.out)?.[1] ?? '';

  const clock = new SystemClock();
  const community = Community.open(dir);
  const broker = new BrokerProcess(community, { listenHost: '127.0.0.1', clock });
  await broker.start();
  let hub: CommunityHub | null = null;
  let api: HubApi | null = null;
  const pipeline = o.enroller ? null : lazyPipelineEnroller(() => FacePipeline.load());
  const enroller = o.enroller ?? pipeline ?? lazyPipelineEnroller(() => FacePipeline.load());
  try {
    hub = await startCommunityHub({ community, passphrase, clock, log: silentLogger(), pollMs: 100 });
    const served = await serveApi({ community, passphrase, clock, log: silentLogger(), realName: new FakeRealNameCheck(IDENTITIES), enroller, host: '127.0.0.1', port: 0 });
    api = served.api;
    const url = served.url;
    const caFile = community.paths.ca.cert;
    const ca = readFileSync(caFile);
    const tokens = new Map<Who, string>();
    const admin = new HubClient({ baseUrl: url, ca });
    if (o.operators !== false) {
      await admin.login('admin', adminOnce);
      await admin.changePassword(adminOnce, NEW_PASSWORD);
      tokens.set('admin', (await admin.createMyToken('tests')).token);
    }
    for (const [id, op] of o.operators === false ? [] : Object.entries(OPERATORS) as Array<[keyof typeof OPERATORS, (typeof OPERATORS)[keyof typeof OPERATORS]]>) {
      const { password } = await admin.operators.add({ id, role: op.role, buildings: [...op.buildings] });
      const c = new HubClient({ baseUrl: url, ca });
      await c.login(id, password);
      await c.changePassword(password, NEW_PASSWORD);
      tokens.set(id, (await c.createMyToken('tests')).token);
    }
    const as = (who: Who): CliEnv => ({ PROVISION_HUB: url, PROVISION_TOKEN: tokens.get(who) ?? '', PROVISION_CA: caFile });
    const stopHub = hub;
    const stopApi = api;
    return {
      root,
      dir,
      passphrase,
      url,
      caFile,
      community,
      api,
      rootEnv,
      as,
      token: (who) => tokens.get(who) ?? '',
      cli: (env, ...argv) => inProcess(env, argv, emptyConfig),
      bin: (env, ...argv) => runBin('provision', argv, Object.fromEntries(Object.entries({ XDG_CONFIG_HOME: emptyConfig, ...env }).filter((e): e is [string, string] => e[1] !== undefined))),
      state: () => {
        const db = community.db;
        const files = treeEntries(root).filter((e) => !/^c\/(broker\/|hub\.db|events\.db)/.test(e));
        // What the running hub does by itself (publishing a change) is not a change by the command.
        const persons = db.persons().map(({ publishedRev: _published, ...p }) => p);
        return JSON.stringify({ files, persons, terminals: db.terminals(), passes: db.passes(), audit: db.auditLog(1_000_000) });
      },
      async stop() {
        await stopApi.close();
        await stopHub.stop();
        await broker.stop();
        await pipeline?.close();
        community.close();
      },
    };
  } catch (e) {
    await api?.close();
    await hub?.stop();
    await broker.stop();
    community.close();
    throw e;
  }
}
