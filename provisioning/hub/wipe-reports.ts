/**
 * A terminal's wipe report (`terminal.wiped`, after the hub's `wipe` command): a security event,
 * audited and POSTed to the webhook once per event, whatever its outcome (`failed` means that
 * terminal may still hold face templates). Only the terminal id, the outcome and counts: no person, no
 * template.
 */
import type { HubContext, HubPart } from './context';
import type { Webhook } from './webhook';

export class WipeReports<Item> implements HubPart {
  constructor(ctx: HubContext<Item>, webhook: Webhook | null) {
    const store = ctx.store;
    if (!store) return;
    ctx.bus.on('event', ({ terminalId, event: e, duplicate, receivedAt }) => {
      if (e.type !== 'terminal.wiped' || duplicate) return;
      store.audit('hub', 'terminal.wiped', terminalId, { outcome: e.outcome, persons: e.persons, templates: e.templates, at: e.at }, receivedAt);
      if (e.outcome === 'failed') ctx.log.error({ terminal: terminalId }, 'terminal wipe failed');
      else ctx.log.warn({ terminal: terminalId, persons: e.persons, templates: e.templates }, 'terminal wiped');
      if (!webhook) return;
      void webhook
        .post({
          kind: 'terminal.wiped',
          eventId: e.id,
          terminalId,
          outcome: e.outcome,
          persons: e.persons,
          templates: e.templates,
          at: new Date(e.at).toISOString(),
          receivedAt: new Date(receivedAt).toISOString(),
        })
        .then((outcome) => {
          if (outcome !== 'delivered') ctx.log.error({ event: e.id, outcome }, 'wipe webhook failed');
        });
    });
  }
}
