/**
 * The daily retention sweep as a part of the running hub (provisioning/retention/sweep.ts does the
 * work): the first tick after start, then every `retentionSweepMs` (default one day) on the hub's
 * monotonic clock. Only a hub of a community folder sweeps (a hub fed by hand has nothing to keep).
 * The hub's other parts tick again once it is done (events are deleted in chunks, so the terminals'
 * messages are handled meanwhile; a large community's daily sweep takes a second or two).
 */
import { DAY_MS } from '../retention/config';
import { sweepRetention, type SweepCounts } from '../retention/sweep';
import type { HubContext, HubPart } from './context';

export class RetentionSweeper<Item> implements HubPart {
  private lastRun = -Infinity;
  private last: SweepCounts | null = null;

  constructor(private readonly ctx: HubContext<Item>) {}

  async tick(): Promise<void> {
    const every = this.ctx.options.retentionSweepMs ?? DAY_MS;
    const mono = this.ctx.clock.monotonic();
    if (!this.ctx.community || !this.ctx.store || every <= 0 || mono - this.lastRun < every) return;
    this.lastRun = mono;
    try {
      this.last = await sweepRetention(this.ctx.community.community, this.ctx.events, this.ctx.clock);
      this.ctx.log.info({ ...this.last }, 'retention sweep');
    } catch (err) {
      this.ctx.log.error({ err: String(err) }, 'retention sweep failed; tried again at the next period');
    }
  }

  /** What the last sweep deleted (counts), or null before the first. */
  lastSweep(): SweepCounts | null {
    return this.last;
  }
}
