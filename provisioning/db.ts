/**
 * The hub database (SQLite, WAL): the one place where the community's state lives. The `provision`
 * commands write desired state here (persons, terminals, command requests, audit rows); the running
 * hub reads it, signs and publishes, and writes back what it did (roster versions, command delivery,
 * terminal status, alerts). WAL lets both processes work on it at the same time.
 */
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import { z } from 'zod';
import { AuthorisationSchema, PersonUpsertSchema, TagSchema, TemplateSchema, type PersonUpsert } from '../runtime/roster/batch';
import { CommandSchema, HealthSchema, type Command, type Health } from '../runtime/protocol/schemas';
import { TerminalError } from '../core/errors';

export class HubDbError extends TerminalError {
  readonly code = 'hub-db';
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS terminals (
  id TEXT PRIMARY KEY,
  door_id TEXT NOT NULL,
  building_id TEXT NOT NULL,
  serial TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS persons (
  person_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('resident', 'alert')),
  status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'revoked')),
  label TEXT,
  note TEXT,
  templates TEXT NOT NULL,
  authorisations TEXT NOT NULL,
  tags TEXT NOT NULL,
  photos TEXT NOT NULL,
  rev INTEGER NOT NULL,
  published_rev INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS persons_dirty ON persons (published_rev, rev);
