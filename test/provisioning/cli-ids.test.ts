/**
 * Identifiers through the `provision` command line against a running hub on a real community folder
 * (test/harness/cli-hub.ts; in this process through the command line's `run`, as bin/provision.js runs
 * it): refused in one line with nothing changed, or accepted and kept in its place.
 */
import fc from 'fast-check';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { storedPhotoPaths } from '../../provisioning/admin/persons';
import { isId } from '../../runtime/protocol/ids';
import { encodeEmbedding, type TemplateIn } from '../../runtime/roster/batch';
import { FRANCK_STILLS, testFile } from '../fixtures/photos';
import { nastyId } from '../fixtures/ids';
import { startCliHub, type CliHub } from '../harness/cli-hub';
import { treeEntries } from '../harness/tree';

let hub: CliHub;
let topLevel: string[];
const photo = (): string => testFile(FRANCK_STILLS[0]!);
const folderTop = (): string[] => readdirSync(hub.dir).filter((f) => !/-(wal|shm|journal)$/.test(f)).sort();

/** The resident enrolled first still has every photo, and every key file is in place. */
function residentKept(): void {
  const c = hub.community;
  expect(storedPhotoPaths(c, c.db.person('p-keep')!).every((f) => existsSync(f))).toBe(true);
  expect(existsSync(c.paths.ca.key) && existsSync(c.paths.signingKey) && existsSync(c.paths.hubDb)).toBe(true);
  expect(folderTop()).toEqual(topLevel);
  for (const d of readdirSync(c.paths.photosDir)) expect(d).toMatch(/^[0-9a-f]{32}$/);
}

beforeAll(async () => {
  hub = await startCliHub({
    timeZone: 'UTC',
    operators: false,
    enroller: { templates: (photos): Promise<TemplateIn[]> => Promise.resolve(photos.map((_, i) => ({ templateId: `t-${i + 1}`, modelId: 'test-model', embedding: encodeEmbedding(new Float32Array(8).fill(0.5)) }))) },
  });
  // The first terminal makes the update key (update/) and terminals/: the folder's top level is then
  // the same whichever id the property happens to accept first.
  for (const argv of [['terminal', 'add', '--id', 't-1', '--door', 'door-1', '--out', join(hub.root, 'bundle-t-1')], ['person', 'add', '--id', 'p-keep', '--photo', photo(), '--photo', photo(), '--doors', 'door-1']]) {
    const r = await hub.cli(hub.rootEnv, ...argv);
    if (r.code !== 0) throw new Error(r.err);
  }
  topLevel = folderTop();
}, 120_000);

afterAll(async () => {
  await hub.stop();
});

describe('provision with the ids of the reproduction', () => {
  it.each(['..', '.'])('person add --id %p is refused in one line and writes nothing; person revoke of it deletes nothing', async (id) => {
    const before = hub.state();
    const add = await hub.cli(hub.rootEnv, 'person', 'add', '--id', id, '--photo', photo(), '--doors', 'door-1');
    expect(add.code).toBe(2);
    expect(add.err).toMatch(/^provision person: person id "\.{1,2}" is invalid: [^\n]*$/);
    const revoke = await hub.cli(hub.rootEnv, 'person', 'revoke', id);
    expect(revoke.code).toBe(2);
    expect(revoke.err).not.toMatch(/\n/);
    expect(hub.state()).toBe(before);
    residentKept();
  });
});

describe('provision with any id', () => {
  const commands: Record<string, (id: string) => string[]> = {
    'person add': (id) => ['person', 'add', '--id', id, '--photo', photo(), '--doors', 'door-1'],
    'person add --doors': (id) => ['person', 'add', '--id', 'p-door', '--photo', photo(), '--doors', id],
    'person approve': (id) => ['person', 'approve', id, '--doors', 'door-1'],
    'person revoke': (id) => ['person', 'revoke', id],
    'alert clear': (id) => ['alert', 'clear', '--tag', id],
    'door unlock': (id) => ['door', 'unlock', id, '--reason', 'property test'],
    'terminal add': (id) => ['terminal', 'add', '--id', id, '--door', 'door-1', '--out', join(hub.root, `bundle-${Buffer.from(id).toString('hex').slice(0, 40)}`)],
    'terminal revoke': (id) => ['terminal', 'revoke', id],
  };

  it('is refused in one line with nothing changed, or accepted and contained', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(commands)), nastyId.filter((id) => !id.includes('\u0000')), async (name, id) => {
        const args = commands[name]!(id);
        const before = hub.state();
        const outside = treeEntries(hub.root).filter((e) => !e.startsWith('c/') && !e.startsWith('bundle-'));
        const r = await hub.cli(hub.rootEnv, ...args);
        if (!isId(id)) {
          expect(r.code).not.toBe(0);
          expect(r.err).toMatch(/^provision \w+: [^\n]*$/);
          expect(hub.state()).toBe(before);
        } else if (r.code !== 0) {
          expect(r.err).toMatch(/^provision \w+: [^\n]*$/); // refused for another reason (no such person, not pending...): still one line
        }
        expect(treeEntries(hub.root).filter((e) => !e.startsWith('c/') && !e.startsWith('bundle-'))).toEqual(outside);
        residentKept();
      }),
      { numRuns: 40 },
    );
  }, 300_000);
});
