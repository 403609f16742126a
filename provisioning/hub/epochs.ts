/**
 * Roster epochs while the hub runs (runtime/sync/README.md, Roster epochs): a new epoch continues the
 * current history; terminals on it go on with the next delta, the others take the next snapshot. With
 * a store, every epoch started is recorded (roster_epochs) and audited before it is announced.
 */
import type { RosterEpoch } from '../../runtime/protocol/schemas';
import type { EpochReason, HubContext } from './context';

export class Epochs<Item> {
  constructor(private readonly ctx: HubContext<Item>) {
    const store = ctx.store;
    if (!store) return;
    ctx.bus.on('epoch', ({ epoch, version, reason }) => {
      const now = ctx.clock.now();
      store.tx(() => {
        store.recordEpoch(epoch, reason, now);
        store.audit('hub', 'roster.epoch', epoch.id, { reason, version, startedAt: epoch.startedAt }, now);
      });
    });
  }

  /** Starts a new epoch continuing the current history, started at `notBefore` at the earliest. */
  begin(reason: EpochReason, notBefore = 0): RosterEpoch {
    const roster = this.ctx.roster;
    const epoch = roster.startEpoch(notBefore);
    this.ctx.bus.emit('epoch', { epoch, version: roster.version(), reason });
    this.ctx.log.warn({ reason, version: roster.version() }, 'roster epoch started');
    return epoch;
  }
}
