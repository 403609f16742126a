/**
 * Tenant registrations (hub.db `registrations`, migration 6). A registration is what the tenant app
 * sends: name, identity document number, building and room, photos. It is checked (real-name check,
 * then the terminal's own face pipeline and quality gates, one verdict per photo) and stored as a
 * pending person (persons.ts, via admin-port.ts) plus this row; the person id is the registration id.
 * A manager of that building approves it (the person becomes active with the access given, the hub
 * publishes it) or rejects it with a reason (the pending person is revoked: templates and photos deleted).
 * The identity document number is kept masked only (realname.ts). The document's photo, when the
 * real-name check gives one, is shown to the manager beside the registration photos while it is pending
 * (GET .../identity-photo) and enrolled at approval with the selfies if they agree (id-photo.ts).
 */
import { ulid } from 'ulid';
import { z } from 'zod';
import type { TemplateIn } from '../../runtime/roster/batch';
import { EnrolmentPhotoError } from '../../runtime/tools/enrol';
import { IdSchema } from '../../runtime/protocol/ids';
import { persons, type Enroller, type PortContext } from './admin-port';
import { knownBuildings } from './buildings';
import { EnrolmentDisagreementError, idPhotoFile, idPhotoTemplate, saveIdPhoto } from './id-photo';
import { PhotoInSchema, withPhotoFiles } from './photos';
import { ApiProblem } from './problem';
import type { Community } from '../community';
import { maskIdNumber, type IdPhoto, type RealNameCheck } from './realname';

export const RegistrationInSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  idNumber: z.string().regex(/^[0-9A-Za-z]{6,32}$/, '6 to 32 letters and digits'),
  buildingId: IdSchema,
  room: z.string().regex(/^[0-9A-Za-z-]{1,16}$/, '1 to 16 letters, digits or "-"'),
  photos: z.array(PhotoInSchema).min(1).max(5),
});
export type RegistrationIn = z.infer<typeof RegistrationInSchema>;

export const RegistrationSchema = z.strictObject({
  id: z.string(),
  personId: z.string(),
  name: z.string(),
  idNumberMasked: z.string(),
  buildingId: z.string(),
  room: z.string(),
  photos: z.array(z.strictObject({ name: z.string(), verdict: z.enum(['passed', 'refused']), reasons: z.array(z.string()) })),
  realName: z.enum(['verified', 'mismatch', 'unavailable', 'unchecked']),
  status: z.enum(['pending', 'approved', 'rejected']),
  decidedBy: z.string().nullable(),
  decidedAt: z.number().nullable(),
  reason: z.string().nullable(),
  submittedAt: z.number(),
  /** Whether the identity document's photo from the real-name check is there to compare (GET .../identity-photo). */
  identityPhoto: z.boolean(),
});
export type Registration = z.infer<typeof RegistrationSchema>;

/**
 * The identity document's photo of a pending registration, for the manager to compare: its file and
 * type, or null (none given, or the registration is decided: after an approval the photo is an
 * enrolment photo of the person, no longer the registration's).
 */
export function identityPhotoOf(c: Community, id: string): { file: string; contentType: IdPhoto['contentType'] } | null {
  // Only the photo key is read (the queue asks this for every pending row: no person parsed for it).
  const row = c.db.db.prepare("SELECT p.photo_key FROM registrations r JOIN persons p ON p.person_id = r.person_id WHERE r.id = ? AND r.status = 'pending'")
    .get(id) as { photo_key: string } | undefined;
  const file = row && row.photo_key !== '' ? idPhotoFile(c, row.photo_key) : null;
  return file === null ? null : { file, contentType: file.endsWith('.png') ? 'image/png' : 'image/jpeg' };
}

type Row = Record<string, unknown>;

function fromRow(c: Community, r: Row): Registration {
  return RegistrationSchema.parse({
    id: r['id'],
    personId: r['person_id'],
    name: r['name'],
    idNumberMasked: r['id_number_masked'],
    buildingId: r['building_id'],
    room: r['room'],
    photos: JSON.parse(r['photos'] as string) as unknown,
    realName: r['real_name'],
    status: r['status'],
    decidedBy: r['decided_by'] ?? null,
    decidedAt: r['decided_at'] ?? null,
    reason: r['reason'] ?? null,
    submittedAt: r['submitted_at'],
    identityPhoto: r['status'] === 'pending' && identityPhotoOf(c, r['id'] as string) !== null,
  });
}

export function getRegistration(ctx: Pick<PortContext, 'community'>, id: string): Registration | null {
  const r = ctx.community.db.db.prepare('SELECT * FROM registrations WHERE id = ?').get(id) as Row | undefined;
  return r ? fromRow(ctx.community, r) : null;
}

/** Filtered in the database (index on status and building): the queue is read, not every tenant who ever registered. */
export function listRegistrations(ctx: Pick<PortContext, 'community'>, filter: { status?: Registration['status']; buildingId?: string }): Registration[] {
  const where = ['1'];
  const params: string[] = [];
  if (filter.status) {
    where.push('status = ?');
    params.push(filter.status);
  }
  if (filter.buildingId) {
    where.push('building_id = ?');
    params.push(filter.buildingId);
  }
  return (ctx.community.db.db.prepare(`SELECT * FROM registrations WHERE ${where.join(' AND ')} ORDER BY submitted_at, id`).all(...params) as Row[]).map((r) => fromRow(ctx.community, r));
}

