/**
 * hub.db from before opaque photo keys: opened by this release, its photos move from
 * photos/<personId>/ into photos/<key>/, a person whose id breaks the identifier rule ("..", ".",
 * ids with ":" or "@") is revoked with their photos deleted, and nothing outside its place is touched.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Community, initCommunity } from '../../provisioning';
import { HUB_MIGRATIONS, HUB_SCHEMA_VERSION, HubDb, MIGRATION_ACTOR, rosterItemOf } from '../../provisioning/db';
import { finishPhotoMoves } from '../../provisioning/photos';
import { storedPhotoPaths } from '../../provisioning/admin/persons';
import { RosterBatchSchema } from '../../runtime/roster/batch';
import { treeEntries } from '../harness/tree';

const template = { templateId: 't-1', modelId: 'm', embedding: Buffer.from(new Float32Array([0.5, 0.5]).buffer).toString('base64') };

interface Legacy {
  id: string;
  status?: string;
  /** Photo files as the old code recorded them: absolute paths. */
  photos: string[];
  doors?: string[];
  /** Write the photo files (false: the path is recorded, the file is elsewhere or behind a link). */
  write?: boolean;
}

/** A community whose hub.db has the old layout (no schema_version, no photo_key), at `dir`. */
function legacyCommunity(dir: string): void {
  initCommunity({ dir, passphrase: 'migration-pass', timeZone: 'UTC', now: Date.now(), actor: 'test-operator' }).close();
  for (const f of ['hub.db', 'hub.db-wal', 'hub.db-shm']) rmSync(join(dir, f), { force: true });
  const db = new Database(join(dir, 'hub.db'));
  HUB_MIGRATIONS[0]!(db); // the tables exactly as before versions
  db.close();
}

/** Person rows and photo files as the old code wrote them. */
function insertLegacy(dir: string, persons: Legacy[]): void {
  const db = new Database(join(dir, 'hub.db'));
  const insert = db.prepare(`INSERT INTO persons (person_id, kind, status, label, note, templates, authorisations, tags, photos, rev, published_rev, created_at, updated_at)
    VALUES (?, 'resident', ?, NULL, NULL, ?, ?, '[]', ?, 3, 3, 1, 1)`);
  for (const p of persons) {
    if (p.write !== false) {
      for (const f of p.photos) {
        mkdirSync(dirname(f), { recursive: true });
        writeFileSync(f, `photo of ${p.id}`);
      }
    }
    const status = p.status ?? 'active';
    insert.run(p.id, status, JSON.stringify(status === 'revoked' ? [] : [template]), JSON.stringify([{ doorIds: p.doors ?? ['door-1'], buildingIds: [] }]), JSON.stringify(p.photos));
  }
  db.close();
}

