/**
 * hub.db and erasures (provisioning/store/erasures.ts, reclaim.ts): a hub.db from before erasures is
 * opened by this release: persons revoked before lose their label, note and registration's name, room
 * and number, the file is converted to incremental auto-vacuum once, and secure delete is on for every
 * connection the hub opens.
 */
import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERASURES_SCHEMA_VERSION, HUB_MIGRATIONS, HubDb } from '../../../provisioning/db';
import { EventStore } from '../../../provisioning/hub/event-store';

/** A hub.db at the schema version before the migration that adds erasures, with one active and one revoked person, each registered. */
function before(path: string): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
  const upTo = ERASURES_SCHEMA_VERSION - 1;
  for (let v = 1; v <= upTo; v++) HUB_MIGRATIONS[v - 1]!(db);
  db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(upTo);
  const person = db.prepare(`INSERT INTO persons (person_id, kind, status, label, note, templates, authorisations, tags, photos, rev, published_rev, created_at, updated_at, photo_key)
    VALUES (?, 'resident', ?, ?, ?, '[]', '[]', '[]', '[]', 2, 2, 1, 1, '0123456789abcdef0123456789abcdef')`);
  const reg = db.prepare(`INSERT INTO registrations (id, person_id, name, id_number_masked, building_id, room, photos, real_name, status, submitted_at)
    VALUES (?, ?, ?, '1101********1234', 'b-1', ?, '[]', 'verified', 'approved', 1)`);
  person.run('p-stays', 'active', 'Label Stays', 'note stays');
  reg.run('p-stays', 'p-stays', 'Name Stays', '1-101');
  person.run('p-left', 'revoked', 'Label Left', 'note left');
  reg.run('p-left', 'p-left', 'Name Left', '2-202');
  db.close();
}

describe('hub.db and erasures', () => {
  it('scrubs persons revoked before the migration, converts the file to incremental vacuum once, and deletes securely', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'hub-erasures-')), 'hub.db');
    before(path);
    const plain = new Database(path);
    expect(plain.pragma('auto_vacuum', { simple: true })).toBe(0);
    plain.close();
    const db = new HubDb(path);
    try {
      expect(db.person('p-left')).toMatchObject({ status: 'revoked', label: null, note: null });
      expect(db.person('p-stays')).toMatchObject({ status: 'active', label: 'Label Stays', note: 'note stays' });
      expect(db.registrationOf('p-left')).toEqual({ name: '', room: '', buildingId: 'b-1' });
      expect(db.registrationOf('p-stays')).toEqual({ name: 'Name Stays', room: '1-101', buildingId: 'b-1' });
      expect(db.db.pragma('auto_vacuum', { simple: true })).toBe(2);
      expect(db.db.pragma('secure_delete', { simple: true })).toBe(1);
    } finally {
      db.close();
    }
  });

  it('makes a new hub.db and events.db with incremental vacuum and secure delete from their first table', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-erasures-new-'));
    const db = new HubDb(join(dir, 'hub.db'));
    const events = new EventStore(join(dir, 'events.db'));
    try {
      expect([db.db.pragma('auto_vacuum', { simple: true }), db.db.pragma('secure_delete', { simple: true })]).toEqual([2, 1]);
      const raw = new Database(join(dir, 'events.db'), { readonly: true });
      expect(raw.pragma('auto_vacuum', { simple: true })).toBe(2);
      raw.close();
    } finally {
      events.close();
      db.close();
    }
  });
});
