/** The audit log's pages, as the API's audit route reads them, on a real hub.db. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubDb } from '../../../provisioning/db';

describe('the audit log, a page at a time', () => {
  let db: HubDb;
  beforeAll(() => {
    db = new HubDb(join(mkdtempSync(join(tmpdir(), 'audit-page-')), 'hub.db'));
    db.audit('ops-a', 'person.add', 'p-1', { doors: ['door-1'] }, 1000);
    db.audit('ops-b', 'person.revoke', 'p-1', {}, 2000);
    db.audit('ops-a', 'door.unlock', 'door-1', { reason: 'courier' }, 3000);
    db.audit('ops-a', 'person.add', 'p-2', {}, 4000);
  });
  afterAll(() => db.close());

  it('comes newest first, limited, and pages backwards from an id', () => {
    const first = db.auditPage({ limit: 2 });
    expect(first.map((r) => r.subject)).toEqual(['p-2', 'door-1']);
    expect(first[1]?.detail).toEqual({ reason: 'courier' });
    const next = db.auditPage({ limit: 2, before: first[1]!.id });
    expect(next.map((r) => [r.action, r.subject])).toEqual([['person.revoke', 'p-1'], ['person.add', 'p-1']]);
  });

  it('filters by actor, action, subject and a time window [from, to)', () => {
    expect(db.auditPage({ limit: 10, actor: 'ops-a' }).map((r) => r.at)).toEqual([4000, 3000, 1000]);
    expect(db.auditPage({ limit: 10, action: 'person.add', subject: 'p-1' }).map((r) => r.actor)).toEqual(['ops-a']);
    expect(db.auditPage({ limit: 10, from: 2000, to: 4000 }).map((r) => r.at)).toEqual([3000, 2000]);
    expect(db.auditPage({ limit: 10, actor: 'nobody' })).toEqual([]);
  });
});
