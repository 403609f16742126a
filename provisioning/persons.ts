/**
 * Residents as the community registers them: a tenant's registration (identity checked by the app)
 * arrives as `pending`; a building manager approves it for doors/buildings with validity dates and
 * hours; only an approved (active) person reaches the terminals, as a signed delta published by the
 * running hub. `addPerson` does both steps at once for staff. Every change is one database
 * transaction (a person is never half-applied) with its audit row.
 *
 * Photos go through the terminal's own pipeline and quality gates (runtime/tools/enrol.ts); a poor
 * photo is refused with its reasons. The photos are kept in the community folder for re-enrolment
 * after a model upgrade, and deleted with the templates when the person is revoked.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { FacePipeline } from '../models/pipeline';
import { TerminalError } from '../core/errors';
import { AuthorisationSchema, type AuthorisationIn, type TemplateIn, type WeeklyWindowIn } from '../runtime/roster/batch';
import { parseId, printable } from '../runtime/protocol/ids';
import { templatesFromPhotos } from '../runtime/tools/enrol';
import { actorOf, type Community } from './community';
import type { PersonKind, PersonRecord, PersonStatus } from './db';
import { newPhotoKey, photoPaths, removePhotos, savePhotos } from './photos';

export class PersonAdminError extends TerminalError {
  readonly code = 'person-admin';
}

/** Anything that turns photos into templates (FacePipeline through templatesFromPhotos; tests may pass their own). */
export interface Enroller {
  templates(photos: readonly string[], idPrefix: string): Promise<TemplateIn[]>;
}

export function pipelineEnroller(pipeline: FacePipeline): Enroller {
  return { templates: (photos, idPrefix) => templatesFromPhotos(pipeline, photos, idPrefix) };
}

/**
 * An Enroller that loads the face pipeline on its first use, so input refused before enrolment (a bad
 * id, a missing photo, a bad date) never waits for the models. `close()` releases it if it was loaded.
 */
export function lazyPipelineEnroller(load: () => Promise<FacePipeline>): Enroller & { close(): Promise<void> } {
  let pipeline: Promise<FacePipeline> | null = null;
  return {
    async templates(photos, idPrefix) {
      pipeline ??= load();
      return templatesFromPhotos(await pipeline, photos, idPrefix);
    },
    async close() {
      if (pipeline) await (await pipeline).close();
    },
  };
}

export interface AccessSpec {
  doors?: string[];
  buildings?: string[];
  /** YYYY-MM-DD (midnight in the community's time zone) or an ISO datetime with offset. */
  from?: string;
  /** YYYY-MM-DD (inclusive: access ends at the following midnight) or an ISO datetime with offset. */
  until?: string;
  /** Weekly windows such as "mon-fri 07:00-22:00", "6,7 09:00-18:00", "07:00-22:00" (every day). */
  hours?: string[];
}

interface Actor {
  actor?: string;
  now?: number;
}

// ---------------------------------------------------------------------------------------------- parsing

const DAY_NAMES: Record<string, number> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };

function dayOf(tok: string): number {
  const n = DAY_NAMES[tok.toLowerCase()] ?? (/^[1-7]$/.test(tok) ? Number(tok) : NaN);
  if (Number.isNaN(n)) throw new PersonAdminError(`"${tok}" is not a day (mon..sun or 1..7)`);
  return n;
}

/** "mon-fri 07:00-22:00" -> { days [1..5], start, end }. */
export function parseHours(spec: string): WeeklyWindowIn {
  const m = /^\s*(?:([A-Za-z0-9,-]+)\s+)?(\d\d:\d\d)-(\d\d:\d\d)\s*$/.exec(spec);
  if (!m) throw new PersonAdminError(`hours "${spec}": expected like "mon-fri 07:00-22:00"`);
  const days = new Set<number>();
  for (const part of (m[1] ?? '1-7').split(',')) {
    const [a, b] = part.split('-');
    if (a === undefined || a === '') throw new PersonAdminError(`hours "${spec}": empty day`);
    const lo = dayOf(a);
    const hi = b === undefined ? lo : dayOf(b);
    for (let d = lo; ; d = (d % 7) + 1) {
      days.add(d);
      if (d === hi) break;
    }
  }
  const w = { days: [...days].sort(), start: m[2] ?? '', end: m[3] ?? '' };
  const r = AuthorisationSchema.shape.windows.unwrap().element.safeParse(w);
  if (!r.success) throw new PersonAdminError(`hours "${spec}": ${r.error.issues.map((i) => i.message).join(', ')}`);
  return r.data;
}

