/**
 * The hub's HTTP API: Fastify over TLS (a server certificate from the community CA, tls.ts), JSON
 * validated by zod (.strict() objects), an OpenAPI document at /api/openapi.json, errors as problem
 * details (problem.ts).
 *
 * Authorisation happens here and only here. Every route declares `config.permission` (a route without
 * one is refused when it is registered) and, for a resource that belongs to buildings, `config.buildings`.
 * Two hooks enforce them for every route:
 *   onRequest: who is calling (api token, root token, or session cookie + CSRF header for a change),
 *              then the role check (401 / 403), before the body is even read;
 *   preHandler: after validation, the buildings of the resource against a manager's (403).
 *
 * Credentials: `Authorization: Bearer dwt_...` (API tokens, for scripts), `Authorization: DoorwayRoot ...`
 * (the passphrase's key, root.ts), or the `__Host-doorway-session` cookie (HttpOnly, Secure,
 * SameSite=Strict, Path=/) whose changes (any method but GET/HEAD) also need `X-CSRF-Token`, the value
 * the login answered. Header credentials need no CSRF token: a browser never adds them by itself.
 */
import { unlockCommunity } from '../at-rest-key';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Clock, TimerHandle } from '../../core/clock';
import type { Logger } from '../../core/log';
import type { Community } from '../community';
import { Authenticator, csrfMatches, ROOT_PRINCIPAL, type Principal } from '../operators/auth';
import { AuthConfigSchema, type AuthConfig } from '../operators/config';
import { ROOT_AUTH_SCHEME, RootTokenVerifier, rootPublicKey } from '../operators/root';
import type { Permission } from '../operators/roles';
import type { Enroller, PortContext } from './admin-port';
import { serveConsole, type ConsoleBundle } from './console';
import { LiveFeed } from './live';
import { decide } from './policy';
import { errorHandler, problem, sendProblem } from './problem';
import type { RealNameCheck } from './realname';
import { routes } from './routes';
import { Rollouts } from '../update/rollouts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the caller must hold ('public': nobody needs to be logged in). Required on every route. */
    permission?: Permission | 'public';
    /** The buildings of the resource the request is about (null: it does not exist); after validation. */
    buildings?: (req: FastifyRequest) => readonly string[] | null;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export const SESSION_COOKIE = '__Host-doorway-session';
export const CSRF_HEADER = 'x-csrf-token';

export type ApiApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger, ZodTypeProvider>;

export interface ApiOptions {
  community: Community;
  clock: Clock;
  log: Logger;
  tls: { key: string; cert: string };
  realName: RealNameCheck;
  /** Turns registration photos into templates (the face pipeline; its quality gates give each photo's verdict). */
  enroller: Enroller;
  /** The community passphrase the hub was started with: terminals (certificates, bundles) and passes need it. */
  passphrase?: string;
  auth?: Partial<AuthConfig>;
  /** How often the live feed looks for new events, sightings and terminal states (default 250 ms). */
  livePollMs?: number;
  /**
   * Asked once a day (`tlsCheckMs`) while the API listens: a renewed key and certificate, or null when
   * none is due (tls.ts renewHttpTlsIfDue). A renewed one is served from the next connection on.
   */
  renewTls?: (now: number) => { key: string; cert: string } | null;
  tlsCheckMs?: number;
  /** Bundles the web console (default: esbuild over provisioning/console/, console.ts). */
  consoleBuild?: () => Promise<ConsoleBundle>;
  /** The hub's staged rollouts (shared with its MQTT side); default: status only, no bundles served. */
  rollouts?: Rollouts;
}

/** What the route modules get. */
export interface ApiContext {
  community: Community;
  clock: Clock;
  log: Logger;
  auth: Authenticator;
  realName: RealNameCheck;
  enroller: Enroller;
  /** As in ApiOptions (undefined: the routes that need it answer 503). */
  passphrase: string | undefined;
  live: LiveFeed;
  rollouts: Rollouts;
  /** The admin-port context for this request's caller. */
  port(req: FastifyRequest): PortContext;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

const DAY_MS = 24 * 3_600_000;

export class HubApi {
  private tlsTimer: TimerHandle | null = null;

  private constructor(
    readonly app: ApiApp,
    readonly ctx: ApiContext,
    private readonly tlsRenewal: { renew: (now: number) => { key: string; cert: string } | null; everyMs: number } | null,
  ) {}

