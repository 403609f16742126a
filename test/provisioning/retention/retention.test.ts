/**
 * Retention (issue 16 item 4) on a fake clock: the running hub's daily sweep deletes what is one day
 * past its period and keeps what is one day inside it, audited as counts; a tenancy ends at its
 * `--until` (the doors refuse as expired, the hub marks it) and its biometric data is purged after the
 * grace period through the revocation path; undecided registrations expire; the periods are checked.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { authorisationRefusal } from '../../../runtime/decision/policy';
import { encodeEmbedding, type TemplateIn } from '../../../runtime/roster/batch';
import { FakeTransport } from '../../../runtime/sync/fake-transport';
import { addPerson, Community, CommunityError, initCommunity, registerPerson, startCommunityHub, updatePerson, type Enroller } from '../../../provisioning';
import { storedPhotoPaths } from '../../../provisioning/admin';
import { rosterItemOf } from '../../../provisioning/db';
import { EventStore } from '../../../provisioning/hub/event-store';
import { newPhotoKey } from '../../../provisioning/photos';
import { DAY_MS, DEFAULT_RETENTION } from '../../../provisioning/retention/config';
import { sweepRetention } from '../../../provisioning/retention/sweep';
import { entryEvent } from '../../harness/sync-site';
import { admin } from '../../harness/admin';
import { waitFor } from '../../harness/wait';

const PASS = 'retention-test-pass';
const enroller: Enroller = {
  templates: (photos, idPrefix): Promise<TemplateIn[]> =>
    Promise.resolve(photos.map((_, i) => ({ templateId: `${idPrefix}-t${i + 1}`, modelId: 'test-model', embedding: encodeEmbedding(new Float32Array(8).fill(1)) }))),
};

function community(name: string, now: number): { c: Community; root: string; photo: string } {
  const root = mkdtempSync(join(tmpdir(), `retention-${name}-`));
  const c = initCommunity({ dir: join(root, 'c'), passphrase: PASS, timeZone: 'Asia/Shanghai', now, actor: 'test-operator' });
  const photo = join(root, 'face.jpg');
  writeFileSync(photo, 'jpeg bytes');
  return { c, root, photo };
}

const msg = (events: unknown[]): Buffer => Buffer.from(JSON.stringify({ v: 1, events }));
const sighting = (at: number): unknown => ({ id: entryEvent(at).id, at, type: 'alert.sighting', tag: 'missing', personId: 'p-sought', doorId: 'door-1', score: 0.9 });

describe('the daily retention sweep of the running hub', () => {
  it('deletes entries, sightings, alerts, audit rows and ended passes one day past their period, keeps those a day inside, and audits counts only', async () => {
    const t0 = Date.UTC(2026, 5, 1, 2, 0, 0);
    const clock = new FakeClock(t0);
    const { c } = community('hub', t0);
    // The second sweep runs one day after the first; the rows are placed around its cut-offs.
    const t1 = t0 + DAY_MS;
    const r = DEFAULT_RETENTION;
    const writer = new EventStore(c.paths.eventsDb);
    writer.ingest('door-1', msg([
      entryEvent(t1 - (r.entryDays + 1) * DAY_MS, 'p-old'),
      entryEvent(t1 - (r.entryDays - 1) * DAY_MS, 'p-recent'),
      sighting(t1 - (r.sightingDays + 1) * DAY_MS),
      sighting(t1 - (r.sightingDays - 1) * DAY_MS),
    ]), t0);
    writer.close();
    for (const at of [t1 - (r.sightingDays + 1) * DAY_MS, t1 - (r.sightingDays - 1) * DAY_MS]) {
      c.db.addAlert({ eventId: `e-${at}`, tag: 'missing', personId: 'p-sought', doorId: 'door-1', terminalId: 't1', score: 0.9, at, raisedAt: at });
    }
    for (const [passId, end] of [['pass-old', t1 - (r.entryDays + 1) * DAY_MS], ['pass-kept', t1 - (r.entryDays - 1) * DAY_MS]] as const) {
      c.db.addPass({ passId, doors: ['door-1'], buildings: [], notBefore: end - DAY_MS, notAfter: end, uses: 1, label: 'visitor', issuedBy: 'test-operator', issuedAt: end - DAY_MS });
    }
    c.db.audit('test-operator', 'old.action', 'p-old', {}, t1 - (r.auditDays + 1) * DAY_MS);
    c.db.audit('test-operator', 'kept.action', 'p-kept', {}, t1 - (r.auditDays - 1) * DAY_MS);

    const fake = new FakeTransport();
    const started = startCommunityHub({ community: c, passphrase: PASS, transport: fake, clock, log: silentLogger(), pollMs: 0 });
    await waitFor(() => fake.started, 10_000, 'the hub to start its transport', 5);
    fake.connect();
    const hub = await started;
    try {
      // The first sweep ran at start: everything was still inside its period.
      expect(hub.lastRetentionSweep()).toMatchObject({ entryEvents: 0, sightingEvents: 0, alerts: 0, auditRows: 0, passes: 0 });
      clock.advance(DAY_MS - 1);
      await hub.tick();
      expect(c.db.auditLog(1000).filter((a) => a.action === 'retention.sweep')).toHaveLength(1);
      clock.advance(1);
      await hub.tick();
      expect(hub.lastRetentionSweep()).toMatchObject({ entryEvents: 1, sightingEvents: 1, alerts: 1, auditRows: 1, passes: 1 });
      expect(c.db.passes().map((p) => p.passId)).toEqual(['pass-kept']);

      const events = EventStore.openReadOnly(c.paths.eventsDb);
      const left = events?.read(0).events.map((e) => JSON.stringify(e.event)) ?? [];
      events?.close();
      expect(left).toHaveLength(2);
      expect(left.join()).toContain('p-recent');
      expect(left.join()).not.toContain('p-old');
      expect(c.db.alerts().map((a) => a.at)).toEqual([t1 - (r.sightingDays - 1) * DAY_MS]);
      const audit = c.db.auditLog(1000);
      expect(audit.map((a) => a.action)).toContain('kept.action');
      expect(audit.map((a) => a.action)).not.toContain('old.action');
      const sweeps = audit.filter((a) => a.action === 'retention.sweep');
      expect(sweeps).toHaveLength(2);
      const last = sweeps.find((a) => a.at === t1);
      expect(last).toMatchObject({ actor: 'hub', subject: 'hub', detail: { entryEvents: 1, sightingEvents: 1, alerts: 1, auditRows: 1, periods: r } });
      // Counts, never what was deleted.
      expect(JSON.stringify(sweeps)).not.toMatch(/p-old|p-sought|missing/);
    } finally {
      await hub.stop();
      c.close();
    }
  }, 30_000);
});

describe('the end of a tenancy', () => {
  it('ends access at --until (the door refuses as expired, the hub marks it once) and purges the biometric data after the grace period', async () => {
    const t0 = Date.UTC(2026, 2, 1, 4, 0, 0);
    const clock = new FakeClock(t0);
    const { c, photo } = community('tenancy', t0);
    try {
      const p = await addPerson(admin(c, { clock, enroller }), { id: 'p-tenant', photos: [photo, photo], buildings: ['b-1'], until: '2026-03-10' });
      const until = Date.parse(p.authorisations[0]?.validUntil ?? '');
      expect(until).toBe(Date.UTC(2026, 2, 10, 16, 0, 0)); // the end of 10 March in Shanghai
      const facts = { personId: p.personId, status: 'active' as const, tags: [], authorisations: p.authorisations.map((a) => ({ ...a, validFrom: undefined, validUntil: Date.parse(a.validUntil ?? '') })) };
      const door = { doorId: 'door-1', buildingId: 'b-1', timeZone: 'Asia/Shanghai' };
      expect(authorisationRefusal(facts, door, until - 1)).toBeNull();
      expect(authorisationRefusal(facts, door, until)).toBe('expired');

      clock.advance(until - 1 - t0);
      expect((await sweepRetention(c, null, clock)).accessEnded).toBe(0);
      clock.advance(1);
      expect((await sweepRetention(c, null, clock)).accessEnded).toBe(1);
      expect((await sweepRetention(c, null, clock)).accessEnded).toBe(0); // marked once
      expect(c.db.auditLog(100).filter((a) => a.action === 'person.access-ended').map((a) => [a.actor, a.subject, a.detail['until']])).toEqual([['hub', 'p-tenant', new Date(until).toISOString()]]);
      const photos = storedPhotoPaths(c, p);
      c.db.addAdaptedTemplate({ templateId: `adapted:p-tenant:01JADAPTED0000000000000000`, personId: 'p-tenant', terminalId: 't1', modelId: 'test-model', embedding: encodeEmbedding(new Float32Array(8).fill(1)), anchor: 0.9, learntAt: until - DAY_MS, receivedAt: until - DAY_MS }, 3, until - DAY_MS);

      // A day inside the grace period: all kept.
      clock.advance((DEFAULT_RETENTION.tenancyGraceDays - 1) * DAY_MS);
      expect((await sweepRetention(c, null, clock)).tenanciesPurged).toBe(0);
      expect(c.db.person('p-tenant')).toMatchObject({ status: 'active', templates: [expect.anything(), expect.anything()] });
      expect(photos.every((f) => existsSync(f))).toBe(true);

      // A day past it: purged through the revocation (the doors get a tombstone), adapted templates too.
      clock.advance(2 * DAY_MS);
      expect((await sweepRetention(c, null, clock)).tenanciesPurged).toBe(1);
      const after = c.db.person('p-tenant');
      expect(after).toMatchObject({ status: 'revoked', templates: [], photos: [] });
      expect(after && rosterItemOf(after)).toEqual({ revokedPersonId: 'p-tenant' });
      expect(photos.some((f) => existsSync(f))).toBe(false);
      expect(c.db.adaptedTemplates('p-tenant')).toEqual([]);
      const revoke = c.db.auditLog(100).find((a) => a.action === 'person.revoke');
      expect(revoke).toMatchObject({ actor: 'hub', subject: 'p-tenant', detail: { deletedPhotos: 2, deletedTemplates: 2 } });
    } finally {
      c.close();
    }
  });

  it('keeps a tenancy extended before the grace period ends, and forgets that it had ended', async () => {
    const t0 = Date.UTC(2026, 2, 1, 4, 0, 0);
    const clock = new FakeClock(t0);
    const { c, photo } = community('extended', t0);
    try {
      await addPerson(admin(c, { clock, enroller }), { id: 'p-stays', photos: [photo], buildings: ['b-1'], until: '2026-03-10' });
      clock.advance(20 * DAY_MS);
      expect((await sweepRetention(c, null, clock)).accessEnded).toBe(1);
      await updatePerson(admin(c, { clock }), { id: 'p-stays', until: '2027-03-10' });
      clock.advance(40 * DAY_MS);
      expect((await sweepRetention(c, null, clock))).toMatchObject({ accessEnded: 0, tenanciesPurged: 0 });
      expect(c.db.person('p-stays')?.status).toBe('active');
      expect(c.db.db.prepare('SELECT COUNT(*) AS n FROM access_ended').get()).toEqual({ n: 0 });
    } finally {
      c.close();
    }
  });
});

describe('registrations and photos nobody needs', () => {
  it('expires a registration left pending past its period, deletes old rejected ones and photo folders of no person', async () => {
    const t0 = Date.UTC(2026, 2, 1, 4, 0, 0);
    const clock = new FakeClock(t0);
    const { c, photo } = community('pending', t0);
    try {
      const r = DEFAULT_RETENTION;
      const old = await registerPerson(admin(c, { clock, enroller, actor: 'app' }), { id: 'p-waited', photos: [photo] });
      clock.advance(2 * DAY_MS);
      await registerPerson(admin(c, { clock, enroller, actor: 'app' }), { id: 'p-fresh', photos: [photo] });
      const reject = c.db.db.prepare(`INSERT INTO registrations (id, person_id, name, id_number_masked, building_id, room, photos, real_name, status, decided_by, decided_at, reason, submitted_at)
        VALUES (?, ?, '', '', 'b-1', '101', '[]', 'verified', 'rejected', 'mgr', ?, 'not a tenant', ?)`);
      c.db.db.prepare(`INSERT INTO registrations (id, person_id, name, id_number_masked, building_id, room, photos, real_name, status, submitted_at)
        VALUES ('r-waited', ?, '王小明', '1101**********4512', 'b-1', '3-101', '[]', 'verified', 'pending', ?)`).run(old.personId, t0);
      reject.run('r-old', 'p-r-old', t0 + (r.pendingRegistrationDays - r.rejectedRegistrationDays) * DAY_MS, t0 - 40 * DAY_MS);
      reject.run('r-recent', 'p-r-recent', t0 + 2 * DAY_MS, t0);
      // A folder left by an interrupted enrolment, found by a sweep a day before; and one being written now.
      const orphan = join(c.paths.photosDir, newPhotoKey());
      mkdirSync(orphan, { mode: 0o700 });
      writeFileSync(join(orphan, '1-1.jpg'), 'x');
      clock.advance((r.pendingRegistrationDays - 2) * DAY_MS);
      expect((await sweepRetention(c, null, clock))).toMatchObject({ expiredRegistrations: 0, orphanPhotoFolders: 0 });
      const writing = join(c.paths.photosDir, newPhotoKey());
      mkdirSync(writing, { mode: 0o700 });
      writeFileSync(join(writing, '1-1.jpg'), 'x');
      clock.advance(DAY_MS);
      const counts = (await sweepRetention(c, null, clock));
      expect(counts).toMatchObject({ expiredRegistrations: 1, rejectedRegistrations: 1, orphanPhotoFolders: 1 });
      expect(c.db.person(old.personId)).toMatchObject({ status: 'revoked', templates: [], photos: [] });
      expect(c.db.person('p-fresh')?.status).toBe('pending');
      // The tenant app's registration is refused as expired: its name and number erased like a rejection's.
      expect(c.db.db.prepare('SELECT id, status, name, id_number_masked AS masked, reason, decided_by AS by FROM registrations ORDER BY id').all()).toEqual([
        { id: 'r-recent', status: 'rejected', name: '', masked: '', reason: 'not a tenant', by: 'mgr' },
        { id: 'r-waited', status: 'rejected', name: '', masked: '', reason: `expired: not decided within ${r.pendingRegistrationDays} days`, by: 'hub' },
      ]);
      expect(existsSync(orphan)).toBe(false);
      expect(existsSync(writing)).toBe(true);
      expect(storedPhotoPaths(c, c.db.person('p-fresh')!).every((f) => existsSync(f))).toBe(true);
    } finally {
      c.close();
    }
  });
});

describe('the retention periods in community.json', () => {
  it('gives a community the documented defaults and refuses a bad period with a typed error naming it', () => {
    const { c } = community('config', Date.UTC(2026, 0, 1));
    c.close();
    expect(Community.open(c.paths.dir).config.retention).toEqual({ entryDays: 90, sightingDays: 180, auditDays: 1095, pendingRegistrationDays: 30, rejectedRegistrationDays: 30, tenancyGraceDays: 30 });
    const json = JSON.parse(readFileSync(c.paths.config, 'utf8')) as Record<string, unknown>;
    for (const bad of [{ entryDays: 0 }, { entryDays: 1.5 }, { auditDays: 99_999 }, { keepForever: true }]) {
      writeFileSync(c.paths.config, JSON.stringify({ ...json, retention: bad }));
      expect(() => Community.open(c.paths.dir)).toThrow(CommunityError);
      expect(() => Community.open(c.paths.dir)).toThrow(/retention/);
    }
    writeFileSync(c.paths.config, JSON.stringify({ ...json, retention: { entryDays: 30 } }));
    expect(Community.open(c.paths.dir).config.retention).toMatchObject({ entryDays: 30, sightingDays: 180 });
  });
});
