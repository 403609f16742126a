/**
 * hub.db's side of encryption at rest (store/at-rest.ts): which key its values are sealed with, and
 * the conversion of the values written in clear before.
 *
 * The migration that adds `at_rest_key` records nothing; the first process that unlocks the community
 * (the hub, a folder command with the passphrase) records its key's id there, then seals in place every
 * template, adapted template and roster delta still in clear, then marks the conversion done
 * (`sealed_at`). From then on a process with another key is refused before it reads or changes anything
 * (AtRestKeyError), and no later start scans the rows again. The conversion can be interrupted and
 * repeated: a value already sealed is left as it is.
 */
import type Database from 'better-sqlite3';
import { AtRestKeyError, isSealedText, openEmbedding, openTemplates, sealEmbedding, sealTemplates, type AtRestCipher } from './at-rest';

export const AT_REST_KEY_TABLE = `CREATE TABLE at_rest_key (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  key_id TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  sealed_at INTEGER
);`;

/** What a conversion sealed in place (all zero when there was nothing in clear). */
export interface SealedInPlace {
  persons: number;
  adaptedTemplates: number;
}

/** The recorded key (null: never unlocked) and whether the values in clear were all sealed. */
export function recordedAtRestKey(db: Database.Database): { keyId: string; sealed: boolean } | null {
  const r = db.prepare('SELECT key_id, sealed_at FROM at_rest_key WHERE id = 1').get() as { key_id: string; sealed_at: number | null } | undefined;
  return r ? { keyId: r.key_id, sealed: r.sealed_at !== null } : null;
}

/** Refuses a key other than the recorded one (nothing changed); records it when none is. */
export function checkAtRestKey(db: Database.Database, cipher: AtRestCipher, now: number): void {
  db.transaction(() => {
    const held = recordedAtRestKey(db);
    if (held && held.keyId !== cipher.keyId) {
      throw new AtRestKeyError(`this key does not open the community's templates and photos (they are sealed with key ${held.keyId}, this one is ${cipher.keyId})`);
    }
    if (!held) db.prepare('INSERT INTO at_rest_key (id, key_id, recorded_at) VALUES (1, ?, ?)').run(cipher.keyId, now);
  }).immediate();
}

const BATCH = 500;

/** Seals every value still in clear, a batch per transaction; then marks the conversion done. */
export function sealPlainRows(db: Database.Database, cipher: AtRestCipher, now: number): SealedInPlace {
  const out: SealedInPlace = { persons: 0, adaptedTemplates: 0 };
  // persons.templates: an array of objects in clear, of sealed strings once converted.
  const persons = db.prepare(`SELECT person_id, templates FROM persons WHERE person_id > ? AND json_array_length(templates) > 0
    AND json_type(templates, '$[0]') = 'object' ORDER BY person_id LIMIT ${BATCH}`);
  const setTemplates = db.prepare('UPDATE persons SET templates = ? WHERE person_id = ?');
  for (let after = ''; ;) {
    const rows = persons.all(after) as Array<{ person_id: string; templates: string }>;
    if (rows.length === 0) break;
    db.transaction(() => {
      for (const r of rows) setTemplates.run(sealTemplates(cipher, r.person_id, JSON.parse(r.templates) as unknown[]), r.person_id);
    }).immediate();
    out.persons += rows.length;
    after = rows[rows.length - 1]?.person_id ?? after;
  }
  const adapted = db.prepare(`SELECT template_id, person_id, embedding FROM adapted_templates WHERE template_id > ? AND substr(embedding, 1, 5) != 'enc1:' ORDER BY template_id LIMIT ${BATCH}`);
  const setEmbedding = db.prepare('UPDATE adapted_templates SET embedding = ? WHERE template_id = ?');
  for (let after = ''; ;) {
    const rows = adapted.all(after) as Array<{ template_id: string; person_id: string; embedding: string }>;
    if (rows.length === 0) break;
    db.transaction(() => {
      for (const r of rows) if (!isSealedText(r.embedding)) setEmbedding.run(sealEmbedding(cipher, r.person_id, r.template_id, r.embedding), r.template_id);
    }).immediate();
    out.adaptedTemplates += rows.length;
    after = rows[rows.length - 1]?.template_id ?? after;
  }
  // roster_log holds ids only (store/terminal-rosters.ts): no roster payload is left to seal.
  db.prepare('UPDATE at_rest_key SET sealed_at = ? WHERE id = 1').run(now);
  if (out.persons + out.adaptedTemplates > 0) {
    // The values in clear are still in the pages they were freed from: rebuild the file without them,
    // and empty the WAL that holds the old pages too.
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  return out;
}

/**
 * Key rotation: every sealed value opened with `from` and sealed again with `to`, and `to` recorded,
 * in one transaction (all or nothing); then the file rebuilt without the old values' pages. Refused
 * unless `from` is the recorded key. Returns how many values of each kind were sealed again.
 */
export function resealRows(db: Database.Database, from: AtRestCipher, to: AtRestCipher, now: number): SealedInPlace {
  const out: SealedInPlace = { persons: 0, adaptedTemplates: 0 };
  db.transaction(() => {
    const held = recordedAtRestKey(db);
    if (!held || held.keyId !== from.keyId) throw new AtRestKeyError('the rows are not sealed with the key being rotated away from');
    const setTemplates = db.prepare('UPDATE persons SET templates = ? WHERE person_id = ?');
    const persons = db.prepare(`SELECT person_id, templates FROM persons WHERE person_id > ? AND templates != '[]' ORDER BY person_id LIMIT ${BATCH}`);
    for (let after = '', rows = persons.all(after) as Array<{ person_id: string; templates: string }>; rows.length > 0; rows = persons.all(after) as typeof rows) {
      for (const r of rows) setTemplates.run(sealTemplates(to, r.person_id, openTemplates(from, r.person_id, r.templates)), r.person_id);
      out.persons += rows.length;
      after = rows[rows.length - 1]?.person_id ?? after;
    }
    const setEmbedding = db.prepare('UPDATE adapted_templates SET embedding = ? WHERE template_id = ?');
    const adapted = db.prepare(`SELECT template_id, person_id, embedding FROM adapted_templates WHERE template_id > ? ORDER BY template_id LIMIT ${BATCH}`);
    for (let after = '', rows = adapted.all(after) as Array<{ template_id: string; person_id: string; embedding: string }>; rows.length > 0; rows = adapted.all(after) as typeof rows) {
      for (const r of rows) setEmbedding.run(sealEmbedding(to, r.person_id, r.template_id, openEmbedding(from, r.person_id, r.template_id, r.embedding)), r.template_id);
      out.adaptedTemplates += rows.length;
      after = rows[rows.length - 1]?.template_id ?? after;
    }
    db.prepare('UPDATE at_rest_key SET key_id = ?, recorded_at = ?, sealed_at = ? WHERE id = 1').run(to.keyId, now, now);
  }).immediate();
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
  return out;
}
