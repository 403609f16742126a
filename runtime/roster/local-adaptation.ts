/**
 * Template adaptation on one terminal: learns from the door loop's decided passages
 * (runtime/roster/adaptation.ts decides), indexes the adapted templates in the matcher next to the
 * enrolled ones, and applies the match-time floor to the matcher's results.
 *
 * The adapted templates are held in memory only: they are lost at a restart, and never leave the
 * terminal. Sending them to the hub (sealed) so that other doors learn them, and the operator's reset
 * from the hub, wait for the hub's redesign; `reset()` is the hook for that command. They are forgotten
 * when the person's enrolment changes or is revoked (the anchor moved), and all of them when the roster
 * is replaced or wiped.
 */
import type { Logger } from '../../core/log';
import { type AdaptationPolicy, AdaptedTemplates, DEFAULT_ADAPTATION, guardedScore, type Passage } from './adaptation';
import type { Matcher, MatchResult } from './matcher';
import type { RosterChange, RosterStore } from './store';

export class LocalAdaptation {
  private readonly adapted: AdaptedTemplates;
  private readonly log: Logger;
  private unsubscribe: (() => void) | undefined;

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

  /** Adapted templates held now, all persons. */
  get size(): number {
    return this.adapted.persons().reduce((n, p) => n + this.adapted.of(p).length, 0);
  }

  /** A decided passage from the door loop; a qualifying face grant teaches the person's template set. */
  learn(p: Passage): void {
    if (p.decision.kind !== 'grant' || !this.policy.enabled) return;
    const personId = p.decision.personId;
    const { outcome, added } = this.adapted.learn(p, this.enrolled(personId));
    if (outcome.kind === 'skip' || !added) {
      this.log.debug({ reason: outcome.kind === 'skip' ? outcome.reason : 'none' }, 'passage not adapted');
      return;
    }
    if (outcome.replaces) this.matcher.removeTemplate(outcome.replaces);
    this.matcher.add({ personId, templateId: added.templateId, modelId: this.matcher.modelId, embedding: added.embedding, local: true });
    this.log.info({ replaced: outcome.replaces !== null, held: this.adapted.of(personId).length }, 'template adapted');
  }

  /**
   * The matcher's results with the match-time floor: where a person's best template is an adapted one,
   * it counts only when the enrolled templates score the face at least the floor; otherwise the
   * person's enrolled score stands. Best first.
   */
  search(embedding: Float32Array, k: number): MatchResult[] {
    const hits = this.matcher.search(embedding, k);
    if (!hits.some((h) => h.templateId.startsWith('adapted:'))) return hits;
    return hits
      .map((h) => {
        if (!h.templateId.startsWith('adapted:')) return h;
        const set = { enrolled: this.enrolled(h.personId), adapted: this.adapted.of(h.personId) };
        return { ...h, score: guardedScore(embedding, set, this.policy) };
      })
      .sort((a, b) => b.score - a.score || (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0));
  }

  /** Operator reset: the person's adapted templates are forgotten and leave the matcher. */
  reset(personId: string): number {
    const gone = this.adapted.reset(personId);
    for (const a of gone) this.matcher.removeTemplate(a.templateId);
    return gone.length;
  }

  resetAll(): number {
    let n = 0;
    for (const p of this.adapted.persons()) n += this.reset(p);
    return n;
  }

  private enrolled(personId: string): Float32Array[] {
    return this.store
      .loadTemplates([personId])
      .templates.filter((t) => t.modelId === this.matcher.modelId)
      .map((t) => t.embedding);
  }

  private onRosterChange(c: RosterChange): void {
    // the matcher has already dropped these persons' slots (adapted ones too) and reloaded the enrolled
    if (c.replacedAll) {
      for (const p of this.adapted.persons()) this.adapted.reset(p);
      return;
    }
    for (const p of [...c.upserted, ...c.revoked]) this.adapted.reset(p);
  }
}
