/**
 * `provision hub`: the long-running hub of a community, built on the sync protocol's Hub
 * (provisioning/hub/). It connects to the broker with its own certificate (CN hub) and
 *
 * - publishes what the provision commands wrote to the hub database: every tick it takes the persons
 *   changed since they were last published, signs them as the next roster version (a person upsert,
 *   or a tombstone for a revoked one), records the version, then publishes it to every door;
 * - answers terminals' roster sync and snapshot requests (replaying recorded deltas; versions survive
 *   a hub restart because the roster is rebuilt from the database);
 * - stores terminal events idempotently and acknowledges them; an `alert.sighting` becomes an alert
 *   (stored once, audited, POSTed to the webhook); a `terminal.wiped` is audited and POSTed to the
 *   webhook too (terminal id, outcome and counts only), once per event;
 * - keeps each terminal's last status and heartbeat in the database (for `provision fleet status`);
 * - sends queued signed commands (door unlock, config reload, wipe, resync) if they are still fresh,
 *   and audits each one sent with its nonce (the command id a terminal's release or refusal names);
 * - renews the certificates that are due (terminals, itself, the broker; provisioning/certificates.ts)
 *   every hour, and publishes each terminal's current certificate (signed, retained) for it to install;
 * - ignores revoked and unknown terminals entirely: nothing from them is processed, nothing is sent.
 */
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { TerminalError } from '../core/errors';
import { SystemClock, type Clock, type TimerHandle } from '../core/clock';
import { createLogger, type Logger } from '../core/log';
import { decodePlain, DEFAULT_MAX_PAYLOAD_BYTES } from '../runtime/protocol/codec';
import { ROSTER_MESSAGE_TARGET_BYTES, signedItemBytes } from '../runtime/protocol/limits';
import { EventsMessageSchema, StatusMessageSchema, type AlertSightingSchema, type SyncEvent, type TerminalWipedSchema } from '../runtime/protocol/schemas';
import type { z } from 'zod';
import { parseTopic, TOPICS } from '../runtime/protocol/topics';
import { MqttTransport, type IncomingMessage, type SyncTransport, type TransportHandlers, type Will } from '../runtime/sync/transport';
import { Hub } from './hub/hub';
import { EventIngest, type IngestResult } from './hub/ingest';
import { HubRosterStore, type RosterChange } from './hub/roster';
import type { Community } from './community';
import { dueCertificates, renewBrokerCertificate, renewHubCertificate, renewTerminalCertificate, terminalCertFile } from './certificates';
import { rosterItemOf, type AlertRecord, type HubDb, type RosterItem } from './db';
import { unlockedPem } from './pki';

export interface HubServiceOptions {
  community: Community;
  passphrase: string;
  clock?: Clock;
  log?: Logger;
  /** How often the database is checked for changes to publish and commands to send (default 250 ms). */
  pollMs?: number;
  /** A queued command older than this is not sent any more (default 30 s); also the command lifetime. */
  commandTtlMs?: number;
  /** Overrides community.json's webhookUrl. */
  webhookUrl?: string | null;
  /** Persons per roster delta at most (default 200; a delta is also cut at ROSTER_MESSAGE_TARGET_BYTES). */
  maxPersonsPerDelta?: number;
  /** Replaces the MQTT connection (tests). */
  transport?: SyncTransport;
  /** How often certificates are checked for renewal (default 1 h; 0: never, renew by hand). */
  renewCheckMs?: number;
  onAlert?: (a: AlertRecord) => void;
}


/** Terminal certificates renewed per check at most (each is an openssl run of about 50 ms). */
const RENEWALS_PER_CHECK = 20;

/** Pass revocations share the roster map with persons under keys no person id can have ('/' is not allowed in one). */
const passKey = (id: string): string => `pass/${id}`;

