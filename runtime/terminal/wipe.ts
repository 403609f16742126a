/**
 * The hub's `wipe` and `resync` commands (terminal stolen or decommissioned, then put back into
 * service). A wipe fails closed at once: before `wipe()` first yields, the hold and an unfinished-wipe
 * mark are committed to the roster file, every roster read answers as for an empty roster and the
 * matcher is empty. The rows are then erased in small transactions and the file scrubbed on a worker
 * thread, so the event loop (fire alarm, exit button) is never held for long. The roster stays empty
 * (roster data refused) until the hub sends `resync`.
 */
import type { Clock } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import type { Logger } from '../../core/log';
import { WipeInterruptedError } from '../roster/store';
import type { Recorder } from './events';
import type { TerminalRoster } from './parts';

export interface RosterWipeDeps {
  clock: Clock;
  log: Logger;
  recorder: Recorder;
  roster: () => TerminalRoster | null;
  /** Templates still in the matcher (0 when there is none). */
  matcherSize: () => number;
  /** The sync client, told to forget its roster state and asked for the snapshot again. */
  sync: () => { rosterWiped(): void; requestSnapshotAgain(): void } | null;
  /** Switches face matching off in memory (a wipe that could not be completed fails closed). */
  faceOff: () => void;
  stopping: () => boolean;
  notify: (message: string) => void;
}

export class RosterWipe {
  /** The wipe in progress (rows being erased, file being scrubbed), if any. */
  private wiping: Promise<void> | null = null;
  private readonly log: Logger;

  constructor(private readonly deps: RosterWipeDeps) {
    this.log = deps.log.child({ module: 'wipe' });
  }

  /**
   * At start: a wipe the process stopped in the middle of was finished when the roster was opened;
   * the hub hears of it now.
   */
  start(): void {
    const resumed = this.deps.roster()?.wipeFinishedAtOpen();
    if (resumed) this.deps.recorder.record({ type: 'terminal.wiped', outcome: 'erased', persons: resumed.persons, templates: resumed.templates }, this.deps.clock.now());
  }

  /** Resolves when no wipe is running (stop() waits for it: closing under it leaves it to the next start). */
  async idle(): Promise<void> {
    await this.wiping;
  }

  /** Erases every person and template; a second wipe while one runs joins it. */
  wipe(): Promise<void> {
    this.wiping ??= this.doWipe().finally(() => (this.wiping = null));
    return this.wiping;
  }

  /**
   * `resync`: ends a wipe's hold (the sync client has asked for a full snapshot); a wipe still erasing
   * finishes first, and the snapshot is asked for again then (the first request was refused while held).
   */
  resync(): void {
    if (!this.wiping) return this.releaseHold();
    this.wiping
      .then(() => {
        this.releaseHold();
        this.deps.sync()?.requestSnapshotAgain();
      })
      .catch((e: unknown) => this.log.error({ error: (e as Error).name }, 'resync after the wipe failed'));
  }

  private releaseHold(): void {
    const roster = this.deps.roster();
    if (roster && roster.wipedAt() !== null) {
      roster.releaseWipeHold();
      this.deps.notify('roster hold released: resync ordered');
    }
  }

  private async doWipe(): Promise<void> {
    const at = this.deps.clock.now();
    const roster = this.deps.roster();
    try {
      if (!roster) throw new RosterMissingError('roster not open');
      // Synchronous up to the first batch: hold committed, reads empty, matcher emptied.
      const erasing = roster.wipe();
      // The matcher follows the store's change; if it did not empty, matching stays off in memory.
      if (this.deps.matcherSize() > 0) {
        this.deps.faceOff();
        this.log.error({ left: this.deps.matcherSize() }, 'matcher not empty after the wipe; face matching switched off');
      }
      this.deps.sync()?.rosterWiped();
      const r = await erasing;
      this.deps.recorder.record({ type: 'terminal.wiped', outcome: 'erased', persons: r.persons, templates: r.templates }, at);
      this.deps.notify(`roster wiped: ${r.persons} persons, ${r.templates} templates erased`);
    } catch (e) {
      // Fail closed: no face opens this door until the terminal is seen to.
      this.deps.faceOff();
      if (this.deps.stopping() && e instanceof WipeInterruptedError) {
        this.log.warn('wipe interrupted by the stop; it is finished when the roster is next opened');
        return;
      }
      this.log.error({ code: e instanceof TerminalError ? e.code : 'internal', error: (e as Error).name }, 'wipe failed; face matching switched off');
      this.deps.recorder.record({ type: 'terminal.wiped', outcome: 'failed', persons: 0, templates: 0 }, at);
      this.deps.notify(`wipe failed: ${(e as Error).message}`);
    }
  }
}

/** A wipe was ordered while the terminal has no roster open (it runs degraded). */
export class RosterMissingError extends TerminalError {
  readonly code = 'roster-missing';
}
