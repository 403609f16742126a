/**
 * The web console (provisioning/console/, Preact in TSX) as the hub serves it, at the API's origin:
 * `/` and `/console` lead to `/console/`, which is one HTML page, one script and one style sheet, every
 * byte from the hub (no CDN). The console's pages are client-side routes (`/console/#/queue`).
 *
 * The bundle is built by esbuild when the hub first serves it, in memory, and kept for the life of the
 * process (about a tenth of a second on this machine): nothing to build before `npm start` or
 * `provision hub`, no build output that can go stale beside the source. Without esbuild installed the
 * API works and the console's pages answer 503 naming the package.
 *
 * Every response of the hub also gets the security headers here: a strict Content-Security-Policy (no
 * inline script or style, nothing from another origin, no framing), nosniff, no referrer; and
 * everything under /api/ that does not say otherwise is `Cache-Control: no-store` (personal data and
 * photos stay out of caches).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TerminalError } from '../../core/errors';
import type { Logger } from '../../core/log';
import { problem, sendProblem } from './problem';
import type { ApiApp } from './server';

/** The console could not be bundled (esbuild missing, or the source does not build). */
export class ConsoleBuildError extends TerminalError {
  readonly code = 'console-build';
}

/**
 * The console's source: beside this file when the hub runs from source (tsx), and in the source tree
 * when it runs compiled from dist/ (`npm run build` compiles the hub, not the browser's TSX).
 */
export const CONSOLE_SOURCE = [join(__dirname, '..', 'console'), join(__dirname, '..', '..', '..', 'provisioning', 'console')]
  .find((d) => existsSync(join(d, 'main.tsx'))) ?? join(__dirname, '..', 'console');

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export interface ConsoleBundle {
  js: string;
  css: string;
  /** sha256 of script and styles, hex (the ETag, and the query that busts a browser's cache). */
  hash: string;
}

/** Bundles provisioning/console/main.tsx (script and styles) with esbuild, in memory. */
export async function buildConsole(source = CONSOLE_SOURCE): Promise<ConsoleBundle> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new ConsoleBuildError('the web console needs the npm package esbuild (a dependency of this project): run `npm install`', { cause: e });
  }
  try {
    const r = await esbuild.build({
      entryPoints: [join(source, 'main.tsx')],
      bundle: true,
      write: false,
      outdir: '/console-out',
      format: 'iife',
      platform: 'browser',
      target: ['chrome110', 'firefox110', 'safari16'],
      jsx: 'automatic',
      jsxImportSource: 'preact',
      minify: true,
      legalComments: 'none',
      logLevel: 'silent',
      tsconfig: join(source, 'tsconfig.json'),
    });
    const js = r.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? '';
    const css = r.outputFiles.find((f) => f.path.endsWith('.css'))?.text ?? '';
    return { js, css, hash: createHash('sha256').update(js).update(css).digest('hex').slice(0, 16) };
  } catch (e) {
    throw new ConsoleBuildError(`the web console does not build: ${(e as Error).message.split('\n')[0] ?? ''}`, { cause: e });
  }
}

function page(hash: string): string {
  return `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>doorway</title>
<link rel="stylesheet" href="/console/app.css?v=${hash}">
<script src="/console/app.js?v=${hash}" defer></script>
</head>
<body><div id="app"></div><noscript>doorway console: JavaScript is required.</noscript></body>
</html>
`;
}

/** The security headers on every response, no-store on the API's, and the console's routes. */
export function serveConsole(app: ApiApp, log: Logger, build: () => Promise<ConsoleBundle> = () => buildConsole()): void {
  let bundle: Promise<ConsoleBundle> | null = null;
  const get = (): Promise<ConsoleBundle> => {
    if (!bundle) {
      const started = Date.now();
      bundle = build().then((b) => {
        log.info({ ms: Date.now() - started, bytes: b.js.length + b.css.length }, 'web console bundled');
        return b;
      });
      bundle.catch(() => (bundle = null)); // try again on the next request (e.g. after `npm install`)
    }
    return bundle;
  };

  app.addHook('onSend', async (req, reply, payload) => {
    void reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header('x-frame-options', 'DENY');
    void reply.header('cross-origin-opener-policy', 'same-origin');
    void reply.header('cross-origin-resource-policy', 'same-origin');
    if (req.url.startsWith('/api/') && !reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
    return payload;
  });

  const hidden = { config: { permission: 'public' as const }, schema: { hide: true } };
  app.get('/', hidden, (_req, reply) => reply.redirect('/console/', 302));
  app.get('/console', hidden, (_req, reply) => reply.redirect('/console/', 302));

  const asset = (kind: 'js' | 'css', type: string) => async (req: { headers: Record<string, string | string[] | undefined> }, reply: import('fastify').FastifyReply) => {
    const b = await get().catch((e: unknown) => e as Error);
    if (b instanceof Error) return sendProblem(reply, problem(503, 'console-unavailable', b.message));
    if (req.headers['if-none-match'] === `"${b.hash}"`) return reply.code(304).send();
    return reply.type(type).header('cache-control', 'no-cache').header('etag', `"${b.hash}"`).send(b[kind]);
  };
  app.get('/console/', hidden, async (_req, reply) => {
    const b = await get().catch((e: unknown) => e as Error);
    if (b instanceof Error) return sendProblem(reply, problem(503, 'console-unavailable', b.message));
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page(b.hash));
  });
  app.get('/console/app.js', hidden, asset('js', 'text/javascript; charset=utf-8'));
  app.get('/console/app.css', hidden, asset('css', 'text/css; charset=utf-8'));
}
