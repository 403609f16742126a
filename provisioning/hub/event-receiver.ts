/**
 * Terminals' events: each message is validated and stored once per event id (event-store.ts), every
 * id in it is acknowledged to the sending terminal (in messages of at most 1000 ids), and each event
 * is told to the other parts (alerts, wipe reports) as an `event` signal.
 */
import { SCHEMA_VERSION, type AcksMessage } from '../../runtime/protocol/schemas';
import { topicsFor } from '../../runtime/protocol/topics';
import type { HubContext, HubPart, TerminalMessage } from './context';

export class EventReceiver<Item> implements HubPart {
  constructor(private readonly ctx: HubContext<Item>) {}

  onMessage(m: TerminalMessage): void {
    if (m.kind !== 'events') return;
    const receivedAt = this.ctx.clock.now();
    const r = this.ctx.events.ingest(m.terminalId, m.payload, receivedAt);
    for (let i = 0; i < r.ids.length; i += 1000) {
      const ack: AcksMessage = { v: SCHEMA_VERSION, ids: r.ids.slice(i, i + 1000) };
      this.ctx.transport.publish(topicsFor(m.terminalId).acks, JSON.stringify(ack), { retain: false }).catch((err: unknown) => {
        this.ctx.log.warn({ err: String(err) }, 'hub publish failed');
      });
    }
    for (const e of r.events) this.ctx.bus.emit('event', { terminalId: m.terminalId, event: e.event, duplicate: e.duplicate, receivedAt });
  }
}
