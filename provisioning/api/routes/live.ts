/**
 * GET /api/live: Server-Sent Events (entries, alarms, sightings, terminals on/offline, new
 * registrations). Each item goes to a caller who holds its permission and, for a manager, one of its
 * buildings (the same policy as every route), judged on the caller as they stand now: the credential is
 * looked at again at most once a second while items come and at every keep-alive (a comment line
 * every 15 s that keeps proxies from closing the stream), so a stream whose session or token ended, or
 * whose operator was disabled, is closed, and a manager's changed buildings apply at once.
 */
import type { Principal } from '../../operators/auth';
import { ROLE_PERMISSIONS } from '../../operators/roles';
import { decide } from '../policy';
import type { ApiApp, ApiContext } from '../server';
import { fail } from './session';

const KEEPALIVE_MS = 15_000;
/** How often, at most, the caller's credential is looked at again while items come. */
const RECHECK_MS = 1000;

export function liveRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get('/api/live', {
    config: { permission: 'live' },
    schema: { summary: 'Server-Sent Events: entry, alarm, sighting, terminal, registration (filtered by role and buildings)' },
  }, (req, reply) => {
    const p = req.principal ?? fail();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': doorway live\n\n');
    let seq = 0;
    let current: Principal | null = p;
    let checkedAt = ctx.clock.monotonic();
    const caller = (force: boolean): Principal | null => {
      if (current && (force || ctx.clock.monotonic() - checkedAt >= RECHECK_MS)) {
        current = ctx.auth.current(current);
        checkedAt = ctx.clock.monotonic();
        if (!current) {
          end();
          res.end();
        }
      }
      return current;
    };
    const unsubscribe = ctx.live.subscribe((item) => {
      const c = caller(false);
      if (!c) return;
      if (c.role !== 'root' && !ROLE_PERMISSIONS[c.role].has(item.permission)) return;
      if (!decide(c, 'live', item.buildings).allow) return;
      seq += 1;
      res.write(`id: ${seq}\nevent: ${item.kind}\ndata: ${JSON.stringify(item.data)}\n\n`);
    });
    const keepalive = ctx.clock.setInterval(() => {
      if (caller(true)) res.write(': keepalive\n\n');
    }, KEEPALIVE_MS);
    function end(): void {
      unsubscribe();
      keepalive.cancel();
    }
    res.on('close', end);
    res.on('error', end);
  });
}
