/**
 * Erasures of persons on the hub (issue 16 items 2 and 6), hub.db `person_erasures` and
 * `erasure_confirmations` (the migration that adds erasures, HUB_MIGRATIONS in provisioning/db.ts).
 *
 * One row per person revoked or erased: who asked, when, and the roster version that carried their
 * tombstone to the doors (set by the running hub once it has published it, provisioning/hub/
 * erasure-tombstones.ts; roster_log holds ids only, so no delta is left to compact). Nothing else about the person:
 * the id is kept, and the fact of the revocation, as the audit log needs them.
 *
 * A terminal has deleted the person when it holds a roster at or past that version (a delta replay
 * applies the tombstone, a snapshot at or past it no longer has the person): the hub records that
 * from the `rosterVersion` each terminal reports in its heartbeat (provisioning/hub/erasure-confirmations.ts),
 * once per person and terminal.
 */
import type Database from 'better-sqlite3';

/** The migration: the tables, and persons revoked before it lose their label, note and registration's name, room and number as a revocation now does. */
export const ERASURES_TABLES = `CREATE TABLE person_erasures (
  person_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('revoke', 'erase')),
  requested_at INTEGER NOT NULL,
  requested_by TEXT NOT NULL,
  rev INTEGER NOT NULL,
  version INTEGER,
  compacted_at INTEGER,
  compacted_deltas INTEGER
);
CREATE INDEX person_erasures_version ON person_erasures (version);
CREATE TABLE erasure_confirmations (
  person_id TEXT NOT NULL,
  terminal_id TEXT NOT NULL,
  roster_version INTEGER NOT NULL,
  confirmed_at INTEGER NOT NULL,
  PRIMARY KEY (person_id, terminal_id)
) WITHOUT ROWID;
UPDATE persons SET label = NULL, note = NULL WHERE status = 'revoked' AND (label IS NOT NULL OR note IS NOT NULL);
UPDATE registrations SET name = '', id_number_masked = '', room = '', photos = '[]' WHERE person_id IN (SELECT person_id FROM persons WHERE status = 'revoked');`;

export interface ErasureRecord {
  personId: string;
  kind: 'revoke' | 'erase';
  requestedAt: number;
  requestedBy: string;
  /** The person's revision of the tombstone (published when the person's published revision reaches it). */
  rev: number;
  /** The roster version that carried the tombstone; null until the hub has published it. */
  version: number | null;
  /** When the hub deleted the older roster deltas holding the person (null: not yet). */
  compactedAt: number | null;
  compactedDeltas: number | null;
}

export interface ErasureConfirmation {
  terminalId: string;
  /** The roster version the terminal reported, at or past the tombstone's. */
  rosterVersion: number;
  confirmedAt: number;
}

export interface ErasureStore {
  /**
   * Records that a person was revoked or erased at revision `rev` (a later revocation of the same id,
   * after a new enrolment, starts again: its confirmations are forgotten). An erase of a revoked
   * person keeps the tombstone's version and confirmations, and becomes kind `erase`.
   */
  recordErasure(e: { personId: string; kind: 'revoke' | 'erase'; requestedBy: string; rev: number }, now: number): void;
  erasure(personId: string): ErasureRecord | null;
  /** Erasures whose tombstone is published (the person's published revision reached it) and whose deltas are not compacted yet. */
  erasuresToCompact(): ErasureRecord[];
  /** The hub published the tombstone in `version` and deleted `deltas` older deltas holding the person. */
  markCompacted(personId: string, version: number, deltas: number, now: number): void;
  /**
   * A terminal reported `rosterVersion`: every erasure published after `after` and at or before it is
   * confirmed by it (once; `after` is what the caller already handed in for this terminal, 0 for all).
   * Returns how many were new.
   */
  confirmUpTo(terminalId: string, after: number, rosterVersion: number, now: number): number;
  confirmations(personId: string): ErasureConfirmation[];
}

type Row = Record<string, unknown>;

