/**
 * The hub's part that feeds the rollout (rollouts.ts) with what terminals say: every status message
 * (heartbeat with the installed version, or the offline last will) and every `update.outcome` event
 * the hub stores (a duplicate, already stored once, is not fed again). A heartbeat sent during an
 * update's trial gives no version: the version runs but is not committed until the health gate passes.
 * It runs after the status
 * recorder, so fleet status already holds the heartbeat when the rollout reads it.
 */
import { decodePlain, DEFAULT_MAX_PAYLOAD_BYTES } from '../../runtime/protocol/codec';
import { StatusMessageSchema } from '../../runtime/protocol/schemas';
import { installedVersion } from '../admin/fleet';
import type { HubContext, HubPart, TerminalMessage } from '../hub/context';
import type { Rollouts } from './rollouts';

export class RolloutFeed<Item> implements HubPart {
  constructor(
    private readonly ctx: HubContext<Item>,
    private readonly rollouts: Rollouts,
  ) {}

  start(): Promise<void> {
    this.ctx.bus.on('event', (s) => {
      if (s.duplicate || s.event.type !== 'update.outcome') return;
      this.rollouts.outcome(s.terminalId, s.event);
    });
    return Promise.resolve();
  }

  onMessage(m: TerminalMessage): void {
    if (m.kind !== 'status' || m.payload.length === 0) return;
    const s = decodePlain(m.payload, StatusMessageSchema, this.ctx.options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES);
    // During a trial the new version runs but is not committed yet: its outcome event will say.
    if (s.state === 'online') this.rollouts.heartbeat(m.terminalId, true, s.health.update?.state === 'trial' ? null : installedVersion(s.health));
    else this.rollouts.heartbeat(m.terminalId, false, null);
  }
}
