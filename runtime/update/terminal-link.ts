/**
 * The running terminal's side of updates, kept to two small jobs so the terminal process does not
 * depend on the agent: put the agent's reports (update.outcome events dropped as files) into the
 * terminal's outbox, and say in the heartbeat which version and slot run and what the agent last did.
 */
import type { Health, SyncEvent } from '../protocol/schemas';
import { Slots } from './slots';
import { UpdateReports, UpdateStateStore } from './state';
import { join } from 'node:path';

export type HeartbeatUpdate = NonNullable<Health['update']>;

export class UpdateLink {
  private readonly reports: UpdateReports;
  private readonly state: UpdateStateStore;
  private readonly slots: Slots;

  constructor(stateDir: string, root: string) {
    this.reports = new UpdateReports(join(stateDir, 'reports'));
    this.state = new UpdateStateStore(stateDir);
    this.slots = new Slots(root);
  }

  /** Moves every pending report into `store` (the outbox); a report `store` throws on stays for next time. */
  drain(store: (e: SyncEvent) => void): { recorded: number; invalid: number } {
    return this.reports.drain(store);
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
