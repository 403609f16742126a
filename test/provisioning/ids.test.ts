/**
 * Identifiers through the provisioning library, on a real community folder: an id made of path or
 * topic metacharacters is refused with a typed error and nothing written, or accepted and kept inside
 * its place. Photos live in folders named by an opaque key, never by the id.
 */
import fc from 'fast-check';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addAlert, addPerson, approvePerson, clearAlert, Community, initCommunity, registerPerson, revokePerson, updatePerson, type Enroller } from '../../provisioning';
import { queueCommand } from '../../provisioning/admin';
import { storedPhotoPaths } from '../../provisioning/admin/persons';
import { newPhotoKey, removePhotos, savePhotos } from '../../provisioning/photos';
import { addTerminal, revokeTerminal } from '../../provisioning/admin/terminals';
import { encodeEmbedding, type TemplateIn } from '../../runtime/roster/batch';
import { InvalidIdError, isId } from '../../runtime/protocol/ids';
import { nastyId } from '../fixtures/ids';
import { treeEntries, treeHash } from '../harness/tree';
import { admin } from '../harness/admin';

const PASS = 'ids-test-passphrase';
let root: string;
let c: Community;
let photo: string;

const enroller: Enroller = {
  templates: (photos): Promise<TemplateIn[]> =>
    Promise.resolve(photos.map((_, i) => ({ templateId: `t-${i + 1}`, modelId: 'test-model', embedding: encodeEmbedding(new Float32Array(8).fill(0.1 + i)) }))),
};

let topLevel: string[];
/** Everything under the test folder but the community (photos given, bundles). */
const outsideCommunity = (): string[] => treeEntries(root).filter((e) => !e.startsWith('c/'));

/** An accepted id left everything in its place: the same top level, only key-named photo folders, nothing outside. */
function contained(outBefore: string[]): void {
  expect(readdirSync(c.paths.dir).sort()).toEqual(topLevel);
  for (const d of readdirSync(c.paths.photosDir)) expect(d).toMatch(/^[0-9a-f]{32}$/);
  expect(outsideCommunity()).toEqual(outBefore);
  expect(existsSync(c.paths.ca.key) && existsSync(c.paths.signingKey) && existsSync(c.paths.config)).toBe(true);
  expect(storedPhotoPaths(c, c.db.person('p-keep')!).every((f) => existsSync(f))).toBe(true);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'provision-ids-'));
  c = initCommunity({ dir: join(root, 'c'), passphrase: PASS, timeZone: 'UTC', now: Date.now(), actor: 'test-operator' });
  photo = join(root, 'face.jpg');
  writeFileSync(photo, 'jpeg bytes');
  await addPerson(admin(c, { enroller }), { id: 'p-keep', photos: [photo, photo], doors: ['door-1'] });
  addTerminal(admin(c, { passphrase: PASS }), { id: 't-keep', doorId: 'door-1', out: join(root, 'bundle-keep') });
  topLevel = readdirSync(c.paths.dir).sort();
}, 60_000);

afterAll(() => c.close());

describe('the reproduction: ids "." and ".."', () => {
  it.each(['..', '.'])('refuses a person %p and writes nothing, and its revocation deletes nothing', async (id) => {
    const before = treeHash(c.paths.dir);
    await expect(addPerson(admin(c, { enroller }), { id, photos: [photo], doors: ['door-1'] })).rejects.toThrow(InvalidIdError);
    expect(() => revokePerson(admin(c), { id })).toThrow(InvalidIdError);
    expect(treeHash(c.paths.dir)).toBe(before);
    expect(existsSync(c.paths.ca.key)).toBe(true);
    expect(storedPhotoPaths(c, c.db.person('p-keep')!).every((f) => existsSync(f))).toBe(true);
  });
});

describe('photo folders', () => {
  it('are named by a random key stored with the person, never by the id, and only that folder goes on revocation', async () => {
    const a = await addPerson(admin(c, { enroller }), { id: 'p-a', photos: [photo], doors: ['door-1'] });
    const b = await addPerson(admin(c, { enroller }), { id: 'p-b', photos: [photo], doors: ['door-1'] });
    expect(a.photoKey).toMatch(/^[0-9a-f]{32}$/);
    expect(a.photoKey).not.toBe(b.photoKey);
    expect(readdirSync(c.paths.photosDir)).not.toContain('p-a');
    expect(storedPhotoPaths(c, a)[0]).toBe(join(c.paths.photosDir, a.photoKey, a.photos[0]!));
    revokePerson(admin(c), { id: 'p-a' });
    expect(existsSync(join(c.paths.photosDir, a.photoKey))).toBe(false);
    expect(storedPhotoPaths(c, b).every((f) => existsSync(f))).toBe(true);
    // re-enrolled after a revocation: a new folder
    const again = await addPerson(admin(c, { enroller }), { id: 'p-a', photos: [photo], doors: ['door-1'] });
    expect(again.photoKey).not.toBe(a.photoKey);
  });

  it('are saved all or none: a copy that fails removes the copies made before it', () => {
    const key = newPhotoKey();
    expect(() => savePhotos(c.paths.photosDir, key, [photo, join(root, 'vanished.jpg')], 7)).toThrow(/ENOENT/);
    expect(readdirSync(join(c.paths.photosDir, key))).toEqual([]);
    removePhotos(c.paths.photosDir, key);
    expect(existsSync(join(c.paths.photosDir, key))).toBe(false);
    expect(() => removePhotos(c.paths.photosDir, '..')).toThrow(); // a key is 32 hex digits, nothing else
  });

  it('keeps new photos and deletes the old ones on update, in the same folder', async () => {
    const p = await addPerson(admin(c, { enroller, now: 1000 }), { id: 'p-u', photos: [photo], doors: ['door-1'] });
    const u = await updatePerson(admin(c, { enroller, now: 1000 }), { id: 'p-u', photos: [photo, photo] });
    expect(u.photoKey).toBe(p.photoKey);
    expect(u.photos).toHaveLength(2);
    expect(storedPhotoPaths(c, u).every((f) => existsSync(f))).toBe(true);
    expect(readdirSync(join(c.paths.photosDir, p.photoKey)).sort()).toEqual([...u.photos].sort());
  });
});

