import type Database from 'better-sqlite3';
import { TerminalError } from '../../core/errors';

/** The database was written by a newer release than this code knows: refused, left untouched. */
export class SchemaVersionError extends TerminalError {
  readonly code = 'roster-schema-too-new';
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(`roster database schema version ${found} is newer than this release understands (${known}); upgrade the terminal software`);
  }
}

/**
 * Schema history. Never edit a released step: append a new one. Step i (1-based) upgrades a database
 * at version i-1 to version i; each runs in one transaction with the version bump.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: persons, templates, the roster version and the key check.
  `CREATE TABLE roster_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
   CREATE TABLE key_check (id INTEGER PRIMARY KEY CHECK (id = 1), salt BLOB NOT NULL, sealed BLOB NOT NULL) STRICT;
   CREATE TABLE person (
     id INTEGER PRIMARY KEY,
     person_id TEXT NOT NULL UNIQUE,
     status TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
     row_version INTEGER NOT NULL,
     sealed BLOB NOT NULL
   ) STRICT;
   CREATE TABLE template (
     id INTEGER PRIMARY KEY,
     person_ref INTEGER NOT NULL REFERENCES person(id) ON DELETE CASCADE,
     template_id TEXT NOT NULL UNIQUE,
     model_id TEXT NOT NULL,
     row_version INTEGER NOT NULL,
     sealed BLOB NOT NULL
   ) STRICT;
   CREATE INDEX template_person ON template(person_ref);
   INSERT INTO roster_meta (key, value) VALUES ('roster_version', '0');`,
  // 2: rows that failed authentication, kept out of use and reported.
  `CREATE TABLE quarantine (
     table_name TEXT NOT NULL,
     row_id INTEGER NOT NULL,
     subject TEXT NOT NULL,
     reason TEXT NOT NULL,
     at INTEGER NOT NULL,
     PRIMARY KEY (table_name, row_id)
   ) STRICT;`,
  // 3: roster epochs (runtime/roster/acceptance.ts). A store from before them holds no epoch (the key
  // stays absent); its high-water mark starts at its version.
  `INSERT OR IGNORE INTO roster_meta (key, value) SELECT 'high_water', value FROM roster_meta WHERE key = 'roster_version';`,
  // 4: visitor passes revoked by the hub (they travel with the roster); dropped once expired.
  `CREATE TABLE IF NOT EXISTS revoked_pass (
     pass_id TEXT PRIMARY KEY,
     not_after INTEGER NOT NULL
   ) STRICT;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database.Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
  return row?.version ?? 0;
}

/** Brings the database to `target` (default: the latest); refuses one newer than this code. */
export function migrate(db: Database.Database, target = SCHEMA_VERSION): number {
  const found = schemaVersion(db);
  if (found > SCHEMA_VERSION) throw new SchemaVersionError(found, SCHEMA_VERSION);
  for (let v = found + 1; v <= target; v++) {
    const step = MIGRATIONS[v - 1];
    if (step === undefined) break;
    db.transaction(() => {
      db.exec(step);
      db.prepare('DELETE FROM schema_version').run();
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(v);
    })();
  }
  return schemaVersion(db);
}
