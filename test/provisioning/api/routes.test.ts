/**
 * The route table, for breadth: every route of the API (as the OpenAPI document lists them) is here,
 * and for each: anonymous -> 401, each role without its permission -> 403, a manager of another building
 * -> 403 where the resource belongs to a building, and an allowed role -> 2xx. Requests go through
 * Fastify's inject with API tokens (the same hooks; the HTTPS boundary itself is auth.test.ts).
 */
import { join } from 'node:path';
import { addTerminal } from '../../../provisioning';
import { issuePass } from '../../../provisioning/admin/passes';
import { ROOT_OPERATOR } from '../../../provisioning/operators/roles';
import { admin } from '../../harness/admin';
import { PASS, registrationBody, startApiSite, type ApiSite, type Who } from '../../harness/hub-api';

let site: ApiSite;

beforeAll(async () => {
  site = await startApiSite({ registrationsPerAddress: 10_000 });
}, 60_000);

afterAll(async () => {
  await site.stop();
});

interface Call {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
}

async function inject(who: Who | null, c: Call): Promise<{ status: number; body: string }> {
  const r = await site.api.app.inject({
    method: c.method,
    url: c.url,
    headers: who ? { authorization: `Bearer ${site.token(who)}` } : {},
    ...(c.body !== undefined ? { payload: c.body as Record<string, unknown> } : {}),
  });
  return { status: r.statusCode, body: r.body };
}

let n = 0;
/** A pending registration in `building`, and its id. */
async function registration(building: string, who = n++ % 3): Promise<string> {
  const r = await inject(null, { method: 'POST', url: '/api/registrations', body: registrationBody(building, who) });
  if (r.status !== 201) throw new Error(`registration: ${r.status} ${r.body}`);
  return (JSON.parse(r.body) as { id: string }).id;
}
/** An active resident of `building`. */
async function resident(building: string): Promise<string> {
  const id = await registration(building);
  const r = await inject('admin', { method: 'POST', url: `/api/registrations/${id}/approve`, body: {} });
  if (r.status !== 200) throw new Error(`approve: ${r.status}`);
  return id;
}
/** A resident of `building`, revoked. */
async function revokedResident(building: string): Promise<string> {
  const id = await resident(building);
  const r = await inject('admin', { method: 'POST', url: `/api/residents/${id}/revoke`, body: {} });
  if (r.status !== 200) throw new Error(`revoke: ${r.status}`);
  return id;
}
/** A resident registered by staff, pending, with no building yet. */
async function pendingPerson(): Promise<string> {
  const id = `p-${n++}`;
  const r = await inject('admin', { method: 'POST', url: '/api/residents', body: { id, noFace: true, pending: true } });
  if (r.status !== 201) throw new Error(`pending: ${r.status} ${r.body}`);
  return id;
}
/** An active terminal of b-1's door-1 that may be revoked. */
function spareTerminal(): string {
  const id = `t-spare-${n++}`;
  addTerminal(admin(site.community, { actor: ROOT_OPERATOR, passphrase: PASS }), { id, doorId: 'door-1', buildingId: 'b-1', out: join(site.dir, id) });
  return id;
}
function pass(): string {
  return issuePass(admin(site.community, { actor: ROOT_OPERATOR, passphrase: PASS }), { doors: ['door-1'] }).record.passId;
}
async function operator(): Promise<string> {
  const id = `op-${n++}`;
  await site.api.ctx.auth.accounts.add({ id, role: 'security' }, { id: ROOT_OPERATOR });
  return id;
}
function token(of: string): string {
  return site.api.ctx.auth.createToken(of, 'table', ROOT_OPERATOR).info.id;
}

type Role = 'admin' | 'sec' | 'mgr' | 'aud';
interface RouteCase {
  route: string;
  /** Roles that may (mgr: the manager of b-1, for a b-1 resource). */
  allowed: Role[] | 'public' | 'everyone';
  /** A call about a b-1 resource (fresh for every use: some change it). */
  call: () => Promise<Call> | Call;
  /** The resource belongs to b-1: b-2's manager gets 403 even though managers hold the permission. */
  scoped?: boolean;
  /** Skip the 2xx check here (covered over HTTPS in auth.test.ts: a stream, a password). */
  no2xx?: string;
}

