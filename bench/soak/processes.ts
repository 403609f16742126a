/**
 * The soak bench's view of the processes it runs: each started from its command line with its output
 * in a log file (nothing piles up in the bench), stopped by its own pid; and what /proc says about a
 * process from outside (resident memory, open descriptors, children), the same for terminal and hub.
 */
import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';

/** A process of the soak (broker, hub, terminal), its output going to `log`. */
export class Child {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined = undefined;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    readonly log: string,
    opts: { env?: NodeJS.ProcessEnv; ipc?: boolean } = {},
  ) {
    const fd = openSync(log, 'a');
    const spawnOpts: SpawnOptions = { stdio: ['ignore', fd, fd, ...(opts.ipc ? (['ipc'] as const) : [])], env: opts.env ?? process.env };
    this.proc = spawn(command, [...args], spawnOpts);
    closeSync(fd); // the child has its own copy
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        resolve(this.exitCode);
      });
      this.proc.once('error', () => resolve(null));
    });
  }

  get pid(): number {
    const p = this.proc.pid;
    if (p === undefined) throw new Error(`${this.name} did not start`);
    return p;
  }

  running(): boolean {
    return this.exitCode === undefined;
  }

  /** The last lines of its log (for a failure message). */
  tail(lines = 15): string {
    try {
      return readFileSync(this.log, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 20_000): Promise<number | null> {
    if (!this.running()) return this.exited;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Resident set size in bytes, NaN when the process is gone: all of it (VmRSS), or its anonymous part
 * (RssAnon: heap and native allocations; the rest is mapped files such as the models and roster.db).
 */
export function rssBytes(pid: number, field: 'VmRSS' | 'RssAnon' = 'VmRSS'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Open file descriptors, NaN when the process is gone. */
export function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

/** Threads of the process, NaN when it is gone. */
export function threads(pid: number): number {
  try {
    const m = /^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/** Pids of the direct children of `pid` (every thread's children). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        out.push(...readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number));
      } catch {
        // thread gone
      }
    }
  } catch {
    // process gone
  }
  return out;
}

/** The executable name of a process (/proc/<pid>/comm), '' when it is gone. */
export function commandName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Size of a file in bytes; 0 when it does not exist (a WAL file after a clean close). */
export function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The 1-minute load average of this machine. */
export function load1(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

/** CPU time the process has used so far (user + system) in ms, NaN when it is gone. */
export function cpuMs(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/** Linux's USER_HZ (sysconf(_SC_CLK_TCK)), 100 on every architecture it runs on here. */
const CLOCK_TICKS_PER_S = 100;

/** What bench/soak/probe.js, preloaded into a process spawned with `ipc`, answers. */
export interface ProbeAnswer {
  type: 'doorway-soak-sample';
  id: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  heapAfterMajorGc: number;
  majorGcs: number;
  eventLoopP99Ms: number;
  activeResources: number;
}

/** Sends a request to a process's probe and waits for the answer of the same type and id; null when none comes in time. */
export function askChild<A extends { type: string; id: number }>(child: Child, request: { type: A['type']; id: number } & Record<string, unknown>, timeoutMs: number): Promise<A | null> {
  return new Promise((resolveAnswer) => {
    const onMessage = (m: unknown): void => {
      const a = m as A;
      if (a && a.type === request.type && a.id === request.id) finish(a);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    const finish = (a: A | null): void => {
      clearTimeout(timer);
      child.proc.off('message', onMessage);
      resolveAnswer(a);
    };
    child.proc.on('message', onMessage);
    try {
      child.proc.send(request);
    } catch {
      finish(null);
    }
  });
}

/** Asks a process's probe (hub or terminal) for its figures; null when it does not answer in time. */
export function askProbe(child: Child, id: number, timeoutMs = 5000): Promise<ProbeAnswer | null> {
  return askChild<ProbeAnswer>(child, { type: 'doorway-soak-sample', id }, timeoutMs);
}
