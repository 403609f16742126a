/**
 * The hub database (SQLite, WAL): the one place where the community's state lives. The `provision`
 * commands write desired state here (persons, terminals, command requests, audit rows); the running
 * hub reads it, signs and publishes, and writes back what it did (roster versions, command delivery,
 * terminal status, alerts). WAL lets both processes work on it at the same time.
 */
import Database from 'better-sqlite3';
import { basename, extname } from 'node:path';
import { z } from 'zod';
import { AuthorisationSchema, CredentialsSchema, RevokedPersonIdSchema, TagSchema, TemplateSchema, type PersonUpsert } from '../runtime/roster/batch';
import { CommandSchema, HealthSchema, RosterEpochSchema, type Command, type Health, type RosterEpoch } from '../runtime/protocol/schemas';
import { isId } from '../runtime/protocol/ids';
import { TerminalError } from '../core/errors';
import { preparePrivateDatabase } from '../core/fs';
import { OPERATORS_SCHEMA } from './operators/schema';
import { newPhotoKey, PhotoKeySchema, PhotoNameSchema, type PhotoMove } from './photos';
import { ADAPTED_TEMPLATES_TABLE, SqliteAdaptedTemplates, type AdaptedTemplateRecord } from './store/adapted-templates';
import type { AuditQuery, HubStore, Places, ResidentQuery, ResidentRow } from './store/hub-store';
import { RETENTION_SCHEMA } from './store/retention-sqlite';
import { ROLLOUTS_SCHEMA, SqliteRollouts } from './store/rollouts-sqlite';
import { openTemplates, sealTemplates, type AtRestCipher } from './store/at-rest';
import { AT_REST_KEY_TABLE, checkAtRestKey, recordedAtRestKey, sealPlainRows, type SealedInPlace } from './store/at-rest-rows';
import { ERASURES_TABLES, SqliteErasures } from './store/erasures';
import { convertToIncrementalVacuum, reclaimAfterErasure, secureDeletes, type Reclaimed } from './store/reclaim';
import { migrateRosterLogToIds, RosterLogChangesSchema, SqliteTerminalRosters, type RosterLogChanges, type TerminalRosterState } from './store/terminal-rosters';
import { SqliteRegistrations } from './store/registrations-sqlite';

export class HubDbError extends TerminalError {
  readonly code = 'hub-db';
}

/** Written by the hub database's migrations as the actor of what they changed. */
export const MIGRATION_ACTOR = 'hub-db-migration';

const SCHEMA_V1 = `
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

const ROSTER_EPOCHS_TABLE = `
CREATE TABLE IF NOT EXISTS roster_epochs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  started_at INTEGER NOT NULL,
  continues_epoch TEXT,
  continues_version INTEGER,
  reason TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

/**
 * Migration 9. The doors and buildings named in each person's access, kept by savePerson beside the
 * person (`person_places`), so that a manager's residents are found by index instead of reading every
 * person's access; persons by kind in id order (a page or a count reads this index, not the rows with
 * their templates); registrations by person (their name and room, for search) and by building; and
 * the persons not yet published (the hub asks every tick: without it, it read every person's row).
 */
const RESIDENT_LISTING = `
CREATE TABLE person_places (
  kind TEXT NOT NULL CHECK (kind IN ('building', 'door')),
  place TEXT NOT NULL,
  person_id TEXT NOT NULL,
  PRIMARY KEY (kind, place, person_id)
) WITHOUT ROWID;
CREATE INDEX person_places_person ON person_places (person_id);
INSERT OR IGNORE INTO person_places (kind, place, person_id)
  SELECT 'building', b.value, p.person_id FROM persons p, json_each(p.authorisations) a, json_each(a.value, '$.buildingIds') b;
INSERT OR IGNORE INTO person_places (kind, place, person_id)
  SELECT 'door', d.value, p.person_id FROM persons p, json_each(p.authorisations) a, json_each(a.value, '$.doorIds') d;
CREATE INDEX persons_listing ON persons (kind, person_id, status);
CREATE INDEX registrations_person ON registrations (person_id, building_id, name, room);
CREATE INDEX registrations_building ON registrations (building_id, person_id);
CREATE INDEX persons_unpublished ON persons (updated_at, person_id) WHERE rev > published_rev;
`;

type Json = Record<string, unknown>;

/**
 * 2: photo folders named by an opaque key stored with the person (photos/<key>/), not by the person
 * id; `photos` keeps file names instead of absolute paths. The files are moved after the commit by
 * finishPhotoMoves (photos.ts) from the `photo_moves` rows written here. A person whose id breaks the
 * identifier rule (runtime/protocol/ids.ts: "..", ".", ids with ":" or "@"...) can no longer be
 * named safely: they are revoked (the hub publishes the tombstone, the terminals delete them), their
 * photos deleted, and that is audited. Door and building ids that break the rule are dropped from
 * authorisations: no terminal can carry such a door id any more.
 */
