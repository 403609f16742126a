/**
 * The hub's signed commands, once the sync client has checked signature, terminal, expiry and nonce.
 * `unlock`: one remote release for the command's duration (cut to the lock's maxUnlockMs), at most
 * `remoteUnlock.max` per `remoteUnlock.windowMs` on this terminal; the release, or the refusal and why,
 * is an event with the command's id and the operator who asked. `wipe`, `resync`, `reload-config` and
 * `adaptation.reset` go to their jobs; `update` (a rollout's offer) starts the update agent on the bundle.
 */
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import type { GrantResult, GrantSource } from '../../drivers/lock';
import type { Config } from '../config';
import type { Command } from '../protocol/schemas';
import type { CommandMeta } from '../sync/client';
import type { Recorder } from './events';

export interface HubCommandsDeps {
  clock: Clock;
  log: Logger;
  recorder: Recorder;
  config: () => Config;
  lock: { grant(source: GrantSource, durationMs?: number): GrantResult };
  wipe: () => void;
  resync: () => void;
  /** Forgets adapted templates (one person's, or all); returns how many. */
  resetAdaptation: (personId: string | undefined) => number;
  reload: () => void;
  /** The hub offered a bundle (updates.ts starts the agent). */
  installUpdate: (version: string, url: string) => void;
  /** The door was released for the remote unlock (feedback for whoever stands at the door). */
  onReleased: () => void;
  notify: (message: string) => void;
}

export class HubCommands {
  /** Monotonic times of the remote unlocks carried out within the window. */
  private unlocks: number[] = [];
  private readonly log: Logger;

  constructor(private readonly deps: HubCommandsDeps) {
    this.log = deps.log.child({ module: 'commands' });
  }

  handle(c: Command, meta: CommandMeta): void {
    switch (c.type) {
      case 'unlock':
        return this.unlock(c, meta);
      case 'resync':
        return this.deps.resync();
      case 'wipe':
        return this.deps.wipe();
      case 'reload-config':
        return this.deps.reload();
      case 'adaptation.reset': {
        const n = this.deps.resetAdaptation(c.personId);
        this.log.info({ command: meta.commandId, forgotten: n, all: c.personId === undefined }, 'adapted templates reset');
        return;
      }
      case 'update':
        return this.deps.installUpdate(c.version, c.url);
    }
  }

  private unlock(c: Extract<Command, { type: 'unlock' }>, meta: CommandMeta): void {
    const { clock, recorder } = this.deps;
    const { remoteUnlock, lock } = this.deps.config();
    const now = clock.monotonic();
    this.unlocks = this.unlocks.filter((t) => now - t < remoteUnlock.windowMs);
    const refuse = (reason: 'rate-limited' | Exclude<GrantResult, 'unlocked'>): void => {
      this.log.warn({ reason, command: meta.commandId }, 'remote unlock refused');
      recorder.record({ type: 'unlock.refused', commandId: meta.commandId, requestedBy: c.requestedBy, reason }, clock.now());
      this.deps.notify(`remote unlock: ${reason}`);
    };
    if (this.unlocks.length >= remoteUnlock.max) return refuse('rate-limited');
    // The lock controller cuts the duration to lock.maxUnlockMs and refuses a nonsense one.
    const r = this.deps.lock.grant('remote', c.durationMs);
    if (r !== 'unlocked') return refuse(r);
    this.unlocks.push(now);
    recorder.record(
      { type: 'door.released', source: 'remote', personId: null, commandId: meta.commandId, requestedBy: c.requestedBy, durationMs: Math.min(c.durationMs, lock.maxUnlockMs) },
      clock.now(),
    );
    this.deps.onReleased();
    this.deps.notify('remote unlock: unlocked');
  }
}