const ROSTER_ITEM_FORMAT = {
  idOf: (it: RosterItem): string => ('revokedPersonId' in it ? it.revokedPersonId : 'revokedPassId' in it ? passKey(it.revokedPassId) : it.personId),
  toBatch: (version: number, c: RosterChange<RosterItem>): unknown => ({
    version,
    upserts: c.upsert.filter((it) => !('revokedPersonId' in it) && !('revokedPassId' in it)),
    revocations: [...c.upsert.flatMap((it) => ('revokedPersonId' in it ? [it.revokedPersonId] : [])), ...c.remove.filter((id) => !id.startsWith('pass/'))],
    passRevocations: c.upsert.flatMap((it) => ('revokedPassId' in it ? [{ passId: it.revokedPassId, notAfter: it.notAfter }] : [])),
  }),
};

/** Drops traffic from and to terminals that are not active in the database; records their status. */
class FleetGuardTransport implements SyncTransport {
  private active = new Set<string>();
  dropped = 0;

  constructor(
    private readonly inner: SyncTransport,
    private readonly db: HubDb,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.refresh();
  }

  refresh(): void {
    this.active = new Set(this.db.terminals().filter((t) => t.status === 'active').map((t) => t.id));
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  start(handlers: TransportHandlers, will: Will | null): void {
    this.inner.start(
      {
        ...handlers,
        onMessage: (m: IncomingMessage) => {
          const t = parseTopic(m.topic);
          if (t?.terminalId && t.kind !== 'acks' && t.kind !== 'roster' && t.kind !== 'commands' && t.kind !== 'certificate') {
            if (!this.active.has(t.terminalId)) {
              this.dropped += 1;
              return;
            }
            if (t.kind === 'status' && m.payload.length > 0) this.saveStatus(t.terminalId, m.payload);
          }
          handlers.onMessage(m);
        },
      },
      will,
    );
  }

  private saveStatus(id: string, payload: Buffer): void {
    try {
      const s = decodePlain(payload, StatusMessageSchema, DEFAULT_MAX_PAYLOAD_BYTES);
      this.db.saveStatus(id, s.state, s.state === 'online' ? s.health : null, this.clock.now());
    } catch (err) {
      this.log.warn({ terminal: id, err: String(err) }, 'status not recorded');
    }
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  connected(): boolean {
    return this.inner.connected();
  }

  subscribe(topics: string[]): Promise<void> {
    return this.inner.subscribe(topics);
  }

  publish(topic: string, payload: string, opts: { retain: boolean }): Promise<void> {
    const t = parseTopic(topic);
    if (t?.terminalId && !this.active.has(t.terminalId)) {
      this.dropped += 1;
      return Promise.resolve();
    }
    return this.inner.publish(topic, payload, opts);
  }
}

type AlertSighting = z.infer<typeof AlertSightingSchema>;
type TerminalWiped = z.infer<typeof TerminalWipedSchema>;

/**
 * EventIngest that also turns alert sightings into alerts (once per event id) and tells the operator
 * of each terminal wipe (once per event id: a redelivered event is not reported again).
 */
class AlertingIngest extends EventIngest {
  constructor(
    path: string,
    private readonly onSighting: (terminalId: string, e: AlertSighting, receivedAt: number) => void,
    private readonly onWiped: (terminalId: string, e: TerminalWiped, receivedAt: number) => void,
    /** Every event stored for the first time (a redelivery is not passed again): pass uses, duress alarms. */
    private readonly onFresh: (terminalId: string, e: SyncEvent, receivedAt: number) => void = () => {},
  ) {
    super(path);
  }

  override ingest(terminalId: string, payload: Buffer, receivedAt: number): IngestResult {
    const msg = decodePlain(payload, EventsMessageSchema, DEFAULT_MAX_PAYLOAD_BYTES);
    const fresh = msg.events.filter((e) => !this.has(e.id));
    const r = super.ingest(terminalId, payload, receivedAt);
    for (const e of msg.events) if (e.type === 'alert.sighting') this.onSighting(terminalId, e, receivedAt);
    for (const e of fresh) if (e.type === 'terminal.wiped') this.onWiped(terminalId, e, receivedAt);
    for (const e of fresh) this.onFresh(terminalId, e, receivedAt);
    return r;
  }
}

export class HubService {
  private hub: Hub<RosterItem> | null = null;
  private roster: HubRosterStore<RosterItem> | null = null;
  private guard: FleetGuardTransport | null = null;
  private transport: SyncTransport | null = null;
  /** Serial of each terminal's certificate last published to it. */
  private readonly publishedCerts = new Map<string, string>();
  private lastRenewCheck = -Infinity;
  /** The certificate the hub's connection presents. */
  private hubCert: string | null = null;
  private ingest: AlertingIngest | null = null;
  private timer: TimerHandle | null = null;
  private busy = false;
  private stopped = false;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly webhookUrl: string | null;
  private readonly pendingWebhooks = new Set<Promise<void>>();

  private constructor(private readonly opts: HubServiceOptions) {
    this.clock = opts.clock ?? new SystemClock();
    this.log = (opts.log ?? createLogger()).child({ module: 'hub-service' });
    this.webhookUrl = opts.webhookUrl !== undefined ? opts.webhookUrl : opts.community.config.webhookUrl;
  }

  /** Load the roster from the database, connect, and start publishing. */
  static async start(opts: HubServiceOptions): Promise<HubService> {
    const s = new HubService(opts);
    await s.startAll();
    return s;
  }

  private get db(): HubDb {
    return this.opts.community.db;
  }

  private async startAll(): Promise<void> {
    const c = this.opts.community;
    const signingKey = c.signingKey(this.opts.passphrase);
    const version = this.db.rosterVersion();
    const items = this.db.persons().filter((p) => p.publishedRev > 0).map(rosterItemOf).filter((x): x is RosterItem => x !== null);
    // Revoked passes still valid are part of every snapshot too.
    const now0 = this.clock.now();
    for (const p of this.db.passes()) if (p.revokedAt !== null && p.notAfter > now0) items.push({ revokedPassId: p.passId, notAfter: p.notAfter });
    // Every start begins a new roster epoch continuing the recorded history (runtime/sync/README.md):
    // a hub.db restored from a backup never signs again a version that terminals may hold already.
    const epochs = this.db.rosterEpochs();
    this.roster = new HubRosterStore<RosterItem>({
      signingKey,
      ...ROSTER_ITEM_FORMAT,
      now: () => this.clock.now(),
      initial: { version, items, deltas: this.db.rosterLog(Math.max(0, version - 10_000)), epochs },
    });
    this.db.recordEpoch(this.roster.epoch(), epochs.length === 0 && version > 0 ? 'upgrade' : 'start', this.clock.now());
    this.hubCert = readFileSync(c.paths.hubTlsCert, 'utf8');
    const transport = this.opts.transport ?? new MqttTransport({
      url: c.config.brokerUrl,
      clientId: 'hub',
      ca: readFileSync(c.paths.ca.cert),
      cert: this.hubCert,
      key: unlockedPem(c.paths.hubTlsKey, this.opts.passphrase),
      reconnectMinMs: 500,
      reconnectMaxMs: 10_000,
      connectTimeoutMs: 10_000,
      keepaliveS: 30,
      log: this.log,
    });
    this.transport = transport;
    this.guard = new FleetGuardTransport(transport, this.db, this.clock, this.log);
    this.ingest = new AlertingIngest(
      c.paths.eventsDb,
      (id, e, at) => this.onSighting(id, e, at),
      (id, e, at) => this.onWiped(id, e, at),
      (id, e, at) => this.onFresh(id, e, at),
    );
    chmodSync(c.paths.eventsDb, 0o600);
    this.hub = new Hub<RosterItem>({
      transport: this.guard,
      roster: this.roster,
      ingest: this.ingest,
      signingKey,
      clock: this.clock,
      log: this.log,
      commandTtlMs: this.opts.commandTtlMs ?? 30_000,
      onEpochStarted: ({ epoch, version: at, reason }) => {
        const now = this.clock.now();
        this.db.tx(() => {
          this.db.recordEpoch(epoch, reason, now);
          this.db.audit('hub', 'roster.epoch', epoch.id, { reason, version: at, startedAt: epoch.startedAt }, now);
        });
      },
    });
    await this.hub.start();
    this.log.info({ version, persons: items.length }, 'hub running');
    await this.tick();
    this.timer = this.clock.setInterval(() => {
      this.tick().catch((err: unknown) => this.log.error({ err: String(err) }, 'hub tick failed'));
    }, this.opts.pollMs ?? 250);
  }

  /** Current roster version. */
  version(): number {
    return this.roster?.version() ?? 0;
  }

  /** Messages dropped because they came from or went to a revoked or unknown terminal. */
  dropped(): number {
    return this.guard?.dropped ?? 0;
  }

  /** Publish pending roster changes and send queued commands (also runs every pollMs). */
  async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      this.guard?.refresh();
      while (await this.publishDirty()) { /* until no person is left to publish */ }
      await this.publishPassRevocations();
      await this.sendCommands();
      this.renewDue();
      this.reloadOwnCertificate();
      await this.publishCertificates();
    } finally {
      this.busy = false;
    }
  }

