/**
 * `provision person export|erase|erasure-status` as clients of the running hub's API: the export
 * written to a new 0600 file, the erasure refused without --confirm, for an unknown id and for a
 * manager, each refusal changing nothing; the erasure's report and state printed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { testEnroller } from '../../harness/hub-api';
import { startCliHub, type CliHub } from '../../harness/cli-hub';
import { FRANCK_STILLS, testFile } from '../../fixtures/photos';

let hub: CliHub;

beforeAll(async () => {
  hub = await startCliHub({ enroller: testEnroller });
}, 90_000);

afterAll(async () => {
  await hub?.stop();
});

describe('provision person export, erase and erasure-status', () => {
  it("writes a person's export to a new 0600 file and refuses to write over one", async () => {
    const add = await hub.cli(hub.as('admin'), 'person', 'add', '--id', 'p-cli', '--photo', testFile(FRANCK_STILLS[0]!), '--doors', 'door-1', '--label', 'Cli Label');
    expect(add.code).toBe(0);
    const out = join(hub.root, 'p-cli.json');
    const r = await hub.cli(hub.as('admin'), 'person', 'export', 'p-cli', '--out', out);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out).toMatch(/^p-cli: written to "?.*p-cli\.json"? \(1 photo\(s\)/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const x = JSON.parse(readFileSync(out, 'utf8')) as { person: { personId: string; label: string }; photos: Array<{ data: string }> };
    expect(x.person).toMatchObject({ personId: 'p-cli', label: 'Cli Label' });
    expect(Buffer.from(x.photos[0]?.data ?? '', 'base64').equals(readFileSync(testFile(FRANCK_STILLS[0]!)))).toBe(true);
    const again = await hub.cli(hub.as('admin'), 'person', 'export', 'p-cli', '--out', out);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/exists already/);
  });

  it('refuses an erasure without --confirm, of an unknown id, or by a manager, and changes nothing', async () => {
    const before = hub.state();
    const unconfirmed = await hub.cli(hub.as('admin'), 'person', 'erase', 'p-cli');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.err).toMatch(/add --confirm/);
    const unknown = await hub.cli(hub.as('admin'), 'person', 'erase', 'p-nobody', '--confirm');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/p-nobody/);
    const manager = await hub.cli(hub.as('mgr-1'), 'person', 'erase', 'p-cli', '--confirm');
    expect(manager.code).toBe(1);
    expect(manager.err).toMatch(/Forbidden/);
    expect(hub.state()).toBe(before);
  });

  it('erases a person and prints where what was deleted, then the erasure state', async () => {
    const key = hub.community.db.person('p-cli')?.photoKey ?? '';
    const r = await hub.cli(hub.as('admin'), 'person', 'erase', 'p-cli', '--confirm');
    expect([r.code, r.err]).toEqual([0, '']);
    expect(r.out.split('\n')).toEqual(expect.arrayContaining([
      'p-cli: erased',
      expect.stringMatching(/^hub\.db: 1 template\(s\), label deleted, note none, credentials none, 0 registration\(s\)/),
      'photos: 1 file(s) deleted',
      'events.db: 0 event(s) deleted',
    ]));
    expect(existsSync(join(hub.community.paths.photosDir, key))).toBe(false);
    const s = await hub.cli(hub.as('aud'), 'person', 'erasure-status', 'p-cli');
    expect(s.code).toBe(0);
    expect(s.out).toMatch(/^p-cli: erased by admin/);
    expect(s.out).toMatch(/terminals pending \(0\): -/);
  });
});
