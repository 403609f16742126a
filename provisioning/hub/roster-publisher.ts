/**
 * Publishes roster changes to every door (hub/roster/all, signed, not retained). With a store, every
 * tick takes the persons changed since they were last published, signs them as the next version (an
 * upsert, or a tombstone for a revoked person; at most maxPersonsPerDelta per delta and cut by size),
 * records the version with the revisions it covered in one transaction, and only then publishes it.
 * Then passes revoked since the last tick (still valid: an expired pass needs no revocation) go out
 * the same way, as one version of pass revocations (the pass id and its end only), marked published
 * in the transaction that records the version. The hub is the single writer of roster versions.
 */
import { ROSTER_MESSAGE_TARGET_BYTES, signedItemBytes } from '../../runtime/protocol/limits';
import { TOPICS } from '../../runtime/protocol/topics';
import type { HubContext, HubPart } from './context';
import type { RosterChange } from './roster';

export class RosterPublisher<Item> implements HubPart {
  constructor(
    private readonly ctx: HubContext<Item>,
    /** Told when a version could not be recorded: the hub must stop rather than publish it. */
    private readonly onFatal: (err: unknown) => Promise<void>,
  ) {}

  /** Change the master roster by hand and publish the signed delta to every door (hubs without a store). */
  async publishChange(change: RosterChange<Item>): Promise<number> {
    const { version, payload } = this.ctx.roster.change(change);
    await this.ctx.transport.publish(TOPICS.rosterAll.filter, payload, { retain: false });
    return version;
  }

  async tick(): Promise<void> {
    while (await this.publishStored()) { /* until no person is left to publish */ }
    await this.publishPassRevocations();
  }

  /** Revoked passes go to every door as the next roster version (at most 1000 per tick). */
  private async publishPassRevocations(): Promise<void> {
    const store = this.ctx.store;
    const passItemOf = this.ctx.passItemOf;
    if (!store || !passItemOf) return;
    const now = this.ctx.clock.now();
    const revoked = store.unpublishedRevocations(now).slice(0, 1000);
    if (revoked.length === 0) return;
    const { version, payload } = this.ctx.roster.change({ upsert: revoked.map(passItemOf), remove: [] });
    try {
      store.tx(() => {
        store.recordVersion(version, payload, [], now);
        store.markRevocationsPublished(revoked.map((p) => p.passId));
      });
    } catch (err) {
      this.ctx.log.fatal({ err: String(err), version }, 'roster version could not be recorded; hub stopping');
      await this.onFatal(err);
      throw err;
    }
    this.ctx.log.info({ version, passes: revoked.length }, 'pass revocations published');
    await this.ctx.transport.publish(TOPICS.rosterAll.filter, payload, { retain: false }).catch((err: unknown) => {
      this.ctx.log.warn({ err: String(err), version }, 'roster publish failed; terminals will resync');
    });
  }

  private async publishStored(): Promise<boolean> {
    const store = this.ctx.store;
    const itemOf = this.ctx.itemOf;
    if (!store || !itemOf) return false;
    const candidates = store.dirtyPersons(this.ctx.options.maxPersonsPerDelta ?? 200);
    if (candidates.length === 0) return false;
    // Cut by size too, so a delta stays well under the broker and terminal payload limits.
    const dirty = [];
    let bytes = 0;
    for (const p of candidates) {
      bytes += signedItemBytes(itemOf(p) ?? {});
      if (dirty.length > 0 && bytes > ROSTER_MESSAGE_TARGET_BYTES) break;
      dirty.push(p);
    }
    const items = dirty.map(itemOf).filter((x): x is Item => x !== null);
    const marks = dirty.map((p) => ({ personId: p.personId, rev: p.rev }));
    if (items.length === 0) {
      store.markPublished(marks); // only pending registrations: nothing for the terminals yet
      return true;
    }
    const { version, payload } = this.ctx.roster.change({ upsert: items, remove: [] });
    try {
      store.recordVersion(version, payload, marks, this.ctx.clock.now());
    } catch (err) {
      // The in-memory roster is now ahead of the database: stop rather than publish an unrecorded version.
      this.ctx.log.fatal({ err: String(err), version }, 'roster version could not be recorded; hub stopping');
      await this.onFatal(err);
      throw err;
    }
    this.ctx.log.info({ version, persons: items.length }, 'roster version published');
    // Terminals that miss it (offline, or a lost publish) catch up with a sync request.
    await this.ctx.transport.publish(TOPICS.rosterAll.filter, payload, { retain: false }).catch((err: unknown) => {
      this.ctx.log.warn({ err: String(err), version }, 'roster publish failed; terminals will resync');
    });
    return true;
  }
}