  private async publishDirty(): Promise<boolean> {
    const roster = this.roster;
    const transport = this.guard;
    if (!roster || !transport) return false;
    const candidates = this.db.dirtyPersons(this.opts.maxPersonsPerDelta ?? 200);
    if (candidates.length === 0) return false;
    // Cut by size too, so a delta stays well under the broker and terminal payload limits.
    const dirty = [];
    let bytes = 0;
    for (const p of candidates) {
      bytes += signedItemBytes(rosterItemOf(p) ?? {});
      if (dirty.length > 0 && bytes > ROSTER_MESSAGE_TARGET_BYTES) break;
      dirty.push(p);
    }
    const items = dirty.map(rosterItemOf).filter((x): x is RosterItem => x !== null);
    const marks = dirty.map((p) => ({ personId: p.personId, rev: p.rev }));
    const now = this.clock.now();
    if (items.length === 0) {
      // Only pending registrations: nothing for the terminals yet.
      this.db.tx(() => {
        for (const m of marks) this.db.db.prepare('UPDATE persons SET published_rev = ? WHERE person_id = ? AND published_rev < ?').run(m.rev, m.personId, m.rev);
      });
      return true;
    }
    const { version, payload } = roster.change({ upsert: items, remove: [] });
    try {
      this.db.recordVersion(version, payload, marks, now);
    } catch (err) {
      // The in-memory roster is now ahead of the database: stop rather than publish an unrecorded version.
      this.log.fatal({ err: String(err), version }, 'roster version could not be recorded; hub stopping');
      await this.stop();
      throw err;
    }
    this.log.info({ version, persons: items.length }, 'roster version published');
    // Terminals that miss it (offline, or a lost publish) catch up with a sync request.
    await transport.publish(TOPICS.rosterAll.filter, payload, { retain: false }).catch((err: unknown) => {
      this.log.warn({ err: String(err), version }, 'roster publish failed; terminals will resync');
    });
    return true;
  }

