import { createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { TerminalError } from '../../core/errors';
import { RosterEpochSchema, type RosterEpoch } from '../protocol/schemas';
import { deriveKeyFromSecretFile, Sealer, SealError } from '../roster/crypto';
import type { SyncDb } from './db';

/** HKDF info label of the staging key: never the same key as the roster store's, from the same secret. */
export const STAGING_HKDF_INFO = 'doorway/sync-staging/v1';

/**
 * Staged chunks that did not authenticate (altered in the file, moved to another snapshot or index,
 * or sealed under a key derived from a device secret that has since been rotated). They have been
 * deleted; the snapshot must be asked for again.
 */
export class StagedChunkError extends TerminalError {
  readonly code = 'staged-chunk-unreadable';
  constructor(readonly indices: readonly number[]) {
    super(`${indices.length} staged snapshot chunk(s) failed authentication and were discarded`);
  }
}

export interface StagedSnapshot {
  snapshotId: string;
  version: number;
  /** The snapshot's roster epoch (absent from a hub before epochs). */
  epoch?: RosterEpoch | undefined;
  count: number;
  received: number;
}

interface StagedRow {
  snapshotId: string;
  version: number;
  epoch: string | null;
  count: number;
  received: number;
}

/**
 * The key that seals staged chunks: HKDF-SHA256 over the device secret (the file the roster store
 * uses, same permission checks) with this file's own random salt (kept in `staging_key`, created on
 * first use) and the label STAGING_HKDF_INFO. A new secret gives a new key: chunks staged under the
 * old one no longer open and are discarded.
 */
export function stagingKeyFromSecretFile(db: SyncDb, secretFile: string): KeyObject {
  let row = db.prepare('SELECT salt FROM staging_key WHERE id = 1').get() as { salt: Buffer } | undefined;
  if (!row) {
    db.prepare('INSERT OR IGNORE INTO staging_key (id, salt) VALUES (1, ?)').run(randomBytes(16));
    row = db.prepare('SELECT salt FROM staging_key WHERE id = 1').get() as { salt: Buffer };
  }
  return deriveKeyFromSecretFile(secretFile, row.salt, STAGING_HKDF_INFO);
}

/** A key that lives in this process only: staged chunks are still sealed, but do not survive a restart. */
export function ephemeralStagingKey(): KeyObject {
  const raw = randomBytes(32);
  const key = createSecretKey(raw);
  raw.fill(0);
  return key;
}

/**
 * Associated data of one staged chunk: its snapshot, roster version, index and chunk count, and its
 * epoch when it has one (chunks of a snapshot from before epochs keep the shorter form they were
 * sealed with). A sealed chunk copied to another index or into another snapshot's rows, or whose
 * epoch was altered in the file, does not authenticate.
 */
export function stagedChunkAad(snapshotId: string, version: number, index: number, count: number, epochJson: string | null = null): string {
  const base = `sync-staging|${JSON.stringify(snapshotId)}|${version}|${index}|${count}`;
  return epochJson === null ? base : `${base}|${epochJson}`;
}

/**
 * Chunks of the snapshot being received, kept on disk so that an interrupted transfer (network,
 * broker or terminal restart) resumes with the missing chunks only. At most one snapshot is staged:
 * a chunk of a different snapshot discards the old one. The items of each chunk (person ids,
 * templates) are sealed with AES-256-GCM (fresh random 96-bit nonce per chunk, AAD =
 * stagedChunkAad) before they reach the file; ids, version, index and count stay in clear to find
 * the chunks again.
 */
export class SnapshotStaging {
  private readonly stmts;
  private readonly sealer: Sealer;

  constructor(
    private readonly db: SyncDb,
    key: KeyObject,
  ) {
    this.sealer = new Sealer(key);
    this.stmts = {
      current: db.prepare(
        `SELECT c.snapshot_id AS snapshotId, c.version, c.count, c.received, e.epoch
         FROM (SELECT snapshot_id, version, count, COUNT(*) AS received FROM staged_chunks GROUP BY snapshot_id LIMIT 1) c
         LEFT JOIN staged_epochs e USING (snapshot_id)`,
      ),
      clearOthers: db.prepare('DELETE FROM staged_chunks WHERE snapshot_id <> ?'),
      clearOtherEpochs: db.prepare('DELETE FROM staged_epochs WHERE snapshot_id <> ?'),
      clear: db.prepare('DELETE FROM staged_chunks'),
      clearEpochs: db.prepare('DELETE FROM staged_epochs'),
      insert: db.prepare('INSERT OR IGNORE INTO staged_chunks (snapshot_id, version, idx, count, sealed) VALUES (?, ?, ?, ?, ?)'),
      insertEpoch: db.prepare('INSERT OR REPLACE INTO staged_epochs (snapshot_id, epoch) VALUES (?, ?)'),
      indices: db.prepare('SELECT idx FROM staged_chunks WHERE snapshot_id = ? ORDER BY idx'),
      rows: db.prepare(
        'SELECT c.snapshot_id AS snapshotId, c.version, c.idx, c.count, c.sealed, e.epoch FROM staged_chunks c LEFT JOIN staged_epochs e USING (snapshot_id) WHERE c.snapshot_id = ? ORDER BY c.idx',
      ),
      all: db.prepare('SELECT c.snapshot_id AS snapshotId, c.version, c.idx, c.count, c.sealed, e.epoch FROM staged_chunks c LEFT JOIN staged_epochs e USING (snapshot_id)'),
      remove: db.prepare('DELETE FROM staged_chunks WHERE snapshot_id = ? AND idx = ?'),
    };
  }

  current(): StagedSnapshot | null {
    const row = this.stmts.current.get() as StagedRow | undefined;
    if (!row) return null;
    const { epoch, ...rest } = row;
    // The epoch is authenticated with each chunk when the chunks are opened (its AAD).
    const parsed = epoch === null ? undefined : RosterEpochSchema.safeParse(JSON.parse(epoch)).data;
    return { ...rest, epoch: parsed };
  }

  /** Seal and store one chunk (idempotent); returns the staged state after it. */
  put(snapshotId: string, version: number, index: number, count: number, itemsJson: string, epoch?: RosterEpoch): StagedSnapshot {
    const epochJson = epoch === undefined ? null : JSON.stringify(epoch);
    const sealed = this.sealer.seal(Buffer.from(itemsJson, 'utf8'), stagedChunkAad(snapshotId, version, index, count, epochJson));
    const tx = this.db.transaction(() => {
      const cur = this.stmts.current.get() as StagedRow | undefined;
      if (cur && (cur.snapshotId !== snapshotId || cur.version !== version || cur.count !== count || cur.epoch !== epochJson)) {
        this.stmts.clearOthers.run(snapshotId);
        this.stmts.clearOtherEpochs.run(snapshotId);
      }
      if (!cur && epochJson !== null) this.stmts.clearEpochs.run();
      if (epochJson !== null) this.stmts.insertEpoch.run(snapshotId, epochJson);
      this.stmts.insert.run(snapshotId, version, index, count, sealed);
    });
    tx();
    const cur = this.current();
    if (!cur) throw new Error('snapshot staging lost its chunk');
    return cur;
  }

  missing(): number[] {
    const cur = this.current();
    if (!cur) return [];
    const have = new Set((this.stmts.indices.all(cur.snapshotId) as { idx: number }[]).map((r) => r.idx));
    const out: number[] = [];
    for (let i = 0; i < cur.count; i++) if (!have.has(i)) out.push(i);
    return out;
  }

  /**
   * JSON text of each chunk's items, in chunk order, opened from the file. Chunks that do not
   * authenticate are deleted and reported together (StagedChunkError); nothing is returned then, so
   * a partly readable snapshot is never applied.
   */
  chunks(snapshotId: string): string[] {
    const out: string[] = [];
    const bad: number[] = [];
    for (const r of this.stmts.rows.all(snapshotId) as ChunkRow[]) {
      const text = this.open(r);
      if (text === null) bad.push(r.idx);
      else out.push(text);
    }
    if (bad.length > 0) {
      this.db.transaction(() => {
        for (const i of bad) this.stmts.remove.run(snapshotId, i);
      })();
      throw new StagedChunkError(bad);
    }
    return out;
  }

  /**
   * Opens every staged chunk and deletes those that do not authenticate (run at start-up: after a
   * device secret rotation none of them opens). Returns the number deleted.
   */
  discardUnreadable(): number {
    const bad = (this.stmts.all.all() as ChunkRow[]).filter((r) => this.open(r) === null);
    this.db.transaction(() => {
      for (const r of bad) this.stmts.remove.run(r.snapshotId, r.idx);
    })();
    return bad.length;
  }

  /**
   * Deletes every staged chunk (a snapshot applied or abandoned), gives their pages back to the file
   * system, and truncates the write-ahead log, which held them as written (sealed, beside the device
   * secret their key comes from): a person the snapshot carried and a later tombstone deleted leaves no
   * copy here (secure_delete zeroes the rows).
   */
  clear(): void {
    this.stmts.clear.run();
    this.stmts.clearEpochs.run();
    this.db.pragma('incremental_vacuum'); // the file gives back the chunks' pages (runtime/sync/db.ts)
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  private open(r: ChunkRow): string | null {
    if (!Buffer.isBuffer(r.sealed)) return null; // a value of another type written into the file
    try {
      return this.sealer.open(r.sealed, stagedChunkAad(r.snapshotId, r.version, r.idx, r.count, r.epoch)).toString('utf8');
    } catch (e) {
      if (e instanceof SealError) return null;
      throw e;
    }
  }
}

interface ChunkRow {
  snapshotId: string;
  version: number;
  idx: number;
  count: number;
  sealed: Buffer;
  epoch: string | null;
}
