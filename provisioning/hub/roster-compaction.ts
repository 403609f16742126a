/**
 * Erasure that reaches the roster history (issue 16 item 2), minimal and on its own: once the hub has
 * published a person's tombstone, the older recorded deltas that carried the person (their templates
 * and label) are deleted from roster_log and from the deltas this hub keeps for replay, cached
 * snapshots are dropped, and hub.db's free pages and write-ahead log are reclaimed
 * (provisioning/store/reclaim.ts). A terminal that needs a deleted delta gets a snapshot, as one that
 * is too far behind always did. The tombstone's version is recorded with the erasure: terminals that
 * report a roster at or past it have deleted the person (erasure-confirmations.ts).
 *
 * Runs every tick after the roster publisher (so a revocation is compacted in the tick that publishes
 * it). The roster log's redesign (per-door rosters, no payloads in roster_log) may replace it.
 */
import { RosterDeltaSchema, SignedEnvelopeSchema } from '../../runtime/protocol/schemas';
import type { HubContext, HubPart } from './context';

/** What a recorded delta says about `personId`: an upsert of them, their tombstone, or neither. */
export function deltaMentions(payload: string, personId: string): { upsert: boolean; tombstone: boolean } {
  try {
    const env = SignedEnvelopeSchema.parse(JSON.parse(payload));
    const body = RosterDeltaSchema.parse(JSON.parse(env.body));
    const batch = body.batch as { upserts?: Array<{ personId?: unknown }>; upsert?: Array<{ personId?: unknown; id?: unknown }>; revocations?: unknown[]; remove?: unknown[] };
    const ups = [...(batch.upserts ?? []), ...(batch.upsert ?? [])];
    return {
      upsert: ups.some((u) => u.personId === personId || (u as { id?: unknown }).id === personId),
      tombstone: [...(batch.revocations ?? []), ...(batch.remove ?? [])].includes(personId),
    };
  } catch {
    // Not a delta this code can read: it is kept (and the text naming the person is left for the caller to see in the count).
    return { upsert: false, tombstone: false };
  }
}

export class RosterCompaction<Item> implements HubPart {
  constructor(
    private readonly ctx: HubContext<Item>,
    /** Told of each erasure compacted, with its tombstone's version (the confirmations catch up with heartbeats already received). */
    private readonly onCompacted?: (personId: string, version: number) => void,
  ) {}

  tick(): Promise<void> {
    const store = this.ctx.store;
    if (!store) return Promise.resolve();
    const due = store.erasures.erasuresToCompact();
    if (due.length === 0) return Promise.resolve();
    const now = this.ctx.clock.now();
    for (const e of due) {
      const named = store.erasures.rosterDeltasNaming(e.personId).map(([version, payload]) => ({ version, ...deltaMentions(payload, e.personId) }));
      // The tombstone's version (not found, e.g. the delta was deleted by hand: the current version, which is after it).
      const found = named.filter((d) => d.tombstone).map((d) => d.version);
      const tombstone = found.length > 0 ? Math.max(...found) : store.rosterVersion();
      // Deltas before the tombstone that carried the person; a later enrolment under the same id is not this erasure's.
      const old = named.filter((d) => d.upsert && d.version < tombstone).map((d) => d.version);
      store.tx(() => {
        store.erasures.deleteRosterVersions(old);
        store.erasures.markCompacted(e.personId, tombstone, old.length, now);
      });
      this.ctx.roster.forgetDeltas(old);
      this.onCompacted?.(e.personId, tombstone);
      this.ctx.log.info({ version: tombstone, deltas: old.length }, 'roster deltas of a revoked person compacted');
    }
    const r = store.reclaim();
    if (!r.walTruncated) this.ctx.log.warn({}, 'hub.db write-ahead log not truncated after an erasure (a reader held it); truncated at the next one');
    return Promise.resolve();
  }
}
