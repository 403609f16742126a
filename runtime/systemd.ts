/**
 * systemd notification (Type=notify, WatchdogSec): READY=1 once the terminal runs, WATCHDOG=1 while the
 * frame loop makes progress. Node has no datagram unix sockets, so the messages go through the
 * `systemd-notify` tool (the unit sets NotifyAccess=all). Without NOTIFY_SOCKET (not under systemd)
 * everything here does nothing.
 */
import { execFile } from 'node:child_process';
import type { Clock, TimerHandle } from '../core/clock';
import type { Logger } from '../core/log';
import { programPath } from '../core/programs';

/** Sends through `systemd-notify` (found by core/programs.ts); a missing tool is logged once, not thrown. */
function systemdNotify(log: Logger): (args: string[]) => void {
  let warned = false;
  return (args) => {
    let path: string;
    try {
      path = programPath('systemd-notify');
    } catch (e) {
      if (!warned) log.warn({ err: (e as Error).message }, 'cannot notify systemd');
      warned = true;
      return;
    }
    execFile(path, args, () => {});
  };
}

export class SystemdNotifier {
  private timer: TimerHandle | null = null;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly send: (args: string[]) => void = systemdNotify(log),
  ) {}

  get enabled(): boolean {
    return !!this.env['NOTIFY_SOCKET'];
  }

  /** WatchdogSec in ms (from WATCHDOG_USEC), or null when the unit has no watchdog. */
  watchdogMs(): number | null {
    const usec = Number(this.env['WATCHDOG_USEC']);
    return this.enabled && Number.isFinite(usec) && usec > 0 ? usec / 1000 : null;
  }

  ready(): void {
    if (this.enabled) this.send(['--ready']);
  }

  /** Pings the watchdog at half its period, but only while `healthy()` says the loop progresses. */
  startWatchdog(healthy: () => boolean): void {
    const ms = this.watchdogMs();
    if (ms === null) return;
    this.timer = this.clock.setInterval(() => {
      if (healthy()) this.send(['WATCHDOG=1']);
      else this.log.warn('frame loop not progressing: withholding the systemd watchdog ping');
    }, Math.max(500, ms / 2));
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    if (this.enabled) this.send(['STOPPING=1']);
  }
}
