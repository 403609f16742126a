/**
 * A person's access as an operator gives it (doors, buildings, dates in the community's time zone,
 * weekly hours) turned into the terminal's own authorisation, validated by the terminal's schema.
 */
import { AuthorisationSchema, type AuthorisationIn, type WeeklyWindowIn } from '../../runtime/roster/batch';
import { parseId } from '../../runtime/protocol/ids';
import { PersonAdminError } from './enrol';

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

