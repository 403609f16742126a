/**
 * GET /api/live: Server-Sent Events (entries, alarms, sightings, terminals on/offline). Each item goes
 * to a caller who holds its permission and, for a manager, one of its buildings (the same policy as
 * every route). A comment line every 15 s keeps proxies from closing the stream.
 */
import { ROLE_PERMISSIONS } from '../../operators/roles';
import { decide } from '../policy';
import type { ApiApp, ApiContext } from '../server';
import { fail } from './session';

const KEEPALIVE_MS = 15_000;

export function liveRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get('/api/live', {
    config: { permission: 'live' },
    schema: { summary: 'Server-Sent Events: entry, alarm, sighting, terminal (filtered by role and buildings)' },
  }, (req, reply) => {
    const p = req.principal ?? fail();
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(': doorway live\n\n');
    let seq = 0;
    const unsubscribe = ctx.live.subscribe((item) => {
      if (p.role !== 'root' && !ROLE_PERMISSIONS[p.role].has(item.permission)) return;
      if (!decide(p, 'live', item.buildings).allow) return;
      seq += 1;
      res.write(`id: ${seq}\nevent: ${item.kind}\ndata: ${JSON.stringify(item.data)}\n\n`);
    });
    const keepalive = ctx.clock.setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
    const end = (): void => {
      unsubscribe();
      keepalive.cancel();
    };
    res.on('close', end);
    res.on('error', end);
  });
}