function migrateToPhotoKeys(db: Database.Database): void {
  db.exec(`ALTER TABLE persons ADD COLUMN photo_key TEXT NOT NULL DEFAULT '';
    CREATE TABLE photo_moves (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      person_id TEXT NOT NULL,
      source TEXT NOT NULL,
      photo_key TEXT,
      name TEXT
    );`);
  const now = Date.now();
  const move = db.prepare('INSERT INTO photo_moves (person_id, source, photo_key, name) VALUES (?, ?, ?, ?)');
  const audit = db.prepare('INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)');
  const update = db.prepare(`UPDATE persons SET photo_key = @key, photos = @photos, status = @status, templates = @templates,
    authorisations = @authorisations, tags = @tags, rev = @rev, updated_at = @updatedAt WHERE person_id = @personId`);
  for (const r of db.prepare('SELECT * FROM persons').all() as Json[]) {
    const personId = r['person_id'] as string;
    const legacy = JSON.parse(r['photos'] as string) as string[];
    const key = newPhotoKey();
    let rev = r['rev'] as number;
    let updatedAt = r['updated_at'] as number;
    const next = { status: r['status'] as string, templates: r['templates'] as string, authorisations: r['authorisations'] as string, tags: r['tags'] as string };
    let names: string[] = [];
    if (!isId(personId) && next.status !== 'revoked') {
      for (const p of legacy) move.run(personId, p, null, null);
      const templates = (JSON.parse(next.templates) as unknown[]).length;
      Object.assign(next, { status: 'revoked', templates: '[]', authorisations: '[]', tags: '[]' });
      rev += 1;
      updatedAt = now;
      audit.run(now, MIGRATION_ACTOR, 'person.revoke', personId, JSON.stringify({ reason: 'the id breaks the identifier rule', deletedPhotos: legacy.length, deletedTemplates: templates }));
    } else {
      names = legacy.map((p, i) => {
        const b = basename(p);
        const ext = extname(b).toLowerCase();
        return PhotoNameSchema.safeParse(b).success ? b : `0-${i + 1}${/^\.[a-z0-9]{1,5}$/.test(ext) ? ext : '.jpg'}`;
      });
      names = names.map((n, i) => (names.indexOf(n) === i ? n : `0-${i + 1}.jpg`));
      legacy.forEach((p, i) => move.run(personId, p, key, names[i] ?? null));
      const auths = JSON.parse(next.authorisations) as Array<{ doorIds?: string[]; buildingIds?: string[] }>;
      const kept = auths.map((a) => ({ ...a, doorIds: (a.doorIds ?? []).filter(isId), buildingIds: (a.buildingIds ?? []).filter(isId) }));
      if (JSON.stringify(kept) !== JSON.stringify(auths.map((a) => ({ ...a, doorIds: a.doorIds ?? [], buildingIds: a.buildingIds ?? [] })))) {
        next.authorisations = JSON.stringify(kept);
        rev += 1;
        updatedAt = now;
        audit.run(now, MIGRATION_ACTOR, 'person.update', personId, JSON.stringify({ reason: 'door or building ids that break the identifier rule dropped', access: kept }));
      }
    }
    update.run({ ...next, key, photos: JSON.stringify(names), rev, updatedAt, personId });
  }
}

/**
 * Schema history of hub.db. Never edit a released step: append one. Step i (1-based) upgrades a
 * database at version i-1 to version i, in one transaction with the version bump.
 */
function addErasures(db: Database.Database): void {
  db.exec(ERASURES_TABLES);
}

export const HUB_MIGRATIONS: ReadonlyArray<(db: Database.Database) => void> = [
  // 1: the tables as they were before versions (IF NOT EXISTS: such a database becomes version 1 as it is).
  (db) => db.exec(SCHEMA_V1),
  migrateToPhotoKeys,
  // 3: roster epochs (one per hub start; see runtime/sync/README.md)
  (db) => db.exec(`${ROSTER_EPOCHS_TABLE}`),
  // 4: cards and PINs (digests only) of each person; visitor passes issued, revoked, published, used.
  (db) => db.exec(`ALTER TABLE persons ADD COLUMN credentials TEXT;
  CREATE TABLE passes (
    pass_id TEXT PRIMARY KEY,
    doors TEXT NOT NULL,
    buildings TEXT NOT NULL,
    not_before INTEGER NOT NULL,
    not_after INTEGER NOT NULL,
    uses INTEGER NOT NULL,
    label TEXT,
    issued_by TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_by TEXT,
    published INTEGER NOT NULL DEFAULT 0,
    used INTEGER NOT NULL DEFAULT 0
  );`),
  // 5: pass uses as each terminal reported them (passes.used stays their sum).
  (db) => db.exec(`CREATE TABLE pass_uses (
    pass_id TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (pass_id, terminal_id)
  ) WITHOUT ROWID;`),
  // 6: operators, their sessions and API tokens, login throttling, tenant registrations (provisioning/operators/schema.ts)
  (db) => db.exec(OPERATORS_SCHEMA),
  // 7: adapted templates learnt at the doors and accepted by the hub (provisioning/store/adapted-templates.ts)
  (db) => db.exec(ADAPTED_TEMPLATES_TABLE),
  // 8: staged software rollouts (provisioning/update/rollouts.ts): each one's state and its log
  (db) => db.exec(ROLLOUTS_SCHEMA),
  // 9: what the resident lists of the API filter and page on, in the database (residentsPage)
  (db) => db.exec(RESIDENT_LISTING),
  // the key templates and photos are encrypted with (store/at-rest-rows.ts: recorded, and the values in clear sealed, at the first unlock)
  (db) => db.exec(AT_REST_KEY_TABLE),
  // erasures: each person revoked or erased, the roster version of their tombstone, the terminals that confirmed it (provisioning/store/erasures.ts)
  addErasures,
  // retention and the unused-residents check (provisioning/store/retention-sqlite.ts): indexes by time, ended tenancies, confirmations
  (db) => db.exec(RETENTION_SCHEMA),
  // per-door rosters (issue 16): roster_log keeps ids, not payloads; each terminal's roster key and
  // where its roster stands (provisioning/store/terminal-rosters.ts)
  migrateRosterLogToIds,
];

