/**
 * Live updates for the console (Server-Sent Events, routes/live.ts): entries, door alarms, alert
 * sightings, terminals going on- and offline, new registrations in the approval queue. One poller per
 * hub reads what the hub stored (events.db, the alerts table, terminal_status, registrations) every
 * `pollMs` on the injected clock while anyone is subscribed, from where things stood when the first
 * subscriber came (no backlog), and hands each item to the subscribers; each subscriber filters by the
 * caller's permissions and buildings as they stand at that moment (routes/live.ts), so a manager never
 * receives another building's items.
 *
 * What each item carries is no more than its permission lets the receiver read: a duress alarm names
 * the person under duress, so it goes with the alerts (the security office), not with the door's
 * alarms (the building's manager); a registration is announced by its id, building and time only:
 * the name, identity number, room and photos stay behind `GET /api/registrations/{id}`.
 */
import type { Clock, TimerHandle } from '../../core/clock';
import type { Logger } from '../../core/log';
import type { Community } from '../community';
import { events } from './admin-port';
import type { Permission } from '../operators/roles';

export interface LiveItem {
  kind: 'entry' | 'alarm' | 'sighting' | 'terminal' | 'registration';
  /** Who may receive it (besides `live`). */
  permission: Permission;
  /** The buildings it belongs to (a manager receives it when one of them is theirs). */
  buildings: string[];
  data: Record<string, unknown>;
}

export class LiveFeed {
  private readonly subscribers = new Set<(item: LiveItem) => void>();
  private timer: TimerHandle | null = null;
  private started = false;
  private eventRowid = 0;
  private alertId = 0;
  private registrationRowid = 0;
  private states = new Map<string, string>();

  constructor(
    private readonly community: Community,
    private readonly clock: Clock,
    private readonly pollMs: number,
    private readonly log: Logger,
  ) {}

  /** Ready to serve; the poller itself runs only while someone is subscribed. */
  start(): void {
    this.started = true;
  }

  private startPolling(): void {
    if (this.timer) return;
    this.eventRowid = events.tailStart({ community: this.community }, 0);
    this.alertId = this.community.db.alerts().at(-1)?.id ?? 0;
    this.registrationRowid = (this.community.db.db.prepare('SELECT MAX(rowid) AS n FROM registrations').get() as { n: number | null }).n ?? 0;
    this.states = new Map(this.community.db.statuses().map((s) => [s.terminalId, s.state]));
    this.timer = this.clock.setInterval(() => this.poll(), this.pollMs);
  }

  stop(): void {
    this.started = false;
    this.timer?.cancel();
    this.timer = null;
    this.subscribers.clear();
  }

  subscribe(f: (item: LiveItem) => void): () => void {
    this.subscribers.add(f);
    if (this.started) this.startPolling();
    return () => {
      this.subscribers.delete(f);
      if (this.subscribers.size === 0) {
        this.timer?.cancel();
        this.timer = null;
      }
    };
  }

  /** Reads what is new and hands it out (also called by tests that drive a FakeClock). */
  poll(): void {
    try {
      const terminals = new Map(this.community.db.terminals().map((t) => [t.id, t]));
      const doorBuilding = new Map(this.community.db.terminals().map((t) => [t.doorId, t.buildingId]));
      for (;;) {
        const r = events.read({ community: this.community }, this.eventRowid, 500);
        this.eventRowid = r.last;
        for (const e of r.events) {
          const t = terminals.get(e.terminalId);
          const base = { terminalId: e.terminalId, doorId: t?.doorId ?? null, receivedAt: e.receivedAt };
          const buildings = t ? [t.buildingId] : [];
          if (e.event.type === 'entry.granted' || e.event.type === 'entry.denied') this.emit({ kind: 'entry', permission: 'events.read', buildings, data: { ...base, event: e.event } });
          else if (e.event.type === 'alarm.duress') this.emit({ kind: 'alarm', permission: 'alerts.read', buildings, data: { ...base, event: e.event } });
          else if (e.event.type.startsWith('alarm.')) this.emit({ kind: 'alarm', permission: 'doors.read', buildings, data: { ...base, event: e.event } });
        }
        if (r.events.length < 500) break;
      }
      for (const a of this.community.db.alerts().filter((x) => x.id > this.alertId)) {
        this.alertId = a.id;
        const b = doorBuilding.get(a.doorId);
        this.emit({ kind: 'sighting', permission: 'alerts.read', buildings: b ? [b] : [], data: { id: a.id, tag: a.tag, personId: a.personId, doorId: a.doorId, terminalId: a.terminalId, score: a.score, at: a.at } });
      }
      const registrations = this.community.db.db.prepare('SELECT rowid, id, building_id, submitted_at FROM registrations WHERE rowid > ? ORDER BY rowid').all(this.registrationRowid) as Array<{ rowid: number; id: string; building_id: string; submitted_at: number }>;
      for (const r of registrations) {
        this.registrationRowid = r.rowid;
        this.emit({ kind: 'registration', permission: 'registrations.read', buildings: [r.building_id], data: { id: r.id, buildingId: r.building_id, submittedAt: r.submitted_at } });
      }
      for (const s of this.community.db.statuses()) {
        if (this.states.get(s.terminalId) === s.state) continue;
        this.states.set(s.terminalId, s.state);
        const t = terminals.get(s.terminalId);
        this.emit({ kind: 'terminal', permission: 'terminals.read', buildings: t ? [t.buildingId] : [], data: { terminalId: s.terminalId, doorId: t?.doorId ?? null, state: s.state, at: s.receivedAt } });
      }
    } catch (e) {
      this.log.warn({ err: { name: (e as Error).name, code: (e as { code?: string }).code } }, 'live feed poll failed');
    }
  }

  private emit(item: LiveItem): void {
    for (const f of this.subscribers) {
      try {
        f(item);
      } catch (e) {
        this.log.warn({ err: { name: (e as Error).name } }, 'live subscriber failed');
      }
    }
  }
}