  /** Builds the app (routes, hooks, OpenAPI); `listen` serves it. */
  static async create(o: ApiOptions): Promise<HubApi> {
    const config = AuthConfigSchema.parse(o.auth ?? {});
    const log = o.log.child({ module: 'hub-api' });
    // Templates and photos are encrypted at rest: the API of a hub started with the passphrase reads them.
    if (o.passphrase !== undefined) unlockCommunity(o.community, { passphrase: o.passphrase }, o.clock.now());
    const app = Fastify({
      https: { key: o.tls.key, cert: o.tls.cert, minVersion: 'TLSv1.2' },
      loggerInstance: log,
      logController: new LogController({ disableRequestLogging: true }), // request lines would carry ids and addresses; errors are logged by problem.ts
      bodyLimit: 16 * 1024 * 1024, // registrations carry up to 5 photos of up to 2 MiB, base64
      exposeHeadRoutes: false,
      return503OnClosing: true,
      forceCloseConnections: true, // open live streams must not keep a stopping hub waiting
    }).withTypeProvider<ZodTypeProvider>();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    app.setErrorHandler(errorHandler(log));
    app.setNotFoundHandler((req, reply) => sendProblem(reply, problem(404, 'not-found', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`)));
    app.decorateRequest('principal', null);

    const auth = new Authenticator(o.community.db, o.clock, config);
    const root = new RootTokenVerifier(rootPublicKey(o.community), o.clock, config.rootTokenMaxAgeMs);
    const live = new LiveFeed(o.community, o.clock, o.livePollMs ?? 250, log);
    const ctx: ApiContext = {
      community: o.community,
      clock: o.clock,
      log,
      auth,
      realName: o.realName,
      enroller: o.enroller,
      passphrase: o.passphrase,
      live,
      rollouts: o.rollouts ?? new Rollouts({ community: o.community, clock: o.clock, log, bundleUrl: null }),
      port: (req) => ({ community: o.community, clock: o.clock, now: o.clock.now(), actor: req.principal?.id ?? 'tenant' }),
    };

    await app.register(cookie);
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'doorway hub API', version: '1' },
        components: {
          securitySchemes: {
            session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
            token: { type: 'http', scheme: 'bearer' },
          },
        },
      },
      transform: jsonSchemaTransform,
    });

    app.addHook('onRoute', (r) => {
      if (r.config?.permission === undefined) throw new Error(`route ${String(r.method)} ${r.url} declares no permission`);
    });

    app.addHook('onRequest', async (req, reply) => {
      const permission = req.routeOptions.config.permission;
      if (permission === undefined) return; // the not-found handler
      const a = authenticate(req, auth, root);
      if (a === 'invalid' && permission !== 'public') return refuse(reply, 401, 'the credential is invalid, expired or revoked');
      if (a === 'invalid') return undefined; // a stale cookie does not stop a login
      req.principal = a?.principal ?? null;
      if (a?.sessionId !== undefined && !SAFE.has(req.method) && !csrfMatches(a.sessionId, headerOf(req, CSRF_HEADER))) {
        return refuse(reply, 403, `a change made with a session cookie needs the ${CSRF_HEADER} header of that session`, 'csrf');
      }
      const d = decide(req.principal, permission);
      if (!d.allow) return refuse(reply, d.status, d.reason);
      return undefined;
    });

    app.addHook('preHandler', async (req, reply) => {
      const { permission, buildings } = req.routeOptions.config;
      if (permission === undefined || buildings === undefined) return undefined;
      const d = decide(req.principal, permission, buildings(req));
      if (!d.allow) return refuse(reply, d.status, d.reason);
      return undefined;
    });

    app.get('/api/openapi.json', { config: { permission: 'public' }, schema: { hide: true } }, () => app.swagger());
    routes(app, ctx);
    serveConsole(app, log, o.consoleBuild); // the web console (console.ts), and every response's security headers
    await app.ready();
    return new HubApi(app, ctx, o.renewTls ? { renew: o.renewTls, everyMs: o.tlsCheckMs ?? DAY_MS } : null);
  }

  async listen(host: string, port: number): Promise<{ host: string; port: number }> {
    await this.app.listen({ host, port });
    this.ctx.live.start();
    if (this.tlsRenewal) this.tlsTimer = this.ctx.clock.setInterval(() => this.renewTls(), this.tlsRenewal.everyMs);
    const a = this.app.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** The daily check: a renewed certificate replaces the served one in place (no restart, open connections kept). */
  renewTls(): boolean {
    if (!this.tlsRenewal) return false;
    try {
      const tls = this.tlsRenewal.renew(this.ctx.clock.now());
      if (!tls) return false;
      this.app.server.setSecureContext({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' });
      this.ctx.log.info('HTTPS certificate renewed and in use');
      return true;
    } catch (e) {
      // The certificate in use stays valid for weeks yet: tried again at the next check.
      this.ctx.log.warn({ err: { name: (e as Error).name, code: (e as { code?: string }).code } }, 'HTTPS certificate renewal failed');
      return false;
    }
  }

  async close(): Promise<void> {
    this.tlsTimer?.cancel();
    this.tlsTimer = null;
    this.ctx.live.stop();
    await this.app.close();
  }
}

function headerOf(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function refuse(reply: FastifyReply, status: 401 | 403, detail: string, code = status === 401 ? 'unauthenticated' : 'forbidden'): FastifyReply {
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="doorway"');
  return sendProblem(reply, problem(status, code, detail));
}

/** null: anonymous; 'invalid': a credential was given and is no good (never falls back to another). */
function authenticate(req: FastifyRequest, auth: Authenticator, root: RootTokenVerifier): { principal: Principal; sessionId?: string } | null | 'invalid' {
  const h = headerOf(req, 'authorization');
  if (h !== undefined) {
    const [scheme, value, extra] = h.split(' ');
    if (!value || extra !== undefined) return 'invalid';
    if (scheme === 'Bearer') {
      const p = auth.bearer(value);
      return p ? { principal: p } : 'invalid';
    }
    if (scheme === ROOT_AUTH_SCHEME) {
      try {
        root.verify(value, { method: req.method, path: req.url.split('?')[0] ?? '' });
        return { principal: ROOT_PRINCIPAL };
      } catch {
        return 'invalid';
      }
    }
    return 'invalid';
  }
  const sid = req.cookies[SESSION_COOKIE];
  if (sid === undefined) return null;
  const p = auth.session(sid);
  return p ? { principal: p, sessionId: sid } : 'invalid';
}
