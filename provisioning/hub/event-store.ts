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
import { EventsMessageSchema, type SyncEvent } from '../../runtime/protocol/schemas';
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

export class EventStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement | null;
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
      return;
    }
    secureDeletes(this.db); // a deleted event is zeroed in the file (provisioning/store/reclaim.ts)
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.insert = this.db.prepare('INSERT OR IGNORE INTO events (id, terminal_id, type, at, body, received_at) VALUES (?, ?, ?, ?, ?, ?)');
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
    if (!insert) throw new Error('event store opened read-only');
    const events = this.db.transaction(() =>
      msg.events.map((e) => ({ event: e, duplicate: insert.run(e.id, terminalId, e.type, e.at, JSON.stringify(e), receivedAt).changes === 0 })),
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
    return { deleted, ...reclaimAfterErasure(this.db) };
  }

  /** Events received again after they had been stored (harmless; shows retries happened). */
  duplicates(): number {
    return this.duplicatesSeen;
  }

  close(): void {
    this.db.close();
  }
}
