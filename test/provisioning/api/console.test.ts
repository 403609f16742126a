/**
 * The web console as the hub serves it (provisioning/api/console.ts) and the API routes it needs: the
 * page, script and styles from the hub under a strict Content-Security-Policy, personal data never
 * cached, a registration's photos as images for an operator of its building, and the session's CSRF
 * token from /api/me for a reloaded page, and the identity's portrait beside the registration. Over real HTTPS; the console in a browser is
 * test/provisioning/console/console.test.ts.
 */
import { existsSync, statSync } from 'node:fs';
import { FakeClock } from '../../../core/clock';
import { silentLogger } from '../../../core/log';
import { CONTENT_SECURITY_POLICY, ConsoleBuildError, buildConsole } from '../../../provisioning/api/console';
import type { HubClient } from '../../../provisioning/api/client';
import { identityPhotoOf } from '../../../provisioning/api/registrations';
import { HubApi } from '../../../provisioning/api/server';
import { httpTls } from '../../../provisioning/api/tls';
import { NEW_PASSWORD, PASS, registrationBody, startApiSite, testEnroller, type ApiSite } from '../../harness/hub-api';

let site: ApiSite;

beforeAll(async () => {
  site = await startApiSite();
}, 60_000);

afterAll(async () => {
  await site.stop();
});

/** The registration's `identityPhoto` flag as the API answers it. */
const identityPhotoShown = async (c: HubClient, id: string): Promise<unknown> => (JSON.parse((await c.raw('GET', `/api/registrations/${id}`)).body) as { identityPhoto?: unknown }).identityPhoto;

const header = (h: Record<string, string | string[] | undefined>, name: string): string => String(h[name] ?? '');

