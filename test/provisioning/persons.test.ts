/**
 * Residents in the hub database: registration, approval, update, revocation, bulk import, and the
 * access options (dates in the community's time zone, weekly hours).
 */
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { FacePipeline } from '../../models/pipeline';
import { EnrolmentPhotoError } from '../../runtime/tools/enrol';
import { encodeEmbedding, type TemplateIn } from '../../runtime/roster/batch';
import {
  addPerson,
  approvePerson,
  authorisationOf,
  Community,
  importPersons,
  initCommunity,
  parseHours,
  pipelineEnroller,
  registerPerson,
  revokePerson,
  updatePerson,
  type Enroller,
} from '../../provisioning';
import { rosterItemOf } from '../../provisioning/db';
import { storedPhotoPaths, zonedMidnight } from '../../provisioning/admin';
import { FRANCK_STILLS, GROUP_PHOTOS, testFile } from '../fixtures/photos';
import { admin } from '../harness/admin';

let root: string;
let c: Community;
let photo: string;

/** Templates without models; a photo whose name contains "bad" fails like a closed-eyes photo. */
const fakeEnroller: Enroller = {
  templates(photos, idPrefix): Promise<TemplateIn[]> {
    const bad = photos.find((p) => p.includes('bad'));
    if (bad) return Promise.reject(new EnrolmentPhotoError(bad, ['eyes closed']));
    return Promise.resolve(photos.map((_, i) => ({ templateId: `${idPrefix}-t${i + 1}`, modelId: 'test-model', embedding: encodeEmbedding(new Float32Array(512).fill(0.01 * (i + 1))) })));
  },
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'provision-persons-'));
  c = initCommunity({ dir: join(root, 'c'), passphrase: 'persons-test-pass', timeZone: 'Asia/Shanghai', now: Date.now(), actor: 'test-operator' });
  photo = join(root, 'face.jpg');
  writeFileSync(photo, 'jpeg bytes');
  writeFileSync(join(root, 'bad.jpg'), 'jpeg bytes');
}, 30_000);

afterAll(() => c.close());

describe('access options', () => {
  it('reads weekly hours with day names, numbers, ranges and lists', () => {
    expect(parseHours('mon-fri 07:00-22:00')).toEqual({ days: [1, 2, 3, 4, 5], start: '07:00', end: '22:00' });
    expect(parseHours('6,7 09:00-18:00')).toEqual({ days: [6, 7], start: '09:00', end: '18:00' });
    expect(parseHours('sat-mon 22:00-06:00')).toEqual({ days: [1, 6, 7], start: '22:00', end: '06:00' });
    expect(parseHours('08:00-20:00').days).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(() => parseHours('funday 08:00-20:00')).toThrow(/not a day/);
    expect(() => parseHours('mon 25:00-26:00')).toThrow(/HH:MM/);
  });

  it('turns dates into local midnights of the community time zone, "until" inclusive of its day', () => {
    expect(zonedMidnight('2026-03-01', 'Asia/Shanghai')).toBe('2026-03-01T00:00:00+08:00');
    expect(zonedMidnight('2026-07-01', 'Europe/Berlin')).toBe('2026-07-01T00:00:00+02:00');
    expect(zonedMidnight('2026-01-15', 'Europe/Berlin')).toBe('2026-01-15T00:00:00+01:00');
    const a = authorisationOf({ doors: ['d1'], from: '2026-03-01', until: '2026-12-31', hours: ['mon-fri 07:00-22:00'] }, 'Asia/Shanghai');
    expect(a).toMatchObject({ doorIds: ['d1'], validFrom: '2026-03-01T00:00:00+08:00', validUntil: '2027-01-01T00:00:00+08:00' });
    expect(() => authorisationOf({ doors: ['d1'], from: '2026-12-31', until: '2026-01-01' }, 'UTC')).toThrow(/not after/);
    expect(() => authorisationOf({}, 'UTC')).toThrow(/door or building/);
    expect(() => authorisationOf({ doors: ['d1'], from: '2026-02-30' }, 'UTC')).toThrow(/not a valid date/);
    // an end date is checked as a date too, before its day is added
    expect(() => authorisationOf({ doors: ['d1'], until: '2026-13-01' }, 'UTC')).toThrow(/"2026-13-01" is not a valid date/);
    expect(() => authorisationOf({ doors: ['d1'], until: '2026-02-30' }, 'UTC')).toThrow(/"2026-02-30" is not a valid date/);
  });
});

