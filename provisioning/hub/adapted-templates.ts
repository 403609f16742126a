/**
 * Adapted templates from the terminals (issue 17): each door/<id>/templates message carries a template
 * learnt at that door, sealed to the hub's X25519 key (runtime/protocol/sealed.ts). The hub opens it
 * and accepts it only when
 *   - the person is a known, active resident who may open that terminal's door (a door or building
 *     authorisation, not expired),
 *   - its model is the model of the person's enrolled templates, and
 *   - the anchor holds: the person's ENROLLED templates (never adapted ones) score it at least the
 *     policy's `minEnrolledScore` (runtime/roster/adaptation.ts), so a stolen or forged terminal cannot
 *     slip another face into a resident's template set.
 * An accepted template is stored (provisioning/store/adapted-templates.ts: at most `maxPerPerson` per
 * person, the oldest adapted one replaced, enrolled ones never) and the person is published again to
 * every door with it, marked adapted (`withAdaptedTemplates`); each terminal gives it the match-time
 * floor. Every acceptance and refusal is audited (actor `hub`, the terminal and the reason; never the
 * embedding); a message that breaks the schema or claims another terminal is counted as rejected.
 */
import type { KeyObject } from 'node:crypto';
import { decodePlain, ProtocolRejectError } from '../../runtime/protocol/codec';
import { MAX_PAYLOAD_BYTES } from '../../runtime/protocol/limits';
import { openSealed, SealedBoxError } from '../../runtime/protocol/sealed';
import { templateAad, TemplateAdaptedMessageSchema, type TemplateAdaptedMessage } from '../../runtime/protocol/templates';
import { bestScore, DEFAULT_ADAPTATION, type AdaptationPolicy } from '../../runtime/roster/adaptation';
import { adaptedTemplateId, decodeEmbedding, embeddingFromBytes, encodeEmbedding } from '../../runtime/roster/batch';
import { rosterItemOf, type PersonRecord, type RosterItem } from '../db';
import type { AdaptedTemplateStore } from '../store/adapted-templates';
import type { HubStore } from '../store/hub-store';
import type { HubContext, HubPart, TerminalMessage } from './context';

export type TemplateRefusal =
  | 'no-seal-key'
  | 'sealed-box'
  | 'bad-embedding'
  | 'unknown-person'
  | 'person-not-active'
  | 'not-authorised-here'
  | 'model-mismatch'
  | 'far-from-enrolment';

export type TemplateVerdict =
  | { kind: 'accepted'; personId: string; templateId: string; anchor: number; replaced: string[]; duplicate: boolean }
  | { kind: 'refused'; personId: string; reason: TemplateRefusal; anchor: number | null };

/** What a stored person is in the roster, with the adapted templates the hub holds for them (marked adapted). */
export function withAdaptedTemplates(store: Pick<AdaptedTemplateStore, 'adaptedTemplates'>): (p: PersonRecord) => RosterItem | null {
  return (p) => {
    const it = rosterItemOf(p);
    if (it === null || !('personId' in it) || p.status !== 'active') return it;
    const adapted = store.adaptedTemplates(p.personId);
    if (adapted.length === 0) return it;
    return { ...it, templates: [...it.templates, ...adapted.map((a) => ({ templateId: a.templateId, modelId: a.modelId, embedding: a.embedding, adapted: true as const }))] };
  };
}

/** Whether the person's access names this door or its building and has not ended. */
function mayOpen(p: PersonRecord, door: { doorId: string; buildingId: string }, now: number): boolean {
  return p.authorisations.some((a) => (a.doorIds.includes(door.doorId) || a.buildingIds.includes(door.buildingId)) && (a.validUntil === undefined || Date.parse(a.validUntil) > now));
}

/**
 * Judges one opened template for a person at a terminal's door, and stores it when it is accepted
 * (the store bumps the person's revision: the publisher sends the person again).
 */
