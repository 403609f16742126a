/**
 * The door's decision as one pure function: the same input always gives the same answer, nothing is
 * read from the clock, the network or a file. Plain TypeScript types (the inputs come from our own
 * components, already parsed). Anything unexpected throws; the caller keeps the door locked.
 */

/** A weekly window in the door's local time; days are ISO weekdays (1 = Monday .. 7 = Sunday). */
export interface WeeklyWindow {
  readonly days: readonly number[];
  /** HH:MM, inclusive. */
  readonly start: string;
  /** HH:MM (24:00 allowed), exclusive; at or before `start` means the window crosses midnight. */
  readonly end: string;
}

export interface Authorisation {
  readonly doorIds: readonly string[];
  readonly buildingIds: readonly string[];
  /** Epoch ms, inclusive. */
  readonly validFrom?: number;
  /** Epoch ms, exclusive. */
  readonly validUntil?: number;
  /** Absent: at any time. Present (even empty): only inside one of them. */
  readonly windows?: readonly WeeklyWindow[];
}

export interface PersonFacts {
  readonly personId: string;
  readonly status: 'active' | 'revoked';
  readonly authorisations: readonly Authorisation[];
  readonly tags: readonly string[];
}

export interface Door {
  readonly doorId: string;
  readonly buildingId: string;
  /** IANA zone the door's weekly windows are read in, e.g. Asia/Shanghai. */
  readonly timeZone: string;
}

/** One frame of the tracked face: its quality and the matcher's best score per person. */
export interface FrameMatch {
  /** 0..1 from the face pipeline's quality gates. */
  readonly quality: number;
  /** Best cosine per person (the matcher's per-person top-k); order does not matter. */
  readonly matches: readonly { readonly personId: string; readonly score: number }[];
}

export interface Thresholds {
  /** Median cosine over the usable frames must be >= this (set by the face pipeline, ~0.4-0.5). */
  readonly match: number;
  /** Best person's median must beat every other person's median by >= this (look-alikes, twins). */
  readonly margin: number;
  /** Usable frames (quality >= minQuality) needed before deciding. */
  readonly minFrames: number;
  readonly minQuality: number;
  /** Liveness score (0..1, aggregated over the track by the caller) must be >= this. */
  readonly liveness: number;
}

export interface DecisionInput {
  readonly now: number;
  readonly door: Door;
  readonly frames: readonly FrameMatch[];
  readonly liveness: { readonly score: number };
  /** Facts of the persons named in `frames` (see candidatePersonIds); a missing one is unknown. */
  readonly persons: ReadonlyMap<string, PersonFacts>;
  readonly thresholds: Thresholds;
}

export type DenyReason =
  | 'unknown'
  | 'not-live'
  | 'poor-quality'
  | 'not-authorised-here'
  | 'outside-hours'
  | 'expired'
  | 'revoked'
  | 'ambiguous';

export interface Alert {
  readonly tag: string;
  readonly personId: string;
}

export interface Identification {
  readonly personId: string;
  /** Median score of the best person over the usable frames. */
  readonly score: number;
  /** Best minus the next person's median (score itself when nobody else was seen). */
  readonly margin: number;
}

export type Decision =
  | { readonly kind: 'grant'; readonly personId: string; readonly reason: 'authorised'; readonly match: Identification; readonly alerts: readonly Alert[] }
  | { readonly kind: 'deny'; readonly reason: DenyReason; readonly match?: Identification; readonly alerts: readonly Alert[] };

/** Person ids the caller must look up for `frames`. */
export function candidatePersonIds(frames: readonly FrameMatch[]): string[] {
  const ids = new Set<string>();
  for (const f of frames) for (const m of f.matches) ids.add(m.personId);
  return [...ids].sort();
}

/**
 * Order of the checks: quality, then identity (alerts are raised as soon as a tagged person is
 * identified, whatever follows), liveness, unknown/ambiguous, revoked, place, validity, hours.
 * A person whose only authorisations for this door are not yet valid is `not-authorised-here`;
 * `expired` is for authorisations whose end has passed.
 */
