/**
 * The command line as a client of the hub's API, with each credential it takes: an operator's login
 * (kept in a 0600 file), an API token in the environment, root by the community passphrase; each role
 * gets what the hub allows it and the audit log names who authenticated. Without a credential, or with
 * the old --as, nothing is sent and nothing changes. Real hub, mosquitto and SQLite (cli-hub.ts).
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { encodeEmbedding, type TemplateIn } from '../../../runtime/roster/batch';
import { FRANCK_STILLS, testFile } from '../../fixtures/photos';
import { HubClient } from '../../../provisioning/api/client';
import { oneErrorLine } from '../../harness/bins';
import { registrationBody } from '../../harness/hub-api';
import { startCliHub, type CliHub } from '../../harness/cli-hub';

let hub: CliHub;
const photo = (): string => testFile(FRANCK_STILLS[0]!);

beforeAll(async () => {
  hub = await startCliHub({
    enroller: { templates: (photos, idPrefix): Promise<TemplateIn[]> => Promise.resolve(photos.map((_, i) => ({ templateId: `${idPrefix}-t${i + 1}`, modelId: 'test-model', embedding: encodeEmbedding(new Float32Array(8).fill(0.5)) }))) },
  });
  for (const [id, door, building] of [['t1', 'door-1', 'b-1'], ['t2', 'door-2', 'b-2']] as const) {
    const r = await hub.cli(hub.rootEnv, 'terminal', 'add', '--id', id, '--door', door, '--building', building, '--out', join(hub.root, id));
    if (r.code !== 0) throw new Error(r.err);
  }
}, 120_000);

afterAll(async () => {
  await hub.stop();
});

const auditOf = (subject: string): string[] => hub.community.db.auditLog(100_000).filter((a) => a.subject === subject).map((a) => `${a.actor} ${a.action}`);

describe('provision through the hub API', () => {
  it('acts as root with the passphrase: the request is signed with the folder key and audited as root', async () => {
    const r = await hub.cli(hub.rootEnv, 'person', 'add', '--id', 'p-root', '--photo', photo(), '--doors', 'door-1');
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(auditOf('p-root')).toEqual(['root person.add']);
  });

  it('logs in with a one-time password replaced on the way, keeps an API token in a 0600 file in a 0700 folder, and logs out by revoking it', async () => {
    const add = await hub.cli(hub.as('admin'), 'operator', 'add', '--id', 'mgr-zhao', '--role', 'manager', '--buildings', 'b-1');
    expect(add.code).toBe(0);
    const once = /one-time password: (\S+)/.exec(add.out)?.[1] ?? '';
    const config = join(hub.root, 'home-zhao', '.config');
    mkdirSync(config, { recursive: true });
    const env = { XDG_CONFIG_HOME: config, PROVISION_PASSWORD: once, PROVISION_NEW_PASSWORD: 'zhao chose this password' };
    const login = await hub.cli(env, 'login', '--hub', hub.url, '--ca', hub.caFile, '--id', 'mgr-zhao');
    expect(login).toMatchObject({ code: 0, err: '' });
    const file = join(config, 'doorway', 'credentials.json');
    expect(login.out).toBe(`logged in to ${hub.url} as mgr-zhao (manager of b-1); token ${/token (tok-\S+)/.exec(login.out)?.[1] ?? '?'} kept in ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(config, 'doorway')).mode & 0o777).toBe(0o700);

    // The login is used by the next commands: the manager adds a resident of b-1, audited as mgr-zhao.
    const add1 = await hub.cli({ XDG_CONFIG_HOME: config }, 'person', 'add', '--id', 'p-zhao-1', '--photo', photo(), '--doors', 'door-1');
    expect(add1).toMatchObject({ code: 0, err: '' });
    expect(auditOf('p-zhao-1')).toEqual(['mgr-zhao person.add']);

    const logout = await hub.cli({ XDG_CONFIG_HOME: config }, 'logout');
    expect(logout.code).toBe(0);
    expect(logout.out).toMatch(/^logged out of https:\/\/127\.0\.0\.1:\d+: token tok-[0-9a-f]{12} revoked; .*credentials\.json deleted$/);
    expect(() => statSync(file)).toThrow();
    const after = await hub.cli({ XDG_CONFIG_HOME: config }, 'person', 'list');
    expect(after.code).not.toBe(0);
    expect(after.err).toMatch(/no credential for the hub/);
  });

  it('refuses a wrong password in one line and stores nothing', async () => {
    const config = join(hub.root, 'home-wrong');
    mkdirSync(config);
    const r = await hub.cli({ XDG_CONFIG_HOME: config, PROVISION_PASSWORD: 'not the password at all' }, 'login', '--hub', hub.url, '--ca', hub.caFile, '--id', 'aud');
    expect(r.code).toBe(1);
    expect(r.err).toBe('provision login: Unauthorized: wrong operator id or password');
    expect(() => statSync(join(config, 'doorway', 'credentials.json'))).toThrow();
  });

  it("lets a manager change the residents of their buildings and answers 403 for another building's, in one line, changing nothing", async () => {
    expect((await hub.cli(hub.as('mgr-1'), 'person', 'add', '--id', 'p-b1', '--photo', photo(), '--doors', 'door-1')).code).toBe(0);
    const before = hub.state();
    const outside = await hub.cli(hub.as('mgr-1'), 'person', 'add', '--id', 'p-b2', '--photo', photo(), '--doors', 'door-2');
    expect(outside.code).toBe(1);
    expect(outside.err).toBe('provision person: Forbidden: not in your buildings');
    expect((await hub.cli(hub.as('mgr-2'), 'person', 'revoke', 'p-b1')).err).toBe('provision person: Forbidden: not in your buildings');
    expect((await hub.cli(hub.as('mgr-1'), 'door', 'unlock', 'door-1', '--reason', 'a parcel')).err).toBe('provision door: Forbidden: a manager may not do this (doors.unlock)');
    expect(hub.state()).toBe(before);
    // Their own list shows b-1's residents only.
    const list = await hub.cli(hub.as('mgr-2'), 'person', 'list');
    expect(list.out).not.toMatch(/p-b1/);
  });

  it('lets an auditor read the residents, the fleet and the audit log, and refuses every change', async () => {
    const aud = hub.as('aud');
    expect((await hub.cli(aud, 'person', 'list')).out).toMatch(/^p-b1\tresident\tactive/m);
    expect((await hub.cli(aud, 'fleet', 'status')).code).toBe(0);
    expect((await hub.cli(aud, 'audit', '-n', '5')).code).toBe(0);
    const before = hub.state();
    for (const argv of [['person', 'revoke', 'p-b1'], ['terminal', 'wipe', 't1', '--yes', '--wait', '0'], ['alert', 'add', '--tag', 'lost', '--person', 'p-b1'], ['pass', 'issue', '--door', 'door-1', '--out', join(hub.root, 'aud.png')], ['operator', 'add', '--id', 'x-1', '--role', 'admin']]) {
      const r = await hub.cli(aud, ...argv);
      expect([argv.join(' '), r.code, r.err]).toEqual([argv.join(' '), 1, expect.stringMatching(/^provision \w+: Forbidden: an auditor may not do this \([a-z.]+\)$/)]);
    }
    expect(hub.state()).toBe(before);
  });

  it("lets b-1's manager approve a tenant's registration from the queue, which b-2's manager neither sees nor may approve", async () => {
    const tenant = new HubClient({ baseUrl: hub.url, ca: readFileSync(hub.caFile) });
    const { id } = await tenant.registrations.submit(registrationBody('b-1'));
    expect((await hub.cli(hub.as('mgr-2'), 'registration', 'list')).out).not.toContain(id);
    const refused = await hub.cli(hub.as('mgr-2'), 'registration', 'approve', id);
    expect(refused).toMatchObject({ code: 1, err: 'provision registration: Forbidden: not in your buildings' });
    expect((await hub.cli(hub.as('mgr-1'), 'registration', 'list')).out).toMatch(new RegExp(`^${id}\tpending\tbuilding=b-1\troom=3-101\t`, 'm'));
    const ok = await hub.cli(hub.as('mgr-1'), 'registration', 'approve', id, '--until', '2030-12-31');
    expect(ok).toMatchObject({ code: 0, out: `${id}: approved (resident ${id}); the hub publishes it to the doors` });
    expect(auditOf(id)).toEqual(['tenant person.register', 'tenant registration.submit', 'mgr-1 person.approve', 'mgr-1 registration.approve']);
  });

  it('lets the security office unlock a door with a reason, sent by the running hub and audited with the officer', async () => {
    const r = await hub.cli(hub.as('sec'), 'door', 'unlock', 'door-1', '--reason', 'ambulance at the gate');
    expect(r).toMatchObject({ code: 0, out: 't1: unlock sent (signed; valid for 30 s)' });
    expect(auditOf('door-1')).toEqual(['sec door.unlock']);
    expect(auditOf('t1')).toEqual(expect.arrayContaining(['sec command.unlock']));
  });

  it('says the three ways to authenticate when none is given, with exit status 1 and nothing changed', async () => {
    const before = hub.state();
    for (const argv of [['person', 'list'], ['door', 'unlock', 'door-1', '--reason', 'no one asked'], ['person', 'add', '--id', 'p-nobody', '--photo', photo(), '--doors', 'door-1']]) {
      const r = await hub.cli({ PROVISION_DIR: hub.dir }, ...argv);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`provision ${argv[0] ?? ''}: no credential for the hub: log in (provision login --hub https://HOST:PORT --id NAME), give an API token (PROVISION_HUB and PROVISION_TOKEN), or the community passphrase to act as root (PROVISION_PASSPHRASE with --dir DIR or PROVISION_DIR)`);
    }
    expect(hub.state()).toBe(before);
  });

  it('refuses the reproduction of the issue, door unlock --as someone-else, and PROVISION_ACTOR, naming what replaced them', async () => {
    const before = hub.state();
    const r = await hub.bin({ PROVISION_DIR: hub.dir }, 'door', 'unlock', 'door-1', '--as', 'someone-else');
    expect(r.code).toBe(2);
    expect(oneErrorLine(r)).toBe('provision door: --as is no longer accepted: the hub audits whoever authenticated. Log in (provision login --hub URL --id NAME), give an API token (PROVISION_HUB and PROVISION_TOKEN), or the community passphrase to act as root (PROVISION_PASSPHRASE)');
    // Not even with a valid credential beside it.
    expect((await hub.cli({ ...hub.as('sec') }, 'door', 'unlock', 'door-1', '--reason', 'x-ray', '--as=someone-else')).code).toBe(2);
    const actor = await hub.cli({ ...hub.rootEnv, PROVISION_ACTOR: 'someone-else' }, 'person', 'list');
    expect(actor.code).toBe(2);
    expect(actor.err).toMatch(/^provision person: PROVISION_ACTOR is no longer accepted/);
    expect(hub.state()).toBe(before);
    expect(hub.community.db.auditLog(100_000).some((a) => a.actor === 'someone-else')).toBe(false);
  });

  it('answers a revoked token with 401 in one line', async () => {
    const r = await hub.cli({ ...hub.as('aud'), PROVISION_TOKEN: 'dwt_tok-000000000000.not-a-secret' }, 'person', 'list');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^provision person: Unauthorized: the credential is invalid, expired or revoked \(/);
  });
});