export const HUB_SCHEMA_VERSION = HUB_MIGRATIONS.length;

/** The schema version the migration that adds erasures brings a hub.db to (its tests build the file before it). */
export const ERASURES_SCHEMA_VERSION = HUB_MIGRATIONS.indexOf(addErasures) + 1;

/** The version recorded in the file, read without writing anything (0: none recorded). */
function recordedVersion(db: Database.Database): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").get();
  return table ? ((db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined)?.version ?? 0) : 0;
}

function hubSchemaVersion(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  return (db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined)?.version ?? 0;
}

function refuseNewer(db: Database.Database): void {
  const found = recordedVersion(db);
  if (found > HUB_SCHEMA_VERSION) throw new HubDbError(`hub database schema version ${found} is newer than this release understands (${HUB_SCHEMA_VERSION}); upgrade provision`);
}

/** Brings hub.db to the latest version; refuses one written by a newer release (left untouched). */
export function migrateHubDb(db: Database.Database): number {
  refuseNewer(db);
  const found = db.transaction(() => hubSchemaVersion(db)).immediate();
  for (let v = found + 1; v <= HUB_SCHEMA_VERSION; v++) {
    const step = HUB_MIGRATIONS[v - 1];
    if (step === undefined) break;
    db.transaction(() => {
      if (hubSchemaVersion(db) >= v) return; // another process (hub, provision) got there first
      step(db);
      db.prepare('DELETE FROM schema_version').run();
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(v);
    }).immediate();
  }
  return hubSchemaVersion(db);
}

export type PersonStatus = 'pending' | 'active' | 'revoked';
export type PersonKind = 'resident' | 'alert';

