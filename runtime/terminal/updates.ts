/**
 * The running terminal's side of updates (runtime/update). The update agent is a process of its own:
 * it leaves its reports (`update.outcome` events) as files, and they go into the outbox at start and
 * every `update.reportPollMs`; a report stays a file until the outbox has taken it. The heartbeat says
 * which version and slot run and what the agent last did. A hub's offer (`update` command) starts the
 * agent on the bundle's URL.
 */
import type { Clock, TimerHandle } from '../../core/clock';
import type { Logger } from '../../core/log';
import type { Health, SyncEvent } from '../protocol/schemas';
import type { TerminalUpdateLink } from './parts';

export interface UpdateReportsDeps {
  clock: Clock;
  log: Logger;
  /** The agent's files (null: they could not be opened, nothing is read). */
  link: TerminalUpdateLink | null;
  /** Stores a report durably or throws (EventRecorder.recordMade). */
  store: (e: SyncEvent) => void;
  pollMs: number;
}

export class UpdateReports {
  private timer: TimerHandle | null = null;
  private readonly log: Logger;

  constructor(private readonly deps: UpdateReportsDeps) {
    this.log = deps.log.child({ module: 'updates' });
  }

  start(): void {
    if (!this.deps.link) return;
    this.drain();
    this.timer = this.deps.clock.setInterval(() => this.drain(), this.deps.pollMs);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** For the heartbeat: the installed bundle, when there is one. */
  heartbeat(): { update?: NonNullable<Health['update']> } {
    try {
      const u = this.deps.link?.heartbeat();
      return u ? { update: u } : {};
    } catch (e) {
      this.log.error({ error: (e as Error).name }, 'update state could not be read');
      return {};
    }
  }

  /** The hub offered a bundle: start the agent (it reports through its own report file). */
  install(version: string, url: string): void {
    const link = this.deps.link;
    if (!link) {
      this.log.warn({ version }, 'update offered but the update files cannot be opened; not installed');
      return;
    }
    this.log.info({ version }, 'update offered: starting the update agent');
    link.install(url).catch((e: unknown) => this.log.error({ version, err: (e as Error).message }, 'update agent not started'));
  }

  drain(): void {
    try {
      const r = this.deps.link?.drain(this.deps.store);
      if (r?.invalid) this.log.warn({ invalid: r.invalid }, 'unreadable update reports discarded');
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'update reports could not be read');
    }
  }
}
