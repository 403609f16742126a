/**
 * A person's rights through the hub's API (real HTTPS): the export holds everything held about them
 * (record, photos, registration, events, sightings, audit rows); the erasure deletes it everywhere,
 * keeps one audit row of the fact and reports where it deleted what; the erasure's state names the
 * terminals confirmed and pending. Unknown ids and refusals change nothing.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { EventStore } from '../../../provisioning/hub/event-store';
import { ApiClientError } from '../../../provisioning/api/client';
import { registrationBody, startApiSite, type ApiSite } from '../../harness/hub-api';

let site: ApiSite;
let events: EventStore;

beforeAll(async () => {
  site = await startApiSite();
  events = new EventStore(site.community.paths.eventsDb);
}, 60_000);

afterAll(async () => {
  events.close();
  await site.stop();
});

/** A tenant registered in building b-1 and approved; returns the person id. */
async function resident(who = 0): Promise<string> {
  const r = await site.anonymous().registrations.submit(registrationBody('b-1', who));
  await (await site.client('admin')).registrations.approve(r.id, { doors: ['door-1'] });
  return r.id;
}

/** Entries at the door naming `personId` (and one naming nobody), and a sighting of them. */
function traces(personId: string): void {
  const at = site.clock.now();
  const entry = (pid: string | null): object => ({ id: ulid(at), at, type: 'entry.granted', personId: pid, credential: 'face', score: 0.9, liveness: 0.8, latencyMs: 200 });
  events.ingest('t1', Buffer.from(JSON.stringify({ v: 1, events: [entry(personId), entry(personId), entry('someone-else')] })), at);
  site.community.db.addAlert({ eventId: ulid(at), tag: 'watch', personId, doorId: 'door-1', terminalId: 't1', score: 0.8, at, raisedAt: at });
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof ApiClientError) return e.status;
    throw e;
  }
}

describe("a person's export", () => {
  it('holds their record, photos, registration, events, sightings and the audit rows about them, for the admin and the manager of their building', async () => {
    const id = await resident(0);
    traces(id);
    for (const who of ['admin', 'mgr-1'] as const) {
      const x = await (await site.client(who)).persons.export(id);
      expect(x).toMatchObject({ v: 1, exportedBy: who, person: { personId: id, status: 'active' } });
      expect(x.registrations).toMatchObject([{ id, name: registrationBody('b-1', 0).name, room: '3-101', building_id: 'b-1' }]);
      expect(x.photos.map((p) => Buffer.from(p.data, 'base64').toString())).toEqual([`photo of ${registrationBody('b-1', 0).name}`]);
      expect(x.events.map((e) => e.event.type)).toEqual(['entry.granted', 'entry.granted']);
      expect(x.alerts).toHaveLength(1);
      expect(x.audit.map((a) => a['action'])).toEqual(expect.arrayContaining(['registration.submit', 'registration.approve']));
    }
    expect(site.community.db.auditPage({ limit: 10, action: 'person.export', subject: id })).toHaveLength(2);
    expect(await status((await site.client('mgr-2')).persons.export(id))).toBe(403);
    expect(await status((await site.client('aud')).persons.export(id))).toBe(403);
  });

  it('answers an unknown id with 404 for the admin, 403 for a manager', async () => {
    expect(await status((await site.client('admin')).persons.export('p-nobody'))).toBe(404);
    expect(await status((await site.client('mgr-1')).persons.export('p-nobody'))).toBe(403);
  });
});

describe("a person's erasure", () => {
  it('deletes everything held about them, keeps one audit row of the fact, and reports where it deleted what', async () => {
    const id = await resident(1);
    traces(id);
    const key = site.community.db.person(id)?.photoKey ?? '';
    expect(readdirSync(join(site.community.paths.photosDir, key))).toHaveLength(1);
    const r = await (await site.client('admin')).persons.erase(id);
    expect(r).toMatchObject({
      personId: id,
      erasedBy: 'admin',
      deleted: { hubDb: { registrations: 1, alerts: 1, templates: 1, tombstone: 'new' }, photos: 1, eventsDb: 2 },
      reclaimed: { hubDb: { walTruncated: true }, eventsDb: { walTruncated: true } },
      status: { kind: 'erase', requestedBy: 'admin', tombstoneVersion: null, confirmed: [], pending: ['t1', 't2'] },
    });
    expect(r.deleted.hubDb.auditRowsScrubbed).toBeGreaterThanOrEqual(2);
    // Nothing left: the person is a tombstone, the registration, photos, entries and sighting are gone.
    expect(site.community.db.person(id)).toMatchObject({ status: 'revoked', label: null, note: null, templates: [], photos: [] });
    expect(site.community.db.registrationOf(id)).toBeNull();
    expect(existsSync(join(site.community.paths.photosDir, key))).toBe(false);
    expect(events.aboutPerson(id)).toEqual([]);
    expect(events.count()).toBeGreaterThan(0); // others' events stay
    expect(site.community.db.alerts().filter((a) => a.personId === id)).toEqual([]);
    const rows = site.community.db.auditPage({ limit: 100, subject: id });
    expect(rows.filter((a) => a.action === 'person.erase')).toHaveLength(1);
    expect(rows.filter((a) => a.action !== 'person.erase').every((a) => JSON.stringify(a.detail) === '{"erased":true}')).toBe(true);
    expect(JSON.stringify(site.community.db.auditLog(10_000))).not.toContain(registrationBody('b-1', 1).name);
    // The erasure's state, read like the resident.
    expect(await (await site.client('aud')).persons.erasureStatus(id)).toMatchObject({ kind: 'erase', pending: ['t1', 't2'] });
  });

  it('is the admin\'s alone, refuses an unknown id or a request without confirm, and changes nothing then', async () => {
    const id = await resident(2);
    const about = (): number => site.community.db.auditPage({ limit: 1000, subject: id }).length;
    const before = about();
    expect(await status((await site.client('mgr-1')).persons.erase(id))).toBe(403);
    expect(await status((await site.client('admin')).persons.erase('p-nobody'))).toBe(404);
    const unconfirmed = await site.api.app.inject({ method: 'POST', url: `/api/persons/${id}/erase`, headers: { authorization: `Bearer ${site.token('admin')}` }, payload: {} });
    expect(unconfirmed.statusCode).toBe(400);
    expect(site.community.db.person(id)?.status).toBe('active');
    expect(site.community.db.registrationOf(id)).not.toBeNull();
    expect(about()).toBe(before);
    // A person never revoked has no erasure state.
    expect(await status((await site.client('admin')).persons.erasureStatus(id))).toBe(409);
  });
});