  /** Renews what is due, at most once per renewCheckMs (the first tick checks at once). */
  private renewDue(): void {
    const every = this.opts.renewCheckMs ?? 60 * 60_000;
    const mono = this.clock.monotonic();
    if (every <= 0 || mono - this.lastRenewCheck < every) return;
    this.lastRenewCheck = mono;
    const c = this.opts.community;
    const now = this.clock.now();
    const o = { passphrase: this.opts.passphrase, now, actor: 'hub' };
    try {
      const due = dueCertificates(c, now);
      // openssl runs on this thread: a fleet provisioned in one day is renewed over a few hours.
      for (const id of due.terminals.slice(0, RENEWALS_PER_CHECK)) {
        const r = renewTerminalCertificate(c, id, o);
        this.log.info({ terminal: id, notAfter: new Date(r.notAfter).toISOString() }, 'terminal certificate renewed');
      }
      if (due.hub) {
        const r = renewHubCertificate(c, o);
        this.log.info({ notAfter: new Date(r.notAfter).toISOString() }, 'hub certificate renewed; used from the next connection');
      }
      if (due.broker) {
        const r = renewBrokerCertificate(c, o);
        this.log.info({ notAfter: new Date(r.notAfter).toISOString(), broker: r.broker }, 'broker certificate renewed');
      }
    } catch (err) {
      this.log.error({ err: err instanceof TerminalError ? err.message : String(err) }, 'certificate renewal failed; retried at the next check');
    }
  }

