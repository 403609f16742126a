import type { z } from 'zod';
import {
  AcksMessageSchema,
  CertificateBodySchema,
  CommandBodySchema,
  EventsMessageSchema,
  RequestMessageSchema,
  RosterBodySchema,
  StatusMessageSchema,
  TerminalIdSchema,
} from './schemas';
import { TemplateAdaptedMessageSchema } from './templates';

/**
 * The one table of MQTT topics, shared by terminal and hub. `signed` topics carry a
 * SignedEnvelope whose body matches `schema`; the others carry `schema` directly. `retained` says
 * whether the publisher sets the retain flag (commands never are, and a retained one is ignored).
 * Every topic is QoS 1.
 */
interface TopicDef<S extends z.ZodType> {
  /** Subscription filter covering every terminal. */
  readonly filter: string;
  readonly from: 'terminal' | 'hub';
  readonly retained: boolean;
  readonly signed: boolean;
  readonly schema: S;
}

export const TOPICS = {
  status: { filter: 'door/+/status', from: 'terminal', retained: true, signed: false, schema: StatusMessageSchema },
  events: { filter: 'door/+/events', from: 'terminal', retained: false, signed: false, schema: EventsMessageSchema },
  requests: { filter: 'door/+/requests', from: 'terminal', retained: false, signed: false, schema: RequestMessageSchema },
  /** Adapted templates, sealed to the hub (./templates.ts). */
  templates: { filter: 'door/+/templates', from: 'terminal', retained: false, signed: false, schema: TemplateAdaptedMessageSchema },
  acks: { filter: 'hub/+/acks', from: 'hub', retained: false, signed: false, schema: AcksMessageSchema },
  roster: { filter: 'hub/+/roster', from: 'hub', retained: false, signed: true, schema: RosterBodySchema },
  rosterAll: { filter: 'hub/roster/all', from: 'hub', retained: false, signed: true, schema: RosterBodySchema },
  commands: { filter: 'hub/+/commands', from: 'hub', retained: false, signed: true, schema: CommandBodySchema },
  certificate: { filter: 'hub/+/certificate', from: 'hub', retained: true, signed: true, schema: CertificateBodySchema },
} as const satisfies Record<string, TopicDef<z.ZodType>>;

export type TopicKind = keyof typeof TOPICS;
export const QOS = 1 as const;

/** Topic names for one terminal. `rosterAll` is shared by every terminal. */
export function topicsFor(terminalId: string): Record<TopicKind, string> {
  const id = TerminalIdSchema.parse(terminalId);
  return {
    status: `door/${id}/status`,
    events: `door/${id}/events`,
    requests: `door/${id}/requests`,
    templates: `door/${id}/templates`,
    acks: `hub/${id}/acks`,
    roster: `hub/${id}/roster`,
    rosterAll: 'hub/roster/all',
    commands: `hub/${id}/commands`,
    certificate: `hub/${id}/certificate`,
  };
}

/** What a terminal subscribes to (its own hub/<id>/# topics and the shared roster topic). */
export function terminalSubscriptions(terminalId: string): string[] {
  const t = topicsFor(terminalId);
  return [t.acks, t.roster, t.rosterAll, t.commands, t.certificate];
}

/** Classify a concrete topic name; `null` for anything not in the table. */
export function parseTopic(topic: string): { kind: TopicKind; terminalId: string | null } | null {
  if (topic === 'hub/roster/all') return { kind: 'rosterAll', terminalId: null };
  const parts = topic.split('/');
  if (parts.length !== 3) return null;
  const [root, id, leaf] = parts as [string, string, string];
  if (!TerminalIdSchema.safeParse(id).success) return null;
  if (root === 'door' && (leaf === 'status' || leaf === 'events' || leaf === 'requests' || leaf === 'templates')) {
    return { kind: leaf, terminalId: id };
  }
  if (root === 'hub' && (leaf === 'acks' || leaf === 'roster' || leaf === 'commands' || leaf === 'certificate')) {
    return { kind: leaf, terminalId: id };
  }
  return null;
}