describe('the web console as the hub serves it', () => {
  it('serves one page whose script and styles come from the hub, under a policy that allows no inline script and nothing from elsewhere', async () => {
    const anon = site.anonymous();
    const root = await anon.raw('GET', '/');
    expect([root.status, header(root.headers, 'location')]).toEqual([302, '/console/']);
    const page = await anon.raw('GET', '/console/');
    expect(page.status).toBe(200);
    expect(header(page.headers, 'content-type')).toMatch(/^text\/html/);
    expect(header(page.headers, 'content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    // Every script and style sheet the page names is a file of the hub; none is inline.
    const scripts = [...page.body.matchAll(/<script([^>]*)>/g)].map((m) => m[1] ?? '');
    expect(scripts).toHaveLength(1);
    expect(scripts[0]).toMatch(/ src="\/console\/app\.js\?v=[0-9a-f]{16}"/);
    expect(page.body).not.toMatch(/<style|style=|https?:\/\//);
    const js = await anon.raw('GET', '/console/app.js');
    expect([js.status, header(js.headers, 'content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(js.body.length).toBeGreaterThan(1000);
    const css = await anon.raw('GET', '/console/app.css');
    expect([css.status, header(css.headers, 'content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    // Revalidated, not refetched.
    expect((await anon.raw('GET', '/console/app.js', undefined, { 'if-none-match': header(js.headers, 'etag') })).status).toBe(304);
  });

  it('answers 503 naming the cause when the console cannot be built, while the API keeps working', async () => {
    const api = await HubApi.create({ community: site.community, clock: new FakeClock(0), log: silentLogger(), tls: httpTls(site.community, PASS, Date.now()), realName: site.realName, enroller: testEnroller });
    try {
      // The same routes with a build that fails as a machine without esbuild would.
      const broken = await HubApi.create({ community: site.community, clock: new FakeClock(0), log: silentLogger(), tls: httpTls(site.community, PASS, Date.now()), realName: site.realName, enroller: testEnroller, consoleBuild: () => Promise.reject(new ConsoleBuildError('the web console needs the npm package esbuild')) });
      try {
        const r = await broken.app.inject({ method: 'GET', url: '/console/' });
        expect(r.statusCode).toBe(503);
        expect(JSON.parse(r.body)).toMatchObject({ type: '/api/problems/console-unavailable', detail: expect.stringContaining('esbuild') as unknown });
        expect((await broken.app.inject({ method: 'GET', url: '/api/openapi.json' })).statusCode).toBe(200);
      } finally {
        await broken.close();
      }
      expect((await api.app.inject({ method: 'GET', url: '/console/' })).statusCode).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('refuses a source that does not build with a ConsoleBuildError', async () => {
    await expect(buildConsole('/nonexistent-console-source')).rejects.toBeInstanceOf(ConsoleBuildError);
  });
});

describe('what the console needs from the API', () => {
  it("shows a registration's photos as images to its building's manager, never cached, and to nobody else", async () => {
    const body = registrationBody('b-1', 2);
    const reg = await site.anonymous().registrations.submit(body);
    const mgr1 = await site.client('mgr-1');
    const photo = await mgr1.raw('GET', `/api/registrations/${reg.id}/photos/1`);
    expect(photo.status).toBe(200);
    expect(header(photo.headers, 'content-type')).toBe('image/jpeg');
    expect(header(photo.headers, 'cache-control')).toBe('no-store');
    expect(Buffer.from(photo.body, 'utf8').toString('base64')).toBe(body.photos[0]?.data);
    expect((await mgr1.raw('GET', `/api/registrations/${reg.id}/photos/2`)).status).toBe(404);
    expect((await (await site.client('mgr-2')).raw('GET', `/api/registrations/${reg.id}/photos/1`)).status).toBe(403);
    expect((await (await site.client('sec')).raw('GET', `/api/registrations/${reg.id}/photos/1`)).status).toBe(403);
    expect((await site.anonymous().raw('GET', `/api/registrations/${reg.id}/photos/1`)).status).toBe(401);
    // The queue itself (names, masked numbers) is not cached either.
    expect(header((await mgr1.raw('GET', '/api/registrations')).headers, 'cache-control')).toBe('no-store');
  });

  it("keeps the identity's portrait from the real-name check beside the registration until it is decided, then deletes it", async () => {
    const reg = await site.anonymous().registrations.submit(registrationBody('b-1', 2)); // the identity the fake service has a portrait of
    const mgr1 = await site.client('mgr-1');
    expect(await identityPhotoShown(mgr1, reg.id)).toBe(true);
    const portrait = await mgr1.raw('GET', `/api/registrations/${reg.id}/identity-photo`);
    expect([portrait.status, header(portrait.headers, 'content-type'), header(portrait.headers, 'cache-control'), portrait.body]).toEqual([200, 'image/jpeg', 'no-store', 'identity portrait of 张伟']);
    expect((await (await site.client('mgr-2')).raw('GET', `/api/registrations/${reg.id}/identity-photo`)).status).toBe(403);
    const file = identityPhotoOf(site.community, reg.id)?.file ?? '';
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await mgr1.registrations.reject(reg.id, 'not the person on the card');
    expect(existsSync(file)).toBe(false);
    expect(await identityPhotoShown(mgr1, reg.id)).toBe(false);
    expect((await mgr1.raw('GET', `/api/registrations/${reg.id}/identity-photo`)).status).toBe(404);
    // An identity the service has no portrait of: none, and the console says so.
    const other = await site.anonymous().registrations.submit(registrationBody('b-1', 1));
    expect(await identityPhotoShown(mgr1, other.id)).toBe(false);
  });

  it("gives a session its own CSRF token and permissions on /api/me, so a reloaded page can make changes", async () => {
    const anon = site.anonymous();
    const login = await anon.raw('POST', '/api/session', { id: 'mgr-1', password: NEW_PASSWORD });
    const cookie = ([] as string[]).concat(login.headers['set-cookie'] ?? [])[0]?.split(';')[0] ?? '';
    const me = JSON.parse((await anon.raw('GET', '/api/me', undefined, { cookie })).body) as { csrfToken?: string; permissions: string[] };
    expect(me.csrfToken).toBe((JSON.parse(login.body) as { csrfToken: string }).csrfToken);
    expect(me.permissions).toEqual(expect.arrayContaining(['registrations.decide', 'residents.read', 'doors.read']));
    expect(me.permissions).not.toContain('audit.read');
    // A token caller has no session, so no CSRF token.
    const byToken = await site.api.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${site.token('aud')}` } });
    expect(JSON.parse(byToken.body)).not.toHaveProperty('csrfToken');
  });
});