export function judgeAdaptedTemplate(
  store: HubStore,
  msg: Pick<TemplateAdaptedMessage, 'id' | 'terminalId' | 'personId' | 'modelId' | 'at'>,
  embedding: Float32Array,
  policy: Pick<AdaptationPolicy, 'minEnrolledScore' | 'maxPerPerson'>,
  now: number,
): TemplateVerdict {
  const refuse = (reason: TemplateRefusal, anchor: number | null = null): TemplateVerdict => ({ kind: 'refused', personId: msg.personId, reason, anchor });
  const p = store.person(msg.personId);
  if (!p || p.kind !== 'resident') return refuse('unknown-person');
  if (p.status !== 'active') return refuse('person-not-active');
  const terminal = store.terminal(msg.terminalId);
  if (!terminal || terminal.status !== 'active' || !mayOpen(p, terminal, now)) return refuse('not-authorised-here');
  const enrolled = p.templates.filter((t) => t.modelId === msg.modelId).map((t) => decodeEmbedding(t.embedding)).filter((e): e is Float32Array => e !== null && e.length === embedding.length);
  if (enrolled.length === 0) return refuse('model-mismatch');
  const norm = Math.sqrt(embedding.reduce((a, x) => a + x * x, 0));
  const unit = embedding.map((x) => x / norm);
  const anchor = bestScore(unit, enrolled);
  if (!(anchor >= policy.minEnrolledScore)) return refuse('far-from-enrolment', anchor);
  const templateId = adaptedTemplateId(p.personId, msg.id);
  const { added, replaced } = store.addAdaptedTemplate(
    { templateId, personId: p.personId, modelId: msg.modelId, embedding: encodeEmbedding(unit), terminalId: msg.terminalId, anchor, learntAt: msg.at, receivedAt: now },
    policy.maxPerPerson,
    now,
  );
  return { kind: 'accepted', personId: p.personId, templateId, anchor, replaced, duplicate: !added };
}

/** The hub part that receives door/<id>/templates. */
export class AdaptedTemplateReceiver<Item> implements HubPart {
  accepted = 0;
  refused = 0;

  constructor(
    private readonly ctx: HubContext<Item>,
    private readonly sealKey: KeyObject | null,
    private readonly policy: Pick<AdaptationPolicy, 'minEnrolledScore' | 'maxPerPerson'> = DEFAULT_ADAPTATION,
  ) {}

  onMessage(m: TerminalMessage): void {
    if (m.kind !== 'templates') return;
    const store = this.ctx.store;
    if (!store) throw new ProtocolRejectError('unknown-topic', 'this hub keeps no adapted templates');
    const msg = decodePlain(m.payload, TemplateAdaptedMessageSchema, MAX_PAYLOAD_BYTES);
    if (msg.terminalId !== m.terminalId) throw new ProtocolRejectError('wrong-terminal', 'template message names another terminal');
    const now = this.ctx.clock.now();
    const verdict = this.judge(store, msg, now);
    if (verdict.kind === 'accepted') {
      this.accepted += 1;
      if (verdict.duplicate) return;
      store.audit('hub', 'template.adapted', verdict.personId, { terminalId: m.terminalId, templateId: verdict.templateId, anchor: round3(verdict.anchor), replaced: verdict.replaced.length }, now);
      this.ctx.log.info({ terminal: m.terminalId, replaced: verdict.replaced.length }, 'adapted template accepted');
    } else {
      this.refused += 1;
      store.audit('hub', 'template.refused', verdict.personId, { terminalId: m.terminalId, reason: verdict.reason, ...(verdict.anchor !== null ? { anchor: round3(verdict.anchor) } : {}) }, now);
      this.ctx.log.warn({ terminal: m.terminalId, reason: verdict.reason }, 'adapted template refused');
    }
  }

  private judge(store: HubStore, msg: TemplateAdaptedMessage, now: number): TemplateVerdict {
    if (!this.sealKey) return { kind: 'refused', personId: msg.personId, reason: 'no-seal-key', anchor: null };
    let plain: Buffer;
    try {
      plain = openSealed(this.sealKey, msg.sealed, templateAad(msg));
    } catch (e) {
      if (e instanceof SealedBoxError) return { kind: 'refused', personId: msg.personId, reason: 'sealed-box', anchor: null };
      throw e;
    }
    const embedding = embeddingFromBytes(plain);
    plain.fill(0);
    if (!embedding) return { kind: 'refused', personId: msg.personId, reason: 'bad-embedding', anchor: null };
    return judgeAdaptedTemplate(store, msg, embedding, this.policy, now);
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
