/**
 * door/<id>/templates (terminal -> hub): a template the terminal learnt from a confident door capture
 * (runtime/roster/adaptation.ts), for the hub to check and hand to the person's other doors. The
 * embedding travels only inside `sealed`, a box sealed to the hub's X25519 key (./sealed.ts): the
 * broker, and anyone on it, sees which terminal learnt something about which pseudonymous person id,
 * never the face. The associated data binds the box to every other field, so none can be changed.
 */
import { z } from 'zod';
import { IdSchema } from './ids';
import { SealedBoxSchema } from './sealed';
import { EventIdSchema, SCHEMA_VERSION, TerminalIdSchema } from './schemas';

export const TemplateAdaptedMessageSchema = z.strictObject({
  v: z.literal(SCHEMA_VERSION),
  kind: z.literal('template.adapted'),
  /** A ULID: the message's id, and the adapted template's name at the hub (a redelivery is one template). */
  id: EventIdSchema,
  terminalId: TerminalIdSchema,
  personId: IdSchema,
  modelId: z.string().min(1).max(128),
  /** When the capture was made (epoch ms, the terminal's clock). */
  at: z.number().int().nonnegative(),
  /** The capture's embedding: float32 little-endian, sealed to the hub. */
  sealed: SealedBoxSchema,
});
export type TemplateAdaptedMessage = z.infer<typeof TemplateAdaptedMessageSchema>;

/** What a template box is sealed to: every field of its message but the box itself. */
export function templateAad(m: Omit<TemplateAdaptedMessage, 'sealed' | 'v' | 'kind'>): string {
  return `doorway/template.adapted/v1|${m.terminalId}|${m.personId}|${m.modelId}|${m.id}|${m.at}`;
}