function offsetText(tz: string, at: number): string {
  const part = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' }).formatToParts(at).find((p) => p.type === 'timeZoneName');
  const m = /GMT([+-]\d\d:\d\d)?/.exec(part?.value ?? 'GMT');
  return m?.[1] ?? '+00:00';
}

function offsetMinutes(text: string): number {
  const sign = text.startsWith('-') ? -1 : 1;
  const [h, mm] = text.slice(1).split(':').map(Number);
  return sign * ((h ?? 0) * 60 + (mm ?? 0));
}

/** Local midnight of a calendar date in `tz`, as an ISO datetime with that zone's offset. */
export function zonedMidnight(date: string, tz: string, plusDays = 0): string {
  const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(date);
  if (!m) throw new PersonAdminError(`"${date}" is not a date (YYYY-MM-DD)`);
  // The date itself must exist (2026-02-30 and 2026-13-01 are refused, for --until too), then the day is added.
  if (new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).toISOString().slice(0, 10) !== date) throw new PersonAdminError(`"${date}" is not a valid date`);
  const utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays);
  const check = new Date(utc);
  let off = offsetText(tz, utc);
  off = offsetText(tz, utc - offsetMinutes(off) * 60_000);
  return `${check.toISOString().slice(0, 10)}T00:00:00${off}`;
}

function bound(value: string, tz: string, kind: 'from' | 'until'): string {
  if (/^\d{4}-\d\d-\d\d$/.test(value)) return zonedMidnight(value, tz, kind === 'until' ? 1 : 0);
  const r = AuthorisationSchema.shape.validFrom.unwrap().safeParse(value);
  if (!r.success) throw new PersonAdminError(`--${kind} "${value}": a date (YYYY-MM-DD) or an ISO datetime with offset`);
  return r.data;
}

