/**
 * The hub's event store, the one owner of events.db: events are kept once by their id (ULID), however
 * many times a terminal sends them; every received id is acknowledged so the terminal can delete it.
 * Readers (`provision events tail`, fleet views) go through `EventStore.openReadOnly`, never to the
 * table itself.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { preparePrivateDatabase } from '../../core/fs';
import { decodePlain, DEFAULT_MAX_PAYLOAD_BYTES } from '../../runtime/protocol/codec';
import { denialNamesPerson, EventsMessageSchema, IDENTIFIED_FACE_DENIALS, type SyncEvent } from '../../runtime/protocol/schemas';
import { reclaimAfterErasure, secureDeletes, type Reclaimed } from '../store/reclaim';

export interface IngestResult {
  /** Every id in the message (stored now or before): all of them are acknowledged. */
  ids: string[];
  stored: number;
  duplicates: number;
}

/** Each event of an ingested message, and whether it was stored before (a redelivery). */
export interface IngestedEvent {
  event: SyncEvent;
  duplicate: boolean;
}

export interface StoredEvent {
  terminalId: string;
  receivedAt: number;
  event: SyncEvent;
}

const SCHEMA = `CREATE TABLE IF NOT EXISTS events (
  id TEXT PRIMARY KEY,
  terminal_id TEXT NOT NULL,
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  body TEXT NOT NULL,
  received_at INTEGER NOT NULL
)`;

/**
 * events.db's own versions (PRAGMA user_version), each run once. 1: the index the daily retention
 * sweep deletes by (`at`); `last_granted`, each person's last granted entry (kept on ingest, filled here
 * from the events already stored), which the unused-residents report reads instead of every entry;
 * and a denial of an unknown face stored by an older terminal loses the nearest resident's id (issue
 * 16 item 7).
 */
const EVENTS_DB_VERSION = 1;
const EVENTS_V1 = `
CREATE INDEX IF NOT EXISTS events_at ON events (at);
CREATE TABLE IF NOT EXISTS last_granted (person_id TEXT PRIMARY KEY, at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS last_granted_at ON last_granted (at);
INSERT OR REPLACE INTO last_granted (person_id, at)
  SELECT json_extract(body, '$.personId'), MAX(at) FROM events
  WHERE type = 'entry.granted' AND json_extract(body, '$.personId') IS NOT NULL GROUP BY json_extract(body, '$.personId');
UPDATE events SET body = json_set(body, '$.personId', json('null'))
  WHERE type = 'entry.denied' AND COALESCE(json_extract(body, '$.credential'), 'face') = 'face'
    AND json_extract(body, '$.reason') NOT IN (${[...IDENTIFIED_FACE_DENIALS].map((r) => `'${r}'`).join(', ')})
    AND json_extract(body, '$.personId') IS NOT NULL;
`;

/** A denial of a face that was not identified, as the hub keeps it: without the nearest resident's id (older terminals sent it). */
export function withoutNearestPerson(e: SyncEvent): SyncEvent {
  if (e.type !== 'entry.denied' || e.personId === null || denialNamesPerson(e)) return e;
  return { ...e, personId: null };
}

