/** Tenant self-registration (the one anonymous write) and the approval queue. */
import { z } from 'zod';
import { IdSchema } from '../../../runtime/protocol/ids';
import { persons } from '../admin-port';
import { accessBuildings, doorBuildings } from '../buildings';
import { visibleTo } from '../policy';
import { ApiProblem } from '../problem';
import { approveRegistration, getRegistration, identityPhotoOf, listRegistrations, rejectRegistration, RegistrationInSchema, RegistrationSchema, submitRegistration, type Registration } from '../registrations';
import type { ApiApp, ApiContext } from '../server';
import { readPhotoFile } from '../../photos';
import { fail } from './session';

const Params = z.strictObject({ id: z.string().regex(/^r-[0-9a-z]{26}$/, 'a registration id') });

export const AccessInSchema = z.strictObject({
  doors: z.array(IdSchema).max(200).optional(),
  buildings: z.array(IdSchema).max(200).optional(),
  from: z.string().max(40).optional(),
  until: z.string().max(40).optional(),
  hours: z.array(z.string().max(40)).max(20).optional(),
});

export function registrationRoutes(app: ApiApp, ctx: ApiContext): void {
  const perAddress = new Map<string, { n: number; since: number }>();

  app.post('/api/registrations', {
    config: { permission: 'public' },
    schema: {
      summary: "A tenant's registration (the tenant app): real-name check, photo quality, then pending for the building's manager",
      body: RegistrationInSchema,
      response: { 201: z.strictObject({ id: z.string(), status: z.literal('pending') }) },
    },
  }, async (req, reply) => {
    const now = ctx.clock.now();
    if (perAddress.size > 10_000) for (const [a, v] of perAddress) if (now - v.since >= ctx.auth.config.failureWindowMs) perAddress.delete(a);
    const seen = perAddress.get(req.ip);
    const fresh = !seen || now - seen.since >= ctx.auth.config.failureWindowMs;
    const n = fresh ? 1 : seen.n + 1;
    perAddress.set(req.ip, { n, since: fresh ? now : seen.since });
    if (n > ctx.auth.config.registrationsPerAddress) throw new ApiProblem(429, 'registration-throttled', 'too many registrations from this address: try again later');
    const r = await submitRegistration(ctx.port(req), ctx.realName, ctx.enroller, req.body);
    return reply.code(201).send({ id: r.id, status: 'pending' as const });
  });

  app.get('/api/registrations', {
    config: { permission: 'registrations.read' },
    schema: {
      summary: 'The approval queue (a manager sees their buildings only)',
      querystring: z.strictObject({ status: z.enum(['pending', 'approved', 'rejected']).default('pending'), building: IdSchema.optional() }),
      response: { 200: z.strictObject({ items: z.array(RegistrationSchema) }) },
    },
  }, (req) => {
    const p = req.principal ?? fail();
    return { items: listRegistrations(ctx.port(req), { status: req.query.status, ...(req.query.building ? { buildingId: req.query.building } : {}) }).filter((r) => visibleTo(p, [r.buildingId])) };
  });

  const buildingOf = (id: string): string[] | null => {
    const r = getRegistration(ctx, id);
    return r ? [r.buildingId] : null;
  };

  app.get('/api/registrations/:id', {
    config: { permission: 'registrations.read', buildings: (req) => buildingOf((req.params as { id: string }).id) },
    schema: {
      summary: 'One registration with its photos (base64) and the quality verdict of each',
      params: Params,
      response: { 200: RegistrationSchema.extend({ photoData: z.array(z.strictObject({ name: z.string(), contentType: z.string(), data: z.string() })) }) },
    },
  }, (req) => {
    const { registration, photos } = withPhotos(ctx, req, req.params.id);
    return { ...registration, photoData: photos.map((p) => ({ name: p.name, contentType: p.contentType, data: readPhotoFile(p.file).toString('base64') })) };
  });

  app.get('/api/registrations/:id/photos/:n', {
    config: { permission: 'registrations.read', buildings: (req) => buildingOf((req.params as { id: string }).id) },
    schema: {
      summary: "One of a registration's photos (the image itself, for the console; never cached)",
      params: Params.extend({ n: z.coerce.number().int().min(1).max(5) }),
    },
  }, (req, reply) => {
    const photo = withPhotos(ctx, req, req.params.id).photos[req.params.n - 1];
    if (!photo) throw new ApiProblem(404, 'photo-unknown', `registration ${req.params.id} has no photo ${req.params.n}`);
    return reply.type(photo.contentType).header('cache-control', 'no-store').send(readPhotoFile(photo.file));
  });

  app.get('/api/registrations/:id/identity-photo', {
    config: { permission: 'registrations.read', buildings: (req) => buildingOf((req.params as { id: string }).id) },
    schema: { summary: "The identity document's photo from the real-name check, while the registration is pending (the image; never cached)", params: Params },
  }, (req, reply) => {
    const p = getRegistration(ctx.port(req), req.params.id) ? identityPhotoOf(ctx.community, req.params.id) : null;
    if (!p) throw new ApiProblem(404, 'photo-unknown', `registration ${req.params.id} has no identity photo`);
    return reply.type(p.contentType).header('cache-control', 'no-store').send(readPhotoFile(p.file));
  });

  app.post('/api/registrations/:id/approve', {
    config: {
      permission: 'registrations.decide',
      // The registration's building and every building the access would open: a manager grants only their own.
      buildings: (req) => {
        const own = buildingOf((req.params as { id: string }).id);
        return own === null ? null : [...new Set([...own, ...accessBuildings(doorBuildings(ctx.community), req.body as z.infer<typeof AccessInSchema>)])];
      },
    },
    schema: { summary: 'Approve with access (default: the building registered for)', params: Params, body: AccessInSchema, response: { 200: RegistrationSchema } },
  }, (req) => approveRegistration(ctx.port(req), req.params.id, req.body, ctx.enroller));

  app.post('/api/registrations/:id/reject', {
    config: { permission: 'registrations.decide', buildings: (req) => buildingOf((req.params as { id: string }).id) },
    schema: { summary: 'Reject with a reason (photos and templates deleted)', params: Params, body: z.strictObject({ reason: z.string().trim().min(1).max(500) }), response: { 200: RegistrationSchema } },
  }, (req) => rejectRegistration(ctx.port(req), req.params.id, req.body.reason));
}

/** A registration and the files of its photos (none once it is rejected: they are deleted then). */
function withPhotos(ctx: ApiContext, req: Parameters<ApiContext['port']>[0], id: string): { registration: Registration; photos: Array<{ name: string; contentType: 'image/png' | 'image/jpeg'; file: string }> } {
  const port = ctx.port(req);
  const registration = getRegistration(port, id);
  if (!registration) throw new ApiProblem(404, 'registration-unknown', `no registration ${id}`);
  const person = persons.find(port, registration.personId);
  const files = person ? persons.photoPaths(port, person) : [];
  return { registration, photos: files.map((file, i) => ({ name: person?.photos[i] ?? '', contentType: file.endsWith('.png') ? 'image/png' : 'image/jpeg', file })) };
}
