/**
 * HubDb.residentsPage on a real hub.db: the resident lists of the API filtered and paged in SQLite
 * (a manager's residents, the building filter, the search, status, pages and totals), and migration 7
 * filling the access index for the persons of an older database.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HUB_MIGRATIONS, HUB_SCHEMA_VERSION, HubDb, type PersonRecord } from '../../../provisioning/db';
import { newPhotoKey } from '../../../provisioning/photos';
import type { Places } from '../../../provisioning/store/hub-store';
import { AtRestCipher } from '../../../provisioning/store/at-rest';

const NOW = Date.UTC(2026, 5, 1);

function resident(id: string, access: { doors?: string[]; buildings?: string[] }, status: PersonRecord['status'] = 'active'): Omit<PersonRecord, 'rev' | 'publishedRev' | 'createdAt' | 'updatedAt'> {
  return {
    personId: id,
    kind: 'resident',
    status,
    label: null,
    note: null,
    templates: [{ templateId: `${id}-t1`, modelId: 'm', embedding: Buffer.alloc(16).toString('base64') }],
    authorisations: status === 'pending' ? [] : [{ doorIds: access.doors ?? [], buildingIds: access.buildings ?? [] }],
    tags: [],
    photoKey: newPhotoKey(),
    photos: [],
  };
}

function register(db: HubDb, personId: string, name: string, building: string, room: string): void {
  db.db.prepare(`INSERT INTO registrations (id, person_id, name, id_number_masked, building_id, room, photos, real_name, status, submitted_at)
    VALUES (?, ?, ?, '1101**********4512', ?, ?, '[]', 'verified', 'approved', ?)`).run(personId, personId, name, building, room, NOW);
}

/** b-1 has door-1, b-2 has door-2 (their terminals). */
const places = (...buildings: string[]): Places => ({ buildings, doors: buildings.map((b) => `door-${b.slice(2)}`) });
const ids = (r: { items: Array<{ person: { personId: string } }> }): string[] => r.items.map((i) => i.person.personId);

let db: HubDb;

beforeAll(() => {
  db = new HubDb(join(mkdtempSync(join(tmpdir(), 'residents-page-')), 'hub.db'));
  db.useAtRest(AtRestCipher.random(), NOW);
  db.savePerson(resident('r-a', { buildings: ['b-1'] }), NOW);
  register(db, 'r-a', '王小明', 'b-1', '3-101');
  db.savePerson(resident('r-b', { doors: ['door-2'] }), NOW); // b-2 by its door
  register(db, 'r-b', '李红', 'b-2', '5-202');
  db.savePerson(resident('r-c', { buildings: ['b-1', 'b-2'] }), NOW);
  register(db, 'r-c', '王伟', 'b-2', '3-101');
  db.savePerson(resident('p-d', { buildings: ['b-3'] }), NOW); // `provision person add`: no registration
  db.savePerson(resident('r-e', {}, 'pending'), NOW);
  register(db, 'r-e', '张伟', 'b-1', '1-101'); // pending: belongs to the building registered for
  db.savePerson({ ...resident('alert-1', { buildings: ['b-1'] }), kind: 'alert' }, NOW);
});

afterAll(() => db.close());

