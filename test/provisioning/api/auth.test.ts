/**
 * The hub's API at its authentication and authorisation boundary, over real HTTPS to a certificate from
 * the community's real CA, with real argon2 and a FakeClock for lockouts and session timeouts.
 */
import { request } from 'node:https';
import { ulid } from 'ulid';
import { ApiClientError, HubClient } from '../../../provisioning/api/client';
import { signRootToken } from '../../../provisioning/operators/root';
import { ensureRootKey } from '../../../provisioning/operators/root';
import { NEW_PASSWORD, PASS, registrationBody, startApiSite, type ApiSite } from '../../harness/hub-api';
import { waitFor } from '../../harness/wait';
import { EventIngest } from '../../../provisioning/hub/ingest';

const LOCK_MS = 10 * 60_000;
const IDLE_MS = 20 * 60_000;
let site: ApiSite;

beforeAll(async () => {
  site = await startApiSite({ accountMaxFailures: 3, accountLockMs: LOCK_MS, addressMaxFailures: 50, sessionIdleMs: IDLE_MS, sessionAbsoluteMs: 8 * 3_600_000 });
}, 60_000);

afterAll(async () => {
  await site.stop();
});

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof ApiClientError) return e.status;
    throw e;
  }
}

describe('the hub API over HTTPS', () => {
  it('answers an anonymous call with 401 as application/problem+json', async () => {
    const r = await site.anonymous().raw('GET', '/api/residents');
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(r.body)).toMatchObject({ type: '/api/problems/unauthenticated', title: 'Unauthorized', status: 401 });
  });

  it('is served only over TLS with the certificate from the community CA', async () => {
    const other = new HubClient({ baseUrl: site.baseUrl, ca: '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----\n' });
    await expect(other.raw('GET', '/api/openapi.json')).rejects.toThrow();
    const doc = JSON.parse((await site.anonymous().raw('GET', '/api/openapi.json')).body) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/registrations/{id}/approve', '/api/doors/{id}/unlock', '/api/audit.csv', '/api/live']));
  });

  it('sets the session cookie HttpOnly, Secure and SameSite=Strict', async () => {
    const r = await site.anonymous().raw('POST', '/api/session', { id: 'sec', password: NEW_PASSWORD });
    expect(r.status).toBe(200);
    const cookie = ([] as string[]).concat(r.headers['set-cookie'] ?? []).find((c) => c.startsWith('__Host-doorway-session='));
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\//);
  });

  it('answers a role without the permission with 403', async () => {
    const sec = await site.client('sec');
    expect(await statusOf(sec.residents.list())).toBe(403);
    const aud = await site.client('aud');
    expect(await statusOf(aud.doors.unlock('door-1', 'auditors never open doors'))).toBe(403);
    const mgr = await site.client('mgr-1');
    expect(await statusOf(mgr.operators.list())).toBe(403);
    expect(await statusOf(mgr.audit())).toBe(403);
  });

  it("shows a manager of b-2 neither b-1's tenants nor lets them approve one, and lets b-1's manager approve it with the audit naming him", async () => {
    const reg = await site.anonymous().registrations.submit(registrationBody('b-1', 0));
    const mgr2 = await site.client('mgr-2');
    expect((await mgr2.registrations.list()).items.map((r) => r.id)).not.toContain(reg.id);
    expect(await statusOf(mgr2.registrations.show(reg.id))).toBe(403);
    expect(await statusOf(mgr2.registrations.approve(reg.id))).toBe(403);
    // Granting b-2 on the way does not help: the registration's own building is b-1's.
    expect(await statusOf(mgr2.registrations.approve(reg.id, { buildings: ['b-2'] }))).toBe(403);
    // Nor does an id that does not exist tell them anything different.
    expect(await statusOf(mgr2.registrations.show('r-00000000000000000000000000'))).toBe(403);
    expect(site.community.db.person(reg.id)?.status).toBe('pending');

    const mgr1 = await site.client('mgr-1');
    expect((await mgr1.registrations.list()).items.map((r) => r.id)).toContain(reg.id);
    const shown = await mgr1.registrations.show(reg.id);
    expect(shown.idNumberMasked).toBe('1101**********4512');
    expect(shown.photos).toEqual([expect.objectContaining({ verdict: 'passed' })]);
    expect(shown.photoData).toHaveLength(1);
    // A manager grants only their own buildings.
    expect(await statusOf(mgr1.registrations.approve(reg.id, { doors: ['door-2'] }))).toBe(403);
    const approved = await mgr1.registrations.approve(reg.id);
    expect(approved).toMatchObject({ status: 'approved', decidedBy: 'mgr-1' });
    expect(site.community.db.person(reg.id)).toMatchObject({ status: 'active', authorisations: [expect.objectContaining({ buildingIds: ['b-1'] })] });
    const audit = site.community.db.auditLog(20).filter((a) => a.subject === reg.id);
    expect(audit.map((a) => [a.actor, a.action])).toEqual([['tenant', 'person.register'], ['tenant', 'registration.submit'], ['mgr-1', 'person.approve'], ['mgr-1', 'registration.approve']]);
    // b-2's manager does not find the new resident either.
    expect((await mgr2.residents.list()).items.map((r) => r.personId)).not.toContain(reg.id);
    expect(await statusOf(mgr2.residents.show(reg.id))).toBe(403);
    expect((await mgr1.residents.show(reg.id)).name).toBe('王小明');
  });

  it('refuses a cookie-authenticated change without the CSRF header of its session and takes it with the header', async () => {
    const login = await site.anonymous().raw('POST', '/api/session', { id: 'mgr-1', password: NEW_PASSWORD });
    const cookie = ([] as string[]).concat(login.headers['set-cookie'] ?? [])[0]?.split(';')[0] ?? '';
    const csrf = (JSON.parse(login.body) as { csrfToken: string }).csrfToken;
    const reg = await site.anonymous().registrations.submit(registrationBody('b-1', 1));
    const bare = site.anonymous();
    const without = await bare.raw('POST', `/api/registrations/${reg.id}/reject`, { reason: 'duplicate' }, { cookie });
    expect(without.status).toBe(403);
    expect(JSON.parse(without.body)).toMatchObject({ type: '/api/problems/csrf' });
    const otherSession = await site.anonymous().raw('POST', '/api/session', { id: 'mgr-1', password: NEW_PASSWORD });
    const otherCsrf = (JSON.parse(otherSession.body) as { csrfToken: string }).csrfToken;
    expect((await bare.raw('POST', `/api/registrations/${reg.id}/reject`, { reason: 'duplicate' }, { cookie, 'x-csrf-token': otherCsrf })).status).toBe(403);
    expect(site.community.db.person(reg.id)?.status).toBe('pending');
    const ok = await bare.raw('POST', `/api/registrations/${reg.id}/reject`, { reason: 'duplicate' }, { cookie, 'x-csrf-token': csrf });
    expect(ok.status).toBe(200);
    expect(site.community.db.person(reg.id)?.status).toBe('revoked');
    // A read needs no CSRF header.
    expect((await bare.raw('GET', '/api/me', undefined, { cookie })).status).toBe(200);
  });

  it('locks an account after the configured failures, refuses even the right password while locked, and releases it after the lock time', async () => {
    const anon = site.anonymous();
    for (let i = 0; i < 3; i++) expect(await statusOf(anon.login('aud', 'wrong password guess'))).toBe(401);
    expect(await statusOf(anon.login('aud', NEW_PASSWORD))).toBe(429);
    site.clock.advance(LOCK_MS - 1);
    expect(await statusOf(anon.login('aud', NEW_PASSWORD))).toBe(429);
    site.clock.advance(1);
    expect((await anon.login('aud', NEW_PASSWORD)).operator.id).toBe('aud');
  });

  it('counts an unknown account like a known one, so a lockout does not tell which ids exist', async () => {
    const anon = site.anonymous();
    const known = [];
    const unknown = [];
    for (let i = 0; i < 4; i++) known.push(await statusOf(anon.login('admin', `wrong ${i} password`)));
    for (let i = 0; i < 4; i++) unknown.push(await statusOf(anon.login('nobody-here', `wrong ${i} password`)));
    expect(known).toEqual([401, 401, 401, 429]);
    expect(unknown).toEqual(known);
    site.clock.advance(LOCK_MS);
  });

  it('ends a session left idle for the configured time and keeps one in use', async () => {
    const busy = await site.client('sec');
    const idle = await site.client('sec');
    site.clock.advance(IDLE_MS - 1000);
    await busy.me();
    site.clock.advance(1000);
    expect(await statusOf(idle.me())).toBe(401);
    expect((await busy.me()).operator.id).toBe('sec');
  });

  it('ends a session at the absolute timeout however busy it is', async () => {
    const busy = await site.client('aud');
    const steps = Math.floor((8 * 3_600_000) / (IDLE_MS - 60_000));
    for (let i = 0; i < steps; i++) {
      site.clock.advance(IDLE_MS - 60_000);
      await busy.me();
    }
    site.clock.advance(8 * 3_600_000 - steps * (IDLE_MS - 60_000));
    expect(await statusOf(busy.me())).toBe(401);
  });

  it('stops a revoked API token at once', async () => {
    const sec = await site.client('sec');
    const { token, info } = await sec.createMyToken('door script');
    const script = new HubClient({ baseUrl: site.baseUrl, ca: site.ca, credential: { kind: 'token', token } });
    expect((await script.me()).operator).toMatchObject({ id: 'sec', via: 'token' });
    await sec.revokeMyToken(info.id);
    expect(await statusOf(script.me())).toBe(401);
    // Another operator cannot revoke (or learn about) sec's tokens through their own token list.
    const { info: second } = await sec.createMyToken('second');
    const mgr = await site.client('mgr-1');
    expect(await statusOf(mgr.revokeMyToken(second.id))).toBe(404);
  });

  it('makes a new operator change the one-time password before anything else', async () => {
    const admin = await site.client('admin');
    const { password } = await admin.operators.add({ id: 'mgr-3', role: 'manager', buildings: ['b-1'] });
    const fresh = site.anonymous();
    await fresh.login('mgr-3', password);
    expect(await statusOf(fresh.registrations.list())).toBe(403);
    await fresh.changePassword(password, 'a brand new passphrase here');
    expect((await fresh.registrations.list()).items).toBeDefined();
    expect(site.community.db.auditLog(50).find((a) => a.action === 'operator.add' && a.subject === 'mgr-3')?.actor).toBe('admin');
  });

  it('takes the passphrase key as the root operator without the passphrase crossing the wire, and refuses a replayed or re-aimed root token', async () => {
    const root = site.root();
    const added = await root.operators.add({ id: 'sec-2', role: 'security' });
    expect(added.operator.createdBy).toBe('root');
    const key = ensureRootKey(site.community, PASS);
    const token = signRootToken(key, { method: 'GET', path: '/api/operators' }, site.clock.now());
    const anon = site.anonymous();
    expect((await anon.raw('GET', '/api/operators', undefined, { authorization: `DoorwayRoot ${token}` })).status).toBe(200);
    expect((await anon.raw('GET', '/api/operators', undefined, { authorization: `DoorwayRoot ${token}` })).status).toBe(401);
    const aimed = signRootToken(key, { method: 'GET', path: '/api/operators' }, site.clock.now());
    expect((await anon.raw('GET', '/api/audit', undefined, { authorization: `DoorwayRoot ${aimed}` })).status).toBe(401);
    const old = signRootToken(key, { method: 'GET', path: '/api/operators' }, site.clock.now() - 60_000);
    expect((await anon.raw('GET', '/api/operators', undefined, { authorization: `DoorwayRoot ${old}` })).status).toBe(401);
  });

  it("queues a remote unlock whose requestedBy is the authenticated operator, whatever the body says, and audits the reason", async () => {
    const sec = await site.client('sec');
    const r = await sec.raw('POST', '/api/doors/door-1/unlock', { reason: 'courier at gate', requestedBy: 'someone-else' });
    expect(r.status).toBe(400); // unknown keys are refused: .strict()
    const refused = JSON.parse(r.body) as { status: number; issues: Array<{ path: string }> };
    expect(refused.status).toBe(400);
    expect(refused.issues.map((i) => i.path)).toEqual(['body']);
    const done = await sec.doors.unlock('door-1', 'courier at gate');
    const cmd = site.community.db.command(done.commands[0]!.id);
    expect(cmd).toMatchObject({ requestedBy: 'sec', command: { type: 'unlock', requestedBy: 'sec' } });
    const audited = site.community.db.auditLog(10).find((a) => a.action === 'door.unlock');
    expect(audited?.actor).toBe('sec');
    expect(audited?.detail['reason']).toBe('courier at gate');
  });

  it('refuses a registration whose name does not match the identity number and stores nothing', async () => {
    const before = site.community.db.persons().length;
    const body = { ...registrationBody('b-1', 2), name: '别人' };
    const r = await site.anonymous().raw('POST', '/api/registrations', body);
    expect(r.status).toBe(422);
    expect(JSON.parse(r.body)).toMatchObject({ type: '/api/problems/real-name' });
    expect(site.community.db.persons()).toHaveLength(before);
  });

  it("delivers a sighting to security and not to a manager of another building, and a door alarm to that door's manager only", async () => {
    const streams = await Promise.all((['sec', 'mgr-2', 'mgr-1'] as const).map(async (who) => openStream(site.baseUrl, site.ca, await site.client(who))));
    const [sec, mgr2, mgr1] = streams;
    try {
      site.community.db.addAlert({ eventId: ulid(site.clock.now()), tag: 'missing-person', personId: 'alert-1', doorId: 'door-1', terminalId: 't1', score: 0.8, at: site.clock.now(), raisedAt: site.clock.now() });
      const ingest = new EventIngest(site.community.paths.eventsDb);
      ingest.ingest('t1', Buffer.from(JSON.stringify({ v: 1, events: [{ id: ulid(site.clock.now()), at: site.clock.now(), type: 'alarm.forced-open' }] })), site.clock.now());
      ingest.close();
      site.clock.advance(250); // the live feed's poll
      await waitFor(() => sec?.text().includes('event: sighting'), 5000, "the sighting on security's stream");
      await waitFor(() => mgr1?.text().includes('event: alarm'), 5000, "the door-1 alarm on b-1's manager's stream");
      expect(sec?.text()).toContain('"doorId":"door-1"');
      // The positive controls above went through the same feed at the same poll.
      expect(mgr2?.text()).not.toContain('event: sighting');
      expect(mgr2?.text()).not.toContain('event: alarm');
      expect(mgr1?.text()).not.toContain('event: sighting'); // sightings are the security office's
    } finally {
      for (const s of streams) s?.close();
    }
  });

  it('refuses the live feed to an anonymous caller', async () => {
    expect((await site.anonymous().raw('GET', '/api/live')).status).toBe(401);
  });
});

interface Stream {
  text(): string;
  close(): void;
}

function openStream(baseUrl: string, ca: string, c: HubClient): Promise<Stream> {
  const cred = (c as unknown as { credential: { kind: string; cookie?: string } }).credential;
  return new Promise((resolve, reject) => {
    let buf = '';
    const req = request(new URL('/api/live', baseUrl), { ca, headers: { cookie: cred.cookie ?? '', accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`live: ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
      });
      resolve({ text: () => buf, close: () => req.destroy() });
    });
    req.on('error', () => undefined);
    req.end();
  });
}
