/**
 * The provision command line, run in-process (as bin/provision.js runs it) with the passphrase from
 * PROVISION_PASSPHRASE, plus one real spawn of the entry point.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { run } from '../../provisioning/cli';
import { FRANCK_STILLS, testFile } from '../fixtures/photos';

let root: string;
let dir: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'provision-cli-'));
  dir = join(root, 'community');
  process.env['PROVISION_PASSPHRASE'] = 'cli-test-passphrase';
  process.env['PROVISION_ACTOR'] = 'ops-zhang';
});

afterAll(() => {
  delete process.env['PROVISION_PASSPHRASE'];
  delete process.env['PROVISION_ACTOR'];
});

describe('provision', () => {
  it('creates a community once, then refuses to overwrite it', async () => {
    expect((await cli('init', '--dir', dir, '--time-zone', 'Asia/Shanghai', '--broker-url', 'mqtts://127.0.0.1:8883')).code).toBe(0);
    const again = await cli('init', '--dir', dir);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/refusing to overwrite/);
  }, 30_000);

  it('adds and lists terminals, finding the community through PROVISION_DIR', async () => {
    process.env['PROVISION_DIR'] = dir;
    try {
      expect((await cli('terminal', 'add', '--id', 'gate-1', '--door', 'gate-1', '--building', 'b-2', '--out', join(root, 'gate-1'))).code).toBe(0);
      const list = await cli('terminal', 'list', '--json');
      expect(JSON.parse(list.out)).toEqual([expect.objectContaining({ id: 'gate-1', doorId: 'gate-1', buildingId: 'b-2', status: 'active' })]);
      const fleet = await cli('fleet', 'status', '--json');
      expect(JSON.parse(fleet.out)).toEqual([expect.objectContaining({ terminalId: 'gate-1', online: false, lastHeartbeat: null })]);
    } finally {
      delete process.env['PROVISION_DIR'];
    }
  }, 30_000);

  it('registers a resident, approves them with dates and hours, shows and lists them, and audits who did it', async () => {
    const reg = await cli('person', 'register', '--dir', dir, '--id', 'p-42', '--photo', testFile(FRANCK_STILLS[0]!), '--as', 'tenant-app');
    expect(reg.code).toBe(0);
    expect(reg.out).toMatch(/pending/);
    const ok = await cli('person', 'approve', 'p-42', '--dir', dir, '--doors', 'gate-1,door-7', '--from', '2026-01-01', '--until', '2026-12-31', '--hours', 'mon-fri 06:00-23:00');
    expect(ok.code).toBe(0);
    const show = JSON.parse((await cli('person', 'show', 'p-42', '--dir', dir, '--json')).out) as Record<string, unknown>;
    expect(show).toMatchObject({
      status: 'active',
      authorisations: [{ doorIds: ['gate-1', 'door-7'], validFrom: '2026-01-01T00:00:00+08:00', validUntil: '2027-01-01T00:00:00+08:00', windows: [{ days: [1, 2, 3, 4, 5], start: '06:00', end: '23:00' }] }],
      photos: 1,
    });
    expect(JSON.stringify(show)).not.toMatch(/embedding/);
    expect((await cli('person', 'list', '--dir', dir, '--status', 'active')).out).toMatch(/^p-42\tresident\tactive\tdoors=gate-1,door-7/);
    const audit = (await cli('audit', '--dir', dir)).out;
    expect(audit).toMatch(/tenant-app\tperson\.register\tp-42/);
    expect(audit).toMatch(/ops-zhang\tperson\.approve\tp-42/);
  }, 60_000);

  it('refuses a poor photo with the reasons and exit status 1', async () => {
    const tiny = join(root, 'tiny.jpg');
    await sharp(testFile(FRANCK_STILLS[1]!)).resize(64, 48).toFile(tiny);
    const r = await cli('person', 'add', '--dir', dir, '--id', 'p-43', '--photo', tiny, '--doors', 'gate-1');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/tiny\.jpg: \S/);
    // The list that does not show p-43 does show the resident registered before it.
    const list = (await cli('person', 'list', '--dir', dir)).out;
    expect(list).toMatch(/^p-42\t/m);
    expect(list).not.toMatch(/p-43/);
  }, 60_000);

  it('wipes a terminal only when confirmed with --yes, queues the command for the hub and audits who ordered it', async () => {
    const unconfirmed = await cli('terminal', 'wipe', 'gate-1', '--dir', dir, '--as', 'security-li');
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.err).toMatch(/erases every face template and person on gate-1.*--yes/);
    expect((await cli('terminal', 'wipe', 'no-such-terminal', '--dir', dir, '--yes')).code).toBe(2);
    const before = (await cli('audit', '--dir', dir)).out;
    expect(before).toMatch(/person\.approve\tp-42/); // the audit log is read...
    expect(before).not.toMatch(/command\.wipe/); // ...and has no wipe in it yet

    const wipe = await cli('terminal', 'wipe', 'gate-1', '--dir', dir, '--yes', '--wait', '0', '--as', 'security-li');
    expect(wipe.code).toBe(0);
    expect(wipe.out).toBe('gate-1: wipe queued: the hub signs and sends it');
    const resync = await cli('terminal', 'resync', 'gate-1', '--dir', dir, '--wait', '0');
    expect(resync.code).toBe(0);
    const audit = (await cli('audit', '--dir', dir, '--json')).out.split('\n').map((l) => JSON.parse(l) as { actor: string; action: string; subject: string });
    expect(audit).toEqual(expect.arrayContaining([
      expect.objectContaining({ actor: 'security-li', action: 'command.wipe', subject: 'gate-1' }),
      expect.objectContaining({ actor: 'ops-zhang', action: 'command.resync', subject: 'gate-1' }),
    ]));
  });

  it('renews a terminal, the hub and the broker certificate, writes the terminal one with --out, and audits it', async () => {
    const serial = async (): Promise<string> => (JSON.parse((await cli('terminal', 'list', '--dir', dir, '--json')).out) as Array<{ serial: string }>)[0]?.serial ?? '';
    const before = await serial();
    expect((await cli('terminal', 'renew', '--dir', dir)).code).toBe(2);
    expect((await cli('terminal', 'renew', '--dir', dir, '--due')).out).toBe('no terminal certificate is due for renewal');
    const r = await cli('terminal', 'renew', 'gate-1', '--dir', dir, '--out', join(root, 'renewed'), '--as', 'it-wang');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^gate-1: certificate renewed until \d{4}-\d\d-\d\dT.*the hub sends it to the terminal \(also in .*renewed\/gate-1\/device\.crt\)$/);
    expect(await serial()).not.toBe(before);
    expect((await cli('hub', 'renew', '--dir', dir)).out).toMatch(/^hub certificate renewed until /);
    expect((await cli('broker', 'renew', '--dir', dir)).out).toMatch(/^broker certificate renewed until .*no running broker found/);
    expect((await cli('fleet', 'status', '--dir', dir)).out.split('\n')[0]).toMatch(/\tcertificate$/);
    expect((await cli('audit', '--dir', dir)).out).toMatch(/it-wang\tterminal\.renew\tgate-1/);
  }, 30_000);

  it('says what is wrong with the arguments, with exit status 2', async () => {
    expect((await cli('nonsense')).code).toBe(2);
    const noDir = await cli('person', 'list');
    expect(noDir.code).toBe(2);
    expect(noDir.err).toMatch(/--dir DIR or set PROVISION_DIR/);
    expect((await cli('person', 'approve', 'p-42', '--dir', dir, '--bogus')).code).toBe(2);
  });

  it('runs from bin/provision.js', () => {
    const out = execFileSync(process.execPath, [join(__dirname, '../../bin/provision.js'), 'help']).toString();
    expect(out).toMatch(/terminal add --id ID --door DOOR/);
  }, 30_000);
});