const PersonFieldsSchema = z.strictObject({
  /** The identifier rule (runtime/protocol/ids.ts); a row with an older id can only be a tombstone (see migration 2). */
  personId: RevokedPersonIdSchema,
  kind: z.enum(['resident', 'alert']),
  status: z.enum(['pending', 'active', 'revoked']),
  label: z.string().max(200).nullable(),
  note: z.string().max(1000).nullable(),
  templates: z.array(TemplateSchema),
  authorisations: z.array(AuthorisationSchema),
  tags: z.array(TagSchema),
  /** The person's photo folder: photos/<photoKey>/ (photos.ts). Never derived from the id. */
  photoKey: PhotoKeySchema,
  /** File names of the stored enrolment photos in that folder; deleted on revocation. */
  photos: z.array(PhotoNameSchema),
  /** Card and PIN digests (runtime/access/digest.ts), never the numbers or PINs themselves. */
  credentials: CredentialsSchema.optional(),
  rev: z.number().int(),
  publishedRev: z.number().int(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});
const IdRuleKept = { check: (p: { status: PersonStatus; personId: string }): boolean => p.status === 'revoked' || isId(p.personId), path: ['personId'], message: 'only a revoked person may keep an id from before the identifier rule' };
export const PersonRecordSchema = PersonFieldsSchema.refine(IdRuleKept.check, IdRuleKept);
export type PersonRecord = z.infer<typeof PersonRecordSchema>;

/** A person as lists show them: their templates and photos counted, not read. */
export const PersonSummarySchema = PersonFieldsSchema.pick({ personId: true, kind: true, status: true, label: true, authorisations: true, tags: true, rev: true, publishedRev: true, createdAt: true, updatedAt: true })
  .extend({ templates: z.number().int().nonnegative(), photos: z.number().int().nonnegative() })
  .refine(IdRuleKept.check, IdRuleKept);
export type PersonSummary = z.infer<typeof PersonSummarySchema>;

export function summaryOf(p: PersonRecord): PersonSummary {
  return { personId: p.personId, kind: p.kind, status: p.status, label: p.label, authorisations: p.authorisations, tags: p.tags, rev: p.rev, publishedRev: p.publishedRev, createdAt: p.createdAt, updatedAt: p.updatedAt, templates: p.templates.length, photos: p.photos.length };
}

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

function personFromRow(r: Row, atRest: AtRestCipher | null): PersonRecord {
  return PersonRecordSchema.parse({
    personId: r['person_id'],
    kind: r['kind'],
    status: r['status'],
    label: r['label'],
    note: r['note'],
    templates: openTemplates(atRest, r['person_id'] as string, r['templates'] as string),
    authorisations: JSON.parse(r['authorisations'] as string) as unknown,
    tags: JSON.parse(r['tags'] as string) as unknown,
    photoKey: r['photo_key'],
    photos: JSON.parse(r['photos'] as string) as unknown,
    ...(typeof r['credentials'] === 'string' ? { credentials: JSON.parse(r['credentials']) as unknown } : {}),
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
export type RosterItem = PersonUpsert | { revokedPersonId: string } | { revokedPassId: string; notAfter: number };

/** No name or note ever leaves the hub (issue 16): a terminal never uses one. */
export function rosterItemOf(p: PersonRecord): RosterItem | null {
  if (p.status === 'revoked') return { revokedPersonId: p.personId };
  if (p.status === 'pending') return null;
  return {
    personId: p.personId,
    templates: p.templates,
    authorisations: p.authorisations,
    tags: p.tags,
    ...(p.credentials ? { credentials: p.credentials } : {}),
  };
}

/** A visitor pass as the hub database keeps it (the label stays here: it is never in the QR code). */
export interface PassRecord {
  passId: string;
  doors: string[];
  buildings: string[];
  notBefore: number;
  notAfter: number;
  uses: number;
  label: string | null;
  issuedBy: string;
  issuedAt: number;
  revokedAt: number | null;
  revokedBy: string | null;
  /** Uses reported by the terminals (entry events carrying the pass id), summed over all doors. */
  used: number;
}

function passFromRow(r: Row): PassRecord {
  return {
    passId: r['pass_id'] as string,
    doors: JSON.parse(r['doors'] as string) as string[],
    buildings: JSON.parse(r['buildings'] as string) as string[],
    notBefore: r['not_before'] as number,
    notAfter: r['not_after'] as number,
    uses: r['uses'] as number,
    label: (r['label'] as string | null) ?? null,
    issuedBy: r['issued_by'] as string,
    issuedAt: r['issued_at'] as number,
    revokedAt: (r['revoked_at'] as number | null) ?? null,
    revokedBy: (r['revoked_by'] as string | null) ?? null,
    used: r['used'] as number,
  };
}

/** The hub's storage in SQLite (hub.db): the implementation of HubStore (provisioning/store/hub-store.ts). */
export class HubDb extends SqliteRollouts implements HubStore {
  readonly db: Database.Database;
  private adaptedStore: SqliteAdaptedTemplates | null = null;
  /** The key templates are sealed with (store/at-rest.ts); null until the community is unlocked. */
  private atRest: AtRestCipher | null = null;
  /** Persons revoked and erased, their tombstones' versions and the terminals' confirmations. */
  readonly erasures: SqliteErasures;
  private registrationsStore: SqliteRegistrations | null = null;

  constructor(readonly path: string) {
    super();
    try {
      preparePrivateDatabase(path); // 0600 from creation, and so its -wal and -shm: templates are biometric data
      this.db = new Database(path);
    } catch (e) {
      throw new HubDbError(`${path} cannot be opened as the hub database (${(e as { code?: string }).code ?? (e as Error).name})`, { cause: e });
    }
    this.erasures = new SqliteErasures(this.db);
    try {
      this.db.pragma('busy_timeout = 5000');
      refuseNewer(this.db); // before anything writes to the file
      secureDeletes(this.db); // deleted rows zeroed; a new file frees pages by incremental vacuum (store/reclaim.ts)
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      migrateHubDb(this.db);
      convertToIncrementalVacuum(this.db); // once, for a file made before erasures
    } catch (e) {
      this.db.close();
      if (e instanceof TerminalError) throw e;
      // "file is not a database", a read-only folder...: one line, the file named, nothing changed.
      throw new HubDbError(`${path} cannot be opened as the hub database (${(e as { code?: string }).code ?? (e as Error).name})`, { cause: e });
    }
  }

  close(): void {
    this.db.close();
  }

  /**
   * From now on templates and roster deltas are sealed with `cipher` (store/at-rest.ts). A key other
   * than the one recorded is refused (AtRestKeyError) before anything is read or changed; the first
   * unlock records it.
   */
  useAtRest(cipher: AtRestCipher, now: number): void {
    checkAtRestKey(this.db, cipher, now);
    this.atRest = cipher;
  }

  /** Whether this store was given the at-rest key. */
  get atRestUnlocked(): boolean {
    return this.atRest !== null;
  }

  /** The id of the key the values are sealed with (null: never unlocked). */
  atRestKeyId(): string | null {
    return recordedAtRestKey(this.db)?.keyId ?? null;
  }

  /** Whether what was written in clear before encryption at rest has all been sealed. */
  atRestSealed(): boolean {
    return recordedAtRestKey(this.db)?.sealed ?? false;
  }

  /** Seals in place the templates, adapted templates and roster deltas still in clear (after useAtRest). */
  sealPlainRows(now: number): SealedInPlace {
    if (!this.atRest) throw new HubDbError('sealPlainRows needs the at-rest key (useAtRest)');
    return sealPlainRows(this.db, this.atRest, now);
  }

  /** After an erasure: free pages back to the file system, the write-ahead log checkpointed and truncated (store/reclaim.ts). */
  reclaim(): Reclaimed {
    return reclaimAfterErasure(this.db);
  }

  tx<T>(f: () => T): T {
    return this.db.transaction(f).immediate();
  }

  private changeStmt: Database.Statement | null = null;

  /** SQLite's data_version (commits by other connections) and total_changes() (rows changed by this one). */
  changeToken(): string {
    this.changeStmt ??= this.db.prepare("SELECT (SELECT data_version FROM pragma_data_version()) || ':' || total_changes()").pluck();
    return this.changeStmt.get() as string;
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

  /** The serial of the terminal's current certificate (after a renewal). */
  setTerminalSerial(id: string, serial: string): void {
    this.db.prepare('UPDATE terminals SET serial = ? WHERE id = ?').run(serial, id);
  }

  revokeTerminal(id: string, at: number): void {
    this.db.prepare("UPDATE terminals SET status = 'revoked', revoked_at = ? WHERE id = ?").run(at, id);
  }

  // Persons

  person(id: string): PersonRecord | null {
    const r = this.db.prepare('SELECT * FROM persons WHERE person_id = ?').get(id) as Row | undefined;
    return r ? personFromRow(r, this.atRest) : null;
  }

  /** Persons in id order, filtered in the database (only the rows that match are read and opened), one row at a time. */
  persons(filter: { status?: PersonStatus; kind?: PersonKind; tag?: string; tagged?: boolean } = {}): PersonRecord[] {
    const where: string[] = [];
    const params: string[] = [];
    if (filter.status) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.kind) {
      where.push('kind = ?');
      params.push(filter.kind);
    }
    if (filter.tag) {
      where.push('EXISTS (SELECT 1 FROM json_each(persons.tags) WHERE json_each.value = ?)');
      params.push(filter.tag);
    }
    if (filter.tagged) where.push('json_array_length(persons.tags) > 0');
    const sql = `SELECT * FROM persons${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY person_id`;
    const out: PersonRecord[] = [];
    for (const r of this.db.prepare(sql).iterate(...params) as IterableIterator<Row>) out.push(personFromRow(r, this.atRest));
    return out;
  }

  *publishedPersons(): IterableIterator<PersonRecord> {
    for (const r of this.db.prepare('SELECT * FROM persons WHERE published_rev > 0 ORDER BY person_id').iterate() as IterableIterator<Row>) yield personFromRow(r, this.atRest);
  }

  /** Insert or replace a person; bumps `rev` so the hub publishes the change. */
  savePerson(p: Omit<PersonRecord, 'rev' | 'publishedRev' | 'createdAt' | 'updatedAt'>, now: number): PersonRecord {
    return this.tx(() => {
      const rec = this.writePerson(p, now);
      this.db.prepare('DELETE FROM person_places WHERE person_id = ?').run(rec.personId);
      const place = this.db.prepare('INSERT OR IGNORE INTO person_places (kind, place, person_id) VALUES (?, ?, ?)');
      for (const a of rec.authorisations) {
        for (const b of a.buildingIds) place.run('building', b, rec.personId);
        for (const d of a.doorIds) place.run('door', d, rec.personId);
      }
      return rec;
    });
  }

  private writePerson(p: Omit<PersonRecord, 'rev' | 'publishedRev' | 'createdAt' | 'updatedAt'>, now: number): PersonRecord {
    const prev = this.person(p.personId);
    const rev = (prev?.rev ?? 0) + 1;
    const rec: PersonRecord = PersonRecordSchema.parse({ ...p, rev, publishedRev: prev?.publishedRev ?? 0, createdAt: prev?.createdAt ?? now, updatedAt: now });
    this.db.prepare(`INSERT INTO persons (person_id, kind, status, label, note, templates, authorisations, tags, photo_key, photos, credentials, rev, published_rev, created_at, updated_at)
      VALUES (@personId, @kind, @status, @label, @note, @templates, @authorisations, @tags, @photoKey, @photos, @credentials, @rev, @publishedRev, @createdAt, @updatedAt)
      ON CONFLICT (person_id) DO UPDATE SET kind = excluded.kind, status = excluded.status, label = excluded.label, note = excluded.note,
        templates = excluded.templates, authorisations = excluded.authorisations, tags = excluded.tags, photo_key = excluded.photo_key, photos = excluded.photos,
        credentials = excluded.credentials, rev = excluded.rev, updated_at = excluded.updated_at`).run({
      ...rec,
      credentials: rec.credentials ? JSON.stringify(rec.credentials) : null,
      templates: sealTemplates(this.atRest, rec.personId, rec.templates),
      authorisations: JSON.stringify(rec.authorisations),
      tags: JSON.stringify(rec.tags),
      photos: JSON.stringify(rec.photos),
    });
    // Adapted templates were anchored on the enrolment: a revocation or a new enrolment deletes them.
    if (rec.status !== 'active' || (prev !== null && JSON.stringify(prev.templates) !== JSON.stringify(rec.templates))) this.adapted.forget(rec.personId);
    return rec;
  }

  // Registrations (provisioning/store/registrations-sqlite.ts)

  registrationIdOf(personId: string): string | null {
    this.registrationsStore ??= new SqliteRegistrations(this.db);
    return this.registrationsStore.registrationIdOf(personId);
  }

  // Adapted templates (provisioning/store/adapted-templates.ts)

  private get adapted(): SqliteAdaptedTemplates {
    this.adaptedStore ??= new SqliteAdaptedTemplates(this.db, () => this.atRest);
    return this.adaptedStore;
  }

  adaptedTemplates(personId: string): AdaptedTemplateRecord[] {
    return this.adapted.adaptedTemplates(personId);
  }

  addAdaptedTemplate(t: AdaptedTemplateRecord, maxPerPerson: number, now: number): { added: boolean; replaced: string[] } {
    return this.adapted.addAdaptedTemplate(t, maxPerPerson, now);
  }

  deleteAdaptedTemplates(personId: string | null, now: number): Array<{ personId: string; deleted: number }> {
    return this.adapted.deleteAdaptedTemplates(personId, now);
  }

  /**
   * A page of residents in id order and how many match, filtered in the database: the rows read in full
   * are the page's only.
   */
  residentsPage(q: ResidentQuery): { items: ResidentRow[]; total: number } {
    // Who may be in it, as small sets read by index: the places (a manager's buildings, the building
    // filter) or the text (matched against every registration's name and room and every id, which are
    // in narrow indexes). The first of them drives the query; the others are checked on its persons.
    const inPlaces = `SELECT person_id FROM person_places WHERE kind = 'building' AND place IN (SELECT value FROM json_each(?))
      UNION SELECT person_id FROM person_places WHERE kind = 'door' AND place IN (SELECT value FROM json_each(?))
      UNION SELECT person_id FROM registrations WHERE building_id IN (SELECT value FROM json_each(?))`;
    const placeArgs = (pl: Places): string[] => [JSON.stringify(pl.buildings), JSON.stringify(pl.doors), JSON.stringify(pl.buildings)];
    // SQLite's lower() folds ASCII letters only: the text is folded the same way.
    const text = q.text?.replace(/[A-Z]/g, (ch) => ch.toLowerCase());
    const where = ["p.kind = 'resident'"];
    const params: unknown[] = [];
    let driver: { sql: string; params: unknown[] } | null = null;
    for (const pl of [q.within, q.building]) {
      if (!pl) continue;
      if (!driver) driver = { sql: inPlaces, params: placeArgs(pl) };
      else {
        where.push(`(EXISTS (SELECT 1 FROM person_places pp WHERE pp.person_id = p.person_id AND ((pp.kind = 'building' AND pp.place IN (SELECT value FROM json_each(?))) OR (pp.kind = 'door' AND pp.place IN (SELECT value FROM json_each(?)))))
          OR EXISTS (SELECT 1 FROM registrations r WHERE r.person_id = p.person_id AND r.building_id IN (SELECT value FROM json_each(?))))`);
        params.push(...placeArgs(pl));
      }
    }
    if (text !== undefined && text !== '') {
      if (!driver) {
        // Only text that can be part of an id is looked for in the ids (a name in Chinese cannot).
        driver = /^[a-z0-9._-]+$/.test(text)
          ? { sql: "SELECT person_id FROM registrations WHERE instr(lower(name), ?) > 0 OR lower(room) = ? UNION SELECT person_id FROM persons WHERE kind = 'resident' AND instr(lower(person_id), ?) > 0", params: [text, text, text] }
          : { sql: 'SELECT person_id FROM registrations WHERE instr(lower(name), ?) > 0', params: [text] };
      } else {
        where.push('(instr(lower(p.person_id), ?) > 0 OR EXISTS (SELECT 1 FROM registrations r WHERE r.person_id = p.person_id AND (instr(lower(r.name), ?) > 0 OR lower(r.room) = ?)))');
        params.push(text, text, text);
      }
    }
    if (q.status) {
      where.push('p.status = ?');
      params.push(q.status);
    }
    const cond = where.join(' AND ');
    let total: number;
    let ids: string[];
    if (driver) {
      const all = (this.db.prepare(`WITH d(person_id) AS (${driver.sql}) SELECT p.person_id FROM d CROSS JOIN persons p ON p.person_id = d.person_id WHERE ${cond} ORDER BY p.person_id`)
        .all(...driver.params, ...params) as Array<{ person_id: string }>).map((r) => r.person_id);
      total = all.length;
      ids = all.slice(q.offset, q.offset + q.limit);
    } else {
      total = (this.db.prepare(`SELECT COUNT(*) AS n FROM persons p WHERE ${cond}`).get(...params) as { n: number }).n;
      ids = (this.db.prepare(`SELECT p.person_id FROM persons p WHERE ${cond} ORDER BY p.person_id LIMIT ? OFFSET ?`).all(...params, q.limit, q.offset) as Array<{ person_id: string }>).map((r) => r.person_id);
    }
    const rows = this.db.prepare(`SELECT p.person_id, p.kind, p.status, p.label, p.authorisations, p.tags, p.rev, p.published_rev, p.created_at, p.updated_at,
        json_array_length(p.templates) AS template_count, json_array_length(p.photos) AS photo_count, r.name AS reg_name, r.room AS reg_room, r.building_id AS reg_building
      FROM persons p LEFT JOIN registrations r ON r.person_id = p.person_id WHERE p.person_id IN (SELECT value FROM json_each(?)) ORDER BY p.person_id`).all(JSON.stringify(ids)) as Row[];
    return {
      total,
      items: rows.map((r) => ({
        person: PersonSummarySchema.parse({
          personId: r['person_id'],
          kind: r['kind'],
          status: r['status'],
          label: r['label'],
          authorisations: JSON.parse(r['authorisations'] as string) as unknown,
          tags: JSON.parse(r['tags'] as string) as unknown,
          rev: r['rev'],
          publishedRev: r['published_rev'],
          createdAt: r['created_at'],
          updatedAt: r['updated_at'],
          templates: r['template_count'],
          photos: r['photo_count'],
        }),
        registration: typeof r['reg_building'] === 'string' ? { name: r['reg_name'] as string, room: r['reg_room'] as string, buildingId: r['reg_building'] } : null,
      })),
    };
  }

  /** The registration a person came from (name, room, building), or null. */
  registrationOf(personId: string): ResidentRow['registration'] {
    const r = this.db.prepare('SELECT name, room, building_id FROM registrations WHERE person_id = ?').get(personId) as { name: string; room: string; building_id: string } | undefined;
    return r ? { name: r.name, room: r.room, buildingId: r.building_id } : null;
  }

  /** Persons changed since they were last published (oldest change first). */
  dirtyPersons(limit: number): PersonRecord[] {
    return (this.db.prepare('SELECT * FROM persons WHERE rev > published_rev ORDER BY updated_at, person_id LIMIT ?').all(limit) as Row[]).map((r) => personFromRow(r, this.atRest));
  }

  /** Marks persons published at the revs read, without a roster version (pending registrations). */
  markPublished(published: ReadonlyArray<{ personId: string; rev: number }>): void {
    const mark = this.db.prepare('UPDATE persons SET published_rev = ? WHERE person_id = ? AND published_rev < ?');
    this.tx(() => {
      for (const p of published) mark.run(p.rev, p.personId, p.rev);
    });
  }

  // Photo moves left by migration 2 (carried out by finishPhotoMoves in photos.ts)

  photoMoves(): PhotoMove[] {
    return (this.db.prepare('SELECT * FROM photo_moves ORDER BY id').all() as Row[]).map((r) => ({
      id: r['id'] as number,
      personId: r['person_id'] as string,
      source: r['source'] as string,
      key: (r['photo_key'] as string | null) ?? null,
      name: (r['name'] as string | null) ?? null,
    }));
  }

  photoMoveDone(id: number): void {
    this.db.prepare('DELETE FROM photo_moves WHERE id = ?').run(id);
  }

  /** A legacy photo that could not be moved (missing, not a file, outside the folder) leaves the person's list. */
  forgetPhoto(personId: string, name: string): void {
    const r = this.db.prepare('SELECT photos FROM persons WHERE person_id = ?').get(personId) as { photos: string } | undefined;
    if (!r) return;
    const names = (JSON.parse(r.photos) as string[]).filter((n) => n !== name);
    this.db.prepare('UPDATE persons SET photos = ? WHERE person_id = ?').run(JSON.stringify(names), personId);
  }

  // Passes

  addPass(p: Omit<PassRecord, 'revokedAt' | 'revokedBy' | 'used'>): void {
    this.db.prepare(`INSERT INTO passes (pass_id, doors, buildings, not_before, not_after, uses, label, issued_by, issued_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(p.passId, JSON.stringify(p.doors), JSON.stringify(p.buildings), p.notBefore, p.notAfter, p.uses, p.label, p.issuedBy, p.issuedAt);
  }

  pass(id: string): PassRecord | null {
    const r = this.db.prepare('SELECT * FROM passes WHERE pass_id = ?').get(id) as Row | undefined;
    return r ? passFromRow(r) : null;
  }

  passes(): PassRecord[] {
    return (this.db.prepare('SELECT * FROM passes ORDER BY issued_at, pass_id').all() as Row[]).map(passFromRow);
  }

  revokePass(id: string, by: string, at: number): void {
    this.db.prepare('UPDATE passes SET revoked_at = ?, revoked_by = ?, published = 0 WHERE pass_id = ? AND revoked_at IS NULL').run(at, by, id);
  }

  /** Revoked passes not yet sent to the terminals, still valid at `now` (an expired one needs no revocation). */
  unpublishedRevocations(now: number): PassRecord[] {
    return (this.db.prepare('SELECT * FROM passes WHERE revoked_at IS NOT NULL AND published = 0 AND not_after > ? ORDER BY revoked_at').all(now) as Row[]).map(passFromRow);
  }

  markRevocationsPublished(ids: readonly string[]): void {
    const st = this.db.prepare('UPDATE passes SET published = 1 WHERE pass_id = ?');
    for (const id of ids) st.run(id);
  }

  /**
   * A terminal reported a use (an entry it granted with this pass; each event is delivered here once).
   * Counted per terminal, as the terminals count them, and in total. A pass the hub never issued is ignored.
   */
  countPassUse(id: string, terminalId: string): void {
    this.tx(() => {
      if (this.db.prepare('UPDATE passes SET used = used + 1 WHERE pass_id = ?').run(id).changes === 0) return;
      this.db.prepare('INSERT INTO pass_uses (pass_id, terminal_id, used) VALUES (?, ?, 1) ON CONFLICT(pass_id, terminal_id) DO UPDATE SET used = used + 1').run(id, terminalId);
    });
  }

  /** Uses of a pass by terminal (only terminals that reported one). */
  passUses(id: string): Record<string, number> {
    const rows = this.db.prepare('SELECT terminal_id, used FROM pass_uses WHERE pass_id = ? ORDER BY terminal_id').all(id) as { terminal_id: string; used: number }[];
    return Object.fromEntries(rows.map((r) => [r.terminal_id, r.used]));
  }

  // Roster versions

  rosterVersion(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM roster_log').get() as { v: number }).v;
  }

  /** What each version after `sinceVersion` covered (ids and revisions only), oldest first. */
  rosterChanges(sinceVersion: number): Array<[number, RosterLogChanges]> {
    return (this.db.prepare('SELECT version, changes FROM roster_log WHERE version > ? ORDER BY version').all(sinceVersion) as Row[])
      .map((r) => [r['version'] as number, RosterLogChangesSchema.parse(JSON.parse(r['changes'] as string))]);
  }

  /** The oldest version roster_log still names (0: none), so a catch-up knows how far back it can go. */
  rosterLogStart(): number {
    return (this.db.prepare('SELECT COALESCE(MIN(version), 0) AS v FROM roster_log').get() as { v: number }).v;
  }

  // Per-door rosters (provisioning/store/terminal-rosters.ts)

  private terminalRostersStore: SqliteTerminalRosters | null = null;

  private get terminalRosters(): SqliteTerminalRosters {
    this.terminalRostersStore ??= new SqliteTerminalRosters(this.db);
    return this.terminalRostersStore;
  }

  rosterKey(terminalId: string): Buffer | null {
    return this.terminalRosters.rosterKey(terminalId);
  }

  createRosterKey(terminalId: string, now: number): Buffer {
    return this.terminalRosters.createRosterKey(terminalId, now);
  }

  terminalRosterStates(): TerminalRosterState[] {
    return this.terminalRosters.terminalRosterStates();
  }

  markTerminalsSent(terminalIds: readonly string[], version: number): void {
    this.terminalRosters.markTerminalsSent(terminalIds, version);
  }

  markTerminalScoped(terminalId: string, version: number): void {
    this.terminalRosters.markTerminalScoped(terminalId, version);
  }

  /**
   * The roster's epochs, oldest first (runtime/protocol/schemas.ts RosterEpochSchema): one per hub
   * start, and one for each started while running. None in a database from before epochs.
   */
  rosterEpochs(): RosterEpoch[] {
    return (this.db.prepare('SELECT * FROM roster_epochs ORDER BY seq').all() as Row[]).map((r) =>
      RosterEpochSchema.parse({
        id: r['id'],
        startedAt: r['started_at'],
        continues: r['continues_version'] === null ? null : { epoch: r['continues_epoch'] ?? null, version: r['continues_version'] },
      }));
  }

  /** Record an epoch the hub signs in from now on (`reason`: start, upgrade, terminal-newer). */
  recordEpoch(e: RosterEpoch, reason: string, now: number): void {
    this.db.prepare('INSERT INTO roster_epochs (id, started_at, continues_epoch, continues_version, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.id, e.startedAt, e.continues?.epoch ?? null, e.continues?.version ?? null, reason, now);
  }

  /**
   * Record a published roster version (which persons and passes it covered, never their data) and
   * mark the persons in it as published at the revs read.
   */
  recordVersion(version: number, changes: RosterLogChanges, published: ReadonlyArray<{ personId: string; rev: number }>, now: number): void {
    this.tx(() => {
      this.db.prepare('INSERT INTO roster_log (version, changes, persons, created_at) VALUES (?, ?, ?, ?)').run(version, JSON.stringify(RosterLogChangesSchema.parse(changes)), changes.persons.length, now);
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
    return (this.db.prepare('SELECT * FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id').all(limit) as Row[]).map(auditRecordOf);
  }

  auditPage(q: AuditQuery): AuditRecord[] {
    const where: string[] = [];
    const args: Array<string | number> = [];
    const add = (clause: string, v: string | number | undefined): void => {
      if (v === undefined) return;
      where.push(clause);
      args.push(v);
    };
    add('id < ?', q.before);
    add('actor = ?', q.actor);
    add('action = ?', q.action);
    add('subject = ?', q.subject);
    add('at >= ?', q.from);
    add('at < ?', q.to);
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit) as Row[]).map(auditRecordOf);
  }
}

function auditRecordOf(r: Row): AuditRecord {
  return {
    id: r['id'] as number,
    at: r['at'] as number,
    actor: r['actor'] as string,
    action: r['action'] as string,
    subject: r['subject'] as string,
    detail: JSON.parse(r['detail'] as string) as Record<string, unknown>,
  };
}
