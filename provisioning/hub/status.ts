/**
 * Each terminal's last status (online with its heartbeat, or the offline last will): kept in memory,
 * and in the store when the hub has one (`provision fleet status` reads it there).
 */
import { decodePlain, DEFAULT_MAX_PAYLOAD_BYTES } from '../../runtime/protocol/codec';
import { StatusMessageSchema, type StatusMessage } from '../../runtime/protocol/schemas';
import type { HubContext, HubPart, TerminalMessage } from './context';

export class StatusRecorder<Item> implements HubPart {
  private readonly last = new Map<string, StatusMessage>();

  constructor(private readonly ctx: HubContext<Item>) {}

  onMessage(m: TerminalMessage): void {
    if (m.kind !== 'status' || m.payload.length === 0) return; // an empty payload clears a retained status
    const s = decodePlain(m.payload, StatusMessageSchema, this.ctx.options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES);
    this.last.set(m.terminalId, s);
    this.ctx.store?.saveStatus(m.terminalId, s.state, s.state === 'online' ? s.health : null, this.ctx.clock.now());
  }

  lastStatus(terminalId: string): StatusMessage | undefined {
    return this.last.get(terminalId);
  }
}
