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
import type { HubStore } from '../store/hub-store';
import type { HubContext, HubPart } from './context';

/**
 * What a recorded delta says about `personId`: an upsert of them, their tombstone, or neither. Read as
 * the hub wrote it (a signed envelope around the body's JSON); its signature was checked when it was
 * made, and here it is only looked into.
 */
export function deltaMentions(payload: string, personId: string): { upsert: boolean; tombstone: boolean } {
  try {
    const env = JSON.parse(payload) as { body?: unknown };
    const body = (typeof env.body === 'string' ? JSON.parse(env.body) : null) as { batch?: Record<string, unknown> } | null;
    const batch = body?.batch ?? {};
    const list = (k: string): unknown[] => (Array.isArray(batch[k]) ? (batch[k] as unknown[]) : []);
    const ups = [...list('upserts'), ...list('upsert')] as Array<{ personId?: unknown; id?: unknown } | null>;
    return {
      upsert: ups.some((u) => u?.personId === personId || u?.id === personId),
      tombstone: [...list('revocations'), ...list('remove')].includes(personId),
    };
  } catch {
    return { upsert: false, tombstone: false }; // not a delta this code can read: kept
  }
}

/**
 * Deletes from roster_log the deltas before the person's tombstone that carried them; returns the
 * tombstone's version (not found, e.g. deleted by hand: the current version, which is after it) and the
 * versions deleted. A later enrolment under the same id, after the tombstone, is not touched.
 */
export function compactRosterLog(store: HubStore, personId: string): { version: number; deleted: number[] } {
  // Deltas are sealed at rest (store/at-rest.ts): read opened, then looked into.
  const named = store.rosterLog(0)
    .filter(([, payload]) => payload.includes(personId))
    .map(([version, payload]) => ({ version, ...deltaMentions(payload, personId) }));
  const found = named.filter((d) => d.tombstone).map((d) => d.version);
  const version = found.length > 0 ? Math.max(...found) : store.rosterVersion();
  const deleted = named.filter((d) => d.upsert && d.version < version).map((d) => d.version);
  store.erasures.deleteRosterVersions(deleted);
  return { version, deleted };
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
      const { version, deleted } = store.tx(() => {
        const r = compactRosterLog(store, e.personId);
        store.erasures.markCompacted(e.personId, r.version, r.deleted.length, now);
        return r;
      });
      this.ctx.roster.forgetDeltas(deleted);
      this.onCompacted?.(e.personId, version);
      this.ctx.log.info({ version, deltas: deleted.length }, 'roster deltas of a revoked person compacted');
    }
    const r = store.reclaim();
    if (!r.walTruncated) this.ctx.log.warn({}, 'hub.db write-ahead log not truncated after an erasure (a reader held it); truncated at the next one');
    return Promise.resolve();
  }
}