const ROUTES: RouteCase[] = [
  { route: 'POST /api/session', allowed: 'public', call: () => ({ method: 'POST', url: '/api/session', body: { id: 'aud', password: 'correct horse battery staple' } }) },
  { route: 'DELETE /api/session', allowed: 'everyone', call: () => ({ method: 'DELETE', url: '/api/session' }) },
  { route: 'GET /api/me', allowed: 'everyone', call: () => ({ method: 'GET', url: '/api/me' }) },
  { route: 'POST /api/me/password', allowed: 'everyone', call: () => ({ method: 'POST', url: '/api/me/password', body: { current: 'x', next: 'y' } }), no2xx: 'changing passwords: auth.test.ts' },
  { route: 'GET /api/me/tokens', allowed: 'everyone', call: () => ({ method: 'GET', url: '/api/me/tokens' }) },
  { route: 'POST /api/me/tokens', allowed: 'everyone', call: () => ({ method: 'POST', url: '/api/me/tokens', body: { label: 'x' } }) },
  { route: 'DELETE /api/me/tokens/{tokenId}', allowed: 'everyone', call: () => ({ method: 'DELETE', url: `/api/me/tokens/${token('admin')}` }), no2xx: "a token of one's own: auth.test.ts" },
  { route: 'GET /api/operators', allowed: ['admin', 'aud'], call: () => ({ method: 'GET', url: '/api/operators' }) },
  { route: 'POST /api/operators', allowed: ['admin'], call: () => ({ method: 'POST', url: '/api/operators', body: { id: `new-${n++}`, role: 'auditor' } }) },
  { route: 'GET /api/operators/{id}', allowed: ['admin', 'aud'], call: () => ({ method: 'GET', url: '/api/operators/sec' }) },
  { route: 'POST /api/operators/{id}/disable', allowed: ['admin'], call: async () => ({ method: 'POST', url: `/api/operators/${await operator()}/disable` }) },
  { route: 'POST /api/operators/{id}/password-reset', allowed: ['admin'], call: async () => ({ method: 'POST', url: `/api/operators/${await operator()}/password-reset` }) },
  { route: 'GET /api/operators/{id}/tokens', allowed: ['admin', 'aud'], call: () => ({ method: 'GET', url: '/api/operators/sec/tokens' }) },
  { route: 'POST /api/operators/{id}/tokens', allowed: ['admin'], call: async () => ({ method: 'POST', url: `/api/operators/${await operator()}/tokens`, body: { label: 'script' } }) },
  { route: 'DELETE /api/operators/{id}/tokens/{tokenId}', allowed: ['admin'], call: async () => { const o = await operator(); return { method: 'DELETE', url: `/api/operators/${o}/tokens/${token(o)}` }; } },
  { route: 'POST /api/registrations', allowed: 'public', call: () => ({ method: 'POST', url: '/api/registrations', body: registrationBody('b-1') }) },
  { route: 'GET /api/registrations', allowed: ['admin', 'mgr', 'aud'], call: () => ({ method: 'GET', url: '/api/registrations' }) },
  { route: 'GET /api/registrations/{id}', allowed: ['admin', 'mgr', 'aud'], scoped: true, call: async () => ({ method: 'GET', url: `/api/registrations/${await registration('b-1')}` }) },
  { route: 'GET /api/registrations/{id}/photos/{n}', allowed: ['admin', 'mgr', 'aud'], scoped: true, call: async () => ({ method: 'GET', url: `/api/registrations/${await registration('b-1')}/photos/1` }) },
  { route: 'GET /api/registrations/{id}/identity-photo', allowed: ['admin', 'mgr', 'aud'], scoped: true, call: async () => ({ method: 'GET', url: `/api/registrations/${await registration('b-1', 2)}/identity-photo` }) },
  { route: 'POST /api/registrations/{id}/approve', allowed: ['admin', 'mgr'], scoped: true, call: async () => ({ method: 'POST', url: `/api/registrations/${await registration('b-1')}/approve`, body: {} }) },
  { route: 'POST /api/registrations/{id}/reject', allowed: ['admin', 'mgr'], scoped: true, call: async () => ({ method: 'POST', url: `/api/registrations/${await registration('b-1')}/reject`, body: { reason: 'photo of a photo' } }) },
  { route: 'GET /api/residents', allowed: ['admin', 'mgr', 'aud'], call: () => ({ method: 'GET', url: '/api/residents?q=r-' }) },
  { route: 'GET /api/residents/unused', allowed: ['admin', 'mgr', 'aud'], call: () => ({ method: 'GET', url: '/api/residents/unused?days=30' }) },
  { route: 'POST /api/residents/{id}/confirm', allowed: ['admin', 'mgr'], scoped: true, call: async () => ({ method: 'POST', url: `/api/residents/${await resident('b-1')}/confirm`, body: {} }) },
  { route: 'GET /api/residents/{id}', allowed: ['admin', 'mgr', 'aud'], scoped: true, call: async () => ({ method: 'GET', url: `/api/residents/${await resident('b-1')}` }) },
  { route: 'PUT /api/residents/{id}/access', allowed: ['admin', 'mgr'], scoped: true, call: async () => ({ method: 'PUT', url: `/api/residents/${await resident('b-1')}/access`, body: { doors: ['door-1'], until: '2030-12-31' } }) },
  { route: 'POST /api/residents/{id}/adaptation/reset', allowed: ['admin', 'mgr'], scoped: true, call: async () => ({ method: 'POST', url: `/api/residents/${await resident('b-1')}/adaptation/reset` }) },
  { route: 'GET /api/persons/{id}/export', allowed: ['admin', 'mgr'], scoped: true, call: async () => ({ method: 'GET', url: `/api/persons/${await resident('b-1')}/export` }) },
  { route: 'POST /api/persons/{id}/erase', allowed: ['admin'], call: async () => ({ method: 'POST', url: `/api/persons/${await resident('b-1')}/erase`, body: { confirm: true } }) },
  { route: 'GET /api/persons/{id}/erasure', allowed: ['admin', 'mgr', 'aud'], scoped: true, call: async () => ({ method: 'GET', url: `/api/persons/${await revokedResident('b-1')}/erasure` }) },
  { route: 'POST /api/residents/{id}/revoke', allowed: ['admin', 'mgr'], scoped: true, call: async () => ({ method: 'POST', url: `/api/residents/${await resident('b-1')}/revoke`, body: { reason: 'moved out' } }) },
  { route: 'POST /api/residents', allowed: ['admin', 'mgr'], scoped: true, call: () => ({ method: 'POST', url: '/api/residents', body: { id: `p-${n++}`, noFace: true, doors: ['door-1'] } }) },
  { route: 'POST /api/residents/{id}/approve', allowed: ['admin', 'mgr'], scoped: true, call: async () => ({ method: 'POST', url: `/api/residents/${await pendingPerson()}/approve`, body: { doors: ['door-1'] } }) },
  { route: 'PATCH /api/residents/{id}', allowed: ['admin', 'mgr'], scoped: true, call: async () => ({ method: 'PATCH', url: `/api/residents/${await resident('b-1')}`, body: { label: 'flat 3-101' } }) },
  { route: 'PUT /api/residents/{id}/credentials', allowed: ['admin', 'mgr'], scoped: true, call: async () => ({ method: 'PUT', url: `/api/residents/${await resident('b-1')}/credentials`, body: { cards: [[7, n++]] } }) },
  { route: 'POST /api/residents/{id}/passes', allowed: ['admin', 'mgr'], scoped: true, call: async () => ({ method: 'POST', url: `/api/residents/${await resident('b-1')}/passes`, body: { doors: ['door-1'] } }) },
  { route: 'POST /api/alerts', allowed: ['admin', 'sec'], call: async () => ({ method: 'POST', url: '/api/alerts', body: { tag: `missing-${n++}`, personId: await resident('b-1') } }) },
  { route: 'POST /api/alerts/{tag}/clear', allowed: ['admin', 'sec'], call: () => ({ method: 'POST', url: '/api/alerts/missing-nobody/clear' }) },
  { route: 'POST /api/terminals', allowed: ['admin'], call: () => ({ method: 'POST', url: '/api/terminals', body: { id: `t-new-${n++}`, doorId: 'door-9', buildingId: 'b-9' } }) },
  { route: 'POST /api/terminals/{id}/revoke', allowed: ['admin'], call: () => ({ method: 'POST', url: `/api/terminals/${spareTerminal()}/revoke` }) },
  { route: 'POST /api/terminals/renew', allowed: ['admin'], call: () => ({ method: 'POST', url: '/api/terminals/renew', body: { ids: ['t2'] } }) },
  { route: 'POST /api/terminals/{id}/wipe', allowed: ['admin'], call: () => ({ method: 'POST', url: '/api/terminals/t2/wipe', body: { confirm: true } }) },
  { route: 'POST /api/terminals/{id}/resync', allowed: ['admin'], call: () => ({ method: 'POST', url: '/api/terminals/t2/resync', body: {} }) },
  { route: 'POST /api/terminals/reload-config', allowed: ['admin'], call: () => ({ method: 'POST', url: '/api/terminals/reload-config', body: { terminalId: 't2' } }) },
  { route: 'GET /api/passes', allowed: ['admin', 'sec', 'aud'], call: () => ({ method: 'GET', url: '/api/passes' }) },
  { route: 'POST /api/passes', allowed: ['admin', 'sec'], call: () => ({ method: 'POST', url: '/api/passes', body: { doors: ['door-1'], label: 'a visitor' } }) },
  { route: 'POST /api/passes/{id}/revoke', allowed: ['admin', 'sec'], call: () => ({ method: 'POST', url: `/api/passes/${pass()}/revoke` }) },
  { route: 'GET /api/doors', allowed: ['admin', 'sec', 'mgr', 'aud'], call: () => ({ method: 'GET', url: '/api/doors' }) },
  { route: 'GET /api/doors/{id}', allowed: ['admin', 'sec', 'mgr', 'aud'], scoped: true, call: () => ({ method: 'GET', url: '/api/doors/door-1' }) },
  { route: 'POST /api/doors/{id}/unlock', allowed: ['admin', 'sec'], call: () => ({ method: 'POST', url: '/api/doors/door-1/unlock', body: { reason: 'delivery' } }) },
  { route: 'GET /api/terminals', allowed: ['admin', 'sec', 'aud'], call: () => ({ method: 'GET', url: '/api/terminals' }) },
  { route: 'GET /api/alerts', allowed: ['admin', 'sec', 'aud'], call: () => ({ method: 'GET', url: '/api/alerts' }) },
  { route: 'GET /api/events', allowed: ['admin', 'sec', 'aud'], call: () => ({ method: 'GET', url: '/api/events?limit=10' }) },
  { route: 'GET /api/audit', allowed: ['admin', 'aud'], call: () => ({ method: 'GET', url: '/api/audit?limit=5' }) },
  { route: 'GET /api/audit.csv', allowed: ['admin', 'aud'], call: () => ({ method: 'GET', url: '/api/audit.csv?actor=admin' }) },
  { route: 'GET /api/live', allowed: ['admin', 'sec', 'mgr', 'aud'], call: () => ({ method: 'GET', url: '/api/live' }), no2xx: 'a stream that never ends: auth.test.ts over HTTPS' },
  { route: 'GET /api/updates', allowed: ['admin', 'sec', 'aud'], call: () => ({ method: 'GET', url: '/api/updates' }) },
  { route: 'GET /api/updates/rollout/log', allowed: ['admin', 'sec', 'aud'], call: () => ({ method: 'GET', url: '/api/updates/rollout/log' }) },
  { route: 'POST /api/updates/rollout', allowed: ['admin'], call: () => ({ method: 'POST', url: '/api/updates/rollout', body: { version: '0.2.0' } }), no2xx: 'a rollout needs a published bundle and a bundle server: test/provisioning/update/hub-rollout.test.ts' },
  { route: 'POST /api/updates/rollout/pause', allowed: ['admin'], call: () => ({ method: 'POST', url: '/api/updates/rollout/pause' }), no2xx: 'needs a running rollout: test/provisioning/update/hub-rollout.test.ts' },
  { route: 'POST /api/updates/rollout/resume', allowed: ['admin'], call: () => ({ method: 'POST', url: '/api/updates/rollout/resume' }), no2xx: 'needs a paused rollout: test/provisioning/update/hub-rollout.test.ts' },
  { route: 'POST /api/updates/rollout/abort', allowed: ['admin'], call: () => ({ method: 'POST', url: '/api/updates/rollout/abort' }), no2xx: 'needs a rollout: test/provisioning/update/hub-rollout.test.ts' },
];

