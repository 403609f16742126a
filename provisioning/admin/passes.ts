/**
 * Visitor and courier passes, issued and revoked by staff (`issuePass(ctx, input)`; the hub's signing
 * key, unlocked with the context's passphrase), recorded and audited in the store. The host's label stays in hub.db:
 * the QR code carries no name, no flat number, nothing personal (runtime/protocol/pass.ts).
 * A revocation reaches the doors with the next roster version the hub publishes.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { TerminalError } from '../../core/errors';
import { parseId } from '../../runtime/protocol/ids';
import { encodePass, MAX_SCOPE_ENTRIES, PassIdSchema } from '../../runtime/protocol/pass';
import type { PassRecord } from '../db';
import { qrMatrix, qrPng, qrSvg } from '../qr';
import { actorOf, NotFoundError, passphraseOf, type AdminContext } from './context';

export class PassAdminError extends TerminalError {
  readonly code = 'pass-admin';
}

export interface IssuePassInput {
  doors: string[];
  buildings?: string[];
  /** Default: now. */
  notBefore?: number;
  /** How long from notBefore (default 2 h; at most 30 days). */
  validForMs?: number;
  /** 1..255; 0 = any number within the window (default 1). */
  uses?: number;
  /** For the host and the security office; kept in hub.db only. */
  label?: string;
}

export interface IssuedPass {
  record: PassRecord;
  /** What the QR code holds. */
  text: string;
  /** QR version and modules per side (error correction M). */
  qr: { version: number; size: number };
}

export const MAX_VALID_FOR_MS = 30 * 24 * 3600_000;

export function issuePass(ctx: AdminContext, o: IssuePassInput): IssuedPass {
  const store = ctx.store;
  const actor = actorOf(ctx);
  const now = ctx.clock.now();
  const doors = [...new Set(o.doors.map((d) => parseId('door', d)))];
  const buildings = [...new Set((o.buildings ?? []).map((b) => parseId('building', b)))];
  if (doors.length + buildings.length === 0) throw new PassAdminError('a pass needs at least one door or building');
  if (doors.length + buildings.length > MAX_SCOPE_ENTRIES) throw new PassAdminError(`a pass names at most ${MAX_SCOPE_ENTRIES} doors and buildings`);
  const known = new Set(store.terminals().filter((t) => t.status === 'active').flatMap((t) => [`door:${t.doorId}`, `building:${t.buildingId}`]));
  const unknown = [...doors.filter((d) => !known.has(`door:${d}`)), ...buildings.filter((b) => !known.has(`building:${b}`))];
  if (unknown.length > 0) throw new PassAdminError(`no active terminal serves ${unknown.join(', ')}`);
  const validFor = o.validForMs ?? 2 * 3600_000;
  if (!(validFor >= 60_000 && validFor <= MAX_VALID_FOR_MS)) throw new PassAdminError('validity must be between 1 minute and 30 days');
  const uses = o.uses ?? 1;
  if (!Number.isInteger(uses) || uses < 0 || uses > 255) throw new PassAdminError('uses must be 0 (any) to 255');
  // Whole seconds, as the payload carries them.
  const notBefore = Math.floor((o.notBefore ?? now) / 1000) * 1000;
  const notAfter = notBefore + Math.ceil(validFor / 1000) * 1000;
  const passId = randomBytes(8).toString('hex');
  const text = encodePass({ passId, notBefore, notAfter, uses, doors, buildings }, ctx.community.signingKey(passphraseOf(ctx)));
  const record: Omit<PassRecord, 'revokedAt' | 'revokedBy' | 'used'> = { passId, doors, buildings, notBefore, notAfter, uses, label: o.label ?? null, issuedBy: actor, issuedAt: now };
  store.tx(() => {
    store.addPass(record);
    // The label is not audited (it names the host); the pass id leads to it in hub.db.
    store.audit(actor, 'pass.issue', passId, { doors, buildings, notBefore, notAfter, uses }, now);
  });
  const m = qrMatrix(text);
  return { record: { ...record, revokedAt: null, revokedBy: null, used: 0 }, text, qr: { version: m.version, size: m.size } };
}