/** The authorisation for an access spec, validated by the terminal's own schema. */
export function authorisationOf(spec: AccessSpec, tz: string): AuthorisationIn {
  const doors = (spec.doors ?? []).map((d) => parseId('door', d));
  const buildings = (spec.buildings ?? []).map((b) => parseId('building', b));
  if (doors.length === 0 && buildings.length === 0) throw new PersonAdminError('give at least one door or building');
  const a = {
    doorIds: doors,
    buildingIds: buildings,
    ...(spec.from ? { validFrom: bound(spec.from, tz, 'from') } : {}),
    ...(spec.until ? { validUntil: bound(spec.until, tz, 'until') } : {}),
    ...(spec.hours && spec.hours.length > 0 ? { windows: spec.hours.map(parseHours) } : {}),
  };
  if (a.validFrom && a.validUntil && Date.parse(a.validUntil) <= Date.parse(a.validFrom)) throw new PersonAdminError('--until is not after --from');
  const r = AuthorisationSchema.safeParse(a);
  if (!r.success) throw new PersonAdminError(`access: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** Every photo must be a readable file before any enrolment work starts. */
function checkPhotos(photos: readonly string[]): void {
  if (photos.length === 0) throw new PersonAdminError('give at least one --photo');
  if (photos.length > 64) throw new PersonAdminError('at most 64 photos per person');
  for (const p of photos) {
    let ok = false;
    let why = 'not a file';
    try {
      ok = statSync(p).isFile();
    } catch (e) {
      why = (e as NodeJS.ErrnoException).code ?? 'cannot be read';
    }
    if (!ok) throw new PersonAdminError(`photo ${printable(p, 200)} cannot be read (${why})`);
  }
}

/** Absolute paths of a person's stored enrolment photos (for re-enrolment and tests). */
export function storedPhotoPaths(c: Community, p: PersonRecord): string[] {
  return photoPaths(c.paths.photosDir, p.photoKey, p.photos);
}

/** A person by id (the id checked first), or PersonAdminError. */
export function getPerson(c: Community, id: string): PersonRecord {
  const personId = parseId('person', id);
  const p = c.db.person(personId);
  if (!p) throw new PersonAdminError(`no person ${personId}`);
  return p;
}

// ---------------------------------------------------------------------------------------------- commands

export interface RegisterOptions extends Actor {
  id: string;
  photos: string[];
  /**
   * The person declines face enrolment: no photo, no template; a card or PIN (`setCredentials`) is
   * their way in. `photos` must then be empty. A face can be added later with `updatePerson`.
   */
  noFace?: boolean;
  label?: string;
  note?: string;
  kind?: PersonKind;
  tags?: string[];
}

async function enrol(c: Community, enroller: Enroller, o: RegisterOptions, status: PersonStatus, access: AuthorisationIn[], action: string): Promise<PersonRecord> {
  // Every check before any work: a refusal writes nothing.
  const id = parseId('person', o.id);
  const tags = (o.tags ?? []).map((t) => parseId('tag', t));
  const actor = actorOf(o.actor);
  if (o.noFace) {
    if (o.photos.length > 0) throw new PersonAdminError('a person who declines face enrolment gives no --photo');
  } else checkPhotos(o.photos);
  const existing = c.db.person(id);
  if (existing && existing.status !== 'revoked') throw new PersonAdminError(`person ${id} already exists (${existing.status}); use person update`);
  const templates = o.noFace ? [] : await enroller.templates(o.photos, id);
  const now = o.now ?? Date.now();
  const photoKey = newPhotoKey(); // a new folder for a new enrolment, never named after the id
  try {
    const stored = o.noFace ? [] : savePhotos(c.paths.photosDir, photoKey, o.photos, now);
    return c.db.tx(() => {
      const rec = c.db.savePerson(
        { personId: id, kind: o.kind ?? 'resident', status, label: o.label ?? null, note: o.note ?? null, templates, authorisations: access, tags, photoKey, photos: stored },
        now,
      );
      c.db.audit(actor, action, id, { status, photos: o.photos.length, templates: templates.length, face: !o.noFace, access, tags }, now);
      return rec;
    });
  } catch (e) {
    removePhotos(c.paths.photosDir, photoKey);
    throw e;
  }
}

/** A tenant's registration: templates from the photos, waiting for a manager's approval. */
export function registerPerson(c: Community, enroller: Enroller, o: RegisterOptions): Promise<PersonRecord> {
  return enrol(c, enroller, o, 'pending', [], 'person.register');
}

/** Registration and approval in one step (staff). */
export function addPerson(c: Community, enroller: Enroller, o: RegisterOptions & AccessSpec): Promise<PersonRecord> {
  return enrol(c, enroller, o, 'active', [authorisationOf(o, c.config.timeZone)], 'person.add');
}

/** A building manager approves a pending registration for doors/buildings and dates. */
export function approvePerson(c: Community, personId: string, o: AccessSpec & Actor): PersonRecord {
  const p = getPerson(c, personId);
  const id = p.personId;
  const actor = actorOf(o.actor);
  if (p.status !== 'pending') throw new PersonAdminError(`person ${id} is ${p.status}, not pending`);
  const access = authorisationOf(o, c.config.timeZone);
  const now = o.now ?? Date.now();
  return c.db.tx(() => {
    const rec = c.db.savePerson({ ...p, status: 'active', authorisations: [access] }, now);
    c.db.audit(actor, 'person.approve', id, { access }, now);
    return rec;
  });
}

export interface UpdateOptions extends AccessSpec, Actor {
  photos?: string[];
  label?: string;
  tags?: string[];
}

/** Change access (replaces the authorisation when any access option is given), photos, label or tags. */
export async function updatePerson(c: Community, enroller: Enroller | null, personId: string, o: UpdateOptions): Promise<PersonRecord> {
  const p = getPerson(c, personId);
  const id = p.personId;
  const actor = actorOf(o.actor);
  const tags = o.tags?.map((t) => parseId('tag', t));
  if (p.status === 'revoked') throw new PersonAdminError(`person ${id} is revoked; add them again`);
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
    }, c.config.timeZone)];
  }
  let templates = p.templates;
  let photos = p.photos;
  const now = o.now ?? Date.now();
  if (o.photos && o.photos.length > 0) {
    if (!enroller) throw new PersonAdminError('new photos need the face pipeline');
    templates = await enroller.templates(o.photos, `${id}-${now}`);
    // New names never reuse an old one (the old files are deleted after the commit).
    let rev = now;
    while (o.photos.some((_, i) => p.photos.some((n) => n.startsWith(`${rev}-${i + 1}.`)))) rev += 1;
    photos = savePhotos(c.paths.photosDir, p.photoKey, o.photos, rev);
  }
  let rec: PersonRecord;
  try {
    rec = c.db.tx(() => {
      const r = c.db.savePerson({ ...p, authorisations, templates, photos, label: o.label ?? p.label, tags: tags ?? p.tags }, now);
      c.db.audit(actor, 'person.update', id, { access: accessGiven ? authorisations : 'unchanged', photos: o.photos?.length ?? 0, tags: r.tags }, now);
      return r;
    });
  } catch (e) {
    if (photos !== p.photos) removePhotos(c.paths.photosDir, p.photoKey, photos);
    throw e;
  }
  if (photos !== p.photos) removePhotos(c.paths.photosDir, p.photoKey, p.photos);
  return rec;
}

/** Revoke: the terminals get a tombstone; templates and photos are deleted from the hub's store. */
export function revokePerson(c: Community, personId: string, o: Actor & { reason?: string } = {}): PersonRecord {
  const p = getPerson(c, personId);
  const id = p.personId;
  const actor = actorOf(o.actor);
  if (p.status === 'revoked') return p;
  const now = o.now ?? Date.now();
  const rec = c.db.tx(() => {
    const r = c.db.savePerson({ ...p, status: 'revoked', templates: [], photos: [], authorisations: [], tags: [], credentials: undefined }, now);
    c.db.audit(actor, 'person.revoke', id, { reason: o.reason ?? null, deletedPhotos: p.photos.length, deletedTemplates: p.templates.length }, now);
    return r;
  });
  // The person's own folder, by its key: never a path made from the id.
  removePhotos(c.paths.photosDir, p.photoKey);
  return rec;
}

// -------------------------------------------------------------------------------------------- CSV import

export interface ImportRowResult {
  line: number;
  id: string;
  ok: boolean;
  error?: string;
}

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

/**
 * Bulk import: header `id,photos,doors[,buildings,from,until,hours,label]`; lists inside a field are
 * separated by `;`; photo paths are relative to the CSV file. Each row is enrolled and stored on its
 * own (whole or not at all); a bad row is reported and the others go on.
 */
export async function importPersons(
  c: Community,
  enroller: Enroller,
  file: string,
  o: Actor & { onRow?: (r: ImportRowResult, done: number, total: number) => void } = {},
): Promise<ImportRowResult[]> {
  const actor = actorOf(o.actor);
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
  const results: ImportRowResult[] = [];
  for (const [i, cells] of rows.entries()) {
    const get = (col: string): string => (cells[header.indexOf(col)] ?? '').trim();
    const list = (col: string): string[] => get(col).split(';').map((s) => s.trim()).filter(Boolean);
    const id = get('id');
    const r: ImportRowResult = { line: i + 2, id, ok: false };
    try {
      await addPerson(c, enroller, {
        id,
        photos: list('photos').map((p) => (isAbsolute(p) ? p : resolve(base, p))),
        doors: list('doors'),
        buildings: list('buildings'),
        ...(get('from') ? { from: get('from') } : {}),
        ...(get('until') ? { until: get('until') } : {}),
        hours: list('hours'),
        ...(get('label') ? { label: get('label') } : {}),
        actor,
      });
      r.ok = true;
    } catch (e) {
      r.error = e instanceof Error ? e.message : String(e);
    }
    results.push(r);
    o.onRow?.(r, results.length, rows.length);
  }
  return results;
}
