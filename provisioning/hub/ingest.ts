import Database from 'better-sqlite3';
import { decodePlain, DEFAULT_MAX_PAYLOAD_BYTES } from '../../runtime/protocol/codec';
import { EventsMessageSchema } from '../../runtime/protocol/schemas';

export interface IngestResult {
  /** Every id in the message (stored now or before): all of them are acknowledged. */
  ids: string[];
  stored: number;
  duplicates: number;
}

/**
 * The hub's event store: events are kept once by their id (ULID), whatever the number of times a
 * terminal sends them; every received id is acknowledged so the terminal can delete it.
 */
export class EventIngest {
  readonly db: Database.Database;
  private readonly insert;
  private duplicatesSeen = 0;

  constructor(path: string, private readonly maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS events (
      id TEXT PRIMARY KEY,
      terminal_id TEXT NOT NULL,
      type TEXT NOT NULL,
      at INTEGER NOT NULL,
      body TEXT NOT NULL,
      received_at INTEGER NOT NULL
    )`);
    this.insert = this.db.prepare(
      'INSERT OR IGNORE INTO events (id, terminal_id, type, at, body, received_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
  }

  /** Validate one door/<id>/events payload and store its events idempotently. Throws ProtocolRejectError. */
  ingest(terminalId: string, payload: Buffer, receivedAt: number): IngestResult {
    const msg = decodePlain(payload, EventsMessageSchema, this.maxPayloadBytes);
    const tx = this.db.transaction(() => {
      let stored = 0;
      for (const e of msg.events) stored += this.insert.run(e.id, terminalId, e.type, e.at, JSON.stringify(e), receivedAt).changes;
      return stored;
    });
    const stored = tx();
    const duplicates = msg.events.length - stored;
    this.duplicatesSeen += duplicates;
    return { ids: msg.events.map((e) => e.id), stored, duplicates };
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

  /** Events received again after they had been stored (harmless; shows retries happened). */
  duplicates(): number {
    return this.duplicatesSeen;
  }

  close(): void {
    this.db.close();
  }
}
