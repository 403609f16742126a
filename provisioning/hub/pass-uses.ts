/**
 * Pass uses as the doors report them: an `entry.granted` with a pass, stored for the first time (a
 * redelivery is not counted again), is counted against the pass per terminal and in total (the
 * store's pass_uses; `provision pass list` shows them). A pass the hub never issued is ignored.
 */
import type { HubContext, HubPart } from './context';

export class PassUses<Item> implements HubPart {
  constructor(ctx: HubContext<Item>) {
    const store = ctx.store;
    if (!store) return;
    ctx.bus.on('event', ({ terminalId, event: e, duplicate }) => {
      if (duplicate || e.type !== 'entry.granted' || e.credential !== 'pass' || !e.passId) return;
      store.countPassUse(e.passId, terminalId);
    });
  }
}
