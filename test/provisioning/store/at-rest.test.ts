/**
 * Templates and photos encrypted at rest on the hub (issue 16, item 3): after a real enrolment (the
 * face pipeline, real photos), a pending registration with its ID photo, an adapted template and a
 * published roster, no file of the community folder holds a template's bytes (float32 or base64) or a
 * photo's bytes in clear; values moved to another person do not decrypt; a wrong passphrase or key
 * file is a typed error that changes nothing; values kept in clear before are sealed in place.
 */
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { FacePipeline } from '../../../models/pipeline';
import { decodeEmbedding, encodeEmbedding } from '../../../runtime/roster/batch';
import { FakeTransport } from '../../../runtime/sync/fake-transport';
import { addPerson, Community, initCommunity, pipelineEnroller, registerPerson, startCommunityHub, type Enroller } from '../../../provisioning';
import { storedPhotoPaths } from '../../../provisioning/admin';
import { saveIdPhoto } from '../../../provisioning/api/id-photo';
import { atRestCipherFromKeyFile, atRestCipherFromPassphrase, atRestKeyPath, rotateAtRestKey, unlockCommunity, writeAtRestKeyFile } from '../../../provisioning/at-rest-key';
import { BadPassphraseError, loadKey, newKey } from '../../../provisioning/pki';
import { readPhotoFile, resealPhotos } from '../../../provisioning/photos';
import { AtRestCipher, AtRestIntegrityError, AtRestKeyError, AtRestLockedError } from '../../../provisioning/store/at-rest';
import { FRANCK_STILLS, testFile } from '../../fixtures/photos';
import { admin } from '../../harness/admin';
import { waitFor } from '../../harness/wait';

const PASS = 'at-rest-test-pass';
const NOW = Date.UTC(2026, 11, 2, 8, 0, 0);

let root: string;
let c: Community;
let pipeline: FacePipeline;
let enroller: Enroller;

/** Every regular file under `dir`, with its bytes. */
function filesUnder(dir: string): Array<{ file: string; data: Buffer }> {
  const out: Array<{ file: string; data: Buffer }> = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push({ file: p, data: readFileSync(p) });
  }
  return out;
}

/** The files of `dir` that contain any of the needles (relative paths, with the needle's name). */
function holders(dir: string, needles: ReadonlyArray<{ name: string; bytes: Buffer }>): string[] {
  const found: string[] = [];
  for (const { file, data } of filesUnder(dir)) {
    for (const n of needles) if (data.includes(n.bytes)) found.push(`${relative(dir, file)}: ${n.name}`);
  }
  return found;
}

/** Needles for a template: a window of its float32 bytes and a stretch of its base64 (as JSON keeps it). */
function templateNeedles(name: string, embedding: string): Array<{ name: string; bytes: Buffer }> {
  const raw = Buffer.from(embedding, 'base64');
  return [
    { name: `${name} float32`, bytes: raw.subarray(64, 128) },
    { name: `${name} base64`, bytes: Buffer.from(embedding.slice(0, 64)) },
  ];
}

/** Needles for a photo: a stretch of its bytes from the middle, and of its base64. */
function photoNeedles(name: string, data: Buffer): Array<{ name: string; bytes: Buffer }> {
  const mid = Math.floor(data.length / 2);
  return [
    { name: `${name} bytes`, bytes: data.subarray(mid, mid + 64) },
    { name: `${name} base64`, bytes: Buffer.from(data.subarray(0, 96).toString('base64')) },
  ];
}

/** Digests of the folder's files, the SQLite -wal and -shm aside (opening a database may make them). */
function digests(dir: string): Record<string, string> {
  return Object.fromEntries(filesUnder(dir).filter((f) => !/-(wal|shm)$/.test(f.file))
    .map((f) => [relative(dir, f.file), createHash('sha256').update(f.data).digest('hex')]));
}

/** The pending next key of an interrupted rotation, unencrypted in a key file (to seal with it as the rotation does). */
function writeNextKeyFile(community: Community): string {
  const file = join(root, `next-${Date.now()}.key`);
  writeFileSync(file, loadKey(`${atRestKeyPath(community)}.next`, PASS).export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return file;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'at-rest-'));
  c = initCommunity({ dir: join(root, 'c'), passphrase: PASS, timeZone: 'Asia/Shanghai', now: NOW, actor: 'test-operator' });
  pipeline = await FacePipeline.load();
  enroller = pipelineEnroller(pipeline);
}, 120_000);

