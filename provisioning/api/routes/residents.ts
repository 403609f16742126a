/**
 * Residents: search, list (paged), show; staff add (photos as base64, or none), approve a staff
 * registration, change access, photos and label, set cards and PINs, revoke; a resident's own visitor
 * pass. A manager: those of their buildings (a change counts the buildings it would open too).
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { passes, persons, summaryOf, type PersonSummary } from '../admin-port';
import { accessBuildings, doorBuildings, personBuildings, placesOf, residentBuildings } from '../buildings';
import { PHOTOS_BODY_LIMIT, PhotoInSchema, withPhotoFiles } from '../photos';
import { visibleBuildings } from '../policy';
import { ApiProblem } from '../problem';
import type { ApiApp, ApiContext } from '../server';
import { issuedView, IssuedPassView, PassInSchema, passInput } from './passes';
import { AccessInSchema } from './registrations';
import { fail } from './session';

/** A resident added by staff: photos (base64) or `noFace`, and access; `pending: true` registers without access for a later approval. */
const PersonInSchema = z.strictObject({
  ...AccessInSchema.shape,
  id: IdSchema,
  photos: z.array(PhotoInSchema).max(10).default([]),
  noFace: z.boolean().default(false),
  label: z.string().max(200).optional(),
  pending: z.boolean().default(false),
});

const PersonChangeSchema = z.strictObject({
  ...AccessInSchema.shape,
  photos: z.array(PhotoInSchema).min(1).max(10).optional(),
  label: z.string().max(200).optional(),
});

const CredentialsInSchema = z.strictObject({
  /** [facility, number] each; replaces the cards ([] removes them) */
  cards: z.array(z.tuple([z.number().int().min(0).max(65535), z.number().int().min(0).max(65535)])).max(20).optional(),
  /** 4-8 digits; null removes it */
  pin: z.string().regex(/^\d{4,8}$/, '4 to 8 digits').nullable().optional(),
  duressPin: z.string().regex(/^\d{4,8}$/, '4 to 8 digits').nullable().optional(),
});

/** The tenant registration a person came from, if any. */
function registrationOf(c: ApiContext['community'], personId: string): string | null {
  return c.db.registrationIdOf(personId);
}