describe('hub.db migration to opaque photo keys', () => {
  it('moves photos into key folders, revokes ids the rule refuses, and deletes nothing else', () => {
    const root = mkdtempSync(join(tmpdir(), 'hub-db-migration-'));
    const dir = join(root, 'c');
    const photos = join(dir, 'photos');
    const outside = join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, '1-1.jpg'), "not the community's");
    legacyCommunity(dir);
    symlinkSync(outside, join(photos, 'p-link'));
    insertLegacy(dir, [
      { id: 'p-1', photos: [join(photos, 'p-1', '1700000000000-1.jpg'), join(photos, 'p-1', '1700000000000-2.jpg')], doors: ['gate-1', 'gate:old'] },
      { id: '..', photos: [join(dir, '1700000000001-1.jpg')] }, // the old code wrote these into the community folder itself
      { id: '.', photos: [join(photos, '1700000000002-1.jpg')] },
      { id: 'p:legacy@x', photos: [join(photos, 'p:legacy@x', '1700000000003-1.jpg')] },
      { id: 'p-link', photos: [join(photos, 'p-link', '1-1.jpg')], write: false }, // photos/p-link is a link out of the folder
      { id: 'p:tampered', photos: [join(dir, 'hub', 'signing.key'), join(dir, 'community.json')], write: false }, // never photos
      { id: '...', status: 'revoked', photos: [] },
    ]);
    const keys = ['community.json', 'ca/ca.key', 'hub/signing.key', 'hub/tls.key', 'broker/server.key'].map((f) => [f, readFileSync(join(dir, f))] as const);

    const c = Community.open(dir);
    const all = c.db.persons(); // every row reads (the old ids only as tombstones)
    expect(all.map((p) => [p.personId, p.status])).toEqual([['.', 'revoked'], ['..', 'revoked'], ['...', 'revoked'], ['p-1', 'active'], ['p-link', 'active'], ['p:legacy@x', 'revoked'], ['p:tampered', 'revoked']]);

    const p1 = c.db.person('p-1')!;
    expect(p1.photoKey).toMatch(/^[0-9a-f]{32}$/);
    expect(p1.photos).toEqual(['1700000000000-1.jpg', '1700000000000-2.jpg']);
    expect(storedPhotoPaths(c, p1).map((f) => readFileSync(f, 'utf8'))).toEqual(['photo of p-1', 'photo of p-1']);
    expect(existsSync(join(photos, 'p-1'))).toBe(false);
    expect(p1.authorisations[0]?.doorIds).toEqual(['gate-1']); // "gate:old" can be no terminal's door any more
    expect(p1.rev).toBe(4); // published again

    for (const id of ['..', '.', 'p:legacy@x']) {
      const p = c.db.person(id)!;
      expect(p).toMatchObject({ status: 'revoked', templates: [], photos: [], authorisations: [], tags: [], rev: 4 });
      expect(rosterItemOf(p)).toEqual({ revokedPersonId: id }); // the terminals delete them too
    }
    expect(RosterBatchSchema.safeParse({ version: 9, revocations: ['..', '.', 'p:legacy@x'] }).success).toBe(true);
    expect(existsSync(join(dir, '1700000000001-1.jpg'))).toBe(false);
    expect(existsSync(join(photos, '1700000000002-1.jpg'))).toBe(false);
    expect(existsSync(join(photos, 'p:legacy@x'))).toBe(false);

    // a legacy folder that is a link out of photos/: nothing followed, nothing outside deleted
    expect(readFileSync(join(outside, '1-1.jpg'), 'utf8')).toBe("not the community's");
    expect(c.db.person('p-link')!.photos).toEqual([]); // its photo could not be moved: no name without a file
    expect(readdirSync(photos).sort()).toEqual([p1.photoKey, 'p-link'].sort()); // the link itself is left, never followed

    for (const [f, bytes] of keys) expect(readFileSync(join(dir, f))).toEqual(bytes);
    const audit = c.db.auditLog().filter((a) => a.actor === MIGRATION_ACTOR).map((a) => `${a.action} ${a.subject}`);
    expect(audit.sort()).toEqual(['person.revoke .', 'person.revoke ..', 'person.revoke p:legacy@x', 'person.revoke p:tampered', 'person.update p-1']);
    expect(c.db.photoMoves()).toEqual([]);
    c.close();

    // opened again: nothing more to do, nothing changes
    const before = treeEntries(dir).filter((e) => !e.startsWith('hub.db'));
    const again = Community.open(dir);
    expect(again.db.person('p-1')).toEqual(p1);
    again.close();
    expect(treeEntries(dir).filter((e) => !e.startsWith('hub.db'))).toEqual(before);
  });

  it('finds the photos of a community folder moved since, and repeats an interrupted move safely', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hub-db-moved-')), 'c');
    const photos = join(dir, 'photos');
    legacyCommunity(dir);
    insertLegacy(dir, [{ id: 'p-2', photos: ['/old/place/c/photos/p-2/5-1.jpg'], write: false }]);
    mkdirSync(join(photos, 'p-2'));
    writeFileSync(join(photos, 'p-2', '5-1.jpg'), 'p-2 photo');
    const hubDb = new HubDb(join(dir, 'hub.db')); // migrates; the moves wait in photo_moves
    expect(hubDb.photoMoves()).toHaveLength(1);
    const key = hubDb.person('p-2')!.photoKey;
    expect(finishPhotoMoves(hubDb, dir, photos)).toBe(1);
    expect(finishPhotoMoves(hubDb, dir, photos)).toBe(0);
    expect(readFileSync(join(photos, key, '5-1.jpg'), 'utf8')).toBe('p-2 photo');
    expect(existsSync(join(photos, 'p-2'))).toBe(false);
    hubDb.close();
  });

  it('refuses a hub.db written by a newer release and changes nothing in it', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hub-db-newer-')), 'c');
    legacyCommunity(dir);
    const db = new Database(join(dir, 'hub.db'));
    db.exec(`CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (${HUB_SCHEMA_VERSION + 1});`);
    db.close();
    const before = readFileSync(join(dir, 'hub.db'));
    expect(() => new HubDb(join(dir, 'hub.db'))).toThrow(/newer than this release/);
    expect(readFileSync(join(dir, 'hub.db'))).toEqual(before);
  });

  it('names a file that is not a database in one line, without a stack', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hub-db-notadb-')), 'c');
    legacyCommunity(dir);
    writeFileSync(join(dir, 'hub.db'), 'this is not sqlite'.repeat(100));
    expect(() => new HubDb(join(dir, 'hub.db'))).toThrow(/hub\.db cannot be opened as the hub database \(SQLITE_NOTADB\)$/);
  });
});

describe('hub.db migration to per-door rosters', () => {
  it('keeps of every published delta only the ids it covered: no template or name is left in roster_log', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'hub-db-roster-log-')), 'c');
    legacyCommunity(dir);
    const body = JSON.stringify({ v: 1, kind: 'roster.delta', version: 1, batch: { version: 1, upserts: [{ personId: 'p-ann', label: 'Wang Fang', templates: [template] }], revocations: ['p-bo'], passRevocations: [{ passId: 'pass-0000000001', notAfter: 5 }] } });
    const legacy = new Database(join(dir, 'hub.db'));
    legacy.prepare('INSERT INTO roster_log (version, payload, persons, created_at) VALUES (1, ?, 2, 1)').run(JSON.stringify({ v: 1, body, sig: 'x' }));
    legacy.prepare("INSERT INTO roster_log (version, payload, persons, created_at) VALUES (2, 'not json', 0, 2)").run();
    legacy.close();
    const db = new HubDb(join(dir, 'hub.db'));
    try {
      expect((db.db.prepare('PRAGMA table_info(roster_log)').all() as Array<{ name: string }>).map((c) => c.name)).not.toContain('payload');
      expect(db.rosterChanges(0)).toEqual([
        [1, { persons: [{ id: 'p-ann', rev: 0 }, { id: 'p-bo', rev: 0 }], passes: ['pass-0000000001'] }],
        [2, { persons: [], passes: [] }],
      ]);
      const text = JSON.stringify(db.db.prepare('SELECT * FROM roster_log').all());
      expect(text).not.toContain('Wang Fang');
      expect(text).not.toContain(template.embedding);
    } finally {
      db.close();
    }
  });
});
