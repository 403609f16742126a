/**
 * How the update agent restarts the terminal and learns whether it crashed: a service manager.
 *
 * - SystemdServiceManager (terminals): `systemctl restart UNIT`, and `systemctl show` for ActiveState,
 *   MainPID and NRestarts (restarts systemd made by itself after a crash, Restart=always).
 * - ProcessServiceManager: a small supervisor that runs the unit's command as a child process and
 *   restarts it when it exits, counting those restarts as systemd does. For machines without systemd
 *   (development, the tests that run several terminals' agents on one machine).
 * - FakeServiceManager: in memory and scriptable (`crash()`, `onRestart`), for unit tests on a fake clock.
 *
 * A crash during a trial shows as a different MainPID or a higher restart count than right after the
 * agent's own restart, or a service that is no longer active.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type { Clock, TimerHandle } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import type { Logger } from '../../core/log';

export class ServiceManagerError extends TerminalError {
  readonly code = 'service-manager';
}

export interface ServiceStatus {
  active: boolean;
  /** The main process id; null when none runs. */
  pid: number | null;
  /** Restarts the manager made by itself (after the process exited), not counting restart() calls. */
  restarts: number;
}

export interface ServiceManager {
  /** Stops the service and starts it again (which runs whatever `current` points at now). */
  restart(): Promise<void>;
  status(): Promise<ServiceStatus>;
}

// ------------------------------------------------------------------------------------------ systemd

export type Exec = (file: string, args: string[]) => Promise<string>;

const execText: Exec = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 180_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new ServiceManagerError(`${file} ${args.join(' ')} failed: ${(stderr || err.message).trim().split('\n').slice(-2).join(' ')}`));
      else resolve(stdout);
    });
  });

export class SystemdServiceManager implements ServiceManager {
  constructor(
    readonly unit: string,
    private readonly exec: Exec = execText,
    private readonly systemctl = 'systemctl',
  ) {
    if (!/^[A-Za-z0-9@._-]+\.service$/.test(unit)) throw new ServiceManagerError(`${unit} is not a service unit name`);
  }

  async restart(): Promise<void> {
    await this.exec(this.systemctl, ['restart', this.unit]);
  }

  async status(): Promise<ServiceStatus> {
    const text = await this.exec(this.systemctl, ['show', this.unit, '--property=ActiveState,MainPID,NRestarts']);
    const props = new Map(
      text
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
    );
    const state = props.get('ActiveState');
    const pid = Number(props.get('MainPID'));
    const restarts = Number(props.get('NRestarts'));
    if (state === undefined || !Number.isInteger(pid) || !Number.isInteger(restarts)) {
      throw new ServiceManagerError(`systemctl show ${this.unit}: unexpected output`);
    }
    return { active: state === 'active' || state === 'reloading', pid: pid > 0 ? pid : null, restarts };
  }
}

// ------------------------------------------------------------------------------------------ fake

/** In-memory service for unit tests: restart() and crash() change the pid; nothing runs. */
export class FakeServiceManager implements ServiceManager {
  private pid = 1000;
  private active = true;
  private restartCount = 0;
  readonly restartCalls: number[] = [];
  /** Called inside restart() (e.g. to make the probe answer for the version now in `current`). */
  onRestart: () => void = () => {};

  constructor(private readonly clock: Clock) {}

  restart(): Promise<void> {
    this.restartCalls.push(this.clock.monotonic());
    this.pid++;
    this.active = true;
    this.onRestart();
    return Promise.resolve();
  }

  status(): Promise<ServiceStatus> {
    return Promise.resolve({ active: this.active, pid: this.active ? this.pid : null, restarts: this.restartCount });
  }

  /** The process died and the manager restarted it (Restart=always). */
  crash(): void {
    this.restartCount++;
    this.pid++;
  }

  /** The process died and stays down. */
  fail(): void {
    this.active = false;
  }
}

// ------------------------------------------------------------------------------------------ processes

export interface ProcessCommand {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/**
 * Runs `command` as a child process like a systemd unit with Restart=always and RestartSec=restartMs:
 * an exit the manager did not ask for is a crash, counted in `restarts`, and the command is started again.
 * The command is re-read at every start (it names ROOT/current/..., resolved by the kernel at exec).
 */
export class ProcessServiceManager implements ServiceManager {
  private child: ChildProcess | null = null;
  private restartCount = 0;
  private stopping = false;
  private pendingStart: TimerHandle | null = null;
  private output = '';

  constructor(
    private readonly command: () => ProcessCommand,
    private readonly clock: Clock,
    private readonly opts: { restartMs: number; stopTimeoutMs: number; log?: Logger },
  ) {}

  /** Starts the service (as systemd does at boot). */
  start(): void {
    this.stopping = false;
    this.spawnChild();
  }

  /** The last 8 KB the service wrote to stdout/stderr (for test failures). */
  log(): string {
    return this.output;
  }

  async restart(): Promise<void> {
    await this.stop();
    this.stopping = false;
    this.spawnChild();
  }

  status(): Promise<ServiceStatus> {
    const c = this.child;
    const running = !!c && c.exitCode === null && c.signalCode === null;
    return Promise.resolve({ active: running, pid: running ? (c.pid ?? null) : null, restarts: this.restartCount });
  }

  /** Stops the service (SIGTERM, then SIGKILL after stopTimeoutMs) and does not restart it. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.pendingStart?.cancel();
    this.pendingStart = null;
    const c = this.child;
    this.child = null;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = this.clock.setTimeout(() => c.kill('SIGKILL'), this.opts.stopTimeoutMs);
      c.once('exit', () => {
        kill.cancel();
        resolve();
      });
      c.kill('SIGTERM');
    });
  }

  private spawnChild(): void {
    const cmd = this.command();
    const c = spawn(cmd.file, cmd.args, { env: cmd.env ?? process.env, cwd: cmd.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-8192);
    };
    c.stdout.on('data', keep);
    c.stderr.on('data', keep);
    c.on('error', (e) => this.opts.log?.warn({ err: e.message }, 'service process could not start'));
    c.on('exit', (code, signal) => {
      if (this.child !== c || this.stopping) return;
      this.opts.log?.warn({ code, signal }, 'service process exited; restarting it');
      this.restartCount++;
      this.child = null;
      this.pendingStart = this.clock.setTimeout(() => {
        this.pendingStart = null;
        if (!this.stopping) this.spawnChild();
      }, this.opts.restartMs);
    });
    this.child = c;
  }
}
