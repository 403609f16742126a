/**
 * POST /api/residents/:id/adaptation/reset: forget the resident's adapted templates (issue 17) on the
 * hub and at every door (provisioning/admin/adaptation.ts). The permission of the resident's other
 * changes; a manager only for residents of their buildings.
 */
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { adaptation } from '../admin-port';
import { personBuildings } from '../buildings';
import { ApiProblem } from '../problem';
import type { ApiApp, ApiContext } from '../server';

export function adaptationRoutes(app: ApiApp, ctx: ApiContext): void {
  app.post('/api/residents/:id/adaptation/reset', {
    config: {
      permission: 'residents.write',
      buildings: (req) => {
        const p = ctx.community.db.person((req.params as { id: string }).id);
        return p && p.kind === 'resident' ? personBuildings(ctx.community, p) : null;
      },
    },
    schema: {
      summary: "Forget the resident's adapted templates (learnt at the doors) on the hub and at every door; enrolled templates stay",
      params: z.strictObject({ id: IdSchema }),
      response: { 200: z.strictObject({ personId: z.string(), deleted: z.number(), commands: z.number() }) },
    },
  }, (req) => {
    const p = ctx.community.db.person(req.params.id);
    if (!p || p.kind !== 'resident') throw new ApiProblem(404, 'resident-unknown', `no resident ${req.params.id}`);
    const r = adaptation.reset(ctx.port(req), p.personId);
    return { personId: p.personId, deleted: r.persons.reduce((n, x) => n + x.deleted, 0), commands: r.commands.length };
  });
}
