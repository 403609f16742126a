/**
 * Alert sightings: an `alert.sighting` event from a door becomes an alert, stored once per event id,
 * audited, logged without the person's name, told to `onAlert`, and POSTed to the webhook (outcome
 * stored with the alert).
 */
import type { AlertRecord } from '../db';
import type { HubContext, HubPart } from './context';
import type { Webhook } from './webhook';

export class AlertRaiser<Item> implements HubPart {
  private stopped = false;

  constructor(
    private readonly ctx: HubContext<Item>,
    private readonly webhook: Webhook | null,
  ) {
    const store = ctx.store;
    if (!store) return;
    ctx.bus.on('event', ({ terminalId, event: e, receivedAt }) => {
      if (e.type !== 'alert.sighting') return;
      // A redelivered sighting is refused by the store itself (one alert per event id).
      const alert = store.addAlert({ eventId: e.id, tag: e.tag, personId: e.personId, doorId: e.doorId, terminalId, score: e.score, at: e.at, raisedAt: receivedAt });
      if (!alert) return;
      store.audit('hub', 'alert.sighting', e.personId, { tag: e.tag, doorId: e.doorId, terminalId, score: e.score, at: e.at }, receivedAt);
      ctx.log.warn({ tag: e.tag, door: e.doorId, terminal: terminalId, score: e.score }, 'alert raised');
      ctx.options.onAlert?.(alert);
      this.forward(alert);
    });
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async stop(): Promise<void> {
    this.stopped = true;
  }

  private forward(a: AlertRecord): void {
    if (!this.webhook) return;
    void this.webhook
      .post({
        kind: 'alert.sighting',
        alertId: a.id,
        tag: a.tag,
        personId: a.personId,
        doorId: a.doorId,
        terminalId: a.terminalId,
        score: a.score,
        at: new Date(a.at).toISOString(),
        raisedAt: new Date(a.raisedAt).toISOString(),
      })
      .then((outcome) => {
        if (!this.stopped) this.ctx.store?.setAlertWebhook(a.id, outcome);
        if (outcome !== 'delivered') this.ctx.log.error({ alert: a.id, outcome }, 'alert webhook failed');
      });
  }
}
