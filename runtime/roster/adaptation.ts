/**
 * Template adaptation (issue 17): a resident's template set grows with confident door captures, so the
 * door learns ageing, new glasses and its own light. Pure policy plus a small in-memory set of adapted
 * templates per person; the terminal's matcher indexes them next to the enrolled ones.
 *
 * Which captures qualify (considerAdaptation): a face grant (never a denial, an alerting passage or a
 * pass, PIN, card or remote opening), judged live, with enough usable frames that agree with each other,
 * a match score well above the door's threshold, a wide margin over the runner-up person, and not already
 * held (a capture that close to a template adds nothing). At most `maxPerPerson` adapted templates per
 * person: a new one replaces the OLDEST adapted one; enrolled templates are never replaced. An operator
 * can reset a person's adapted templates (or all of them).
 *
 * Poisoning (a look-alike slowly drifting a template towards himself), three guards:
 * 1. anchor: a capture is adapted only if the ENROLLED templates alone score it at least
 *    `minEnrolledScore`, so no chain of adapted templates can walk away from the enrolment;
 * 2. rate: at most one adaptation per person per `minIntervalMs`, so a drift needs many visits;
 * 3. floor at match time (guardedScore): a person's score through an adapted template counts only when
 *    the enrolled templates give the same face at least `enrolledFloor`; otherwise the enrolled score is
 *    the person's score. The anchor alone does not stop a gradual morph: a capture halfway between the
 *    resident and the look-alike can pass the anchor and still score 0.9+ against the look-alike
 *    (measured by `npm run eval:adaptation`); the floor refuses the look-alike whose own face is far
 *    from the enrolment. What remains: a look-alike who already scores at least the floor against the
 *    enrolment, and who can show the door faces drifting towards his own over many visits.
 */
import { z } from 'zod';
import type { Decision } from '../decision/policy';

export const AdaptationPolicySchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Adapted templates kept per person (the enrolled ones are extra and never replaced). */
  maxPerPerson: z.number().int().min(0).max(16).default(3),
  /** Usable (quality-passed) frames the passage must have. */
  minFrames: z.number().int().min(1).max(100).default(3),
  /** The passage's match score (median over its frames, runtime/decision/policy.ts) must reach this. */
  minScore: z.number().min(0).max(1).default(0.65),
  /** ... and lead the runner-up person by this. */
  minMargin: z.number().min(0).max(1).default(0.2),
  /** Every usable frame must agree with the capture (their mean) at least this much: one face only. */
  minFrameAgreement: z.number().min(0).max(1).default(0.8),
  /** Anchor: the enrolled templates alone must score the capture at least this. */
  minEnrolledScore: z.number().min(-1).max(1).default(0.5),
  /** A capture that scores this or more against a template already held is not added. */
  maxRedundancy: z.number().min(0).max(1).default(0.95),
  /** At most one adaptation per person per this long (6 h by default). */
  minIntervalMs: z.number().int().min(0).default(6 * 3600 * 1000),
  /**
   * Match time: an adapted template counts only when the enrolled templates score the face this much.
   * Above every impostor pair measured (0.356, `npm run eval:faces`), 0.10 below the match threshold: a
   * resident whose enrolment has aged down to 0.40 is still helped by his adapted templates.
   */
  enrolledFloor: z.number().min(-1).max(1).default(0.4),
});
export type AdaptationPolicy = z.infer<typeof AdaptationPolicySchema>;
export const DEFAULT_ADAPTATION: AdaptationPolicy = AdaptationPolicySchema.parse({});

export interface AdaptedTemplate {
  templateId: string;
  /** L2-normalised. */
  embedding: Float32Array;
  /** When it was learnt (epoch ms). */
  addedAt: number;
}

/** What the policy needs of a person: the enrolled templates (from the hub) and the adapted ones. */
export interface PersonTemplateSet {
  enrolled: readonly Float32Array[];
  adapted: readonly AdaptedTemplate[];
  /** When this person was last adapted (null: never). */
  lastAdaptedAt: number | null;
}