/** Access options as the admin library takes them (absent ones left out). */
function accessOf(b: z.infer<typeof AccessInSchema>): { doors?: string[]; buildings?: string[]; from?: string; until?: string; hours?: string[] } {
  return Object.fromEntries(Object.entries(b).filter(([k, v]) => v !== undefined && ['doors', 'buildings', 'from', 'until', 'hours'].includes(k)));
}

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
    schema: { summary: 'Revoke: the doors delete the person; templates and photos are deleted from the hub', params: Params, body: z.strictObject({ reason: z.string().trim().min(1).max(500).optional() }), response: { 200: ResidentView } },
  }, (req) => {
    const before = ctx.community.db.person(req.params.id);
    const b = before ? personBuildings(ctx.community, before) : [];
    const r = persons.revoke(ctx.port(req), req.params.id, req.body.reason);
    return view(summaryOf(r), b, registration(r.personId));
  });

  /** The buildings a change would touch: the resident's now and those the access in the body opens. */
  const changing = (req: FastifyRequest): string[] | null => {
    const now = buildingsOf((req.params as { id: string }).id);
    return now === null ? null : [...new Set([...now, ...accessBuildings(doorBuildings(ctx.community), req.body as z.infer<typeof AccessInSchema>)])];
  };

  app.post('/api/residents', {
    bodyLimit: PHOTOS_BODY_LIMIT,
    config: { permission: 'residents.write', buildings: (req) => accessBuildings(doorBuildings(ctx.community), req.body as z.infer<typeof AccessInSchema>) },
    schema: {
      summary: 'Staff add a resident: up to 10 photos (base64; enrolled by the face pipeline and its quality gates) or noFace, with access; pending: registered without access, for an approval',
      body: PersonInSchema,
      response: { 201: ResidentView },
    },
  }, async (req, reply) => {
    const b = req.body;
    const port = ctx.port(req);
    const base = { id: b.id, noFace: b.noFace, ...(b.label !== undefined ? { label: b.label } : {}) };
    const access = accessOf(b);
    if (b.pending && Object.keys(access).length > 0) throw new ApiProblem(400, 'invalid-input', 'a pending resident is given access when approved', [{ path: 'body.pending', message: 'no access with pending' }]);
    const r = await withPhotoFiles(b.photos, (photos) => (b.pending ? persons.register(port, ctx.enroller, { ...base, photos }) : persons.add(port, ctx.enroller, { ...base, photos, ...access })));
    return reply.code(201).send(view(summaryOf(r), personBuildings(ctx.community, r), registration(r.personId)));
  });

  app.post('/api/residents/:id/approve', {
    config: { permission: 'residents.write', buildings: changing },
    schema: { summary: 'Approve a resident registered by staff (pending) with access', params: Params, body: AccessInSchema, response: { 200: ResidentView } },
  }, (req) => {
    const reg = registrationOf(ctx.community, req.params.id);
    if (reg) throw new ApiProblem(409, 'conflict', `${req.params.id} registered through the tenant app: approve registration ${reg} (POST /api/registrations/${reg}/approve)`);
    const r = persons.approve(ctx.port(req), req.params.id, accessOf(req.body));
    return view(summaryOf(r), personBuildings(ctx.community, r), registration(r.personId));
  });

  app.patch('/api/residents/:id', {
    bodyLimit: PHOTOS_BODY_LIMIT,
    config: { permission: 'residents.write', buildings: changing },
    schema: { summary: 'Change access (options not given are kept), photos (re-enrolled; the old ones deleted) or the label', params: Params, body: PersonChangeSchema, response: { 200: ResidentView } },
  }, async (req) => {
    const b = req.body;
    const port = ctx.port(req);
    const input = { id: req.params.id, ...accessOf(b), ...(b.label !== undefined ? { label: b.label } : {}) };
    const r = b.photos ? await withPhotoFiles(b.photos, (photos) => persons.update(port, ctx.enroller, { ...input, photos })) : await persons.update(port, ctx.enroller, input);
    return view(summaryOf(r), personBuildings(ctx.community, r), registration(r.personId));
  });

  app.put('/api/residents/:id/credentials', {
    config: { permission: 'residents.write', buildings: (req) => buildingsOf((req.params as { id: string }).id) },
    schema: {
      summary: 'Cards and PINs (only digests are kept; a PIN taken by someone else is refused without saying whose)',
      params: Params,
      body: CredentialsInSchema,
      response: { 200: z.strictObject({ personId: z.string(), cards: z.number(), pin: z.boolean(), duressPin: z.boolean() }) },
    },
  }, async (req) => {
    const b = req.body;
    const r = await persons.setCredentials(ctx.port(req), req.params.id, {
      ...(b.cards !== undefined ? { cards: b.cards } : {}),
      ...(b.pin !== undefined ? { pin: b.pin } : {}),
      ...(b.duressPin !== undefined ? { duressPin: b.duressPin } : {}),
    });
    return { personId: r.personId, cards: r.credentials?.cards.length ?? 0, pin: r.credentials?.pin !== undefined, duressPin: r.credentials?.duressPin !== undefined };
  });

  // The resident's own pass for a visitor, asked for on their behalf by an operator who may change the
  // resident (an admin, or the manager of all the resident's buildings: the office, or the tenant app's
  // service account). It is limited to what the resident may open now and ends with their access; the
  // pass is the resident's (issued by them), and the operator is audited beside it.
  app.post('/api/residents/:id/passes', {
    config: { permission: 'residents.write', buildings: (req) => buildingsOf((req.params as { id: string }).id) },
    schema: { summary: "A resident's pass for their visitor, within the resident's own access and ending with it", params: Params, body: PassInSchema, response: { 201: IssuedPassView } },
  }, (req, reply) => {
    void reply.code(201);
    return issuedView(passes.issueAsResident(ctx.port(req), ctx.passphrase, req.params.id, passInput(req.body)));
  });
}
