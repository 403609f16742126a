/**
 * Residents and alert subjects on the hub: staff add a person in one step (enrolment and access),
 * operators change access, photos, label or tags, and revoke; a CSV file imports many. Only an active
 * person reaches the terminals, as a signed delta the running hub publishes. Every change is one
 * transaction (a person is never half-applied) with its audit row. Tenants' registrations and their
 * approval are in registrations.ts.
 *
 * Photos are kept in the community folder (photos/<key>/, photos.ts) for re-enrolment after a model
 * upgrade, and deleted with the templates when the person is revoked.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { AuthorisationIn } from '../../runtime/roster/batch';
import { parseId, printable } from '../../runtime/protocol/ids';
import type { Community } from '../community';
import type { PersonKind, PersonRecord, PersonStatus } from '../db';
import { newPhotoKey, photoPaths, removePhotos, savePhotos } from '../photos';
import { authorisationOf, type AccessSpec } from './access';
import { actorOf, ConflictError, enrollerOf, NotFoundError, type AdminContext } from './context';
import { checkPhotos, PersonAdminError } from './enrol';

export interface EnrolInput {
  id: string;
  photos: string[];
  /**
   * The person declines face enrolment: no photo, no template; a card or PIN (credentials.ts) is
   * their way in. `photos` must then be empty. A face can be added later with `updatePerson`.
   */
  noFace?: boolean;
  label?: string;
  note?: string;
  kind?: PersonKind;
  tags?: string[];
}

export interface UpdateInput extends AccessSpec {
  id: string;
  photos?: string[];
  label?: string;
  tags?: string[];
}

export interface ImportRowResult {
  line: number;
  id: string;
  ok: boolean;
  error?: string;
}

/** Absolute paths of a person's stored enrolment photos (for re-enrolment and tests). */
export function storedPhotoPaths(c: Community, p: PersonRecord): string[] {
  return photoPaths(c.paths.photosDir, p.photoKey, p.photos);
}

/** A person by id (the id checked first). */
export function getPerson(ctx: AdminContext, input: { id: string }): PersonRecord {
  const personId = parseId('person', input.id);
  const p = ctx.store.person(personId);
  if (!p) throw new NotFoundError('person', personId);
  return p;
}

export function listPersons(ctx: AdminContext, input: { status?: PersonStatus; kind?: PersonKind; tag?: string } = {}): PersonRecord[] {
  return ctx.store.persons({ ...input, ...(input.tag !== undefined ? { tag: parseId('tag', input.tag) } : {}) });
}

/** Enrols photos as a new person with `status` and `access` (registrations.ts and addPerson). */
export async function enrol(ctx: AdminContext, o: EnrolInput, status: PersonStatus, access: AuthorisationIn[], action: string): Promise<PersonRecord> {
  // Every check before any work: a refusal writes nothing.
  const id = parseId('person', o.id);
  const tags = (o.tags ?? []).map((t) => parseId('tag', t));
  const actor = actorOf(ctx);
  if (o.noFace) {
    if (o.photos.length > 0) throw new PersonAdminError('a person who declines face enrolment gives no --photo');
  } else checkPhotos(o.photos);
  const existing = ctx.store.person(id);
  if (existing && existing.status !== 'revoked') throw new ConflictError(`person ${id} already exists (${existing.status}); use person update`);
  const templates = o.noFace ? [] : await enrollerOf(ctx, 'photos').templates(o.photos, id);
  const now = ctx.clock.now();
  const photosDir = ctx.community.paths.photosDir;
  const photoKey = newPhotoKey(); // a new folder for a new enrolment, never named after the id
  const store = ctx.store;
  try {
    const stored = o.noFace ? [] : savePhotos(photosDir, photoKey, o.photos, now);
    return store.tx(() => {
      const rec = store.savePerson(
        { personId: id, kind: o.kind ?? 'resident', status, label: o.label ?? null, note: o.note ?? null, templates, authorisations: access, tags, photoKey, photos: stored },
        now,
      );
      store.audit(actor, action, id, { status, photos: o.photos.length, templates: templates.length, face: !o.noFace, access, tags }, now);
      return rec;
    });
  } catch (e) {
    removePhotos(photosDir, photoKey);
    throw e;
  }
}

/** Registration and approval in one step (staff). */
export function addPerson(ctx: AdminContext, input: EnrolInput & AccessSpec): Promise<PersonRecord> {
  return enrol(ctx, input, 'active', [authorisationOf(input, ctx.community.config.timeZone)], 'person.add');
}

