/** Residents: search, list (paged), show, update access, revoke. A manager: those of their buildings. */
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { persons, summaryOf, type PersonSummary } from '../admin-port';
import { accessBuildings, doorBuildings, personBuildings, placesOf, residentBuildings } from '../buildings';
import { visibleBuildings } from '../policy';
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
  const registration = (personId: string): { name: string; room: string } | undefined => ctx.community.db.registrationOf(personId) ?? undefined;

  const view = (p: PersonSummary, buildings: string[], reg: { name: string; room: string } | undefined): z.infer<typeof ResidentView> => ({
    personId: p.personId,
    status: p.status,
    name: reg?.name || null,
    room: reg?.room ?? null,
    buildings,
    access: p.authorisations.map((a) => ({ ...a })),
    templates: p.templates,
    photos: p.photos,
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
    // Filtered and paged in the store: only the page's residents are read in full.
    const mine = visibleBuildings(p);
    const found = persons.page(ctx.port(req), {
      ...(q.status ? { status: q.status } : {}),
      ...(mine ? { within: placesOf(doors, mine) } : {}),
      ...(q.building ? { building: placesOf(doors, [q.building]) } : {}),
      ...(q.q ? { text: q.q } : {}),
      offset: (q.page - 1) * q.pageSize,
      limit: q.pageSize,
    });
    const items = found.items.map((r) => view(r.person, residentBuildings(doors, r.person, r.registration?.buildingId ?? null), r.registration ?? undefined));
    return { items, total: found.total, page: q.page, pageSize: q.pageSize };
  });

  app.get('/api/residents/:id', {
    config: { permission: 'residents.read', buildings: (req) => buildingsOf((req.params as { id: string }).id) },
    schema: { params: Params, response: { 200: ResidentView } },
  }, (req) => {
    const r = ctx.community.db.person(req.params.id);
    if (!r || r.kind !== 'resident') throw new ApiProblem(404, 'resident-unknown', `no resident ${req.params.id}`);
    return view(summaryOf(r), personBuildings(ctx.community, r), registration(r.personId));
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
    return view(summaryOf(r), personBuildings(ctx.community, r), registration(r.personId));
  });

  app.post('/api/residents/:id/revoke', {
    config: { permission: 'residents.write', buildings: (req) => buildingsOf((req.params as { id: string }).id) },
    schema: { summary: 'Revoke: the doors delete the person; templates and photos are deleted from the hub', params: Params, body: z.strictObject({ reason: z.string().trim().min(1).max(500) }), response: { 200: ResidentView } },
  }, (req) => {
    const before = ctx.community.db.person(req.params.id);
    const b = before ? personBuildings(ctx.community, before) : [];
    const r = persons.revoke(ctx.port(req), req.params.id, req.body.reason);
    return view(summaryOf(r), b, registration(r.personId));
  });
}