/** One decided passage, as the door loop saw it. */
export interface Passage {
  at: number;
  /** How the door was asked to open: only a face passage can adapt. */
  credential: 'face' | 'pin' | 'card' | 'qr' | 'remote';
  decision: Decision;
  liveness: 'live' | 'not-live' | 'pending';
  /** Embeddings of the passage's usable frames (quality passed), in order. */
  frames: readonly Float32Array[];
}

export type AdaptationSkipReason =
  | 'disabled'
  | 'not-face'
  | 'not-granted'
  | 'alert'
  | 'not-live'
  | 'too-few-frames'
  | 'frames-disagree'
  | 'low-score'
  | 'low-margin'
  | 'far-from-enrolment'
  | 'redundant'
  | 'too-soon';

export type AdaptationOutcome =
  | { readonly kind: 'skip'; readonly reason: AdaptationSkipReason }
  | {
      readonly kind: 'adapt';
      readonly personId: string;
      /** The capture: the L2-normalised mean of the passage's usable frames. */
      readonly embedding: Float32Array;
      /** The adapted template it replaces (the oldest), or null when there is room. */
      readonly replaces: string | null;
      /** Best score of the capture against the enrolled templates (the anchor). */
      readonly enrolledScore: number;
    };

/** Decides whether a passage teaches the person's template set something, and what it replaces. */
export function considerAdaptation(p: Passage, set: PersonTemplateSet, policy: AdaptationPolicy = DEFAULT_ADAPTATION): AdaptationOutcome {
  const skip = (reason: AdaptationSkipReason): AdaptationOutcome => ({ kind: 'skip', reason });
  if (!policy.enabled || policy.maxPerPerson === 0) return skip('disabled');
  if (p.credential !== 'face') return skip('not-face');
  const d = p.decision;
  if (d.kind !== 'grant') return skip('not-granted');
  if (d.alerts.length > 0) return skip('alert');
  if (p.liveness !== 'live') return skip('not-live');
  if (p.frames.length < policy.minFrames) return skip('too-few-frames');
  const capture = meanDirection(p.frames);
  if (capture === null || p.frames.some((f) => dot(f, capture) / norm(f) < policy.minFrameAgreement)) return skip('frames-disagree');
  if (!(d.match.score >= policy.minScore)) return skip('low-score');
  if (!(d.match.margin >= policy.minMargin)) return skip('low-margin');
  const enrolledScore = bestScore(capture, set.enrolled);
  if (!(enrolledScore >= policy.minEnrolledScore)) return skip('far-from-enrolment');
  if (Math.max(enrolledScore, bestScore(capture, set.adapted.map((a) => a.embedding))) >= policy.maxRedundancy) return skip('redundant');
  if (set.lastAdaptedAt !== null && p.at - set.lastAdaptedAt < policy.minIntervalMs) return skip('too-soon');
  let replaces: string | null = null;
  if (set.adapted.length >= policy.maxPerPerson) {
    const oldest = [...set.adapted].sort((a, b) => a.addedAt - b.addedAt || (a.templateId < b.templateId ? -1 : 1))[0];
    replaces = oldest?.templateId ?? null;
  }
  return { kind: 'adapt', personId: d.personId, embedding: capture, replaces, enrolledScore };
}

/**
 * A person's score for a face with the match-time floor: the best template score, but an adapted
 * template's score counts only when the enrolled templates score the face at least `enrolledFloor`.
 */
export function guardedScore(face: Float32Array, set: Pick<PersonTemplateSet, 'enrolled' | 'adapted'>, policy: AdaptationPolicy = DEFAULT_ADAPTATION): number {
  const enrolled = bestScore(face, set.enrolled);
  if (set.adapted.length === 0 || !(enrolled >= policy.enrolledFloor)) return enrolled;
  return Math.max(enrolled, bestScore(face, set.adapted.map((a) => a.embedding)));
}

/**
 * The adapted templates a terminal holds, per person, in memory. Template ids are
 * `adapted:<personId>:<n>`, unique for the life of the instance. Reset by an operator (one person or
 * all), and whenever the person's enrolment changes (the anchor moved).
 */