export class EventStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement | null;
  private readonly granted: Database.Statement | null;
  private duplicatesSeen = 0;

  /**
   * Opens (creating) the store at `path` (':memory:' in unit tests); the file and its -wal and
   * -shm are 0600 from creation (core/fs.ts preparePrivateDatabase): events name residents.
   */
  constructor(path: string, private readonly opts: { maxPayloadBytes?: number; readonly?: boolean } = {}) {
    if (!opts.readonly) preparePrivateDatabase(path);
    this.db = new Database(path, opts.readonly ? { readonly: true, fileMustExist: true } : {});
    if (opts.readonly) {
      this.insert = null;
      this.granted = null;
      return;
    }
    secureDeletes(this.db); // a deleted event is zeroed in the file (provisioning/store/reclaim.ts)
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    if ((this.db.pragma('user_version', { simple: true }) as number) < EVENTS_DB_VERSION) {
      this.db.transaction(() => {
        this.db.exec(EVENTS_V1);
        this.db.pragma(`user_version = ${EVENTS_DB_VERSION}`);
      })();
    }
    this.insert = this.db.prepare('INSERT OR IGNORE INTO events (id, terminal_id, type, at, body, received_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.granted = this.db.prepare('INSERT INTO last_granted (person_id, at) VALUES (?, ?) ON CONFLICT (person_id) DO UPDATE SET at = MAX(at, excluded.at)');
  }

  /**
   * The store of another process (the running hub) for reading, or null when it has none yet.
   * Reading while the hub writes is safe (WAL).
   */
  static openReadOnly(path: string): EventStore | null {
    if (!existsSync(path)) return null;
    try {
      const s = new EventStore(path, { readonly: true });
      s.db.prepare('SELECT 1 FROM events LIMIT 1').get(); // a file without the table yet
      return s;
    } catch {
      return null;
    }
  }

  /** Validate one door/<id>/events payload and store its events idempotently. Throws ProtocolRejectError. */
  ingest(terminalId: string, payload: Buffer, receivedAt: number): IngestResult & { events: IngestedEvent[] } {
    const msg = decodePlain(payload, EventsMessageSchema, this.opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES);
    const insert = this.insert;
    const granted = this.granted;
    if (!insert || !granted) throw new Error('event store opened read-only');
    const events = this.db.transaction(() =>
      msg.events.map(withoutNearestPerson).map((e) => {
        const duplicate = insert.run(e.id, terminalId, e.type, e.at, JSON.stringify(e), receivedAt).changes === 0;
        if (!duplicate && e.type === 'entry.granted') granted.run(e.personId, e.at);
        return { event: e, duplicate };
      }),
    )();
    const duplicates = events.filter((e) => e.duplicate).length;
    this.duplicatesSeen += duplicates;
    return { ids: msg.events.map((e) => e.id), stored: events.length - duplicates, duplicates, events };
  }

  /** True if the event with this id is stored already (a redelivery). */
  has(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM events WHERE id = ?').get(id) !== undefined;
  }

  count(terminalId?: string): number {
    const row = terminalId
      ? this.db.prepare('SELECT COUNT(*) AS n FROM events WHERE terminal_id = ?').get(terminalId)
      : this.db.prepare('SELECT COUNT(*) AS n FROM events').get();
    return (row as { n: number }).n;
  }

  ids(terminalId: string): string[] {
    return (this.db.prepare('SELECT id FROM events WHERE terminal_id = ? ORDER BY id').all(terminalId) as { id: string }[]).map((r) => r.id);
  }

  /** A terminal's stored events, in id (ULID: time) order. */
  ofTerminal(terminalId: string): SyncEvent[] {
    return (this.db.prepare('SELECT body FROM events WHERE terminal_id = ? ORDER BY id').all(terminalId) as { body: string }[]).map((r) => JSON.parse(r.body) as SyncEvent);
  }

  /** Events stored after the position `after` (oldest first), with the position of the last one. */
  read(after: number, limit = 500): { events: StoredEvent[]; last: number } {
    const rows = this.db.prepare('SELECT rowid AS r, terminal_id, body, received_at FROM events WHERE rowid > ? ORDER BY rowid LIMIT ?').all(after, limit) as Array<{ r: number; terminal_id: string; body: string; received_at: number }>;
    return {
      events: rows.map((x) => ({ terminalId: x.terminal_id, receivedAt: x.received_at, event: JSON.parse(x.body) as SyncEvent })),
      last: rows.at(-1)?.r ?? after,
    };
  }

  /** The position from which the last `n` events are read. */
  tailStart(n: number): number {
    const row = this.db.prepare('SELECT COALESCE(MAX(rowid), 0) AS m FROM events').get() as { m: number };
    return Math.max(0, row.m - n);
  }

  /** The stored events that name a person (entries, sightings, alarms with their `personId`), oldest first. */
  aboutPerson(personId: string): StoredEvent[] {
    return (this.db.prepare("SELECT terminal_id, body, received_at FROM events WHERE json_extract(body, '$.personId') = ? ORDER BY id").all(personId) as Array<{ terminal_id: string; body: string; received_at: number }>)
      .map((x) => ({ terminalId: x.terminal_id, receivedAt: x.received_at, event: JSON.parse(x.body) as SyncEvent }));
  }

  /**
   * An erasure (provisioning/admin/erasure.ts): deletes the events that name the person, then frees the
   * pages and truncates the write-ahead log so no copy stays in either file. Returns how many were deleted.
   */
  eraseAboutPerson(personId: string): { deleted: number } & Reclaimed {
    if (!this.insert) throw new Error('event store opened read-only');
    const deleted = this.db.prepare("DELETE FROM events WHERE json_extract(body, '$.personId') = ?").run(personId).changes;
    // The unused report's one row per person (retention) goes with their entries.
    if (this.granted) this.db.prepare('DELETE FROM last_granted WHERE person_id = ?').run(personId);
    return { deleted, ...reclaimAfterErasure(this.db) };
  }

  /**
   * Retention (provisioning/retention/): deletes the events that happened before `before`, of the
   * types listed (`only`) or of every type but those (`except`), at most `limit` of them; returns how many.
   */
  deleteBefore(before: number, types: { only: readonly string[] } | { except: readonly string[] }, limit?: number): number {
    if (!this.insert) throw new Error('event store opened read-only');
    const list = 'only' in types ? types.only : types.except;
    const marks = list.map(() => '?').join(', ') || "''";
    const cond = 'only' in types ? `type IN (${marks})` : `type NOT IN (${marks})`;
    const grantedGo = 'only' in types ? types.only.includes('entry.granted') : !types.except.includes('entry.granted');
    return this.db.transaction(() => {
      if (grantedGo) this.db.prepare('DELETE FROM last_granted WHERE at < ?').run(before);
      if (limit === undefined) return this.db.prepare(`DELETE FROM events WHERE ${cond} AND at < ?`).run(...list, before).changes;
      return this.db.prepare(`DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE ${cond} AND at < ? LIMIT ?)`).run(...list, before, limit).changes;
    })();
  }

  /**
   * The last granted entry at or after `since` of each person who had one (persons and passes by the
   * id the door recorded), from `last_granted`: one row per person, not one per entry.
   */
  lastGrantedSince(since: number): Map<string, number> {
    const kept = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'last_granted'").get() !== undefined;
    // A file the hub has not opened since this version (read-only here): from the entries themselves.
    const rows = (kept
      ? this.db.prepare('SELECT person_id AS p, at FROM last_granted WHERE at >= ?').all(since)
      : this.db.prepare(`SELECT json_extract(body, '$.personId') AS p, MAX(at) AS at FROM events WHERE type = 'entry.granted' AND at >= ?
          GROUP BY json_extract(body, '$.personId') HAVING p IS NOT NULL`).all(since)) as Array<{ p: string; at: number }>;
    return new Map(rows.map((r) => [r.p, r.at]));
  }

  /** Events received again after they had been stored (harmless; shows retries happened). */
  duplicates(): number {
    return this.duplicatesSeen;
  }

  close(): void {
    this.db.close();
  }
}