describe('the residents page in the store', () => {
  it('finds the residents of a building by their access to it or to one of its doors, or by their registration, and no alert subjects', () => {
    expect(ids(db.residentsPage({ within: places('b-1'), offset: 0, limit: 50 }))).toEqual(['r-a', 'r-c', 'r-e']);
    expect(ids(db.residentsPage({ within: places('b-2'), offset: 0, limit: 50 }))).toEqual(['r-b', 'r-c']);
    expect(ids(db.residentsPage({ within: places('b-3'), offset: 0, limit: 50 }))).toEqual(['p-d']);
    expect(db.residentsPage({ offset: 0, limit: 50 }).total).toBe(5);
  });

  it('keeps both the manager limit and the building filter', () => {
    expect(ids(db.residentsPage({ within: places('b-1'), building: places('b-2'), offset: 0, limit: 50 }))).toEqual(['r-c']);
    expect(ids(db.residentsPage({ building: places('b-2'), offset: 0, limit: 50 }))).toEqual(['r-b', 'r-c']);
  });

  it('searches part of a name or an id, or a whole room, ignoring case, within what the caller may see', () => {
    expect(ids(db.residentsPage({ text: '王', offset: 0, limit: 50 }))).toEqual(['r-a', 'r-c']);
    expect(ids(db.residentsPage({ text: '王', within: places('b-2'), offset: 0, limit: 50 }))).toEqual(['r-c']);
    expect(ids(db.residentsPage({ text: '3-101', offset: 0, limit: 50 }))).toEqual(['r-a', 'r-c']);
    expect(ids(db.residentsPage({ text: '3-10', offset: 0, limit: 50 }))).toEqual([]); // a room is matched whole
    expect(ids(db.residentsPage({ text: 'P-D', offset: 0, limit: 50 }))).toEqual(['p-d']);
    expect(ids(db.residentsPage({ text: 'R-', within: places('b-1'), offset: 0, limit: 50 }))).toEqual(['r-a', 'r-c', 'r-e']);
  });

  it('filters by status and pages in id order with the total of all pages', () => {
    expect(ids(db.residentsPage({ status: 'pending', offset: 0, limit: 50 }))).toEqual(['r-e']);
    const first = db.residentsPage({ offset: 0, limit: 2 });
    const second = db.residentsPage({ offset: 2, limit: 2 });
    expect([ids(first), ids(second), first.total, second.total]).toEqual([['p-d', 'r-a'], ['r-b', 'r-c'], 5, 5]);
    const within = db.residentsPage({ within: places('b-1'), offset: 1, limit: 1 });
    expect([ids(within), within.total]).toEqual([['r-c'], 3]);
  });

  it('gives each resident with counts instead of templates, and their registration', () => {
    const [a] = db.residentsPage({ text: '王小明', offset: 0, limit: 50 }).items;
    expect(a).toMatchObject({ person: { personId: 'r-a', templates: 1, photos: 0, authorisations: [{ buildingIds: ['b-1'] }] }, registration: { name: '王小明', room: '3-101', buildingId: 'b-1' } });
    expect(db.residentsPage({ text: 'p-d', offset: 0, limit: 50 }).items[0]?.registration).toBeNull();
  });

  it('follows a change of access at once', () => {
    const before = db.person('r-b');
    db.savePerson({ ...resident('r-b', { buildings: ['b-3'] }) }, NOW + 1);
    expect(ids(db.residentsPage({ within: places('b-3'), offset: 0, limit: 50 }))).toEqual(['p-d', 'r-b']);
    expect(ids(db.residentsPage({ within: places('b-2'), offset: 0, limit: 50 }))).toEqual(['r-b', 'r-c']); // still registered for b-2
    if (before) db.savePerson(before, NOW + 2);
    expect(ids(db.residentsPage({ within: places('b-3'), offset: 0, limit: 50 }))).toEqual(['p-d']);
  });
});

describe('hub.db migration 7', () => {
  it("indexes the access of the persons already in a database of version 6", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'residents-migration-')), 'hub.db');
    const old = new Database(file);
    old.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
    for (const step of HUB_MIGRATIONS.slice(0, 6)) step(old);
    old.exec('INSERT INTO schema_version VALUES (6)');
    old.prepare(`INSERT INTO persons (person_id, kind, status, label, note, templates, authorisations, tags, photos, rev, published_rev, created_at, updated_at, photo_key)
      VALUES ('r-old', 'resident', 'active', NULL, NULL, '[]', ?, '[]', '[]', 1, 1, 0, 0, ?)`).run(JSON.stringify([{ doorIds: ['door-2'], buildingIds: ['b-9'] }]), newPhotoKey());
    old.close();
    const upgraded = new HubDb(file);
    try {
      expect(HUB_SCHEMA_VERSION).toBeGreaterThanOrEqual(7);
      expect(ids(upgraded.residentsPage({ within: places('b-9'), offset: 0, limit: 50 }))).toEqual(['r-old']);
      expect(ids(upgraded.residentsPage({ within: places('b-2'), offset: 0, limit: 50 }))).toEqual(['r-old']);
      expect(ids(upgraded.residentsPage({ within: places('b-1'), offset: 0, limit: 50 }))).toEqual([]);
    } finally {
      upgraded.close();
    }
  });
});
