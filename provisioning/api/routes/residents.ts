/** Residents: search, list (paged), show, update access, revoke. A manager: those of their buildings. */
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { persons, type PersonRecord } from '../admin-port';
import { accessBuildings, doorBuildings, personBuildings } from '../buildings';
import { visibleTo } from '../policy';
import { ApiProblem } from '../problem';
import type { ApiApp, ApiContext } from '../server';
import { AccessInSchema } from './registrations';
import { fail } from './session';

const Params = z.strictObject({ id: IdSchema });

const ResidentView = z.strictObject({
  personId: z.string(),
  status: z.enum(['pending', 'active', 'revoked']),
  /** The registered name (from the registration; null for residents added by `provision person add`). */
  name: z.string().nullable(),
  room: z.string().nullable(),
  buildings: z.array(z.string()),
  access: z.array(z.strictObject({
    doorIds: z.array(z.string()),
    buildingIds: z.array(z.string()),
    validFrom: z.string().optional(),
    validUntil: z.string().optional(),
    windows: z.array(z.strictObject({ days: z.array(z.number()), start: z.string(), end: z.string() })).optional(),
  })),
  templates: z.number(),
  photos: z.number(),
  tags: z.array(z.string()),
  published: z.boolean(),
  createdAt: z.number(),
  updatedAt: z.number(),
});

export function residentRoutes(app: ApiApp, ctx: ApiContext): void {
  const names = (): Map<string, { name: string; room: string }> =>
    new Map((ctx.community.db.db.prepare('SELECT person_id, name, room FROM registrations').all() as Array<{ person_id: string; name: string; room: string }>).map((r) => [r.person_id, { name: r.name, room: r.room }]));

  const view = (p: PersonRecord, buildings: string[], reg: { name: string; room: string } | undefined): z.infer<typeof ResidentView> => ({
    personId: p.personId,
    status: p.status,
    name: reg?.name || null,
    room: reg?.room ?? null,
    buildings,
    access: p.authorisations.map((a) => ({ ...a })),
    templates: p.templates.length,
    photos: p.photos.length,
    tags: p.tags,
    published: p.publishedRev >= p.rev,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  });

  const buildingsOf = (id: string): string[] | null => {
    const p = ctx.community.db.person(id);
    return p && p.kind === 'resident' ? personBuildings(ctx.community, p) : null;
  };

  app.get('/api/residents', {
    config: { permission: 'residents.read' },
    schema: {
      summary: 'Residents, paged; q searches the id, name and room',
      querystring: z.strictObject({
        q: z.string().max(100).optional(),
        status: z.enum(['pending', 'active', 'revoked']).optional(),
        building: IdSchema.optional(),
        page: z.coerce.number().int().min(1).default(1),
        pageSize: z.coerce.number().int().min(1).max(200).default(50),
      }),
      response: { 200: z.strictObject({ items: z.array(ResidentView), total: z.number(), page: z.number(), pageSize: z.number() }) },
    },
  }, (req) => {
    const p = req.principal ?? fail();
    const q = req.query;
    const doors = doorBuildings(ctx.community);
    const regs = names();
    const needle = q.q?.toLowerCase();
    const all = persons.list(ctx.port(req), { kind: 'resident', ...(q.status ? { status: q.status } : {}) }).flatMap((r) => {
      const b = personBuildings(ctx.community, r, doors);
      const reg = regs.get(r.personId);
      if (!visibleTo(p, b) || (q.building && !b.includes(q.building))) return [];
      if (needle && !r.personId.toLowerCase().includes(needle) && !(reg?.name.toLowerCase().includes(needle) ?? false) && !(reg?.room.toLowerCase() === needle)) return [];
      return [view(r, b, reg)];
    });
    return { items: all.slice((q.page - 1) * q.pageSize, q.page * q.pageSize), total: all.length, page: q.page, pageSize: q.pageSize };
  });

  app.get('/api/residents/:id', {
    config: { permission: 'residents.read', buildings: (req) => buildingsOf((req.params as { id: string }).id) },
    schema: { params: Params, response: { 200: ResidentView } },
  }, (req) => {
    const r = ctx.community.db.person(req.params.id);
    if (!r || r.kind !== 'resident') throw new ApiProblem(404, 'resident-unknown', `no resident ${req.params.id}`);
    return view(r, personBuildings(ctx.community, r), names().get(r.personId));
  });

  app.put('/api/residents/:id/access', {
    config: {
      permission: 'residents.write',
      buildings: (req) => {
        const now = buildingsOf((req.params as { id: string }).id);
        return now === null ? null : [...new Set([...now, ...accessBuildings(doorBuildings(ctx.community), req.body as z.infer<typeof AccessInSchema>)])];
      },
    },
    schema: { summary: "Replace the resident's access (options not given are kept)", params: Params, body: AccessInSchema, response: { 200: ResidentView } },
  }, async (req) => {
    const spec = Object.fromEntries(Object.entries(req.body).filter(([, v]) => v !== undefined));
    const r = await persons.updateAccess(ctx.port(req), req.params.id, spec);
    return view(r, personBuildings(ctx.community, r), names().get(r.personId));
  });

  app.post('/api/residents/:id/revoke', {
    config: { permission: 'residents.write', buildings: (req) => buildingsOf((req.params as { id: string }).id) },
    schema: { summary: 'Revoke: the doors delete the person; templates and photos are deleted from the hub', params: Params, body: z.strictObject({ reason: z.string().trim().min(1).max(500) }), response: { 200: ResidentView } },
  }, (req) => {
    const before = ctx.community.db.person(req.params.id);
    const b = before ? personBuildings(ctx.community, before) : [];
    const r = persons.revoke(ctx.port(req), req.params.id, req.body.reason);
    return view(r, b, names().get(r.personId));
  });
}
