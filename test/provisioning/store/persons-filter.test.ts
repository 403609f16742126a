/**
 * HubDb.persons(filter) and publishedPersons() on a real hub.db: the filters are applied in SQLite (only
 * matching rows are read and opened), with the same answers as filtering every person in memory.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubDb, type PersonRecord } from '../../../provisioning/db';
import { newPhotoKey } from '../../../provisioning/photos';
import { AtRestCipher } from '../../../provisioning/store/at-rest';

const NOW = Date.UTC(2026, 5, 1);

function person(id: string, kind: PersonRecord['kind'], status: PersonRecord['status'], tags: string[]): Omit<PersonRecord, 'rev' | 'publishedRev' | 'createdAt' | 'updatedAt'> {
  return {
    personId: id,
    kind,
    status,
    label: null,
    note: null,
    templates: status === 'revoked' ? [] : [{ templateId: `${id}-t1`, modelId: 'm', embedding: Buffer.alloc(16).toString('base64') }],
    authorisations: status === 'active' ? [{ doorIds: [], buildingIds: ['b-1'] }] : [],
    tags,
    photoKey: newPhotoKey(),
    photos: [],
  };
}

const ids = (ps: PersonRecord[]): string[] => ps.map((p) => p.personId);

test('persons are filtered by status, kind, tag and "tagged" in the database, alone and together, in id order', () => {
  const db = new HubDb(join(mkdtempSync(join(tmpdir(), 'hub-persons-filter-')), 'hub.db'));
  db.useAtRest(AtRestCipher.random(), NOW);
  try {
    db.savePerson(person('r-3', 'resident', 'active', ['missing-1']), NOW);
    db.savePerson(person('r-1', 'resident', 'active', []), NOW);
    db.savePerson(person('r-2', 'resident', 'pending', []), NOW);
    db.savePerson(person('a-1', 'alert', 'active', ['missing-1', 'wanted']), NOW);
    db.savePerson(person('r-4', 'resident', 'revoked', ['wanted']), NOW);
    // a tag that contains another as a substring is not a match for it
    db.savePerson(person('r-5', 'resident', 'active', ['missing-10']), NOW);
    const all = db.persons();
    expect(ids(all)).toEqual(['a-1', 'r-1', 'r-2', 'r-3', 'r-4', 'r-5']);
    const check = (filter: Parameters<HubDb['persons']>[0], expected: string[]): void => {
      expect(ids(db.persons(filter))).toEqual(expected);
      // the same answer as filtering every person in memory
      expect(ids(all.filter((p) =>
        (!filter?.status || p.status === filter.status) && (!filter?.kind || p.kind === filter.kind) &&
        (!filter?.tag || p.tags.includes(filter.tag)) && (!filter?.tagged || p.tags.length > 0)))).toEqual(expected);
    };
    check({ status: 'active' }, ['a-1', 'r-1', 'r-3', 'r-5']);
    check({ kind: 'alert' }, ['a-1']);
    check({ tag: 'missing-1' }, ['a-1', 'r-3']);
    check({ tag: 'wanted' }, ['a-1', 'r-4']);
    check({ status: 'active', tagged: true }, ['a-1', 'r-3', 'r-5']);
    check({ status: 'active', tagged: true, tag: 'wanted' }, ['a-1']);
    check({ status: 'pending', kind: 'alert' }, []);
    // Records are whole (templates opened) for the rows read.
    expect(db.persons({ kind: 'alert' })[0]?.templates).toHaveLength(1);
  } finally {
    db.close();
  }
});

test('publishedPersons reads only persons published at least once, one row at a time', () => {
  const db = new HubDb(join(mkdtempSync(join(tmpdir(), 'hub-persons-published-')), 'hub.db'));
  db.useAtRest(AtRestCipher.random(), NOW);
  try {
    const a = db.savePerson(person('r-1', 'resident', 'active', []), NOW);
    db.savePerson(person('r-2', 'resident', 'active', []), NOW);
    expect([...db.publishedPersons()]).toEqual([]);
    db.markPublished([{ personId: a.personId, rev: a.rev }]);
    const it: Iterator<PersonRecord> = db.publishedPersons()[Symbol.iterator]();
    const first = it.next();
    expect(first.done).toBe(false);
    expect((first.value as PersonRecord).personId).toBe('r-1');
    expect(it.next().done).toBe(true);
  } finally {
    db.close();
  }
});
