/** Login, logout, the caller's profile, password change, and the caller's own API tokens. */
import { z } from 'zod';
import { ApiProblem } from '../problem';
import { CSRF_HEADER, SESSION_COOKIE, type ApiApp, type ApiContext } from '../server';
import { csrfTokenOf, type Principal } from '../../operators/auth';
import { PERMISSIONS, ROLE_PERMISSIONS } from '../../operators/roles';

export const PrincipalView = z.strictObject({
  id: z.string(),
  role: z.enum(['admin', 'security', 'manager', 'auditor', 'root']),
  buildings: z.array(z.string()),
  via: z.enum(['session', 'token', 'root']),
  mustChangePassword: z.boolean(),
});

export const viewOf = (p: Principal): z.infer<typeof PrincipalView> => ({ id: p.id, role: p.role, buildings: [...p.buildings], via: p.via, mustChangePassword: p.mustChangePassword });

export const TokenView = z.strictObject({
  id: z.string(),
  operatorId: z.string(),
  label: z.string(),
  createdAt: z.number(),
  lastUsedAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
});

export const TokenLabelSchema = z.strictObject({ label: z.string().min(1).max(100) });

export function sessionRoutes(app: ApiApp, ctx: ApiContext): void {
  app.post('/api/session', {
    config: { permission: 'public' },
    schema: {
      summary: 'Log in: sets the session cookie and answers the CSRF token for changes',
      body: z.strictObject({ id: z.string().min(1).max(64), password: z.string().min(1).max(256) }),
      response: { 200: z.strictObject({ operator: PrincipalView, csrfToken: z.string() }) },
    },
  }, async (req, reply) => {
    const r = await ctx.auth.login(req.body.id, req.body.password, req.ip);
    void reply.setCookie(SESSION_COOKIE, r.sessionId, { httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
    return { operator: viewOf({ id: r.operator.id, role: r.operator.role, buildings: r.operator.buildings, via: 'session', mustChangePassword: r.operator.mustChangePassword }), csrfToken: r.csrfToken };
  });

  app.delete('/api/session', { config: { permission: 'session' }, schema: { summary: 'Log out (ends this session)' } }, async (req, reply) => {
    const p = req.principal;
    if (p?.sessionHash) ctx.auth.logout(p.sessionHash, p.id);
    void reply.clearCookie(SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'strict' });
    return reply.code(204).send();
  });

  app.get('/api/me', {
    config: { permission: 'session' },
    schema: {
      summary: 'Who I am, what I may do, and (for a session) the CSRF token of this session, so a reloaded console page can make changes',
      response: { 200: z.strictObject({ operator: PrincipalView, csrfHeader: z.string(), permissions: z.array(z.enum(PERMISSIONS)), csrfToken: z.string().optional() }) },
    },
  }, (req) => {
    const p = req.principal ?? fail();
    const sid = p.via === 'session' ? req.cookies[SESSION_COOKIE] : undefined;
    return {
      operator: viewOf(p),
      csrfHeader: CSRF_HEADER,
      permissions: p.role === 'root' ? [...PERMISSIONS] : [...ROLE_PERMISSIONS[p.role]],
      ...(sid !== undefined ? { csrfToken: csrfTokenOf(sid) } : {}),
    };
  });

  app.post('/api/me/password', {
    config: { permission: 'session' },
    schema: { summary: 'Change my password (the one-time password first of all)', body: z.strictObject({ current: z.string().min(1).max(256), next: z.string().min(1).max(256) }) },
  }, async (req, reply) => {
    const p = req.principal ?? fail();
    if (p.via === 'root') throw new ApiProblem(422, 'root-password', 'the root operator is the community passphrase; it has no password here');
    await ctx.auth.accounts.changePassword(p.id, req.body.current, req.body.next, p.sessionHash ?? null);
    return reply.code(204).send();
  });

  app.get('/api/me/tokens', { config: { permission: 'session' }, schema: { summary: 'My API tokens', response: { 200: z.strictObject({ items: z.array(TokenView) }) } } },
    (req) => ({ items: ctx.auth.tokens((req.principal ?? fail()).id) }));

  app.post('/api/me/tokens', {
    config: { permission: 'session' },
    schema: { summary: 'A new API token for scripts (shown once)', body: TokenLabelSchema, response: { 201: z.strictObject({ token: z.string(), info: TokenView }) } },
  }, (req, reply) => {
    const p = req.principal ?? fail();
    if (p.via === 'root') throw new ApiProblem(422, 'root-token', 'root has no tokens: sign each request with the passphrase key');
    void reply.code(201);
    return ctx.auth.createToken(p.id, req.body.label, p.id);
  });

  app.delete('/api/me/tokens/:tokenId', {
    config: { permission: 'session' },
    schema: { summary: 'Revoke one of my API tokens', params: z.strictObject({ tokenId: z.string().regex(/^tok-[0-9a-f]{12}$/) }), response: { 200: TokenView } },
  }, (req) => {
    const p = req.principal ?? fail();
    const t = ctx.auth.token(req.params.tokenId);
    // Another operator's token is "not found" for me: whether it exists is none of my business.
    if (!t || t.operatorId !== p.id) throw new ApiProblem(404, 'token-unknown', `no token ${req.params.tokenId} of yours`);
    return ctx.auth.revokeToken(t.id, p.id);
  });
}

/** The hooks ran: a route that needs a principal has one. */
export function fail(): never {
  throw new ApiProblem(401, 'unauthenticated', 'authentication required');
}
