/**
 * `provision init` makes the first admin and the API's certificate; `provision operator ...` manages
 * operators through the hub's API, here as root with the passphrase (requests signed with the folder's
 * root key). The one-time passwords printed are then used over real HTTPS against that API.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { Community } from '../../../provisioning';
import { ApiClientError, HubClient } from '../../../provisioning/api/client';
import { FakeRealNameCheck } from '../../../provisioning/api/realname';
import { serveApi } from '../../../provisioning/api/endpoint';
import type { HubApi } from '../../../provisioning/api/server';
import { run } from '../../../provisioning/cli';
import { testEnroller } from '../../harness/hub-api';

const PASS = 'cli-operator-passphrase';
let dir: string;
let c: Community | null = null;
let api: HubApi | null = null;
let port = 0;

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
});

afterAll(async () => {
  await api?.close();
  c?.close();
  delete process.env['PROVISION_PASSPHRASE'];
});

describe('provision operator', () => {
  it('makes the first admin at init, adds a manager as root, and both log in to the API with their one-time passwords, which must be changed first', async () => {
    const init = await cli('init', '--dir', dir, '--admin', 'it-wang', '--http-host', 'IP:127.0.0.1');
    expect(init.code).toBe(0);
    expect(init.out).toContain('first admin "it-wang"');
    const adminPassword = oneTime(init.out);
    expect(adminPassword).toHaveLength(20);
    c = Community.open(dir);
    const clock = new SystemClock();
    const served = await serveApi({ community: c, passphrase: PASS, clock, log: silentLogger(), realName: new FakeRealNameCheck([]), enroller: testEnroller, host: '127.0.0.1', port: 0 });
    api = served.api;
    port = Number(new URL(served.url).port);

    const add = await cli('operator', 'add', '--dir', dir, '--id', 'mgr-li', '--role', 'manager', '--buildings', 'b-1,b-2');
    expect(add.code).toBe(0);
    const mgrPassword = oneTime(add.out);
    expect(mgrPassword).toHaveLength(20);
    expect((await cli('operator', 'list', '--dir', dir)).out.split('\n')).toEqual(['it-wang\tadmin\t-\tmust change password', 'mgr-li\tmanager\tb-1,b-2\tmust change password']);

    {
      const ca = readFileSync(dir + '/ca/ca.crt');
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
