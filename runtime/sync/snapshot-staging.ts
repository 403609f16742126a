import type { SyncDb } from './db';

export interface StagedSnapshot {
  snapshotId: string;
  version: number;
  count: number;
  received: number;
}

/**
 * Chunks of the snapshot being received, kept on disk so that an interrupted transfer (network,
 * broker or terminal restart) resumes with the missing chunks only. At most one snapshot is staged:
 * a chunk of a different snapshot discards the old one.
 */
export class SnapshotStaging {
  private readonly stmts;

  constructor(private readonly db: SyncDb) {
    this.stmts = {
      current: db.prepare(
        'SELECT snapshot_id AS snapshotId, version, count, COUNT(*) AS received FROM snapshot_chunks GROUP BY snapshot_id LIMIT 1',
      ),
      clearOthers: db.prepare('DELETE FROM snapshot_chunks WHERE snapshot_id <> ?'),
      clear: db.prepare('DELETE FROM snapshot_chunks'),
      insert: db.prepare('INSERT OR IGNORE INTO snapshot_chunks (snapshot_id, version, idx, count, items) VALUES (?, ?, ?, ?, ?)'),
      indices: db.prepare('SELECT idx FROM snapshot_chunks WHERE snapshot_id = ? ORDER BY idx'),
      items: db.prepare('SELECT items FROM snapshot_chunks WHERE snapshot_id = ? ORDER BY idx'),
    };
  }

  current(): StagedSnapshot | null {
    return (this.stmts.current.get() as StagedSnapshot | undefined) ?? null;
  }

  /** Store one chunk (idempotent); returns the staged state after it. */
  put(snapshotId: string, version: number, index: number, count: number, itemsJson: string): StagedSnapshot {
    const tx = this.db.transaction(() => {
      const cur = this.current();
      if (cur && (cur.snapshotId !== snapshotId || cur.version !== version || cur.count !== count)) this.stmts.clearOthers.run(snapshotId);
      this.stmts.insert.run(snapshotId, version, index, count, itemsJson);
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

  /** JSON text of each chunk's items, in chunk order. */
  chunks(snapshotId: string): string[] {
    return (this.stmts.items.all(snapshotId) as { items: string }[]).map((r) => r.items);
  }

  clear(): void {
    this.stmts.clear.run();
  }
}
