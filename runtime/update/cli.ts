/**
 * `doorway update ...`: the update agent from the terminal's own config file.
 *
 *   doorway update verify --config FILE BUNDLE [--arch A]   {"valid","reason","version"}, as install would judge it
 *   doorway update install --config FILE (BUNDLE | --url URL)   the whole install; prints the outcome
 *   doorway update resume --config FILE                      at boot: finish a trial a power cut left open
 *   doorway update status --config FILE                      slots, versions, the last outcome
 *
 * Exit status: 0 valid / committed / nothing to do, 1 refused / rolled back, 2 bad arguments.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { SystemClock, type Clock } from '../../core/clock';
import { InvalidInputError, TerminalError } from '../../core/errors';
import { createLogger, type Logger } from '../../core/log';
import { parseCli, type Command } from '../command-line';
import { loadConfig, updateStateDir, type Config } from '../config';
import { UpdateAgent, type UpdateResult } from './agent';
import { certificateSha256, UpdateRefusedError } from './bundle';
import { ArchSchema, VersionSchema, type Arch } from './manifest';
import { HttpTerminalProbe, type TerminalProbe } from './probe';
import { SystemdServiceManager, type ServiceManager } from './service';
import { Slots } from './slots';

export class UpdateConfigError extends TerminalError {
  readonly code = 'update-config';
}

/** The version of the code running this (its package.json), the installed version before any update. */
export function runningVersion(from = __dirname): string {
  for (let d = from; ; d = dirname(d)) {
    const p = join(d, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'doorway') return VersionSchema.parse(pkg.version);
    }
    if (dirname(d) === d) throw new UpdateConfigError('no package.json of doorway above the running code');
  }
}

export interface AgentParts {
  clock?: Clock;
  log?: Logger;
  service?: ServiceManager;
  probe?: TerminalProbe;
  arch?: Arch;
  baseVersion?: string;
}

/** The agent for a terminal config: its keys, community, slots, health port and unit. */
export function agentFromConfig(config: Config, parts: AgentParts = {}): UpdateAgent {
  const hub = config.hub;
  if (!hub) throw new UpdateConfigError('updates need the hub section: the community CA, the device certificate and the pinned hub key');
  const arch = ArchSchema.safeParse(parts.arch ?? process.arch);
  if (!arch.success) throw new UpdateConfigError(`no bundles are built for ${process.arch}`);
  const u = config.update;
  const clock = parts.clock ?? new SystemClock();
  return new UpdateAgent({
    clock,
    log: parts.log ?? createLogger({ level: config.logging.level }),
    slots: new Slots(u.root),
    stateDir: updateStateDir(config),
    service: parts.service ?? new SystemdServiceManager(u.service),
    probe: parts.probe ?? new HttpTerminalProbe(config.health.host === '0.0.0.0' ? '127.0.0.1' : config.health.host, config.health.port),
    trust: {
      configuredKey: u.publicKeyFile ? createPublicKey(readFileSync(u.publicKeyFile)) : null,
      hubKey: createPublicKey(readFileSync(hub.hubPublicKeyFile)),
      caSha256: certificateSha256(readFileSync(hub.caFile)),
    },
    arch: arch.data,
    baseVersion: parts.baseVersion ?? runningVersion(),
    required: ['loopRunning', 'cameraFresh', 'modelsLoaded', 'rosterLoaded', 'lockOk', 'hubConnected'],
    timing: { gate: u.health, door: u.door, download: u.download },
    tls: { ca: readFileSync(hub.caFile), cert: readFileSync(hub.certFile), key: readFileSync(hub.keyFile) },
  });
}

const USAGE = 'doorway update verify|install|resume|status --config FILE ...';

function resultLine(r: UpdateResult): string {
  return JSON.stringify({ outcome: r.outcome, version: r.version, running: r.running, slot: r.slot, reason: r.reason, detail: r.detail });
}

/** `parts` lets tests give the fake service manager; the command line uses systemd. */
export function updateCommand(parts: AgentParts = {}): Command {
  return async (args, io) => {
    const [sub, ...rest] = args;
    const o = parseCli(`update ${sub ?? ''}`, rest, { config: { type: 'string' }, url: { type: 'string' }, arch: { type: 'string' } },
      z.strictObject({ config: z.string().min(1).optional(), url: z.url().optional(), arch: ArchSchema.optional(), positionals: z.array(z.string()) }));
    if (!o.config) throw new InvalidInputError('update', [`--config FILE is required (${USAGE})`]);
    const config = loadConfig(o.config);
    const agent = (): UpdateAgent => agentFromConfig(config, { ...parts, ...(o.arch ? { arch: o.arch } : {}) });
    switch (sub ?? '') {
      case 'verify': {
        const [file] = o.positionals;
        if (!file || o.positionals.length !== 1) throw new InvalidInputError('update verify', ['give one bundle file']);
        try {
          const v = await agent().verify(file);
          io.out(JSON.stringify({ valid: true, reason: null, version: v.manifest.version }));
          return 0;
        } catch (e) {
          if (!(e instanceof UpdateRefusedError)) throw e;
          io.out(JSON.stringify({ valid: false, reason: e.reason, version: e.version }));
          io.err(`doorway update verify: ${e.message}`);
          return 1;
        }
      }
      case 'install': {
        const [file] = o.positionals;
        if ((file ? 1 : 0) + (o.url ? 1 : 0) !== 1 || o.positionals.length > 1) throw new InvalidInputError('update install', ['give one bundle file or --url URL']);
        const r = o.url ? await agent().installFromUrl(o.url) : await agent().install(file as string);
        io.out(resultLine(r));
        return r.outcome === 'committed' ? 0 : 1;
      }
      case 'resume': {
        const r = await agent().resume();
        io.out(r ? resultLine(r) : JSON.stringify({ outcome: null }));
        return !r || r.outcome === 'committed' ? 0 : 1;
      }
      case 'status': {
        const a = agent();
        const slots = new Slots(config.update.root);
        const current = slots.current();
        io.out(JSON.stringify({ root: config.update.root, current, state: current ? a.currentState() : null, installed: a.target().installed }));
        return 0;
      }
      default:
        throw new InvalidInputError('update', [`expected verify, install, resume or status (${USAGE})`]);
    }
  };
}