  /**
   * hub/tls.crt replaced (by this hub's renewal or by `provision hub renew` in another process): the
   * next connection presents it.
   */
  private reloadOwnCertificate(): void {
    const pem = readFileSync(this.opts.community.paths.hubTlsCert, 'utf8');
    if (this.hubCert !== null && pem !== this.hubCert) {
      this.transport?.setCertificate?.(pem);
      this.log.info('hub certificate file changed; used from the next connection');
    }
    this.hubCert = pem;
  }

  /**
   * Publishes each active terminal's current certificate when it changed since it was last published
   * (all of them after a hub start: retained, so the same message replaces itself).
   */
  private async publishCertificates(): Promise<void> {
    const hub = this.hub;
    if (!hub) return;
    for (const t of this.db.terminals()) {
      if (t.status !== 'active' || this.publishedCerts.get(t.id) === t.serial) continue;
      const file = terminalCertFile(this.opts.community, t.id);
      if (!existsSync(file)) continue;
      try {
        await hub.publishCertificate(t.id, readFileSync(file, 'utf8'));
        this.publishedCerts.set(t.id, t.serial);
      } catch (err) {
        this.log.warn({ terminal: t.id, err: String(err) }, 'certificate not published yet');
      }
    }
  }

  /** Revoked passes go to every door as the next roster version (the pass id and its end only). */
  private async publishPassRevocations(): Promise<void> {
    const roster = this.roster;
    const transport = this.guard;
    if (!roster || !transport) return;
    const now = this.clock.now();
    const revoked = this.db.unpublishedRevocations(now).slice(0, 1000);
    if (revoked.length === 0) return;
    const items: RosterItem[] = revoked.map((p) => ({ revokedPassId: p.passId, notAfter: p.notAfter }));
    const { version, payload } = roster.change({ upsert: items, remove: [] });
    try {
      this.db.tx(() => {
        this.db.recordVersion(version, payload, [], now);
        this.db.markRevocationsPublished(revoked.map((p) => p.passId));
      });
    } catch (err) {
      this.log.fatal({ err: String(err), version }, 'roster version could not be recorded; hub stopping');
      await this.stop();
      throw err;
    }
    this.log.info({ version, passes: revoked.length }, 'pass revocations published');
    await transport.publish(TOPICS.rosterAll.filter, payload, { retain: false }).catch((err: unknown) => {
      this.log.warn({ err: String(err), version }, 'roster publish failed; terminals will resync');
    });
  }

  private async sendCommands(): Promise<void> {
    const hub = this.hub;
    if (!hub) return;
    const ttl = this.opts.commandTtlMs ?? 30_000;
    for (const cmd of this.db.queuedCommands()) {
      const now = this.clock.now();
      if (!this.guard?.isActive(cmd.terminalId)) {
        this.db.finishCommand(cmd.id, 'refused', now);
      } else if (now - cmd.requestedAt > ttl) {
        this.db.finishCommand(cmd.id, 'expired', now);
      } else {
        try {
          const body = await hub.sendCommand(cmd.terminalId, cmd.command);
          this.db.tx(() => {
            this.db.finishCommand(cmd.id, 'sent', now);
            // The nonce is the command's id on the terminal (a remote release or refusal names it).
            this.db.audit('hub', 'command.sent', cmd.terminalId, { id: cmd.id, type: cmd.command.type, commandId: body.nonce, requestedBy: cmd.requestedBy }, now);
          });
        } catch (err) {
          this.log.warn({ terminal: cmd.terminalId, err: String(err) }, 'command not sent yet');
        }
      }
    }
  }

  private onSighting(terminalId: string, e: AlertSighting, receivedAt: number): void {
    const alert = this.db.addAlert({ eventId: e.id, tag: e.tag, personId: e.personId, doorId: e.doorId, terminalId, score: e.score, at: e.at, raisedAt: receivedAt });
    if (!alert) return; // the same sighting delivered again
    this.db.audit('hub', 'alert.sighting', e.personId, { tag: e.tag, doorId: e.doorId, terminalId, score: e.score, at: e.at }, receivedAt);
    this.log.warn({ tag: e.tag, door: e.doorId, terminal: terminalId, score: e.score }, 'alert raised');
    this.opts.onAlert?.(alert);
    if (this.webhookUrl) {
      const p = this.postWebhook(this.webhookUrl, alert).finally(() => this.pendingWebhooks.delete(p));
      this.pendingWebhooks.add(p);
    }
  }