function fromRow(r: Row): ErasureRecord {
  return {
    personId: r['person_id'] as string,
    kind: r['kind'] as ErasureRecord['kind'],
    requestedAt: r['requested_at'] as number,
    requestedBy: r['requested_by'] as string,
    rev: r['rev'] as number,
    version: (r['version'] as number | null) ?? null,
    compactedAt: (r['compacted_at'] as number | null) ?? null,
    compactedDeltas: (r['compacted_deltas'] as number | null) ?? null,
  };
}

/** A person's rows in hub.db outside `persons`, as the export reads them (plain rows, JSON columns parsed). */
export interface HeldAbout {
  registrations: Row[];
  alerts: Row[];
  passes: Row[];
  passUses: Row[];
  audit: Row[];
  adaptedTemplates: Row[];
}

/** What an erasure deleted from hub.db outside the person's own row. */
export interface ErasedRows {
  registrations: number;
  alerts: number;
  passLabels: number;
  auditRowsScrubbed: number;
  adaptedTemplates: number;
  photoMoves: number;
}

/** The person's data in hub.db beyond the person row: read for an export, scrubbed at a revocation, deleted at an erasure. */
export interface PersonDataStore {
  heldAbout(personId: string): HeldAbout;
  /**
   * A revocation keeps the id and the fact: the registration's name, room, masked number and photo
   * list are blanked (its building and status stay, for the manager's view and the audit), and the
   * free-text fields of audit rows about the person (note, label, name, room) are removed.
   */
  scrubOnRevoke(personId: string): { registrations: number; auditRows: number };
  /** An erasure: registrations, sightings, adapted templates and pending photo moves deleted, labels of their passes cleared, audit rows about them reduced to the fact. */
  eraseHeldAbout(personId: string): ErasedRows;
}

const PERSONAL_AUDIT_FIELDS = ['$.note', '$.label', '$.name', '$.room'];

/** Audit rows about the person: by subject (the person, their registrations) or naming them in the detail. */
const ABOUT = `(subject = @id OR subject IN (SELECT id FROM registrations WHERE person_id = @id) OR json_extract(detail, '$.personId') = @id)`;

function parsedRow(r: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === 'string' && /^[[{]/.test(v)) {
      try {
        out[k] = JSON.parse(v) as unknown;
        continue;
      } catch {
        /* not JSON: kept as text */
      }
    }
    out[k] = v;
  }
  return out;
}

export class SqlitePersonData implements PersonDataStore {
  constructor(protected readonly db: Database.Database) {}

  heldAbout(personId: string): HeldAbout {
    const all = (sql: string, ...args: unknown[]): Row[] => (this.db.prepare(sql).all(...args) as Row[]).map(parsedRow);
    return {
      registrations: all('SELECT * FROM registrations WHERE person_id = ? ORDER BY submitted_at', personId),
      alerts: all('SELECT * FROM alerts WHERE person_id = ? ORDER BY id', personId),
      passes: all('SELECT * FROM passes WHERE issued_by = ? ORDER BY issued_at', personId),
      passUses: all('SELECT u.* FROM pass_uses u JOIN passes p ON p.pass_id = u.pass_id WHERE p.issued_by = ? ORDER BY u.pass_id, u.terminal_id', personId),
      audit: all(`SELECT * FROM audit WHERE ${ABOUT} ORDER BY id`, { id: personId }),
      adaptedTemplates: all('SELECT * FROM adapted_templates WHERE person_id = ? ORDER BY learnt_at', personId),
    };
  }

  scrubOnRevoke(personId: string): { registrations: number; auditRows: number } {
    const registrations = this.db.prepare("UPDATE registrations SET name = '', id_number_masked = '', room = '', photos = '[]' WHERE person_id = ? AND (name <> '' OR room <> '' OR id_number_masked <> '' OR photos <> '[]')").run(personId).changes;
    const paths = PERSONAL_AUDIT_FIELDS.map((p) => `'${p}'`).join(', ');
    const has = PERSONAL_AUDIT_FIELDS.map((p) => `json_type(detail, '${p}') IS NOT NULL`).join(' OR ');
    const auditRows = this.db.prepare(`UPDATE audit SET detail = json_remove(detail, ${paths}) WHERE ${ABOUT} AND json_valid(detail) AND (${has})`).run({ id: personId }).changes;
    return { registrations, auditRows };
  }

