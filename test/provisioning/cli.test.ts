/**
 * The provision command line as an operator uses it, against a running hub (test/harness/cli-hub.ts:
 * real mosquitto, the hub and its API, real SQLite, the real face pipeline), in this process through
 * the command line's `run` as bin/provision.js runs it: root with the passphrase, an admin's API token;
 * plus one real spawn of the entry point.
 */
// ARM64 CI run (scripts/arm64/README.md, boundary mode): sharp shrinks a fixture photo here; under the command line, the hub's SQLite, the quality
// check, the pipeline and operator passwords are proven on ARM64 by the files named below.
// arm64 boundary: covered by test/provisioning/hub/event-store.test.ts, test/provisioning/store/erasures.test.ts, test/provisioning/store/residents-page.test.ts, test/models/quality.test.ts, test/models/pipeline.test.ts, test/provisioning/operators/passwords.test.ts
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import sharp from 'sharp';
import { FRANCK_STILLS, testFile } from '../fixtures/photos';
import { startCliHub, type CliHub } from '../harness/cli-hub';

let hub: CliHub;

beforeAll(async () => {
  hub = await startCliHub();
}, 180_000);

afterAll(async () => {
  await hub.stop();
});

const audit = async (): Promise<Array<{ actor: string; action: string; subject: string }>> =>
  (await hub.cli(hub.as('aud'), 'audit', '--json', '-n', '1000')).out.split('\n').map((l) => JSON.parse(l) as { actor: string; action: string; subject: string });

