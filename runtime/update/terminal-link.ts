/**
 * The running terminal's side of updates, kept to two small jobs so the terminal process does not
 * depend on the agent: put the agent's reports (update.outcome events dropped as files) into the
 * terminal's outbox, and say in the heartbeat which version and slot run and what the agent last did;
 * and, when the hub offers a bundle, start the agent (launcher.ts) without waiting for it.
 */
import type { Health, SyncEvent } from '../protocol/schemas';
import { UpdateLaunchError, type UpdateLauncher } from './launcher';
import { Slots } from './slots';
import { UpdateReports, UpdateStateStore } from './state';
import { join } from 'node:path';

export type HeartbeatUpdate = NonNullable<Health['update']>;

export class UpdateLink {
  private readonly reports: UpdateReports;
  private readonly state: UpdateStateStore;
  private readonly slots: Slots;

  constructor(
    stateDir: string,
    root: string,
    /** Starts the agent for an offered bundle (null: offers are refused, e.g. no config file to hand it). */
    private readonly launcher: UpdateLauncher | null = null,
  ) {
    this.reports = new UpdateReports(join(stateDir, 'reports'));
    this.state = new UpdateStateStore(stateDir);
    this.slots = new Slots(root);
  }

  /** Moves every pending report into `store` (the outbox); a report `store` throws on stays for next time. */
  drain(store: (e: SyncEvent) => void): { recorded: number; invalid: number } {
    return this.reports.drain(store);
  }

  /** Starts the agent on the bundle at `url` (the hub's offer); rejects when it cannot be started. */
  install(url: string): Promise<void> {
    if (!this.launcher) return Promise.reject(new UpdateLaunchError('this terminal cannot start its update agent (no launcher)'));
    return this.launcher.launch(url);
  }

  /** For the heartbeat; null when this terminal does not run from the slot layout and has no update record. */
  heartbeat(): HeartbeatUpdate | null {
    let slot: 'a' | 'b' | null = null;
    try {
      slot = this.slots.current();
    } catch {
      slot = null;
    }
    let s;
    try {
      s = this.state.read();
    } catch {
      s = null;
    }
    if (!s && slot === null) return null;
    const state: HeartbeatUpdate['state'] = s?.trial ? 'trial' : (s?.last?.outcome ?? 'idle');
    return { version: slot && s ? (s.slots[slot]?.version ?? null) : null, slot, state };
  }
}
