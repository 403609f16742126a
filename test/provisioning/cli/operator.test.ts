/**
 * `provision init` makes the first admin and the API's certificate; `provision operator ...` manages
 * operators on the folder as root. The one-time passwords printed are then used over real HTTPS
 * against the hub's API on that community.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { Community } from '../../../provisioning';
import { ApiClientError, HubClient } from '../../../provisioning/api/client';
import { FakeRealNameCheck } from '../../../provisioning/api/realname';
import { HubApi } from '../../../provisioning/api/server';
import { httpTls } from '../../../provisioning/api/tls';
import { run } from '../../../provisioning/cli';
import { testEnroller } from '../../harness/hub-api';

const PASS = 'cli-operator-passphrase';
let dir: string;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const oneTime = (out: string): string => /one-time password:? (\S+)/.exec(out)?.[1] ?? '';

beforeAll(() => {
  dir = join(mkdtempSync(join(tmpdir(), 'provision-operator-')), 'c');
  process.env['PROVISION_PASSPHRASE'] = PASS;
  process.env['PROVISION_ACTOR'] = 'ops-zhang';
});

afterAll(() => {
  delete process.env['PROVISION_PASSPHRASE'];
  delete process.env['PROVISION_ACTOR'];
});

describe('provision operator', () => {
  it('makes the first admin at init, adds a manager as root, and both log in to the API with their one-time passwords, which must be changed first', async () => {
    const init = await cli('init', '--dir', dir, '--admin', 'it-wang', '--http-host', 'IP:127.0.0.1');
    expect(init.code).toBe(0);
    expect(init.out).toContain('first admin "it-wang"');
    const adminPassword = oneTime(init.out);
    expect(adminPassword).toHaveLength(20);

    const add = await cli('operator', 'add', '--dir', dir, '--id', 'mgr-li', '--role', 'manager', '--buildings', 'b-1,b-2');
    expect(add.code).toBe(0);
    const mgrPassword = oneTime(add.out);
    expect(mgrPassword).toHaveLength(20);
    expect((await cli('operator', 'list', '--dir', dir)).out.split('\n')).toEqual(['it-wang\tadmin\t-\tmust change password', 'mgr-li\tmanager\tb-1,b-2\tmust change password']);

    const c = Community.open(dir);
    const clock = new FakeClock(Date.now());
    const api = await HubApi.create({ community: c, clock, log: silentLogger(), tls: httpTls(c, PASS, clock.now()), realName: new FakeRealNameCheck([]), enroller: testEnroller });
    try {
      const { port } = await api.listen('127.0.0.1', 0);
      const ca = readFileSync(c.paths.ca.cert);
      const admin = new HubClient({ baseUrl: `https://127.0.0.1:${port}`, ca });
      const me = await admin.login('it-wang', adminPassword);
      expect(me.operator).toMatchObject({ role: 'admin', mustChangePassword: true });
      await expect(admin.operators.list()).rejects.toMatchObject({ status: 403 });
      await admin.changePassword(adminPassword, 'the admin chose this one');
      expect((await admin.operators.list()).items.map((o) => o.id)).toEqual(['it-wang', 'mgr-li']);
      const mgr = new HubClient({ baseUrl: `https://127.0.0.1:${port}`, ca });
      expect((await mgr.login('mgr-li', mgrPassword)).operator.buildings).toEqual(['b-1', 'b-2']);
      // A one-time password works once: the admin's old one is refused now.
      await expect(new HubClient({ baseUrl: `https://127.0.0.1:${port}`, ca }).login('it-wang', adminPassword)).rejects.toBeInstanceOf(ApiClientError);
    } finally {
      await api.close();
      c.close();
    }
    const audit = (await cli('audit', '--dir', dir, '--json')).out.split('\n').map((l) => JSON.parse(l) as { actor: string; action: string; subject: string });
    expect(audit.filter((a) => a.action === 'operator.add').map((a) => [a.actor, a.subject])).toEqual([['root', 'it-wang'], ['root', 'mgr-li']]);
  }, 60_000);

  it('refuses a bad role, a manager without buildings and an id that breaks the identifier rule, and writes nothing', async () => {
    expect((await cli('operator', 'add', '--dir', dir, '--id', 'x-1', '--role', 'janitor')).code).toBe(2);
    expect((await cli('operator', 'add', '--dir', dir, '--id', 'x-2', '--role', 'manager')).err).toContain('a manager needs at least one building');
    expect((await cli('operator', 'add', '--dir', dir, '--id', '../x', '--role', 'auditor')).code).not.toBe(0);
    expect((await cli('operator', 'add', '--dir', dir, '--id', 'root', '--role', 'admin')).err).toContain('built-in root operator');
    expect((await cli('operator', 'list', '--dir', dir)).out.split('\n')).toHaveLength(2);
  });

  it('disables an operator and resets a password with a new one-time password', async () => {
    const reset = await cli('operator', 'reset-password', '--dir', dir, 'mgr-li');
    expect(oneTime(reset.out)).toHaveLength(20);
    expect((await cli('operator', 'disable', '--dir', dir, 'mgr-li')).code).toBe(0);
    expect((await cli('operator', 'list', '--dir', dir)).out).toContain('mgr-li\tmanager\tb-1,b-2\tdisabled');
  });
});
