/**
 * Erasure and the roster history (issue 16 item 2). roster_log keeps which persons each version covered
 * (ids and revisions, never their data: store/terminal-rosters.ts), and the hub keeps no signed deltas,
 * so once a revoked person's tombstone is published nothing of them is left to compact there. What
 * remains is to record, with the erasure, the version of that tombstone (terminals that report a
 * roster at or past it have deleted the person: erasure-confirmations.ts) and to reclaim hub.db's free
 * pages and write-ahead log (provisioning/store/reclaim.ts).
 *
 * Runs every tick after the roster publisher, so an erasure's tombstone is recorded in the tick that
 * publishes it.
 */
import type { HubStore } from '../store/hub-store';
import type { HubContext, HubPart } from './context';

/**
 * The version that published the person's revocation: the last version naming them (none found, e.g.
 * a hub without a record of it: the current version, which is after it).
 */
export function tombstoneVersion(store: HubStore, personId: string): number {
  let found = 0;
  for (const [version, changes] of store.rosterChanges(0)) if (changes.persons.some((p) => p.id === personId)) found = version;
  return found > 0 ? found : store.rosterVersion();
}

export class ErasureTombstones<Item> implements HubPart {
  constructor(
    private readonly ctx: HubContext<Item>,
    /** Told of each erasure's tombstone version (the confirmations catch up with heartbeats already received). */
    private readonly onRecorded?: (personId: string, version: number) => void,
  ) {}

  tick(): Promise<void> {
    const store = this.ctx.store;
    if (!store) return Promise.resolve();
    const due = store.erasures.erasuresToCompact();
    if (due.length === 0) return Promise.resolve();
    const now = this.ctx.clock.now();
    for (const e of due) {
      const version = store.tx(() => {
        const v = tombstoneVersion(store, e.personId);
        store.erasures.markCompacted(e.personId, v, 0, now);
        return v;
      });
      this.onRecorded?.(e.personId, version);
      this.ctx.log.info({ version }, 'erasure: tombstone version recorded');
    }
    const r = store.reclaim();
    if (!r.walTruncated) this.ctx.log.warn({}, 'hub.db write-ahead log not truncated after an erasure (a reader held it); truncated at the next one');
    return Promise.resolve();
  }
}