export function decide(input: DecisionInput): Decision {
  const t = input.thresholds;
  const usable = input.frames.filter((f) => f.quality >= t.minQuality);
  if (usable.length === 0 || usable.length < t.minFrames) return deny('poor-quality', []);

  const ident = identify(usable);
  const best = ident === null ? undefined : input.persons.get(ident.personId);
  const confident = ident !== null && ident.score >= t.match && ident.margin >= t.margin;
  const alerts: Alert[] =
    confident && best !== undefined && best.status === 'active'
      ? [...new Set(best.tags)].sort().map((tag) => ({ tag, personId: best.personId }))
      : [];

  if (!(input.liveness.score >= t.liveness)) return deny('not-live', alerts, ident);
  if (ident === null || ident.score < t.match || best === undefined) return deny('unknown', alerts, ident);
  if (ident.margin < t.margin) return deny('ambiguous', alerts, ident);

  const refused = authorisationRefusal(best, input.door, input.now);
  if (refused !== null) return deny(refused, alerts, ident);
  return { kind: 'grant', personId: best.personId, reason: 'authorised', match: ident, alerts };
}

/**
 * Whether an identified person may pass this door now, whatever identified them (a face, a card, a
 * PIN): null if so, else why not (revoked, place, validity, hours in the door's time zone).
 */
export function authorisationRefusal(person: PersonFacts, door: Door, now: number): 'revoked' | 'not-authorised-here' | 'expired' | 'outside-hours' | null {
  if (person.status === 'revoked') return 'revoked';
  const here = person.authorisations.filter((a) => a.doorIds.includes(door.doorId) || a.buildingIds.includes(door.buildingId));
  if (here.length === 0) return 'not-authorised-here';
  const started = here.filter((a) => a.validFrom === undefined || now >= a.validFrom);
  if (started.length === 0) return 'not-authorised-here';
  const current = started.filter((a) => a.validUntil === undefined || now < a.validUntil);
  if (current.length === 0) return 'expired';
  const local = localWeekTime(now, door.timeZone);
  if (!current.some((a) => a.windows === undefined || a.windows.some((w) => inWindow(w, local)))) return 'outside-hours';
  return null;
}

function deny(reason: DenyReason, alerts: readonly Alert[], match?: Identification | null): Decision {
  return match ? { kind: 'deny', reason, match, alerts } : { kind: 'deny', reason, alerts };
}

/**
 * Median score per person over the usable frames (a frame where the person is absent counts 0), the
 * best person, and its margin over the runner-up. The median keeps one odd frame from swinging the
 * result and is exact at the boundaries (equal scores give exactly that score).
 */
export function identify(frames: readonly FrameMatch[]): Identification | null {
  const perPerson = new Map<string, number[]>();
  frames.forEach((f, i) => {
    for (const m of f.matches) {
      if (!Number.isFinite(m.score)) throw new RangeError('match score is not a finite number');
      let arr = perPerson.get(m.personId);
      if (!arr) perPerson.set(m.personId, (arr = new Array<number>(frames.length).fill(0)));
      arr[i] = Math.max(arr[i] === 0 ? -Infinity : (arr[i] ?? 0), m.score);
    }
  });
  let bestId: string | undefined;
  let best = -Infinity;
  let second = -Infinity;
  for (const [id, scores] of [...perPerson].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const med = median(scores);
    if (med > best) {
      second = best;
      best = med;
      bestId = id;
    } else if (med > second) {
      second = med;
    }
  }
  if (bestId === undefined) return null;
  return { personId: bestId, score: best, margin: second === -Infinity ? best : best - second };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export interface LocalWeekTime {
  /** ISO weekday, 1 = Monday .. 7 = Sunday. */
  readonly weekday: number;
  /** Seconds since local midnight. */
  readonly second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** Weekday and time of day of `epochMs` on the wall clock of `timeZone` (DST included). */
export function localWeekTime(epochMs: number, timeZone: string): LocalWeekTime {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  let weekday = 0;
  let h = 0;
  let m = 0;
  let s = 0;
  for (const p of f.formatToParts(new Date(epochMs))) {
    if (p.type === 'weekday') weekday = WEEKDAYS[p.value] ?? 0;
    else if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') m = Number(p.value);
    else if (p.type === 'second') s = Number(p.value);
  }
  if (weekday === 0) throw new RangeError(`cannot read the weekday in time zone ${timeZone}`);
  return { weekday, second: h * 3600 + m * 60 + s };
}

function hhmm(s: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(s);
  if (!match) throw new RangeError(`time ${s} is not HH:MM`);
  return (Number(match[1]) * 60 + Number(match[2])) * 60;
}

export function inWindow(w: WeeklyWindow, t: LocalWeekTime): boolean {
  const start = hhmm(w.start);
  const end = hhmm(w.end);
  const prevDay = t.weekday === 1 ? 7 : t.weekday - 1;
  if (end > start) return w.days.includes(t.weekday) && t.second >= start && t.second < end;
  return (w.days.includes(t.weekday) && t.second >= start) || (w.days.includes(prevDay) && t.second < end);
}
