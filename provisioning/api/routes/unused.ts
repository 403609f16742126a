/**
 * Residents registered but long unused (provisioning/retention/unused.ts): the report of active
 * residents not seen at any door for N days, for their building manager (their buildings only; an
 * admin sees all), and the manager's confirmation that one still lives there. Ending a resident's
 * access is the residents' own routes (revoke, or a change of access with an end date).
 */
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { doorBuildings, personBuildings, placesOf } from '../buildings';
import { visibleBuildings } from '../policy';
import type { ApiApp, ApiContext } from '../server';
import { confirmResident, unusedResidents } from '../../retention/unused';
import { fail } from './session';

const UnusedView = z.strictObject({
  personId: z.string(),
  name: z.string().nullable(),
  room: z.string().nullable(),
  buildings: z.array(z.string()),
  createdAt: z.number(),
  lastSeenAt: z.number().nullable(),
  confirmedAt: z.number().nullable(),
});

export function unusedRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get('/api/residents/unused', {
    config: { permission: 'residents.read' },
    schema: {
      summary: 'Active residents not let in at any door for `days` days (default 90, at most the retention of entry events), added and confirmed longer ago than that',
      querystring: z.strictObject({
        days: z.coerce.number().int().min(1).max(3650).optional(),
        building: IdSchema.optional(),
      }),
      response: { 200: z.strictObject({ days: z.number(), items: z.array(UnusedView) }) },
    },
  }, (req) => {
    const p = req.principal ?? fail();
    const port = ctx.port(req);
    const doors = doorBuildings(ctx.community);
    const mine = visibleBuildings(p);
    const days = req.query.days ?? Math.min(90, ctx.community.config.retention.entryDays);
    const items = unusedResidents(ctx.community, port.now, {
      days,
      ...(mine ? { within: placesOf(doors, mine) } : {}),
      ...(req.query.building ? { building: placesOf(doors, [req.query.building]) } : {}),
    });
    return { days, items };
  });

  app.post('/api/residents/:id/confirm', {
    config: {
      permission: 'residents.write',
      buildings: (req) => {
        const r = ctx.community.db.person((req.params as { id: string }).id);
        return r && r.kind === 'resident' ? personBuildings(ctx.community, r) : null;
      },
    },
    schema: {
      summary: 'The resident still lives here: hidden from the unused report for its days again (recorded and audited)',
      params: z.strictObject({ id: IdSchema }),
      body: z.strictObject({}).optional(),
      response: { 200: z.strictObject({ personId: z.string(), confirmedAt: z.number() }) },
    },
  }, (req) => {
    const port = ctx.port(req);
    return confirmResident(ctx.community, port.actor, port.now, req.params.id);
  });
}