afterAll(async () => {
  c.close();
  await pipeline.close();
});

describe('templates and photos at rest on the hub', () => {
  it('keeps no template and no photo in clear in any file of the community folder after enrolment, registration, adaptation and publication', async () => {
    const photos = [0, 1].map((i) => testFile(FRANCK_STILLS[i]!));
    const selfie = testFile(FRANCK_STILLS[2]!);
    const idPhoto = readFileSync(testFile(FRANCK_STILLS[3]!));
    const person = await addPerson(admin(c, { enroller, now: NOW }), { id: 'p-franck', photos, doors: ['door-1'] });
    const pending = await registerPerson(admin(c, { enroller, now: NOW }), { id: 'p-pending', photos: [selfie] });
    saveIdPhoto(c, pending.photoKey, { contentType: 'image/jpeg', data: idPhoto });
    const adapted = encodeEmbedding(new Float32Array(512).map((_, i) => Math.sin(i + 0.5)));
    c.db.addAdaptedTemplate({ templateId: 'adapted:p-franck:01JDOORADAPTED00000000000', personId: 'p-franck', modelId: person.templates[0]!.modelId, embedding: adapted, terminalId: 't1', anchor: 0.9, learntAt: NOW, receivedAt: NOW }, 3, NOW);
    // The hub publishes the person: roster_log keeps the delta with the templates.
    const fake = new FakeTransport();
    const starting = startCommunityHub({ community: c, passphrase: PASS, transport: fake, clock: new FakeClock(NOW), log: silentLogger(), pollMs: 60_000 });
    await waitFor(() => fake.started, 20_000, 'the hub to start its transport', 5);
    fake.connect();
    const hub = await starting;
    await hub.tick();
    expect(c.db.rosterVersion()).toBeGreaterThan(0);
    await hub.stop();

    expect(person.templates.length).toBe(2);
    const needles = [
      ...person.templates.flatMap((t, i) => templateNeedles(`template ${i + 1}`, t.embedding)),
      ...(c.db.person('p-pending')?.templates ?? []).flatMap((t) => templateNeedles('pending template', t.embedding)),
      ...templateNeedles('adapted template', adapted),
      ...photos.flatMap((p, i) => photoNeedles(`photo ${i + 1}`, readFileSync(p))),
      ...photoNeedles('selfie', readFileSync(selfie)),
      ...photoNeedles('ID photo', idPhoto),
    ];
    // The needles are real: they are the templates the hub decrypts from its store (checked below);
    // roster messages are sealed to each terminal, so the transport does not carry them in clear either.
    expect(fake.published.some((m) => m.payload.includes(person.templates[0]!.embedding.slice(0, 64)))).toBe(false);
    expect(holders(c.paths.dir, needles)).toEqual([]);
    // ...and they are all still there for those who hold the key.
    expect(decodeEmbedding(c.db.person('p-franck')!.templates[0]!.embedding)).toEqual(decodeEmbedding(person.templates[0]!.embedding));
    expect(c.db.adaptedTemplates('p-franck').map((t) => t.embedding)).toEqual([adapted]);
    expect(storedPhotoPaths(c, c.db.person('p-franck')!).map((f) => readPhotoFile(f))).toEqual(photos.map((p) => readFileSync(p)));
    // roster_log names the persons by id and revision only (per-door rosters): nothing to seal there.
    expect(c.db.rosterChanges(0).some(([, ch]) => ch.persons.some((x) => x.id === 'p-franck'))).toBe(true);
  }, 180_000);

  it('refuses a template or a photo moved to another person: it does not decrypt', () => {
    const a = c.db.person('p-franck')!;
    const b = c.db.person('p-pending')!;
    const row = c.db.db.prepare("SELECT templates FROM persons WHERE person_id = 'p-franck'").get() as { templates: string };
    const before = c.db.db.prepare("SELECT templates FROM persons WHERE person_id = 'p-pending'").get() as { templates: string };
    c.db.db.prepare("UPDATE persons SET templates = ? WHERE person_id = 'p-pending'").run(row.templates);
    try {
      expect(() => c.db.person('p-pending')).toThrow(AtRestIntegrityError);
    } finally {
      c.db.db.prepare("UPDATE persons SET templates = ? WHERE person_id = 'p-pending'").run(before.templates);
    }
    // A's photo file under B's folder, with the same name: the folder key is part of what it is bound to.
    const [aPhoto] = storedPhotoPaths(c, a);
    const moved = join(c.paths.photosDir, b.photoKey, a.photos[0]!);
    const kept = existsSync(moved) ? readFileSync(moved) : null;
    copyFileSync(aPhoto!, moved);
    try {
      expect(() => readPhotoFile(moved)).toThrow(AtRestIntegrityError);
    } finally {
      if (kept) writeFileSync(moved, kept);
      else rmSync(moved);
    }
  });

  it('refuses a process without the key, a wrong passphrase and a key file that is not this community\'s, changing nothing; opens with the right key file', () => {
    const dir = c.paths.dir;
    c.close();
    const before = digests(dir);
    const locked = Community.open(dir);
    try {
      expect(() => locked.db.person('p-franck')).toThrow(AtRestLockedError);
      const row = locked.db.db.prepare("SELECT photo_key, photos FROM persons WHERE person_id = 'p-franck'").get() as { photo_key: string; photos: string };
      expect(() => readPhotoFile(join(locked.paths.photosDir, row.photo_key, (JSON.parse(row.photos) as string[])[0] ?? ''))).toThrow(AtRestLockedError);
      expect(() => unlockCommunity(locked, { passphrase: 'not-the-passphrase' }, NOW)).toThrow(BadPassphraseError);
      expect(locked.atRestUnlocked).toBe(false);
      // Another community's key file: a well-formed key, not this one.
      const other = initCommunity({ dir: join(root, 'other'), passphrase: PASS, now: NOW, actor: 'test-operator' });
      const otherKey = join(root, 'other.key');
      writeAtRestKeyFile(other, PASS, otherKey);
      other.close();
      expect(() => unlockCommunity(locked, { keyFile: otherKey }, NOW)).toThrow(AtRestKeyError);
      // A key file others may read is refused before it is read.
      const loose = join(root, 'loose.key');
      writeAtRestKeyFile(locked, PASS, loose);
      chmodSync(loose, 0o644);
      expect(() => unlockCommunity(locked, { keyFile: loose }, NOW)).toThrow(/may be read by others/);
      expect(locked.atRestUnlocked).toBe(false);
    } finally {
      locked.close();
    }
    expect(digests(dir)).toEqual(Object.fromEntries(Object.entries(before)));
    // The right key file, written 0600, opens it without the passphrase.
    const keyFile = join(root, 'hub.key');
    const opened = Community.open(dir);
    try {
      const { keyId } = writeAtRestKeyFile(opened, PASS, keyFile);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      expect(() => writeAtRestKeyFile(opened, PASS, keyFile)).toThrow(/exists already/);
      expect(keyId).toMatch(/^[0-9a-f]{16}$/);
      unlockCommunity(opened, { keyFile }, NOW);
      expect(opened.db.person('p-franck')?.templates).toHaveLength(2);
    } finally {
      opened.close();
    }
    c = Community.open(dir);
    unlockCommunity(c, { passphrase: PASS }, NOW);
  });

  it('seals in place the templates, adapted templates and photos kept in clear before, and says how many', () => {
    // A community as the release before left it: the key table empty, values in clear.
    const p = c.db.person('p-franck')!;
    const plainTemplates = JSON.stringify(p.templates);
    const plainPhoto = readFileSync(testFile(FRANCK_STILLS[4]!));
    const [firstPhoto] = storedPhotoPaths(c, p);
    c.db.db.prepare("UPDATE persons SET templates = ? WHERE person_id = 'p-franck'").run(plainTemplates);
    c.db.db.prepare('UPDATE adapted_templates SET embedding = ?').run(encodeEmbedding(new Float32Array(512).fill(0.25)));
    c.db.db.prepare('DELETE FROM at_rest_key').run();
    writeFileSync(firstPhoto!, plainPhoto);
    const dir = c.paths.dir;
    c.close();
    c = Community.open(dir);
    expect(existsSync(atRestKeyPath(c))).toBe(true);
    const sealed = unlockCommunity(c, { passphrase: PASS }, NOW);
    expect(sealed).toEqual({ persons: 1, adaptedTemplates: 1, photos: 1 });
    expect(unlockCommunity(c, { passphrase: PASS }, NOW)).toBeNull();
    c.close();
    c = Community.open(dir);
    expect(unlockCommunity(c, { passphrase: PASS }, NOW)).toBeNull(); // done once
    expect(holders(dir, [...templateNeedles('template', p.templates[0]!.embedding), ...photoNeedles('photo', plainPhoto),
      ...templateNeedles('adapted', encodeEmbedding(new Float32Array(512).fill(0.25)))])).toEqual([]);
    expect(c.db.person('p-franck')?.templates).toEqual(p.templates);
    expect(readPhotoFile(firstPhoto!)).toEqual(plainPhoto);
  });
});

