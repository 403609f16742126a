/**
 * Publishes roster changes. A hub fed by hand (protocol tests, the sync bench) signs each change as one
 * delta for every door (hub/roster/all). A hub with a store publishes per door (terminal-rosters.ts,
 * issue 16): every tick takes the persons changed since they were last published (at most
 * maxPersonsPerDelta, cut by size), makes them the next version, gives each terminal its part of it
 * (the persons now in its scope, removals for those that left it, sealed to it, on hub/<id>/roster;
 * terminals it does not concern get nothing), records the version (which persons and revisions it
 * covered, never their data) and the terminals it went to in one transaction, and only then publishes.
 * Passes revoked since the last tick (still valid: an expired pass needs no revocation) go out the
 * same way, as one version, to the terminals of the doors and buildings each was issued for. The hub
 * is the single writer of roster versions.
 */
import { ROSTER_MESSAGE_TARGET_BYTES, signedItemBytes } from '../../runtime/protocol/limits';
import { TOPICS, topicsFor } from '../../runtime/protocol/topics';
import type { PassRecord } from '../db';
import type { HubContext, HubPart } from './context';
import type { RosterChange } from './roster';
import type { PersonChange, TerminalMessageOut } from './terminal-rosters';

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
    // Until no person is left to publish; the event loop gets a turn between two versions.
    while (await this.publishStored()) await new Promise<void>((resolve) => setImmediate(resolve));
    await this.publishPassRevocations();
  }

  /** Revoked passes go to the doors they were issued for as the next roster version (at most 1000 per tick). */
  private async publishPassRevocations(): Promise<void> {
    const store = this.ctx.store;
    const passItemOf = this.ctx.passItemOf;
    if (!store || !passItemOf) return;
    const now = this.ctx.clock.now();
    const revoked = store.unpublishedRevocations(now).slice(0, 1000);
    if (revoked.length === 0) return;
    const sent = await this.publishVersion([], revoked, () => store.markRevocationsPublished(revoked.map((p) => p.passId)));
    if (sent !== null) this.ctx.log.info({ version: sent, passes: revoked.length }, 'pass revocations published');
  }

  private async publishStored(): Promise<boolean> {
    const store = this.ctx.store;
    const itemOf = this.ctx.itemOf;
    if (!store || !itemOf) return false;
    const candidates = store.dirtyPersons(this.ctx.options.maxPersonsPerDelta ?? 200);
    if (candidates.length === 0) return false;
    // Cut by size too, so a terminal's delta stays well under the broker and terminal payload limits.
    const dirty: PersonChange<Item>[] = [];
    let bytes = 0;
    for (const p of candidates) {
      const item = itemOf(p);
      bytes += signedItemBytes(item ?? {});
      if (dirty.length > 0 && bytes > ROSTER_MESSAGE_TARGET_BYTES / 2) break;
      dirty.push({ record: p, item });
    }
    const marks = dirty.map((p) => ({ personId: p.record.personId, rev: p.record.rev }));
    if (dirty.every((p) => p.item === null) && dirty.every((p) => !this.ctx.scoped || p.record.publishedRev === 0)) {
      store.markPublished(marks); // only pending registrations never published: nothing for the terminals yet
      return true;
    }
    const version = await this.publishVersion(dirty, [], () => undefined);
    if (version !== null) this.ctx.log.info({ version, persons: dirty.length }, 'roster version published');
    return true;
  }

  /**
   * One version: each terminal's part planned (sealed, signed), the roster advanced, the version, the
   * persons' revisions, `alsoRecord` and the terminals sent to recorded in one transaction, then published.
   */
  private async publishVersion(persons: PersonChange<Item>[], passes: PassRecord[], alsoRecord: () => void): Promise<number | null> {
    const store = this.ctx.store;
    const scoped = this.ctx.scoped;
    if (!store || !scoped) return null;
    const roster = this.ctx.roster;
    const version = roster.version() + 1;
    const out: TerminalMessageOut[] = scoped.plan(version, persons, passes);
    const items = persons.flatMap((p) => (p.item === null ? [] : [p.item]));
    const gone = persons.filter((p) => p.item === null).map((p) => p.record.personId);
    const passItemOf = this.ctx.passItemOf;
    roster.advance({ upsert: [...items, ...(passItemOf ? passes.map(passItemOf) : [])], remove: gone });
    const now = this.ctx.clock.now();
    try {
      store.tx(() => {
        const covered = { persons: persons.map((p) => ({ id: p.record.personId, rev: p.record.rev })), passes: passes.map((p) => p.passId), terminals: out.map((m) => m.terminalId) };
        store.recordVersion(version, covered, persons.map((p) => ({ personId: p.record.personId, rev: p.record.rev })), now);
        store.markTerminalsSent(out.map((m) => m.terminalId), version);
        alsoRecord();
      });
    } catch (err) {
      // The in-memory roster is now ahead of the database: stop rather than publish an unrecorded version.
      this.ctx.log.fatal({ err: String(err), version }, 'roster version could not be recorded; hub stopping');
      await this.onFatal(err);
      throw err;
    }
    scoped.commit(version, persons, passes, out);
    // Terminals that miss it (offline, or a lost publish) catch up with a sync request.
    await Promise.all(out.map((m) => this.ctx.transport.publish(topicsFor(m.terminalId).roster, m.payload, { retain: false }).catch((err: unknown) => {
      this.ctx.log.warn({ err: String(err), version }, 'roster publish failed; terminals will resync');
    })));
    return version;
  }
}