describe('any id, through every library call that takes one', () => {
  type Call = (id: string) => Promise<unknown>;
  const calls: Record<string, Call> = {
    'person add': (id) => addPerson(admin(c, { enroller }), { id, photos: [photo], doors: ['door-1'] }),
    'person register': (id) => registerPerson(admin(c, { enroller }), { id, photos: [photo] }),
    'person approve': (id) => Promise.resolve().then(() => approvePerson(admin(c), { id, doors: ['door-1'] })),
    'person update': (id) => updatePerson(admin(c, { enroller }), { id, photos: [photo] }),
    'person revoke': (id) => Promise.resolve().then(() => revokePerson(admin(c), { id })),
    'person add, door': (id) => addPerson(admin(c, { enroller }), { id: 'p-door', photos: [photo], doors: [id] }),
    'person add, building': (id) => addPerson(admin(c, { enroller }), { id: 'p-building', photos: [photo], buildings: [id] }),
    'person add, operator': (id) => addPerson(admin(c, { enroller, actor: id }), { id: 'p-operator', photos: [photo], doors: ['door-1'] }),
    'alert add, tag': (id) => addAlert(admin(c, { enroller }), { tag: id, photos: [photo] }),
    'alert add, person': (id) => addAlert(admin(c), { tag: 'missing-person', personId: id }),
    'alert clear': (id) => Promise.resolve().then(() => clearAlert(admin(c), { tag: id })),
    'door unlock': (id) => Promise.resolve().then(() => queueCommand(admin(c), { target: id, command: { type: 'unlock', durationMs: 1000 } })),
    'terminal revoke': (id) => Promise.resolve().then(() => revokeTerminal(admin(c, { passphrase: PASS }), { id })),
  };

  it.each(Object.keys(calls))('%s: refused with InvalidIdError and nothing written, or accepted and contained', async (name) => {
    const call = calls[name]!;
    await fc.assert(
      fc.asyncProperty(nastyId, async (id) => {
        const before = treeHash(root);
        const outBefore = outsideCommunity();
        let error: unknown = null;
        try {
          await call(id);
        } catch (e) {
          error = e;
        }
        if (!isId(id)) {
          expect(error).toBeInstanceOf(InvalidIdError);
          expect(treeHash(root)).toBe(before);
          return;
        }
        // accepted (or refused for another reason, such as no person by that id): everything in its place
        contained(outBefore);
      }),
      { numRuns: 60 },
    );
  }, 120_000);

  it('a terminal id or its door id: refused with InvalidIdError and nothing written, or a bundle and one certificate', () => {
    let n = 0;
    fc.assert(
      fc.property(nastyId, fc.boolean(), (id, asDoor) => {
        const before = treeHash(root);
        const out = join(root, `bundle-${n++}`);
        let error: unknown = null;
        try {
          addTerminal(admin(c, { passphrase: PASS }), asDoor ? { id: `t-${n}`, doorId: id, out } : { id, doorId: 'door-1', out });
        } catch (e) {
          error = e;
        }
        if (!isId(id)) {
          expect(error).toBeInstanceOf(InvalidIdError);
          expect(treeHash(root)).toBe(before);
          return;
        }
        if (error === null) {
          expect(readdirSync(out).sort()).toEqual(['ca.crt', 'credential.secret', 'device.crt', 'device.key', 'device.secret', 'hub-seal.pub', 'hub-signing.pub', 'roster.key', 'terminal.json', 'update-signing.pub']);
          expect(existsSync(join(c.paths.terminalsDir, `${asDoor ? `t-${n}` : id}.crt`))).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it('a terminal id that differs from another only by case, or names the hub, is refused', () => {
    expect(() => addTerminal(admin(c, { passphrase: PASS }), { id: 'T-KEEP', doorId: 'door-1', out: join(root, 'b-case') })).toThrow(/only by case/);
    expect(() => addTerminal(admin(c, { passphrase: PASS }), { id: 'HUB', doorId: 'door-1', out: join(root, 'b-hub') })).toThrow(/reserved/);
  });
});