const WHO: Record<Role, Who> = { admin: 'admin', sec: 'sec', mgr: 'mgr-1', aud: 'aud' };

describe('the route table', () => {
  it('lists every route the API serves, and the API serves every route listed', async () => {
    const doc = JSON.parse((await inject(null, { method: 'GET', url: '/api/openapi.json' })).body) as { paths: Record<string, Record<string, unknown>> };
    const served = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    expect(served).toEqual(ROUTES.map((r) => r.route).sort());
  });

  describe.each(ROUTES.map((r) => [r.route, r] as const))('%s', (_name, r) => {
    if (r.allowed !== 'public') {
      it('answers an anonymous caller with 401', async () => {
        expect((await inject(null, await r.call())).status).toBe(401);
      });
    }
    if (Array.isArray(r.allowed)) {
      const allowed = r.allowed;
      const refused = (['admin', 'sec', 'mgr', 'aud'] as const).filter((x) => !allowed.includes(x));
      if (refused.length > 0) {
        it(`answers ${refused.join(', ')} with 403`, async () => {
          for (const role of refused) expect([role, (await inject(WHO[role], await r.call())).status]).toEqual([role, 403]);
        });
      }
      if (r.scoped) {
        it('answers the manager of another building with 403', async () => {
          expect((await inject('mgr-2', await r.call())).status).toBe(403);
        });
      }
    }
    if (r.no2xx === undefined) {
      const roles = r.allowed === 'public' ? [null] : r.allowed === 'everyone' ? (['admin', 'sec', 'mgr', 'aud'] as const) : r.allowed;
      it(`answers ${roles.map((x) => x ?? 'anyone').join(', ')} with 2xx`, async () => {
        for (const role of roles) {
          const res = await inject(role === null ? null : WHO[role], await r.call());
          expect([role, res.status, res.status >= 200 && res.status < 300 ? '' : res.body]).toEqual([role, expect.any(Number), '']);
        }
      });
    }
  });
});
