/**
 * A duress PIN entered at a door (`alarm.duress`, stored for the first time): a silent alarm, audited,
 * logged without the person's name, and POSTed to the webhook. The door opened as for the PIN; only
 * the hub and the operator know.
 */
import type { HubContext, HubPart } from './context';
import type { Webhook } from './webhook';

export class DuressAlarms<Item> implements HubPart {
  constructor(ctx: HubContext<Item>, webhook: Webhook | null) {
    const store = ctx.store;
    if (!store) return;
    ctx.bus.on('event', ({ terminalId, event: e, duplicate, receivedAt }) => {
      if (duplicate || e.type !== 'alarm.duress') return;
      store.audit('hub', 'alarm.duress', e.personId, { doorId: e.doorId, terminalId, credential: e.credential, at: e.at }, receivedAt);
      ctx.log.error({ terminal: terminalId, door: e.doorId }, 'duress PIN entered');
      if (!webhook) return;
      void webhook
        .post({
          kind: 'alarm.duress',
          eventId: e.id,
          terminalId,
          doorId: e.doorId,
          personId: e.personId,
          at: new Date(e.at).toISOString(),
          receivedAt: new Date(receivedAt).toISOString(),
        })
        .then((outcome) => {
          if (outcome !== 'delivered') ctx.log.error({ event: e.id, outcome }, 'duress webhook failed');
        });
    });
  }
}