/** Checks and stores a tenant's registration; nothing is stored when any check refuses it. */
export async function submitRegistration(ctx: PortContext, realName: RealNameCheck, enroller: Enroller, input: RegistrationIn): Promise<Registration> {
  if (!knownBuildings(ctx.community).has(input.buildingId)) throw new ApiProblem(422, 'unknown-building', `no building ${input.buildingId} in this community`, [{ path: 'body.buildingId', message: 'unknown building' }]);
  const checked = await realName.check({ name: input.name, idNumber: input.idNumber });
  const verdict = checked.verdict;
  if (verdict !== 'verified' && verdict !== 'unchecked') {
    throw new ApiProblem(verdict === 'unavailable' ? 503 : 422, 'real-name', verdict === 'unavailable' ? 'the real-name check is unavailable: try again later' : 'the name and identity document number do not match');
  }
  const id = `r-${ulid(ctx.now).toLowerCase()}`;
  const person = await withPhotoFiles(input.photos, (files) => persons.register(ctx, enroller, { id, photos: files }));
  // The document's photo waits in the person's folder for the approval (id-photo.ts).
  if (checked.verdict === 'verified' && checked.idPhoto) saveIdPhoto(ctx.community, person.photoKey, checked.idPhoto);
  const photos = person.photos.map((name) => ({ name, verdict: 'passed' as const, reasons: [] as string[] }));
  ctx.community.db.tx(() => {
    ctx.community.db.db.prepare(`INSERT INTO registrations (id, person_id, name, id_number_masked, building_id, room, photos, real_name, status, submitted_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`).run(id, person.personId, input.name, maskIdNumber(input.idNumber), input.buildingId, input.room, JSON.stringify(photos), verdict, ctx.now);
    ctx.community.db.audit(ctx.actor, 'registration.submit', id, { buildingId: input.buildingId, photos: photos.length, realName: verdict }, ctx.now);
  });
  const r = getRegistration(ctx, id);
  if (!r) throw new ApiProblem(500, 'internal', 'registration not stored');
  return r;
}

export interface AccessIn {
  doors?: string[] | undefined;
  buildings?: string[] | undefined;
  from?: string | undefined;
  until?: string | undefined;
  hours?: string[] | undefined;
}

function pending(ctx: PortContext, id: string): Registration {
  const r = getRegistration(ctx, id);
  if (!r) throw new ApiProblem(404, 'registration-unknown', `no registration ${id}`);
  if (r.status !== 'pending') throw new ApiProblem(409, 'registration-decided', `registration ${id} is ${r.status} already`);
  return r;
}

/**
 * Approve with access (default: the building registered for); the person becomes active. When the
 * real-name check gave the identity document's photo, the person is enrolled from it too, only if it
 * and the selfies agree pairwise (id-photo.ts): otherwise 422 `photo-disagreement` naming the pairs,
 * and nothing changes.
 */
export async function approveRegistration(ctx: PortContext, id: string, access: AccessIn, enroller?: Enroller): Promise<Registration> {
  let r = pending(ctx, id);
  const person = persons.find(ctx, r.personId);
  const idFile = person ? idPhotoFile(ctx.community, person.photoKey) : null;
  let idTemplate: TemplateIn | null = null;
  if (person && idFile) {
    if (!enroller) throw new ApiProblem(503, 'enroller-unavailable', 'the face pipeline is needed to enrol the identity document photo');
    try {
      idTemplate = await idPhotoTemplate(enroller, idFile, person);
    } catch (e) {
      if (e instanceof EnrolmentDisagreementError) {
        throw new ApiProblem(422, 'photo-disagreement', e.message, e.pairs.map((p) => ({ path: p.b === 'ID photo' ? 'idPhoto' : `photos.${p.b.replace('selfie ', '')}`, message: `${p.a} and ${p.b} do not agree (${p.similarity.toFixed(3)} < ${p.threshold})` })));
      }
      if (e instanceof EnrolmentPhotoError) throw new ApiProblem(422, 'id-photo-quality', `the identity document photo was refused: ${e.reasons.join(', ')}`);
      throw e;
    }
    r = pending(ctx, id); // decided by someone else while the photo was enrolled?
  }
  const given = access.doors !== undefined || access.buildings !== undefined;
  const spec = {
    ...(given ? {} : { buildings: [r.buildingId] }),
    ...Object.fromEntries(Object.entries(access).filter(([, v]) => v !== undefined)),
  };
  const decided = r;
  ctx.community.db.tx(() => {
    const now = persons.find(ctx, decided.personId);
    if (idTemplate && now) {
      ctx.community.db.savePerson({ ...now, templates: [idTemplate, ...now.templates.filter((t) => t.templateId !== idTemplate.templateId)] }, ctx.now);
      ctx.community.db.audit(ctx.actor, 'person.enrol-id-photo', decided.personId, { templates: now.templates.length + 1 }, ctx.now);
    }
    persons.approve(ctx, decided.personId, spec);
    ctx.community.db.db.prepare("UPDATE registrations SET status = 'approved', decided_by = ?, decided_at = ? WHERE id = ?").run(ctx.actor, ctx.now, id);
    ctx.community.db.audit(ctx.actor, 'registration.approve', id, { personId: r.personId }, ctx.now);
  });
  return getRegistration(ctx, id) ?? decided;
}

/** Reject with a reason: the pending person is revoked (templates and photos deleted), the name and masked number erased. */
export function rejectRegistration(ctx: PortContext, id: string, reason: string): Registration {
  const r = pending(ctx, id);
  persons.revoke(ctx, r.personId, `registration rejected: ${reason}`);
  ctx.community.db.tx(() => {
    ctx.community.db.db.prepare("UPDATE registrations SET status = 'rejected', decided_by = ?, decided_at = ?, reason = ?, name = '', id_number_masked = '', photos = '[]' WHERE id = ?").run(ctx.actor, ctx.now, reason, id);
    ctx.community.db.audit(ctx.actor, 'registration.reject', id, { reason }, ctx.now);
  });
  return getRegistration(ctx, id) ?? r;
}
