/**
 * Tenant registrations (hub.db `registrations`, migration 6). A registration is what the tenant app
 * sends: name, identity document number, building and room, photos. It is checked (real-name check,
 * then the terminal's own face pipeline and quality gates, one verdict per photo) and stored as a
 * pending person (persons.ts, via admin-port.ts) plus this row; the person id is the registration id.
 * A manager of that building approves it (the person becomes active with the access given, the hub
 * publishes it) or rejects it with a reason (the pending person is revoked: templates and photos deleted).
 * The identity document number is kept masked only (realname.ts). The identity's portrait, when the
 * real-name check gives one, is kept beside the registration (`registrations/<id>.identity.{jpg,png}` in
 * the community folder, 0600) for the manager to compare, and deleted when the registration is decided.
 */
import { existsSync, mkdirSync, mkdtempSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import { z } from 'zod';
import { removeInside } from '../../core/fs';
import { EnrolmentMismatchError, EnrolmentPhotoError } from '../../runtime/tools/enrol';
import { IdSchema } from '../../runtime/protocol/ids';
import { persons, type Enroller, type PortContext } from './admin-port';
import { knownBuildings } from './buildings';
import { ApiProblem } from './problem';
import type { Community } from '../community';
import { maskIdNumber, type IdentityPortrait, type RealNameCheck } from './realname';

export const PhotoInSchema = z.strictObject({
  contentType: z.enum(['image/jpeg', 'image/png']),
  /** base64 of the image file, at most 2 MiB decoded */
  data: z.base64().max(2_800_000),
});

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
  /** Whether the identity's portrait from the real-name check is there to compare (GET .../identity-photo). */
  identityPhoto: z.boolean(),
});
export type Registration = z.infer<typeof RegistrationSchema>;

const PORTRAIT_TYPES = { jpg: 'image/jpeg', png: 'image/png' } as const;

/** The identity portrait kept with registration `id`, if any: its file and type. */
export function identityPhotoOf(c: Community, id: string): { file: string; contentType: IdentityPortrait['contentType'] } | null {
  for (const [ext, contentType] of Object.entries(PORTRAIT_TYPES)) {
    const file = join(c.paths.dir, 'registrations', `${id}.identity.${ext}`);
    if (existsSync(file)) return { file, contentType };
  }
  return null;
}

function keepIdentityPhoto(c: Community, id: string, p: IdentityPortrait): void {
  const dir = join(c.paths.dir, 'registrations');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, `${id}.identity.${p.contentType === 'image/png' ? 'png' : 'jpg'}`), p.data, { mode: 0o600 });
}

function dropIdentityPhoto(c: Community, id: string): void {
  const p = identityPhotoOf(c, id);
  if (p) unlinkSync(p.file);
}

type Row = Record<string, unknown>;

function fromRow(c: Community, r: Row): Registration {
  return RegistrationSchema.parse({
    identityPhoto: identityPhotoOf(c, r['id'] as string) !== null,
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
  const verdict = await realName.check({ name: input.name, idNumber: input.idNumber });
  if (verdict !== 'verified' && verdict !== 'unchecked') {
    throw new ApiProblem(verdict === 'unavailable' ? 503 : 422, 'real-name', verdict === 'unavailable' ? 'the real-name check is unavailable: try again later' : 'the name and identity document number do not match');
  }
  const portrait = verdict === 'verified' && realName.portrait ? await realName.portrait({ name: input.name, idNumber: input.idNumber }) : null;
  const id = `r-${ulid(ctx.now).toLowerCase()}`;
  const dir = mkdtempSync(join(tmpdir(), 'doorway-registration-'));
  try {
    const files = input.photos.map((p, i) => {
      const f = join(dir, `${i + 1}.${p.contentType === 'image/png' ? 'png' : 'jpg'}`);
      writeFileSync(f, Buffer.from(p.data, 'base64'), { mode: 0o600 });
      return f;
    });
    let person;
    try {
      person = await persons.register(ctx, enroller, { id, photos: files });
    } catch (e) {
      if (e instanceof EnrolmentPhotoError) {
        const at = files.findIndex((f) => e.photo.endsWith(f) || e.photo === f);
        throw new ApiProblem(422, 'photo-quality', `photo ${at + 1} was refused: ${e.reasons.join(', ')}`, [{ path: `body.photos.${Math.max(0, at)}`, message: e.reasons.join(', ') }]);
      }
      if (e instanceof EnrolmentMismatchError) {
        throw new ApiProblem(422, 'photo-mismatch', `photos ${e.pair[0]} and ${e.pair[1]} do not show the same person`, [{ path: `body.photos.${e.pair[1] - 1}`, message: 'not the same person as the other photos' }]);
      }
      throw e;
    }
    const photos = person.photos.map((name) => ({ name, verdict: 'passed' as const, reasons: [] as string[] }));
    ctx.community.db.tx(() => {
      ctx.community.db.db.prepare(`INSERT INTO registrations (id, person_id, name, id_number_masked, building_id, room, photos, real_name, status, submitted_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`).run(id, person.personId, input.name, maskIdNumber(input.idNumber), input.buildingId, input.room, JSON.stringify(photos), verdict, ctx.now);
      ctx.community.db.audit(ctx.actor, 'registration.submit', id, { buildingId: input.buildingId, photos: photos.length, realName: verdict }, ctx.now);
    });
    if (portrait) keepIdentityPhoto(ctx.community, id, portrait);
    const r = getRegistration(ctx, id);
    if (!r) throw new ApiProblem(500, 'internal', 'registration not stored');
    return r;
  } finally {
    removeInside(tmpdir(), dir);
  }
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

/** Approve with access (default: the building registered for); the person becomes active. */
export function approveRegistration(ctx: PortContext, id: string, access: AccessIn): Registration {
  const r = pending(ctx, id);
  const given = access.doors !== undefined || access.buildings !== undefined;
  const spec = {
    ...(given ? {} : { buildings: [r.buildingId] }),
    ...Object.fromEntries(Object.entries(access).filter(([, v]) => v !== undefined)),
  };
  ctx.community.db.tx(() => {
    persons.approve(ctx, r.personId, spec);
    ctx.community.db.db.prepare("UPDATE registrations SET status = 'approved', decided_by = ?, decided_at = ? WHERE id = ?").run(ctx.actor, ctx.now, id);
    ctx.community.db.audit(ctx.actor, 'registration.approve', id, { personId: r.personId }, ctx.now);
  });
  dropIdentityPhoto(ctx.community, id);
  return getRegistration(ctx, id) ?? r;
}

/** Reject with a reason: the pending person is revoked (templates and photos deleted), the name and masked number erased. */
export function rejectRegistration(ctx: PortContext, id: string, reason: string): Registration {
  const r = pending(ctx, id);
  persons.revoke(ctx, r.personId, `registration rejected: ${reason}`);
  ctx.community.db.tx(() => {
    ctx.community.db.db.prepare("UPDATE registrations SET status = 'rejected', decided_by = ?, decided_at = ?, reason = ?, name = '', id_number_masked = '', photos = '[]' WHERE id = ?").run(ctx.actor, ctx.now, reason, id);
    ctx.community.db.audit(ctx.actor, 'registration.reject', id, { reason }, ctx.now);
  });
  dropIdentityPhoto(ctx.community, id);
  return getRegistration(ctx, id) ?? r;
}
