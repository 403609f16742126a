/**
 * What retention and the unused-residents check keep in hub.db (the migration that adds
 * RETENTION_SCHEMA): the indexes the daily sweep deletes audit rows and alerts by, the tenancies whose
 * access ended (audited once, purged after the grace period), and the managers' confirmations that an
 * unused resident still lives there; photo folders of no person, from the sweep that first found them. SQLite only; the queries are here, not in db.ts.
 */
import type Database from 'better-sqlite3';

export const RETENTION_SCHEMA = `
CREATE INDEX audit_at ON audit (at);
CREATE INDEX alerts_at ON alerts (at);
CREATE TABLE access_ended (
  person_id TEXT PRIMARY KEY,
  ended_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE orphan_photo_folders (
  photo_key TEXT PRIMARY KEY,
  seen_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE resident_confirmations (
  person_id TEXT PRIMARY KEY,
  confirmed_at INTEGER NOT NULL,
  confirmed_by TEXT NOT NULL
) WITHOUT ROWID;
`;

/** An active resident as the tenancy check reads them: id, access, and when they were added. */
export interface ActiveResident {
  personId: string;
  authorisations: string;
  createdAt: number;
}

export class SqliteRetention {
  constructor(private readonly db: Database.Database) {}

  deleteAuditBefore(before: number): number {
    return this.db.prepare('DELETE FROM audit WHERE at < ?').run(before).changes;
  }

  deleteAlertsBefore(before: number): number {
    return this.db.prepare('DELETE FROM alerts WHERE at < ?').run(before).changes;
  }

  /** Visitor passes (their label may name the visitor) and their uses, ended before `before`. */
  deletePassesEndedBefore(before: number): number {
    this.db.prepare('DELETE FROM pass_uses WHERE pass_id IN (SELECT pass_id FROM passes WHERE not_after < ?)').run(before);
    return this.db.prepare('DELETE FROM passes WHERE not_after < ?').run(before).changes;
  }

  /** Active residents (their access as stored JSON), without templates or photos. */
  activeResidents(): ActiveResident[] {
    return this.db.prepare("SELECT person_id AS personId, authorisations, created_at AS createdAt FROM persons WHERE kind = 'resident' AND status = 'active' ORDER BY person_id").all() as ActiveResident[];
  }

  /** Ids of the active residents, from the listing index (no row, no template read). */
  activeResidentIds(): string[] {
    return (this.db.prepare("SELECT person_id AS p FROM persons WHERE kind = 'resident' AND status = 'active'").all() as Array<{ p: string }>).map((r) => r.p);
  }

  /** When a person was added (ms) and their access as stored (JSON), or null; templates are not parsed. */
  residentFacts(personId: string): { createdAt: number; authorisations: string } | null {
    return (this.db.prepare('SELECT created_at AS createdAt, authorisations FROM persons WHERE person_id = ?').get(personId) as { createdAt: number; authorisations: string } | undefined) ?? null;
  }

  /** Pending persons (registrations not decided) added before `before`, with their registration's id if any. */
  pendingBefore(before: number): Array<{ personId: string; registrationId: string | null }> {
    return this.db.prepare(`SELECT p.person_id AS personId, r.id AS registrationId FROM persons p
      LEFT JOIN registrations r ON r.person_id = p.person_id AND r.status = 'pending'
      WHERE p.status = 'pending' AND p.created_at < ? ORDER BY p.person_id`).all(before) as Array<{ personId: string; registrationId: string | null }>;
  }

  deleteRejectedRegistrationsBefore(before: number): number {
    return this.db.prepare("DELETE FROM registrations WHERE status = 'rejected' AND decided_at < ?").run(before).changes;
  }

  /** Photo folder keys of persons that are not revoked. */
  photoKeysInUse(): Set<string> {
    return new Set((this.db.prepare("SELECT photo_key AS k FROM persons WHERE status != 'revoked' AND photo_key != ''").all() as Array<{ k: string }>).map((r) => r.k));
  }

  /**
   * The photo folders of no person found now (`found`), remembered from the first sweep that saw them:
   * returns those seen first at or before `seenBefore`; forgets the ones no longer found.
   */
  orphanFolders(found: readonly string[], now: number, seenBefore: number): string[] {
    const known = new Map((this.db.prepare('SELECT photo_key AS k, seen_at AS at FROM orphan_photo_folders').all() as Array<{ k: string; at: number }>).map((r) => [r.k, r.at]));
    const add = this.db.prepare('INSERT INTO orphan_photo_folders (photo_key, seen_at) VALUES (?, ?)');
    const del = this.db.prepare('DELETE FROM orphan_photo_folders WHERE photo_key = ?');
    const present = new Set(found);
    for (const k of known.keys()) if (!present.has(k)) del.run(k);
    const due: string[] = [];
    for (const k of found) {
      const at = known.get(k);
      if (at === undefined) add.run(k, now);
      else if (at <= seenBefore) due.push(k);
    }
    return due;
  }

  forgetOrphanFolder(key: string): void {
    this.db.prepare('DELETE FROM orphan_photo_folders WHERE photo_key = ?').run(key);
  }

  /** Marks a tenancy ended at `endedAt`; true the first time. */
  markAccessEnded(personId: string, endedAt: number): boolean {
    return this.db.prepare('INSERT INTO access_ended (person_id, ended_at) VALUES (?, ?) ON CONFLICT(person_id) DO NOTHING').run(personId, endedAt).changes > 0;
  }

  /** Forgets tenancies marked ended whose person is no longer in `stillEnded` (access extended, or revoked). */
  keepAccessEnded(stillEnded: ReadonlySet<string>): number {
    const rows = this.db.prepare('SELECT person_id AS p FROM access_ended').all() as Array<{ p: string }>;
    const del = this.db.prepare('DELETE FROM access_ended WHERE person_id = ?');
    let n = 0;
    for (const r of rows) if (!stillEnded.has(r.p)) n += del.run(r.p).changes;
    return n;
  }

  confirmResident(personId: string, by: string, at: number): void {
    this.db.prepare('INSERT INTO resident_confirmations (person_id, confirmed_at, confirmed_by) VALUES (?, ?, ?) ON CONFLICT(person_id) DO UPDATE SET confirmed_at = excluded.confirmed_at, confirmed_by = excluded.confirmed_by')
      .run(personId, at, by);
  }

  /** When each resident was last confirmed as still living there. */
  confirmations(): Map<string, number> {
    return new Map((this.db.prepare('SELECT person_id AS p, confirmed_at AS at FROM resident_confirmations').all() as Array<{ p: string; at: number }>).map((r) => [r.p, r.at]));
  }

  /** Confirmations of persons no longer active are forgotten (a new tenant under the same id starts afresh). */
  deleteStaleConfirmations(): number {
    return this.db.prepare("DELETE FROM resident_confirmations WHERE person_id NOT IN (SELECT person_id FROM persons WHERE status = 'active')").run().changes;
  }
}