  eraseHeldAbout(personId: string): ErasedRows {
    // Audit rows first: they are found through the registrations too.
    const auditRowsScrubbed = this.db.prepare(`UPDATE audit SET detail = '{"erased":true}' WHERE ${ABOUT} AND detail <> '{"erased":true}'`).run({ id: personId }).changes;
    return {
      auditRowsScrubbed,
      registrations: this.db.prepare('DELETE FROM registrations WHERE person_id = ?').run(personId).changes,
      alerts: this.db.prepare('DELETE FROM alerts WHERE person_id = ?').run(personId).changes,
      passLabels: this.db.prepare('UPDATE passes SET label = NULL WHERE issued_by = ? AND label IS NOT NULL').run(personId).changes,
      adaptedTemplates: this.db.prepare('DELETE FROM adapted_templates WHERE person_id = ?').run(personId).changes,
      photoMoves: this.db.prepare('DELETE FROM photo_moves WHERE person_id = ?').run(personId).changes,
    };
  }
}

/** The SQLite implementation, on hub.db's connection (HubDb delegates to it). */
export class SqliteErasures extends SqlitePersonData implements ErasureStore {

  recordErasure(e: { personId: string; kind: 'revoke' | 'erase'; requestedBy: string; rev: number }, now: number): void {
    const prev = this.erasure(e.personId);
    if (prev && prev.rev === e.rev) {
      // The same tombstone (an erase of a person already revoked): keep its version and confirmations.
      if (e.kind === 'erase') this.db.prepare("UPDATE person_erasures SET kind = 'erase', requested_at = ?, requested_by = ? WHERE person_id = ?").run(now, e.requestedBy, e.personId);
      return;
    }
    this.db.prepare('DELETE FROM erasure_confirmations WHERE person_id = ?').run(e.personId);
    this.db.prepare(`INSERT INTO person_erasures (person_id, kind, requested_at, requested_by, rev) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (person_id) DO UPDATE SET kind = excluded.kind, requested_at = excluded.requested_at, requested_by = excluded.requested_by,
        rev = excluded.rev, version = NULL, compacted_at = NULL, compacted_deltas = NULL`).run(e.personId, e.kind, now, e.requestedBy, e.rev);
  }

  erasure(personId: string): ErasureRecord | null {
    const r = this.db.prepare('SELECT * FROM person_erasures WHERE person_id = ?').get(personId) as Row | undefined;
    return r ? fromRow(r) : null;
  }

  erasuresToCompact(): ErasureRecord[] {
    return (this.db.prepare(`SELECT e.* FROM person_erasures e JOIN persons p ON p.person_id = e.person_id
      WHERE e.compacted_at IS NULL AND p.published_rev >= e.rev ORDER BY e.requested_at, e.person_id`).all() as Row[]).map(fromRow);
  }

  markCompacted(personId: string, version: number, deltas: number, now: number): void {
    this.db.prepare('UPDATE person_erasures SET version = ?, compacted_at = ?, compacted_deltas = ? WHERE person_id = ?').run(version, now, deltas, personId);
  }

  confirmUpTo(terminalId: string, after: number, rosterVersion: number, now: number): number {
    if (rosterVersion <= after) return 0;
    return this.db.prepare(`INSERT OR IGNORE INTO erasure_confirmations (person_id, terminal_id, roster_version, confirmed_at)
      SELECT person_id, ?, ?, ? FROM person_erasures WHERE version > ? AND version <= ?`).run(terminalId, rosterVersion, now, after, rosterVersion).changes;
  }

  confirmations(personId: string): ErasureConfirmation[] {
    return (this.db.prepare('SELECT terminal_id, roster_version, confirmed_at FROM erasure_confirmations WHERE person_id = ? ORDER BY terminal_id').all(personId) as Row[]).map((r) => ({
      terminalId: r['terminal_id'] as string,
      rosterVersion: r['roster_version'] as number,
      confirmedAt: r['confirmed_at'] as number,
    }));
  }
}