CREATE TABLE IF NOT EXISTS roster_log (
  version INTEGER PRIMARY KEY,
  payload TEXT NOT NULL,
  persons INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS commands (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  terminal_id TEXT NOT NULL,
  command TEXT NOT NULL,
  requested_at INTEGER NOT NULL,
  requested_by TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'expired', 'refused')),
  done_at INTEGER
);
CREATE TABLE IF NOT EXISTS terminal_status (
  terminal_id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  health TEXT,
  received_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  tag TEXT NOT NULL,
  person_id TEXT NOT NULL,
  door_id TEXT NOT NULL,
  terminal_id TEXT NOT NULL,
  score REAL NOT NULL,
  at INTEGER NOT NULL,
  raised_at INTEGER NOT NULL,
  webhook TEXT NOT NULL DEFAULT 'none'
);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail TEXT NOT NULL
);
`;

export type PersonStatus = 'pending' | 'active' | 'revoked';
export type PersonKind = 'resident' | 'alert';

export const PersonRecordSchema = z.strictObject({
  personId: PersonUpsertSchema.shape.personId,
  kind: z.enum(['resident', 'alert']),
  status: z.enum(['pending', 'active', 'revoked']),
  label: z.string().max(200).nullable(),
  note: z.string().max(1000).nullable(),
  templates: z.array(TemplateSchema),
  authorisations: z.array(AuthorisationSchema),
  tags: z.array(TagSchema),
  /** Stored enrolment photos (paths inside the community folder); deleted on revocation. */
  photos: z.array(z.string()),
  rev: z.number().int(),
  publishedRev: z.number().int(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});
export type PersonRecord = z.infer<typeof PersonRecordSchema>;

export interface TerminalRecord {
  id: string;
  doorId: string;
  buildingId: string;
  serial: string;
  status: 'active' | 'revoked';
  createdAt: number;
  revokedAt: number | null;
}

export interface TerminalStatusRecord {
  terminalId: string;
  state: 'online' | 'offline';
  health: Health | null;
  receivedAt: number;
}

export interface AlertRecord {
  id: number;
  eventId: string;
  tag: string;
  personId: string;
  doorId: string;
  terminalId: string;
  score: number;
  at: number;
  raisedAt: number;
  webhook: string;
}

export interface AuditRecord {
  id: number;
  at: number;
  actor: string;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}

export interface CommandRecord {
  id: number;
  terminalId: string;
  command: Command;
  requestedAt: number;
  requestedBy: string;
  status: 'queued' | 'sent' | 'expired' | 'refused';
  doneAt: number | null;
}

type Row = Record<string, unknown>;

function personFromRow(r: Row): PersonRecord {
  return PersonRecordSchema.parse({
    personId: r['person_id'],
    kind: r['kind'],
    status: r['status'],
    label: r['label'],
    note: r['note'],
    templates: JSON.parse(r['templates'] as string) as unknown,
    authorisations: JSON.parse(r['authorisations'] as string) as unknown,
    tags: JSON.parse(r['tags'] as string) as unknown,
    photos: JSON.parse(r['photos'] as string) as unknown,
    rev: r['rev'],
    publishedRev: r['published_rev'],
    createdAt: r['created_at'],
    updatedAt: r['updated_at'],
  });
}

function terminalFromRow(r: Row): TerminalRecord {
  return {
    id: r['id'] as string,
    doorId: r['door_id'] as string,
    buildingId: r['building_id'] as string,
    serial: r['serial'] as string,
    status: r['status'] as TerminalRecord['status'],
    createdAt: r['created_at'] as number,
    revokedAt: (r['revoked_at'] as number | null) ?? null,
  };
}

/** What the terminals get for one person: an upsert, a tombstone for a revoked one, or nothing yet. */
export type RosterItem = PersonUpsert | { revokedPersonId: string };

export function rosterItemOf(p: PersonRecord): RosterItem | null {
  if (p.status === 'revoked') return { revokedPersonId: p.personId };
  if (p.status === 'pending') return null;
  return { personId: p.personId, ...(p.label !== null ? { label: p.label } : {}), templates: p.templates, authorisations: p.authorisations, tags: p.tags };
}

export class HubDb {
  readonly db: Database.Database;

  constructor(readonly path: string) {
    this.db = new Database(path);
    chmodSync(path, 0o600); // templates are biometric data
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  tx<T>(f: () => T): T {
    return this.db.transaction(f).immediate();
  }

  // Terminals

  addTerminal(t: Omit<TerminalRecord, 'status' | 'revokedAt'>): void {
    this.db.prepare('INSERT INTO terminals (id, door_id, building_id, serial, status, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(t.id, t.doorId, t.buildingId, t.serial, 'active', t.createdAt);
  }

  terminal(id: string): TerminalRecord | null {
    const r = this.db.prepare('SELECT * FROM terminals WHERE id = ?').get(id) as Row | undefined;
    return r ? terminalFromRow(r) : null;
  }

  terminals(): TerminalRecord[] {
    return (this.db.prepare('SELECT * FROM terminals ORDER BY id').all() as Row[]).map(terminalFromRow);
  }

  revokeTerminal(id: string, at: number): void {
    this.db.prepare("UPDATE terminals SET status = 'revoked', revoked_at = ? WHERE id = ?").run(at, id);
  }

  // Persons

  person(id: string): PersonRecord | null {
    const r = this.db.prepare('SELECT * FROM persons WHERE person_id = ?').get(id) as Row | undefined;
    return r ? personFromRow(r) : null;
  }

  persons(filter: { status?: PersonStatus; kind?: PersonKind; tag?: string } = {}): PersonRecord[] {
    const rows = this.db.prepare('SELECT * FROM persons ORDER BY person_id').all() as Row[];
    return rows.map(personFromRow).filter((p) =>
      (!filter.status || p.status === filter.status) && (!filter.kind || p.kind === filter.kind) && (!filter.tag || p.tags.includes(filter.tag)));
  }

  /** Insert or replace a person; bumps `rev` so the hub publishes the change. */
  savePerson(p: Omit<PersonRecord, 'rev' | 'publishedRev' | 'createdAt' | 'updatedAt'>, now: number): PersonRecord {
    const prev = this.person(p.personId);
    const rev = (prev?.rev ?? 0) + 1;
    const rec: PersonRecord = PersonRecordSchema.parse({ ...p, rev, publishedRev: prev?.publishedRev ?? 0, createdAt: prev?.createdAt ?? now, updatedAt: now });
    this.db.prepare(`INSERT INTO persons (person_id, kind, status, label, note, templates, authorisations, tags, photos, rev, published_rev, created_at, updated_at)
      VALUES (@personId, @kind, @status, @label, @note, @templates, @authorisations, @tags, @photos, @rev, @publishedRev, @createdAt, @updatedAt)
      ON CONFLICT (person_id) DO UPDATE SET kind = excluded.kind, status = excluded.status, label = excluded.label, note = excluded.note,
        templates = excluded.templates, authorisations = excluded.authorisations, tags = excluded.tags, photos = excluded.photos,
        rev = excluded.rev, updated_at = excluded.updated_at`).run({
      ...rec,
      templates: JSON.stringify(rec.templates),
      authorisations: JSON.stringify(rec.authorisations),
      tags: JSON.stringify(rec.tags),
      photos: JSON.stringify(rec.photos),
    });
    return rec;
  }

  /** Persons changed since they were last published (oldest change first). */
  dirtyPersons(limit: number): PersonRecord[] {
    return (this.db.prepare('SELECT * FROM persons WHERE rev > published_rev ORDER BY updated_at, person_id LIMIT ?').all(limit) as Row[]).map(personFromRow);
  }

  // Roster versions

  rosterVersion(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM roster_log').get() as { v: number }).v;
  }

  rosterLog(sinceVersion: number): Array<[number, string]> {
    return (this.db.prepare('SELECT version, payload FROM roster_log WHERE version > ? ORDER BY version').all(sinceVersion) as Row[])
      .map((r) => [r['version'] as number, r['payload'] as string]);
  }

  /** Record a published roster version and mark the persons in it as published at the revs read. */
  recordVersion(version: number, payload: string, published: ReadonlyArray<{ personId: string; rev: number }>, now: number): void {
    this.tx(() => {
      this.db.prepare('INSERT INTO roster_log (version, payload, persons, created_at) VALUES (?, ?, ?, ?)').run(version, payload, published.length, now);
      const mark = this.db.prepare('UPDATE persons SET published_rev = ? WHERE person_id = ? AND published_rev < ?');
      for (const p of published) mark.run(p.rev, p.personId, p.rev);
    });
  }

  // Commands

  queueCommand(terminalId: string, command: Command, by: string, now: number): number {
    return Number(this.db.prepare("INSERT INTO commands (terminal_id, command, requested_at, requested_by, status) VALUES (?, ?, ?, ?, 'queued')")
      .run(terminalId, JSON.stringify(CommandSchema.parse(command)), now, by).lastInsertRowid);
  }

  queuedCommands(): CommandRecord[] {
    return (this.db.prepare("SELECT * FROM commands WHERE status = 'queued' ORDER BY id").all() as Row[]).map((r) => this.commandFromRow(r));
  }

  command(id: number): CommandRecord | null {
    const r = this.db.prepare('SELECT * FROM commands WHERE id = ?').get(id) as Row | undefined;
    return r ? this.commandFromRow(r) : null;
  }

  finishCommand(id: number, status: CommandRecord['status'], now: number): void {
    this.db.prepare('UPDATE commands SET status = ?, done_at = ? WHERE id = ?').run(status, now, id);
  }

  private commandFromRow(r: Row): CommandRecord {
    return {
      id: r['id'] as number,
      terminalId: r['terminal_id'] as string,
      command: CommandSchema.parse(JSON.parse(r['command'] as string)),
      requestedAt: r['requested_at'] as number,
      requestedBy: r['requested_by'] as string,
      status: r['status'] as CommandRecord['status'],
      doneAt: (r['done_at'] as number | null) ?? null,
    };
  }

  // Terminal status

  saveStatus(terminalId: string, state: 'online' | 'offline', health: Health | null, now: number): void {
    this.db.prepare(`INSERT INTO terminal_status (terminal_id, state, health, received_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (terminal_id) DO UPDATE SET state = excluded.state, health = COALESCE(excluded.health, terminal_status.health), received_at = excluded.received_at`)
      .run(terminalId, state, health ? JSON.stringify(health) : null, now);
  }

  statuses(): TerminalStatusRecord[] {
    return (this.db.prepare('SELECT * FROM terminal_status').all() as Row[]).map((r) => ({
      terminalId: r['terminal_id'] as string,
      state: r['state'] as 'online' | 'offline',
      health: r['health'] ? HealthSchema.parse(JSON.parse(r['health'] as string)) : null,
      receivedAt: r['received_at'] as number,
    }));
  }

  // Alerts

  /** Store a sighting once (by event id); returns the alert, or null for a duplicate. */
  addAlert(a: Omit<AlertRecord, 'id' | 'webhook'>): AlertRecord | null {
    const r = this.db.prepare(`INSERT OR IGNORE INTO alerts (event_id, tag, person_id, door_id, terminal_id, score, at, raised_at)
      VALUES (@eventId, @tag, @personId, @doorId, @terminalId, @score, @at, @raisedAt)`).run(a);
    return r.changes === 1 ? { ...a, id: Number(r.lastInsertRowid), webhook: 'none' } : null;
  }

  setAlertWebhook(id: number, outcome: string): void {
    this.db.prepare('UPDATE alerts SET webhook = ? WHERE id = ?').run(outcome, id);
  }

  alerts(tag?: string): AlertRecord[] {
    const rows = (tag ? this.db.prepare('SELECT * FROM alerts WHERE tag = ? ORDER BY id').all(tag) : this.db.prepare('SELECT * FROM alerts ORDER BY id').all()) as Row[];
    return rows.map((r) => ({
      id: r['id'] as number,
      eventId: r['event_id'] as string,
      tag: r['tag'] as string,
      personId: r['person_id'] as string,
      doorId: r['door_id'] as string,
      terminalId: r['terminal_id'] as string,
      score: r['score'] as number,
      at: r['at'] as number,
      raisedAt: r['raised_at'] as number,
      webhook: r['webhook'] as string,
    }));
  }

  // Audit

  audit(actor: string, action: string, subject: string, detail: Record<string, unknown>, now: number): void {
    this.db.prepare('INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)').run(now, actor, action, subject, JSON.stringify(detail));
  }

  auditLog(limit = 1000): AuditRecord[] {
    return (this.db.prepare('SELECT * FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id').all(limit) as Row[]).map((r) => ({
      id: r['id'] as number,
      at: r['at'] as number,
      actor: r['actor'] as string,
      action: r['action'] as string,
      subject: r['subject'] as string,
      detail: JSON.parse(r['detail'] as string) as Record<string, unknown>,
    }));
  }
}