  /** A pass use reported by a door is counted against the pass; a duress PIN is audited and POSTed. */
  private onFresh(terminalId: string, e: SyncEvent, receivedAt: number): void {
    if (e.type === 'entry.granted' && e.credential === 'pass' && e.passId) this.db.countPassUse(e.passId, terminalId);
    if (e.type !== 'alarm.duress') return;
    this.db.audit('hub', 'alarm.duress', e.personId, { doorId: e.doorId, terminalId, credential: e.credential, at: e.at }, receivedAt);
    this.log.error({ terminal: terminalId, door: e.doorId }, 'duress PIN entered');
    if (!this.webhookUrl) return;
    const body = JSON.stringify({ kind: 'alarm.duress', eventId: e.id, terminalId, doorId: e.doorId, personId: e.personId, at: new Date(e.at).toISOString(), receivedAt: new Date(receivedAt).toISOString() });
    const p = this.post(this.webhookUrl, body)
      .then((outcome) => {
        if (outcome !== 'delivered') this.log.error({ event: e.id, outcome }, 'duress webhook failed');
      })
      .finally(() => this.pendingWebhooks.delete(p));
    this.pendingWebhooks.add(p);
  }

  /**
   * A terminal reports a wipe (hub `wipe` command): a security event the operator hears of on the
   * webhook, whatever its outcome (`failed` means that terminal may still hold face templates). Only
   * the terminal id, the outcome and counts: no person, no template.
   */
  private onWiped(terminalId: string, e: TerminalWiped, receivedAt: number): void {
    this.db.audit('hub', 'terminal.wiped', terminalId, { outcome: e.outcome, persons: e.persons, templates: e.templates, at: e.at }, receivedAt);
    if (e.outcome === 'failed') this.log.error({ terminal: terminalId }, 'terminal wipe failed');
    else this.log.warn({ terminal: terminalId, persons: e.persons, templates: e.templates }, 'terminal wiped');
    if (!this.webhookUrl) return;
    const body = JSON.stringify({
      kind: 'terminal.wiped',
      eventId: e.id,
      terminalId,
      outcome: e.outcome,
      persons: e.persons,
      templates: e.templates,
      at: new Date(e.at).toISOString(),
      receivedAt: new Date(receivedAt).toISOString(),
    });
    const p = this.post(this.webhookUrl, body)
      .then((outcome) => {
        if (outcome !== 'delivered') this.log.error({ event: e.id, outcome }, 'wipe webhook failed');
      })
      .finally(() => this.pendingWebhooks.delete(p));
    this.pendingWebhooks.add(p);
  }

  private async postWebhook(url: string, a: AlertRecord): Promise<void> {
    const body = JSON.stringify({
      kind: 'alert.sighting',
      alertId: a.id,
      tag: a.tag,
      personId: a.personId,
      doorId: a.doorId,
      terminalId: a.terminalId,
      score: a.score,
      at: new Date(a.at).toISOString(),
      raisedAt: new Date(a.raisedAt).toISOString(),
    });
    const outcome = await this.post(url, body);
    if (!this.stopped) this.db.setAlertWebhook(a.id, outcome);
    if (outcome !== 'delivered') this.log.error({ alert: a.id, outcome }, 'alert webhook failed');
  }

  /** POSTs a JSON body, three attempts; returns 'delivered' or why not. */
  private async post(url: string, body: string): Promise<string> {
    let outcome = 'failed';
    for (let attempt = 1; attempt <= 3 && !this.stopped; attempt++) {
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(5000) });
        if (res.ok) {
          outcome = 'delivered';
          break;
        }
        outcome = `failed: HTTP ${res.status}`;
      } catch (err) {
        outcome = `failed: ${(err as Error).message}`;
      }
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
    return outcome;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    await Promise.allSettled([...this.pendingWebhooks]);
    await this.hub?.stop();
    this.ingest?.close();
  }
}
