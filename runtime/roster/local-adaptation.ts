/**
 * Template adaptation on one terminal: learns from the door loop's decided passages
 * (runtime/roster/adaptation.ts decides), indexes the adapted templates in the matcher next to the
 * enrolled ones, and applies the match-time floor to the matcher's results.
 *
 * A template learnt here is handed to `onLearnt` (the terminal seals it to the hub,
 * runtime/sync/template-uplink.ts) and held in memory until the hub's roster brings the person back:
 * the hub checks it against the enrolment, keeps at most the bound per person and publishes it, marked
 * adapted, to every door. Adapted templates from the roster (named `adapted:...`, runtime/roster/batch.ts)
 * are stored in the encrypted roster like enrolled ones, so they survive a restart; they count towards
 * the bound and the interval, are never taken for enrolled templates (the anchor and the floor use the
 * enrolled ones only), and get the same floor at match time. Templates learnt here and not yet back
 * from the hub are forgotten when the person's roster entry changes (re-enrolment, revocation, the
 * hub's republication), and all of them when the roster is replaced or wiped, and by an operator's
 * reset (`reset`, `resetAll`: the hub's `adaptation.reset` command).
 */
import { decodeTime } from 'ulid';
import type { Logger } from '../../core/log';
import { type AdaptationPolicy, type AdaptedTemplate, AdaptedTemplates, DEFAULT_ADAPTATION, guardedScore, type Passage } from './adaptation';
import { isAdaptedTemplateId } from './batch';
import type { Matcher, MatchResult } from './matcher';
import type { RosterChange, RosterStore } from './store';

/** A template learnt at this door, for the hub. */
export interface LearntTemplate {
  personId: string;
  modelId: string;
  /** L2-normalised. */
  embedding: Float32Array;
  at: number;
}

export class LocalAdaptation {
  private readonly adapted: AdaptedTemplates;
  private readonly log: Logger;
  private unsubscribe: (() => void) | undefined;
  /** Persons whose adapted templates from the roster are held in `adapted` (read once per roster change). */
  private readonly seeded = new Set<string>();
  private learnt: ((t: LearntTemplate) => void) | null = null;

  constructor(
    private readonly store: RosterStore,
    private readonly matcher: Matcher,
    logger: Logger,
    private readonly policy: AdaptationPolicy = DEFAULT_ADAPTATION,
  ) {
    this.adapted = new AdaptedTemplates(policy);
    this.log = logger.child({ module: 'adaptation' });
  }

  /** Follows the roster: call once the matcher follows it (the matcher reloads a changed person first). */
  start(): void {
    this.unsubscribe ??= this.store.onChange((c) => this.onRosterChange(c));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Where each template learnt here goes (the hub uplink); one listener. */
  onLearnt(f: ((t: LearntTemplate) => void) | null): void {
    this.learnt = f;
  }

  /** Adapted templates learnt here and not yet back from the hub, all persons. */
  get size(): number {
    return this.adapted.persons().reduce((n, p) => n + this.adapted.of(p).filter((a) => !this.fromRoster(a)).length, 0);
  }

  /** A decided passage from the door loop; a qualifying face grant teaches the person's template set. */
  learn(p: Passage): void {
    if (p.decision.kind !== 'grant' || !this.policy.enabled) return;
    const personId = p.decision.personId;
    const { enrolled } = this.templatesOf(personId);
    const { outcome, added } = this.adapted.learn(p, enrolled);
    if (outcome.kind === 'skip' || !added) {
      this.log.debug({ reason: outcome.kind === 'skip' ? outcome.reason : 'none' }, 'passage not adapted');
      return;
    }
    if (outcome.replaces) this.matcher.removeTemplate(outcome.replaces);
    this.matcher.add({ personId, templateId: added.templateId, modelId: this.matcher.modelId, embedding: added.embedding, local: true });
    this.log.info({ replaced: outcome.replaces !== null, held: this.adapted.of(personId).length }, 'template adapted');
    try {
      this.learnt?.({ personId, modelId: this.matcher.modelId, embedding: added.embedding, at: added.addedAt });
    } catch (e) {
      this.log.warn({ error: (e as Error).name }, 'adapted template not handed to the hub');
    }
  }

  /**
   * The matcher's results with the match-time floor: where a person's best template is an adapted one
   * (learnt here or from the roster), it counts only when the enrolled templates score the face at
   * least the floor; otherwise the person's enrolled score stands. Best first.
   */
  search(embedding: Float32Array, k: number): MatchResult[] {
    const hits = this.matcher.search(embedding, k);
    if (!hits.some((h) => isAdaptedTemplateId(h.templateId))) return hits;
    return hits
      .map((h) => {
        if (!isAdaptedTemplateId(h.templateId)) return h;
        const { enrolled } = this.templatesOf(h.personId);
        return { ...h, score: guardedScore(embedding, { enrolled, adapted: this.adapted.of(h.personId) }, this.policy) };
      })
      .sort((a, b) => b.score - a.score || (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0));
  }

  /**
   * Operator reset: the person's adapted templates learnt here are forgotten and leave the matcher,
   * and so do those from the roster until the hub's next roster entry for the person (which, after a
   * reset at the hub, has none).
   */
  reset(personId: string): number {
    this.templatesOf(personId);
    const gone = this.adapted.reset(personId);
    for (const a of gone) this.matcher.removeTemplate(a.templateId);
    return gone.length;
  }

  resetAll(): number {
    let n = 0;
    for (const p of this.adapted.persons()) n += this.reset(p);
    return n;
  }

  /** The person's enrolled templates from the roster; seeds the roster's adapted ones into `adapted` once. */
  private templatesOf(personId: string): { enrolled: Float32Array[] } {
    const all = this.store.loadTemplates([personId]).templates.filter((t) => t.modelId === this.matcher.modelId);
    if (!this.seeded.has(personId)) {
      this.seeded.add(personId);
      const fromRoster: AdaptedTemplate[] = all
        .filter((t) => isAdaptedTemplateId(t.templateId))
        .map((t) => ({ templateId: t.templateId, embedding: t.embedding, addedAt: learntAt(t.templateId) }));
      if (fromRoster.length > 0) this.adapted.adopt(personId, fromRoster);
    }
    return { enrolled: all.filter((t) => !isAdaptedTemplateId(t.templateId)).map((t) => t.embedding) };
  }

  private fromRoster(a: AdaptedTemplate): boolean {
    return learntAt(a.templateId) > 0;
  }

  private onRosterChange(c: RosterChange): void {
    // the matcher has already dropped these persons' slots (local ones too) and reloaded them from the roster
    if (c.replacedAll) {
      for (const p of this.adapted.persons()) this.adapted.reset(p);
      this.seeded.clear();
      return;
    }
    for (const p of [...c.upserted, ...c.revoked]) {
      this.adapted.reset(p);
      this.seeded.delete(p);
    }
  }
}

/** When a roster adapted template was learnt: the time of the ULID that ends its name (0: not one). */
function learntAt(templateId: string): number {
  const last = templateId.slice(templateId.lastIndexOf(':') + 1);
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(last)) return 0;
  try {
    return decodeTime(last);
  } catch {
    return 0;
  }
}