/**
 * A resident issues a pass for their visitor: only for doors and buildings the resident may open now
 * (a door named in one of their current authorisations, or served by a terminal of a building named in
 * one), and the pass ends no later than that authorisation (a tenant moving out cannot leave a month's
 * pass behind). The resident is the actor in the audit log. This is the one library call the hub API
 * (issue 15: provisioning/api/) is to call when a resident asks for a pass; staff use `issuePass`.
 */
export function issuePassAsResident(ctx: AdminContext, input: IssuePassInput & { personId: string }): IssuedPass {
  const { personId, ...o } = input;
  const id = parseId('person', personId);
  const person = ctx.store.person(id);
  if (!person || person.kind !== 'resident' || person.status !== 'active') throw new PassAdminError(`${id} is not an active resident`);
  const now = ctx.clock.now();
  const notBefore = o.notBefore ?? now;
  const notAfter = notBefore + (o.validForMs ?? 2 * 3600_000);
  const current = person.authorisations.filter((a) => (a.validFrom === undefined || Date.parse(a.validFrom) <= notBefore) && (a.validUntil === undefined || notBefore < Date.parse(a.validUntil)));
  const buildingOf = new Map(ctx.store.terminals().filter((t) => t.status === 'active').map((t) => [t.doorId, t.buildingId]));
  // Until when the resident may open `door` or `building` (null: not at all), from their current authorisations.
  const until = (covers: (a: (typeof current)[number]) => boolean): number | null => {
    const ends = current.filter(covers).map((a) => (a.validUntil === undefined ? Infinity : Date.parse(a.validUntil)));
    return ends.length === 0 ? null : Math.max(...ends);
  };
  const refused: string[] = [];
  let limit = Infinity;
  for (const d of o.doors) {
    const door = parseId('door', d);
    const building = buildingOf.get(door);
    const end = until((a) => a.doorIds.includes(door) || (building !== undefined && a.buildingIds.includes(building)));
    if (end === null) refused.push(door);
    else limit = Math.min(limit, end);
  }
  for (const b of o.buildings ?? []) {
    const building = parseId('building', b);
    const end = until((a) => a.buildingIds.includes(building));
    if (end === null) refused.push(`building ${building}`);
    else limit = Math.min(limit, end);
  }
  if (refused.length > 0) throw new PassAdminError(`${id} may not open ${refused.join(', ')} now, so cannot issue a pass for it`);
  if (notAfter > limit) throw new PassAdminError(`the pass would outlast ${id}'s own access (until ${new Date(limit).toISOString()})`);
  return issuePass({ ...ctx, actor: id }, o);
}

/** Writes the QR code as PNG or SVG (by the file's extension). */
export async function writePassImage(input: { text: string; file: string }): Promise<void> {
  const { text, file } = input;
  const m = qrMatrix(text);
  if (file.toLowerCase().endsWith('.svg')) writeFileSync(file, qrSvg(m));
  else if (file.toLowerCase().endsWith('.png')) writeFileSync(file, await qrPng(m));
  else throw new PassAdminError(`${file}: write a .png or an .svg`);
}

/** A pass by id (the id checked first). */
export function getPass(ctx: AdminContext, input: { id: string }): PassRecord {
  if (!PassIdSchema.safeParse(input.id).success) throw new PassAdminError('a pass id is 16 hex digits');
  const p = ctx.store.pass(input.id);
  if (!p) throw new NotFoundError('pass', input.id);
  return p;
}

/** Every pass issued, oldest first, with its uses per terminal. */
export function listPasses(ctx: AdminContext): Array<PassRecord & { usedBy: Record<string, number> }> {
  return ctx.store.passes().map((p) => ({ ...p, usedBy: ctx.store.passUses(p.passId) }));
}

/** Revoke a pass: the doors hear of it with the next roster version the hub publishes. Idempotent. */
export function revokePass(ctx: AdminContext, input: { id: string }): PassRecord {
  const p = getPass(ctx, input);
  const passId = p.passId;
  if (p.revokedAt !== null) return p;
  const now = ctx.clock.now();
  const actor = actorOf(ctx);
  const store = ctx.store;
  store.tx(() => {
    store.revokePass(passId, actor, now);
    store.audit(actor, 'pass.revoke', passId, { notAfter: p.notAfter }, now);
  });
  return store.pass(passId) ?? p;
}