describe('provision', () => {
  it('refuses to make a community over an existing one', async () => {
    const again = await hub.cli(hub.rootEnv, 'init');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/refusing to overwrite/);
  });

  it('adds a terminal as root and writes its bundle here, then lists it and its health through the hub', async () => {
    const add = await hub.cli(hub.rootEnv, 'terminal', 'add', '--id', 'gate-1', '--door', 'gate-1', '--building', 'b-2', '--out', join(hub.root, 'gate-1'));
    expect(add.code).toBe(0);
    expect(add.out).toMatch(/bundle in .*gate-1: copy it onto the terminal's storage and run doorway run --config .*gate-1\/terminal\.json$/);
    const list = await hub.cli(hub.as('admin'), 'terminal', 'list', '--json');
    expect(JSON.parse(list.out)).toEqual([expect.objectContaining({ id: 'gate-1', doorId: 'gate-1', buildingId: 'b-2', status: 'active' })]);
    const fleet = await hub.cli(hub.as('sec'), 'fleet', 'status', '--json');
    expect(JSON.parse(fleet.out)).toEqual([expect.objectContaining({ terminalId: 'gate-1', online: false, lastHeartbeat: null })]);
  }, 60_000);

  it('registers a resident, approves them with dates and hours, shows and lists them, and audits who did it', async () => {
    const reg = await hub.cli(hub.rootEnv, 'person', 'register', '--id', 'p-42', '--photo', testFile(FRANCK_STILLS[0]!));
    expect(reg.code).toBe(0);
    expect(reg.out).toMatch(/pending/);
    const ok = await hub.cli(hub.as('admin'), 'person', 'approve', 'p-42', '--doors', 'gate-1,door-7', '--from', '2026-01-01', '--until', '2026-12-31', '--hours', 'mon-fri 06:00-23:00');
    expect(ok).toMatchObject({ code: 0, err: '' });
    const show = JSON.parse((await hub.cli(hub.as('aud'), 'person', 'show', 'p-42', '--json')).out) as Record<string, unknown>;
    expect(show).toMatchObject({
      status: 'active',
      access: [{ doorIds: ['gate-1', 'door-7'], validFrom: '2026-01-01T00:00:00+08:00', validUntil: '2027-01-01T00:00:00+08:00', windows: [{ days: [1, 2, 3, 4, 5], start: '06:00', end: '23:00' }] }],
      photos: 1,
    });
    expect(JSON.stringify(show)).not.toMatch(/embedding/);
    expect((await hub.cli(hub.as('admin'), 'person', 'list', '--status', 'active')).out).toMatch(/^p-42\tresident\tactive\tdoors=gate-1,door-7/);
    expect(await audit()).toEqual(expect.arrayContaining([
      expect.objectContaining({ actor: 'root', action: 'person.register', subject: 'p-42' }),
      expect.objectContaining({ actor: 'admin', action: 'person.approve', subject: 'p-42' }),
    ]));
  }, 60_000);

  it('refuses a poor photo with the reasons, naming the local file, with exit status 1', async () => {
    const tiny = join(hub.root, 'tiny.jpg');
    await sharp(testFile(FRANCK_STILLS[1]!)).resize(64, 48).toFile(tiny);
    const r = await hub.cli(hub.as('admin'), 'person', 'add', '--id', 'p-43', '--photo', tiny, '--doors', 'gate-1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^provision person: .*tiny\.jpg: \S/);
    // The list that does not show p-43 does show the resident registered before it.
    const list = (await hub.cli(hub.as('admin'), 'person', 'list')).out;
    expect(list).toMatch(/^p-42\t/m);
    expect(list).not.toMatch(/p-43/);
  }, 60_000);

  it('wipes a terminal only when confirmed with --yes, queues the command for the hub and audits who ordered it', async () => {
    const unconfirmed = await hub.cli(hub.as('admin'), 'terminal', 'wipe', 'gate-1');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.err).toMatch(/erases every face template and person on gate-1.*--yes/);
    expect((await hub.cli(hub.as('admin'), 'terminal', 'wipe', 'no-such-terminal', '--yes')).code).toBe(2);
    expect((await audit()).some((a) => a.action === 'command.wipe')).toBe(false);

    const wipe = await hub.cli(hub.as('admin'), 'terminal', 'wipe', 'gate-1', '--yes', '--wait', '0');
    expect(wipe).toMatchObject({ code: 0, out: 'gate-1: wipe queued: the hub signs and sends it' });
    const resync = await hub.cli(hub.rootEnv, 'terminal', 'resync', 'gate-1');
    expect(resync).toMatchObject({ code: 0, out: 'gate-1: resync sent (signed; valid for 30 s)' });
    expect(await audit()).toEqual(expect.arrayContaining([
      expect.objectContaining({ actor: 'admin', action: 'command.wipe', subject: 'gate-1' }),
      expect.objectContaining({ actor: 'root', action: 'command.resync', subject: 'gate-1' }),
    ]));
  }, 60_000);

  it('renews a terminal through the hub and writes it with --out, renews the hub and the broker on the folder, and audits it', async () => {
    const serial = async (): Promise<string> => (JSON.parse((await hub.cli(hub.as('admin'), 'terminal', 'list', '--json')).out) as Array<{ serial: string }>)[0]?.serial ?? '';
    const before = await serial();
    expect((await hub.cli(hub.as('admin'), 'terminal', 'renew')).code).toBe(2);
    expect((await hub.cli(hub.as('admin'), 'terminal', 'renew', '--due')).out).toBe('no terminal certificate is due for renewal');
    const r = await hub.cli(hub.as('admin'), 'terminal', 'renew', 'gate-1', '--out', join(hub.root, 'renewed'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^gate-1: certificate renewed until \d{4}-\d\d-\d\dT.*the hub sends it to the terminal \(also in .*renewed\/gate-1\/device\.crt\)$/);
    expect(await serial()).not.toBe(before);
    expect((await hub.cli(hub.rootEnv, 'hub', 'renew')).out).toMatch(/^hub certificate renewed until /);
    expect((await hub.cli(hub.rootEnv, 'broker', 'renew')).out).toMatch(/^broker certificate renewed until .*broker reloaded$/);
    expect((await hub.cli(hub.as('aud'), 'fleet', 'status')).out.split('\n')[0]).toMatch(/\tcertificate$/);
    expect(await audit()).toEqual(expect.arrayContaining([
      expect.objectContaining({ actor: 'admin', action: 'terminal.renew', subject: 'gate-1' }),
    ]));
  }, 60_000);

  it('says what is wrong with the arguments (exit status 2), and that there is no credential (exit status 1)', async () => {
    expect((await hub.cli({}, 'nonsense')).code).toBe(2);
    const none = await hub.cli({}, 'person', 'list');
    expect(none.code).toBe(1);
    expect(none.err).toMatch(/no credential for the hub/);
    expect((await hub.cli(hub.rootEnv, 'person', 'approve', 'p-42', '--bogus')).code).toBe(2);
  });

  it('runs from bin/provision.js', () => {
    const out = execFileSync(process.execPath, [join(__dirname, '../../bin/provision.js'), 'help']).toString();
    expect(out).toMatch(/terminal add --id ID --door DOOR/);
  }, 30_000);
});
