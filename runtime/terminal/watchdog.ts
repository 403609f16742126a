/**
 * Supervision: a frame loop that makes no progress while frames keep arriving is stuck, and the
 * process exits (EXIT_LOOP_STALLED) for its supervisor to restart it; under systemd (Type=notify,
 * WatchdogSec) READY=1 is sent once the terminal runs and WATCHDOG=1 only while the loop progresses.
 * Checked every `health.stallCheckMs` on the injected clock.
 */
import type { Clock, TimerHandle } from '../../core/clock';
import type { Logger } from '../../core/log';
import type { Config } from '../config';
import type { SystemdNotifier } from '../systemd';

/** Exit status when the frame loop is stuck (EX_SOFTWARE): the supervisor restarts the process. */
export const EXIT_LOOP_STALLED = 70;

export interface WatchdogDeps {
  clock: Clock;
  log: Logger;
  health: () => Config['health'];
  /** The frame loop, if face decisions run. */
  loop: () => { stalled(opts: { frameFreshMs: number; stallExitMs: number }): boolean; readonly lastProgress: number } | null;
  systemd: SystemdNotifier;
  /** The loop is stuck: stop what must be stopped and end the process. */
  onStall: (idleMs: number) => void;
}

export class Watchdog {
  private timer: TimerHandle | null = null;
  private fired = false;

  constructor(private readonly deps: WatchdogDeps) {}

  start(): void {
    const { clock, systemd } = this.deps;
    this.timer = clock.setInterval(() => this.check(), this.deps.health().stallCheckMs);
    systemd.ready();
    systemd.startWatchdog(() => {
      const loop = this.deps.loop();
      return !loop || clock.monotonic() - loop.lastProgress < this.deps.health().stallExitMs;
    });
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
    this.deps.systemd.stop();
  }

  private check(): void {
    const loop = this.deps.loop();
    if (!loop || this.fired || !loop.stalled(this.deps.health())) return;
    this.fired = true;
    const idleMs = Math.round(this.deps.clock.monotonic() - loop.lastProgress);
    this.deps.log.fatal({ idleMs }, 'frame loop stalled; exiting for a restart');
    this.deps.onStall(idleMs);
  }
}