/** Change access (replaces the authorisation when any access option is given), photos, label or tags. */
export async function updatePerson(ctx: AdminContext, o: UpdateInput): Promise<PersonRecord> {
  const p = getPerson(ctx, o);
  const id = p.personId;
  const actor = actorOf(ctx);
  const tags = o.tags?.map((t) => parseId('tag', t));
  if (p.status === 'revoked') throw new ConflictError(`person ${id} is revoked; add them again`);
  if (o.photos && o.photos.length > 0) checkPhotos(o.photos);
  const accessGiven = o.doors !== undefined || o.buildings !== undefined || o.from !== undefined || o.until !== undefined || o.hours !== undefined;
  let authorisations = p.authorisations;
  if (accessGiven) {
    const cur = p.authorisations[0];
    authorisations = [authorisationOf({
      doors: o.doors ?? cur?.doorIds ?? [],
      buildings: o.buildings ?? cur?.buildingIds ?? [],
      from: o.from ?? cur?.validFrom,
      until: o.until ?? cur?.validUntil,
      hours: o.hours ?? cur?.windows?.map((w) => `${w.days.join(',')} ${w.start}-${w.end}`),
    }, ctx.community.config.timeZone)];
  }
  let templates = p.templates;
  let photos = p.photos;
  const now = ctx.clock.now();
  const photosDir = ctx.community.paths.photosDir;
  if (o.photos && o.photos.length > 0) {
    templates = await enrollerOf(ctx, 'new photos').templates(o.photos, `${id}-${now}`);
    // New names never reuse an old one (the old files are deleted after the commit).
    let rev = now;
    while (o.photos.some((_, i) => p.photos.some((n) => n.startsWith(`${rev}-${i + 1}.`)))) rev += 1;
    photos = savePhotos(photosDir, p.photoKey, o.photos, rev);
  }
  const store = ctx.store;
  let rec: PersonRecord;
  try {
    rec = store.tx(() => {
      const r = store.savePerson({ ...p, authorisations, templates, photos, label: o.label ?? p.label, tags: tags ?? p.tags }, now);
      store.audit(actor, 'person.update', id, { access: accessGiven ? authorisations : 'unchanged', photos: o.photos?.length ?? 0, tags: r.tags }, now);
      return r;
    });
  } catch (e) {
    if (photos !== p.photos) removePhotos(photosDir, p.photoKey, photos);
    throw e;
  }
  if (photos !== p.photos) removePhotos(photosDir, p.photoKey, p.photos);
  return rec;
}

/**
 * Revoke: the terminals get a tombstone; templates, photos, label, note, credentials and the
 * registration's name, room and number are deleted from the hub (the id and the fact stay, recorded as
 * an erasure: erasure.ts). The running hub records the tombstone's version once it is out, and which
 * terminals confirm it. Idempotent.
 */
export function revokePerson(ctx: AdminContext, input: { id: string; reason?: string }): PersonRecord {
  const p = getPerson(ctx, input);
  const id = p.personId;
  const actor = actorOf(ctx);
  if (p.status === 'revoked') return p;
  const now = ctx.clock.now();
  const store = ctx.store;
  const rec = store.tx(() => {
    const r = store.savePerson({ ...p, status: 'revoked', label: null, note: null, templates: [], photos: [], authorisations: [], tags: [], credentials: undefined }, now);
    const scrubbed = store.erasures.scrubOnRevoke(id);
    store.erasures.recordErasure({ personId: id, kind: 'revoke', requestedBy: actor, rev: r.rev }, now);
    store.audit(actor, 'person.revoke', id, { reason: input.reason ?? null, deletedPhotos: p.photos.length, deletedTemplates: p.templates.length, scrubbedRegistrations: scrubbed.registrations }, now);
    return r;
  });
  // The person's own folder, by its key: never a path made from the id.
  removePhotos(ctx.community.paths.photosDir, p.photoKey);
  store.reclaim();
  return rec;
}

// -------------------------------------------------------------------------------------------- CSV import

/** RFC 4180-ish: commas, double quotes, "" inside quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

const CSV_COLUMNS = ['id', 'photos', 'doors', 'buildings', 'from', 'until', 'hours', 'label'] as const;

/** One row of an import file: its line, the id as written, and the person it adds (photo paths resolved). */
export interface ImportRow {
  line: number;
  id: string;
  input: EnrolInput & AccessSpec;
}

/**
 * An import file: header `id,photos,doors[,buildings,from,until,hours,label]`; lists inside a field are
 * separated by `;`; photo paths are relative to the CSV file. The command line reads it and adds each
 * row through the hub's API; `importPersons` adds them here.
 */
export function readImportFile(file: string): ImportRow[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PersonAdminError(`${printable(file, 200)} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const rows = parseCsv(text);
  const header = rows.shift()?.map((h) => h.trim().toLowerCase()) ?? [];
  const unknown = header.filter((h) => !(CSV_COLUMNS as readonly string[]).includes(h));
  if (unknown.length > 0 || !header.includes('id') || !header.includes('photos')) {
    throw new PersonAdminError(`${printable(file, 200)}: header must name columns from ${CSV_COLUMNS.join(',')} including id and photos${unknown.length ? ` (unknown: ${unknown.map((u) => printable(u)).join(', ')})` : ''}`);
  }
  const base = dirname(resolve(file));
  return rows.map((cells, i) => {
    const get = (col: string): string => (cells[header.indexOf(col)] ?? '').trim();
    const list = (col: string): string[] => get(col).split(';').map((s) => s.trim()).filter(Boolean);
    const id = get('id');
    return {
      line: i + 2,
      id,
      input: {
        id,
        photos: list('photos').map((p) => (isAbsolute(p) ? p : resolve(base, p))),
        doors: list('doors'),
        buildings: list('buildings'),
        ...(get('from') ? { from: get('from') } : {}),
        ...(get('until') ? { until: get('until') } : {}),
        hours: list('hours'),
        ...(get('label') ? { label: get('label') } : {}),
      },
    };
  });
}

/** Bulk import (readImportFile): each row is enrolled and stored on its own (whole or not at all); a bad row is reported and the others go on. */
export async function importPersons(
  ctx: AdminContext,
  input: { file: string; onRow?: (r: ImportRowResult, done: number, total: number) => void },
): Promise<ImportRowResult[]> {
  actorOf(ctx);
  const rows = readImportFile(input.file);
  const results: ImportRowResult[] = [];
  for (const row of rows) {
    const r: ImportRowResult = { line: row.line, id: row.id, ok: false };
    try {
      await addPerson(ctx, row.input);
      r.ok = true;
    } catch (e) {
      r.error = e instanceof Error ? e.message : String(e);
    }
    results.push(r);
    input.onRow?.(r, results.length, rows.length);
  }
  return results;
}