describe('registration and approval', () => {
  it('keeps a registration pending (nothing for the doors) until a manager approves it', async () => {
    const p = await registerPerson(admin(c, { enroller: fakeEnroller, actor: 'app' }), { id: 'p-reg', photos: [photo] });
    expect(p.status).toBe('pending');
    expect(rosterItemOf(p)).toBeNull();
    const a = approvePerson(admin(c, { actor: 'manager' }), { id: 'p-reg', buildings: ['b-1'], until: '2027-06-30' });
    expect(a.status).toBe('active');
    expect(rosterItemOf(a)).toMatchObject({ personId: 'p-reg', authorisations: [{ buildingIds: ['b-1'], validUntil: '2027-07-01T00:00:00+08:00' }] });
    expect(() => approvePerson(admin(c), { id: 'p-reg', buildings: ['b-1'] })).toThrow(/not pending/);
    expect(c.db.auditLog().map((x) => `${x.actor} ${x.action} ${x.subject}`)).toEqual(expect.arrayContaining(['app person.register p-reg', 'manager person.approve p-reg']));
  });

  it('refuses a poor photo with its reasons and stores nothing', async () => {
    await expect(addPerson(admin(c, { enroller: fakeEnroller }), { id: 'p-bad', photos: [join(root, 'bad.jpg')], doors: ['d1'] })).rejects.toThrow(/eyes closed/);
    expect(c.db.person('p-bad')).toBeNull();
    expect(existsSync(join(c.paths.photosDir, 'p-bad'))).toBe(false);
  });

  it('updates access without touching templates, and each change is published again', async () => {
    const p = await addPerson(admin(c, { enroller: fakeEnroller }), { id: 'p-upd', photos: [photo], doors: ['d1'] });
    const u = await updatePerson(admin(c), { id: 'p-upd', doors: ['d1', 'd2'], hours: ['mon-fri 07:00-22:00'] });
    expect(u.templates).toEqual(p.templates);
    expect(u.authorisations[0]).toMatchObject({ doorIds: ['d1', 'd2'], windows: [{ days: [1, 2, 3, 4, 5] }] });
    expect(u.rev).toBeGreaterThan(p.rev);
  });

  it('deletes the templates and photos from the hub store when a person is revoked', async () => {
    const p = await addPerson(admin(c, { enroller: fakeEnroller }), { id: 'p-rev', photos: [photo, photo], doors: ['d1'] });
    const stored = storedPhotoPaths(c, p);
    expect(stored).toHaveLength(2);
    expect(stored.every((f) => existsSync(f))).toBe(true);
    const r = revokePerson(admin(c), { id: 'p-rev', reason: 'moved out' });
    expect(r).toMatchObject({ status: 'revoked', templates: [], photos: [] });
    expect(stored.some((f) => existsSync(f))).toBe(false);
    expect(rosterItemOf(r)).toEqual({ revokedPersonId: 'p-rev' });
  });
});

describe('CSV import', () => {
  it('adds the good rows, reports the bad ones, and never half-applies a person', async () => {
    const csv = join(root, 'import.csv');
    writeFileSync(csv, [
      'id,photos,doors,buildings,from,until,hours,label',
      'p-c1,face.jpg,d1;d2,,2026-01-01,2026-12-31,mon-fri 07:00-22:00,',
      'p-c2,face.jpg;bad.jpg,d1,,,,,',
      'p-c3,face.jpg,,,,,,',
      '"p-c4","face.jpg","d3",b-1,,,"sat,sun 09:00-18:00","Room 301, east"',
      '',
    ].join('\n'));
    const seen: number[] = [];
    const r = await importPersons(admin(c, { enroller: fakeEnroller }), { file: csv, onRow: (_row, done) => seen.push(done) });
    expect(r.map((x) => [x.id, x.ok])).toEqual([['p-c1', true], ['p-c2', false], ['p-c3', false], ['p-c4', true]]);
    expect(r[1]?.error).toMatch(/eyes closed/);
    expect(r[2]?.error).toMatch(/door or building/);
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(c.db.person('p-c2')).toBeNull();
    expect(existsSync(join(c.paths.photosDir, 'p-c2')) ? readdirSync(join(c.paths.photosDir, 'p-c2')) : []).toEqual([]);
    expect(c.db.person('p-c4')).toMatchObject({ label: 'Room 301, east', authorisations: [{ doorIds: ['d3'], buildingIds: ['b-1'], windows: [{ days: [6, 7] }] }] });
  });
});

describe('enrolment through the face pipeline', () => {
  it('gives templates the model id, and refuses a photo too small for the quality gates', async () => {
    const pipeline = await FacePipeline.load();
    try {
      const e = pipelineEnroller(pipeline);
      const p = await addPerson(admin(c, { enroller: e }), { id: 'p-real', photos: [testFile(FRANCK_STILLS[0]!)], doors: ['d1'] });
      expect(p.templates).toHaveLength(1);
      expect(p.templates[0]?.modelId).toBe(pipeline.modelId);
      const tiny = join(root, 'tiny.jpg');
      await sharp(testFile(FRANCK_STILLS[0]!)).resize(64, 48).toFile(tiny);
      const err = await addPerson(admin(c, { enroller: e }), { id: 'p-tiny', photos: [tiny], doors: ['d1'] }).then(() => null, (x: unknown) => x);
      expect(err).toBeInstanceOf(EnrolmentPhotoError);
      expect((err as EnrolmentPhotoError).reasons.length).toBeGreaterThan(0);
      expect(c.db.person('p-tiny')).toBeNull();
    } finally {
      await pipeline.close();
    }
  }, 60_000);

  it('refuses a group photo and a person whose photos show two people, and writes nothing', async () => {
    const pipeline = await FacePipeline.load();
    try {
      const e = pipelineEnroller(pipeline);
      const photos = readdirSync(c.paths.photosDir).sort();
      const group = addPerson(admin(c, { enroller: e }), { id: 'p-group', photos: [testFile(GROUP_PHOTOS.find((g) => g.file === 'sample3.jpg')!)], doors: ['d1'] });
      await expect(group).rejects.toThrow(/sample3\.jpg: 3 faces: one person per photo$/);
      const two = addPerson(admin(c, { enroller: e }), { id: 'p-two', photos: [testFile(FRANCK_STILLS[0]!), testFile(GROUP_PHOTOS.find((g) => g.file === 'faces.jpg')!)], doors: ['d1'] });
      await expect(two).rejects.toBeInstanceOf(EnrolmentPhotoError); // faces.jpg has three faces
      expect(c.db.person('p-group')).toBeNull();
      expect(c.db.person('p-two')).toBeNull();
      expect(readdirSync(c.paths.photosDir).sort()).toEqual(photos);
    } finally {
      await pipeline.close();
    }
  }, 60_000);
});