describe('rotating the at-rest key', () => {
  it('seals everything again with a new key, so a key file written before opens nothing; an interrupted rotation blocks unlocking until it is run again', () => {
    const dir = c.paths.dir;
    const before = c.db.person('p-franck')!;
    const photo = storedPhotoPaths(c, before)[0]!;
    const plainPhoto = readPhotoFile(photo);
    const oldKeyFile = join(root, 'before-rotation.key');
    writeAtRestKeyFile(c, PASS, oldKeyFile);
    c.close();

    // Interrupted after the photos: the next key exists, the rows are still sealed with the old one.
    c = Community.open(dir);
    writeFileSync(`${atRestKeyPath(c)}.next`, newKey('ed25519', PASS), { mode: 0o600 });
    const oldCipher = atRestCipherFromPassphrase(c, PASS);
    const nextCipher = atRestCipherFromKeyFile(writeNextKeyFile(c));
    resealPhotos(c.paths.photosDir, oldCipher, nextCipher);
    expect(() => unlockCommunity(c, { passphrase: PASS }, NOW)).toThrow(/rotation of the at-rest key was interrupted/);
    const r = rotateAtRestKey(c, PASS, NOW);
    expect(r.keyId).toBe(nextCipher.keyId);
    expect(r.photos).toBe(0); // done before the interruption
    expect(r.persons).toBeGreaterThanOrEqual(2);
    expect(existsSync(`${atRestKeyPath(c)}.next`)).toBe(false);
    c.close();

    c = Community.open(dir);
    expect(() => unlockCommunity(c, { keyFile: oldKeyFile }, NOW)).toThrow(AtRestKeyError);
    unlockCommunity(c, { passphrase: PASS }, NOW);
    expect(c.db.person('p-franck')?.templates).toEqual(before.templates);
    expect(readPhotoFile(photo)).toEqual(plainPhoto);
    // Nothing of it opens with the old key any more.
    const sealed = readFileSync(photo);
    expect(() => oldCipher.openFile(sealed, `photo\0${before.photoKey}\0${before.photos[0]!}`)).toThrow(AtRestIntegrityError);
  });
});

describe('a per-terminal key kept by the hub', () => {
  it('is wrapped with the at-rest key and unwraps only for the same terminal and purpose', () => {
    const cipher = AtRestCipher.random();
    const secret = Buffer.from('0123456789abcdef0123456789abcdef');
    const wrapped = cipher.wrapKey(secret, 't1', 'roster');
    expect(wrapped).not.toContain(secret.toString('base64').slice(0, 16));
    expect(cipher.unwrapKey(wrapped, 't1', 'roster')).toEqual(secret);
    expect(() => cipher.unwrapKey(wrapped, 't2', 'roster')).toThrow(AtRestIntegrityError);
    expect(() => cipher.unwrapKey(wrapped, 't1', 'events')).toThrow(AtRestIntegrityError);
    expect(() => AtRestCipher.random().unwrapKey(wrapped, 't1', 'roster')).toThrow(AtRestIntegrityError);
  });
});
