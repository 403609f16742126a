import type { Logger } from '../../core/log';
import { TerminalError } from '../../core/errors';
import { isSecurityEvent, SyncEventSchema, type SyncEvent } from '../protocol/schemas';
import type { SyncDb } from './db';

/** An event handed to the outbox failed its schema (a bug in the caller: nothing is stored). */
export class OutboxEventError extends TerminalError {
  readonly code = 'outbox-bad-event';
}

export interface OutboxOptions {
  /** Most events kept; at least 100,000 in production. */
  capacity: number;
  log: Logger;
}

export interface OutboxRow {
  seq: number;
  id: string;
  body: string;
}

export type EnqueueResult = 'queued' | 'duplicate' | 'dropped';

/**
 * Durable event queue. `enqueue` commits the event to SQLite before anyone may publish it; rows are
 * deleted only by `ack` (the hub's acknowledgement of their ids), at once, zeroed (secure_delete), and
 * the WAL truncated when the last one goes. When full, the oldest non-security
 * event is dropped (and counted) to make room; security events (alarms, roster integrity) are never
 * dropped, even if that takes the outbox past its capacity.
 */
export class Outbox {
  private count: number;
  private droppedCount: number;
  private readonly stmts;
  private readonly queuedListeners = new Set<() => void>();

  constructor(
    private readonly db: SyncDb,
    private readonly opts: OutboxOptions,
  ) {
    this.stmts = {
      insert: db.prepare('INSERT OR IGNORE INTO outbox (id, security, body) VALUES (?, ?, ?)'),
      dropOldestPlain: db.prepare(
        'DELETE FROM outbox WHERE seq = (SELECT seq FROM outbox WHERE security = 0 ORDER BY seq LIMIT 1)',
      ),
      after: db.prepare('SELECT seq, id, body FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?'),
      byId: db.prepare('SELECT seq, id, body FROM outbox WHERE id = ?'),
      del: db.prepare('DELETE FROM outbox WHERE id = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM outbox'),
      getMeta: db.prepare('SELECT v FROM meta WHERE k = ?'),
      setMeta: db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v'),
    };
    this.count = (this.stmts.count.get() as { n: number }).n;
    this.droppedCount = (this.stmts.getMeta.get('dropped') as { v: number } | undefined)?.v ?? 0;
  }

  /** Validate and store one event (committed when this returns). */
  enqueue(event: SyncEvent): EnqueueResult {
    const parsed = SyncEventSchema.safeParse(event);
    if (!parsed.success) {
      throw new OutboxEventError(`event does not match its schema: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    }
    const ev = parsed.data;
    const security = isSecurityEvent(ev.type);
    const body = JSON.stringify(ev);
    const tx = this.db.transaction((): EnqueueResult => {
      if (this.count >= this.opts.capacity) {
        const freed = this.stmts.dropOldestPlain.run().changes;
        if (freed === 0 && !security) {
          // Full of security events: the newest plain event is the one to lose.
          this.bumpDropped();
          return 'dropped';
        }
        if (freed > 0) {
          this.count -= freed;
          this.bumpDropped();
        }
      }
      const changes = this.stmts.insert.run(ev.id, security ? 1 : 0, body).changes;
      if (changes === 0) return 'duplicate';
      this.count += 1;
      return 'queued';
    });
    const r = tx();
    if (r === 'dropped') this.opts.log.warn({ type: ev.type }, 'outbox full of security events: plain event dropped');
    if (r === 'queued') for (const l of [...this.queuedListeners]) l();
    return r;
  }

  /** Called after each event is committed (the publisher wakes up); returns the unsubscribe function. */
  onQueued(listener: () => void): () => void {
    this.queuedListeners.add(listener);
    return () => this.queuedListeners.delete(listener);
  }

  /** Events currently waiting for the hub's acknowledgement. */
  depth(): number {
    return this.count;
  }

  /** Events dropped because the outbox was full, since the file was created. */
  dropped(): number {
    return this.droppedCount;
  }

  /** Up to `limit` events after sequence number `afterSeq`, oldest first. */
  after(afterSeq: number, limit: number): OutboxRow[] {
    return this.stmts.after.all(afterSeq, limit) as OutboxRow[];
  }

  /** The stored rows among `ids` (those not yet acknowledged). */
  pending(ids: readonly string[]): OutboxRow[] {
    const out: OutboxRow[] = [];
    for (const id of ids) {
      const r = this.stmts.byId.get(id) as OutboxRow | undefined;
      if (r) out.push(r);
    }
    return out;
  }

  /** Delete acknowledged events; returns how many were still stored. */
  ack(ids: readonly string[]): number {
    const tx = this.db.transaction(() => {
      let n = 0;
      for (const id of ids) n += this.stmts.del.run(id).changes;
      return n;
    });
    const n = tx();
    this.count -= n;
    if (n > 0 && this.count === 0) this.scrubWal();
    return n;
  }

  /**
   * Once every event is acknowledged, nothing of them is needed here: secure_delete zeroed their rows
   * in the file, and a truncating checkpoint drops the WAL's older copies of those pages (issue 16: the
   * terminal keeps no entry record once the hub has it). While events wait, their bytes are needed
   * anyway; a checkpoint another connection holds up is left to the next empty outbox.
   */
  private scrubWal(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.opts.log.warn({ err: String(err) }, 'outbox: WAL checkpoint after the last acknowledgement failed');
    }
  }

  private bumpDropped(): void {
    this.droppedCount += 1;
    if (this.droppedCount % 1000 === 1) this.opts.log.warn({ dropped: this.droppedCount }, 'outbox full: oldest plain events dropped');
    this.stmts.setMeta.run('dropped', this.droppedCount);
  }
}
