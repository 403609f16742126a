/**
 * Where the terminal's roster stands in the hub's history (runtime/roster/acceptance.ts), kept in the
 * roster database's `roster_meta` table so that it commits with the rows it describes: the version,
 * the epoch held (absent: none yet, or a roster from before epochs) and the high-water mark (the
 * highest version held in that epoch; a wipe resets the version, not the mark).
 */
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { HeldEpochSchema } from '../protocol/schemas';
import type { RosterPosition } from './acceptance';

export class RosterPositionTable {
  private readonly stmts;

  constructor(db: Database.Database) {
    this.stmts = {
      get: db.prepare<[string], { value: string }>('SELECT value FROM roster_meta WHERE key = ?'),
      set: db.prepare<[string, string]>('INSERT INTO roster_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      del: db.prepare<[string]>('DELETE FROM roster_meta WHERE key = ?'),
    };
  }

  version(): number {
    return Number(this.stmts.get.get('roster_version')?.value ?? 0);
  }

  get(): RosterPosition {
    const version = this.version();
    const epochText = this.stmts.get.get('epoch')?.value;
    const epoch = epochText === undefined ? null : HeldEpochSchema.parse(JSON.parse(epochText));
    const hw = this.stmts.get.get('high_water')?.value;
    return { epoch, version, highWater: hw === undefined ? version : z.coerce.number().int().nonnegative().parse(hw) };
  }

  /** Call inside the transaction that writes the rows. */
  set(p: RosterPosition): void {
    this.stmts.set.run('roster_version', String(p.version));
    this.stmts.set.run('high_water', String(p.highWater));
    if (p.epoch === null) this.stmts.del.run('epoch');
    else this.stmts.set.run('epoch', JSON.stringify(p.epoch));
  }

  /** A wipe: version 0, the epoch and the high-water mark kept. */
  resetVersion(): void {
    const p = this.get();
    this.set({ ...p, version: 0 });
  }
}
