/**
 * Reaching every broker that serves a community after its CRL or ACL changed, whoever started it
 * (`provision broker run`, systemd, an installer by hand, a test harness):
 *
 * 1. mosquitto processes on this community's configuration get SIGHUP, which makes them re-read the
 *    ACL and the CRL. They are found by the pid file mosquitto writes itself (`pid_file` in the
 *    generated configuration), the pid file older builds of `provision broker run` wrote, and a scan
 *    of /proc for mosquitto processes whose configuration file (`-c FILE`) is this community's or
 *    names its ACL or CRL (a system mosquitto whose configuration includes ours). Every candidate is
 *    checked in /proc before it is signalled, so a stale pid file never signals another process.
 * 2. A reload hook: `broker/reload-hook` in the community folder, when present and executable, is run
 *    (for a broker this host cannot signal: `systemctl reload mosquitto`, a container, another host).
 *
 * The in-process broker (provisioning/inproc-broker.ts) needs neither: it watches the CRL and the
 * terminal list itself.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import type { Community } from './community';

export interface BrokerReloadResult {
  /** What was reached: `mosquitto pid N` for each signalled process, `hook` when the hook ran. */
  reached: string[];
  /** What could not be done (a hook that failed, a process that could not be signalled). */
  problems: string[];
}

export interface BrokerReloadOptions {
  /** Where processes are looked up (default /proc; tests may point elsewhere). */
  procRoot?: string;
  /** Sends the signal (default process.kill); tests may record instead. */
  signal?: (pid: number) => void;
}

/** Where a community's broker files are. */
export function brokerFilePaths(c: Community): { conf: string; acl: string; pidFile: string; legacyPidFile: string; hook: string } {
  const dir = c.paths.brokerDir;
  return {
    conf: join(dir, 'mosquitto.conf'),
    acl: join(dir, 'acl'),
    pidFile: join(dir, 'mosquitto.pid'),
    legacyPidFile: join(dir, 'broker.pid'),
    hook: join(dir, 'reload-hook'),
  };
}

/** SIGHUP to every mosquitto on this community's configuration, then the reload hook if there is one. */
export function reloadBrokers(c: Community, opts: BrokerReloadOptions = {}): BrokerReloadResult {
  const procRoot = opts.procRoot ?? '/proc';
  const f = brokerFilePaths(c);
  const reached: string[] = [];
  const problems: string[] = [];
  const ours = new Set([f.conf, f.acl, c.paths.ca.crl].map(real));
  const pids = new Set<number>([...pidFrom(f.pidFile), ...pidFrom(f.legacyPidFile), ...mosquittoPids(procRoot)]);
  for (const pid of pids) {
    const conf = mosquittoConfig(procRoot, pid);
    if (conf === null || !servesUs(conf, ours)) continue;
    try {
      (opts.signal ?? ((p: number) => process.kill(p, 'SIGHUP')))(pid);
      reached.push(`mosquitto pid ${pid}`);
    } catch (e) {
      problems.push(`mosquitto pid ${pid}: ${(e as Error).message}`);
    }
  }
  if (existsSync(f.hook)) {
    try {
      accessSync(f.hook, constants.X_OK);
      execFileSync(f.hook, [], { timeout: 10_000, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DOORWAY_BROKER_DIR: c.paths.brokerDir } });
      reached.push('hook');
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      problems.push(`reload hook ${f.hook}: ${err.stderr?.toString().trim().split('\n').pop() ?? err.message}`);
    }
  }
  return { reached, problems };
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

function pidFrom(file: string): number[] {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? [pid] : [];
  } catch {
    return [];
  }
}

/** Pids of processes whose program is mosquitto. */
function mosquittoPids(procRoot: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return [];
  }
  return entries.filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => basename(argv(procRoot, pid)?.[0] ?? '') === 'mosquitto');
}

function argv(procRoot: string, pid: number): string[] | null {
  try {
    return readFileSync(join(procRoot, String(pid), 'cmdline'), 'utf8').split('\0').filter((a) => a.length > 0);
  } catch {
    return null;
  }
}

/** The absolute configuration file of mosquitto process `pid`, or null when it is not mosquitto (or gone). */
function mosquittoConfig(procRoot: string, pid: number): string | null {
  const a = argv(procRoot, pid);
  if (!a || basename(a[0] ?? '') !== 'mosquitto') return null;
  const i = a.findIndex((x) => x === '-c' || x === '--config-file');
  const file = i >= 0 ? a[i + 1] : undefined;
  if (file === undefined) return null;
  if (isAbsolute(file)) return real(file);
  try {
    return real(resolve(readlinkSync(join(procRoot, String(pid), 'cwd')), file));
  } catch {
    return null;
  }
}

/** The configuration is ours, or names our ACL or CRL (itself or in a file of an include_dir). */
function servesUs(conf: string, ours: Set<string>): boolean {
  if (ours.has(conf)) return true;
  const texts: string[] = [];
  try {
    const text = readFileSync(conf, 'utf8');
    texts.push(text);
    for (const m of text.matchAll(/^\s*include_dir\s+(\S+)/gm)) {
      const dir = m[1] ?? '';
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (f.endsWith('.conf') && statSync(p).isFile()) texts.push(readFileSync(p, 'utf8'));
      }
    }
  } catch {
    // unreadable: not provably ours
  }
  return texts.some((t) => [...t.matchAll(/^\s*(acl_file|crlfile)\s+(\S+)/gm)].some((m) => ours.has(real(m[2] ?? ''))));
}
