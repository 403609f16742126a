/**
 * Which terminals have deleted a revoked or erased person (issue 16 item 2): a terminal whose
 * heartbeat reports a roster at or past the version of the person's tombstone, on this hub's history
 * (its roster is what this hub's deltas made at that version: the tombstone applied, or a snapshot cut
 * after it), holds the person no more; the hub records that once per person and terminal
 * (provisioning/store/erasures.ts). A terminal's store deletes the person's rows at the tombstone, with
 * secure delete on (runtime/roster/store.ts), and its learnt templates of them (local-adaptation.ts).
 * Nothing new in the protocol: the heartbeat already carries the roster version and epoch.
 */
import { decodePlain, DEFAULT_MAX_PAYLOAD_BYTES } from '../../runtime/protocol/codec';
import { StatusMessageSchema, type HeldEpoch } from '../../runtime/protocol/schemas';
import type { HubContext, HubPart, TerminalMessage } from './context';

export class ErasureConfirmations<Item> implements HubPart {
  /** Per terminal, the roster version already handed to the store (erasures published up to it are confirmed). */
  private readonly done = new Map<string, number>();
  /** Per terminal, its last reported roster (for erasures compacted after the heartbeat came). */
  private readonly held = new Map<string, { epoch: HeldEpoch | null; version: number }>();

  constructor(private readonly ctx: HubContext<Item>) {}

  onMessage(m: TerminalMessage): void {
    if (m.kind !== 'status' || m.payload.length === 0 || !this.ctx.store) return;
    const s = decodePlain(m.payload, StatusMessageSchema, this.ctx.options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES);
    if (s.state !== 'online') return;
    const held = { epoch: s.health.rosterEpoch ?? null, version: s.health.rosterVersion };
    this.held.set(m.terminalId, held);
    this.confirm(m.terminalId, held);
  }

  /** An erasure was compacted with its tombstone at `version`: terminals already past it confirm it now. */
  compacted(_personId: string, version: number): void {
    const store = this.ctx.store;
    if (!store) return;
    for (const [terminalId, held] of this.held) {
      if (held.version >= version && this.ctx.roster.onHistory(held.epoch, held.version)) store.erasures.confirmUpTo(terminalId, version - 1, held.version, this.ctx.clock.now());
    }
  }

  private confirm(terminalId: string, held: { epoch: HeldEpoch | null; version: number }): void {
    const store = this.ctx.store;
    if (!store || held.version === 0 || !this.ctx.roster.onHistory(held.epoch, held.version)) return;
    const after = this.done.get(terminalId) ?? 0;
    store.erasures.confirmUpTo(terminalId, after, held.version, this.ctx.clock.now());
    this.done.set(terminalId, Math.max(after, held.version));
  }
}