export class AdaptedTemplates {
  private readonly byPerson = new Map<string, { adapted: AdaptedTemplate[]; lastAdaptedAt: number | null }>();
  private seq = 0;

  constructor(private readonly policy: AdaptationPolicy = DEFAULT_ADAPTATION) {}

  /** The person's adapted templates, oldest first. */
  of(personId: string): readonly AdaptedTemplate[] {
    return this.byPerson.get(personId)?.adapted ?? [];
  }

  lastAdaptedAt(personId: string): number | null {
    return this.byPerson.get(personId)?.lastAdaptedAt ?? null;
  }

  persons(): string[] {
    return [...this.byPerson.keys()].sort();
  }

  /**
   * Considers a passage with the person's enrolled templates; on 'adapt', stores the capture (replacing
   * the oldest adapted template when full) and returns the outcome with the new template.
   */
  learn(p: Passage, enrolled: readonly Float32Array[]): { outcome: AdaptationOutcome; added: AdaptedTemplate | null } {
    const personId = p.decision.kind === 'grant' ? p.decision.personId : null;
    const cur = personId === null ? undefined : this.byPerson.get(personId);
    const outcome = considerAdaptation(p, { enrolled, adapted: cur?.adapted ?? [], lastAdaptedAt: cur?.lastAdaptedAt ?? null }, this.policy);
    if (outcome.kind !== 'adapt') return { outcome, added: null };
    const entry = cur ?? { adapted: [], lastAdaptedAt: null };
    const added: AdaptedTemplate = { templateId: `adapted:${outcome.personId}:${++this.seq}`, embedding: outcome.embedding, addedAt: p.at };
    entry.adapted = entry.adapted.filter((a) => a.templateId !== outcome.replaces);
    entry.adapted.push(added);
    entry.lastAdaptedAt = p.at;
    this.byPerson.set(outcome.personId, entry);
    return { outcome, added };
  }

  /**
   * Takes the person's adapted templates as the hub distributed them (the roster): they count towards
   * the bound and the interval like those learnt here. Replaces what was held for the person.
   */
  adopt(personId: string, templates: readonly AdaptedTemplate[]): void {
    if (templates.length === 0) {
      this.byPerson.delete(personId);
      return;
    }
    const adapted = [...templates].sort((a, b) => a.addedAt - b.addedAt);
    this.byPerson.set(personId, { adapted, lastAdaptedAt: Math.max(...adapted.map((a) => a.addedAt)) });
  }

  /** Operator reset (or re-enrolment, or revocation): the person's adapted templates are forgotten. */
  reset(personId: string): readonly AdaptedTemplate[] {
    const gone = this.of(personId);
    this.byPerson.delete(personId);
    return gone;
  }

  resetAll(): void {
    this.byPerson.clear();
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function norm(a: Float32Array): number {
  return Math.sqrt(dot(a, a));
}

/** Best cosine of `face` against `templates` (-Infinity when there are none); the anchor's measure, hub and terminal. */
export function bestScore(face: Float32Array, templates: readonly Float32Array[]): number {
  const nf = norm(face);
  let b = -Infinity;
  for (const t of templates) {
    const nt = norm(t);
    if (nf > 0 && nt > 0) b = Math.max(b, dot(face, t) / (nf * nt));
  }
  return b;
}

/** L2-normalised mean of the L2-normalised frames; null when it has no direction. */
function meanDirection(frames: readonly Float32Array[]): Float32Array | null {
  const dim = frames[0]?.length ?? 0;
  const m = new Float32Array(dim);
  for (const f of frames) {
    const n = norm(f);
    if (!(n > 0) || f.length !== dim) return null;
    for (let i = 0; i < dim; i++) m[i] = (m[i] as number) + (f[i] as number) / n;
  }
  const n = norm(m);
  if (!(n > 0)) return null;
  for (let i = 0; i < dim; i++) m[i] = (m[i] as number) / n;
  return m;
}
