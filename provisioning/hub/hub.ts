/**
 * The hub: one connection to the broker and the parts that do its jobs, each in its own file with the
 * same constructor (context.ts). It subscribes to every terminal's events, requests and status, hands
 * each message to the parts (one failing part never stops the others; a message any part refuses is
 * counted), and ticks them every pollMs when it has a store to poll.
 *
 * Built two ways: by hand (a roster changed with publishChange, an event store: protocol tests, the
 * sync bench, site tests), or by the composition root (main.ts) for a community, with its store
 * (hub.db), fleet guard, alerts, pass uses, duress alarms, webhook and certificate renewal.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock, TimerHandle } from '../../core/clock';
import type { Logger } from '../../core/log';
import { ProtocolRejectError } from '../../runtime/protocol/codec';
import type { Command, CommandBody, RosterEpoch, StatusMessage } from '../../runtime/protocol/schemas';
import { parseTopic, TOPICS } from '../../runtime/protocol/topics';
import type { IncomingMessage, SyncTransport } from '../../runtime/sync/transport';
import type { Community } from '../community';
import type { PassRecord, PersonRecord } from '../db';
import type { HubStore } from '../store/hub-store';
import { TerminalError } from '../../core/errors';
import { AdaptedTemplateReceiver } from './adapted-templates';
import { RetentionSweeper } from './retention';
import type { SweepCounts } from '../retention/sweep';
import { AlertRaiser } from './alerts';
import { CertificateRenewal } from './certificate-renewal';
import { CommandSender } from './command-sender';
import { HubBus, type EpochReason, type HubContext, type HubOptions, type HubPart, type HubSignals } from './context';
import { Epochs } from './epochs';
import { DuressAlarms } from './duress-alarms';
import { ErasureConfirmations } from './erasure-confirmations';
import { EventReceiver } from './event-receiver';
import type { EventStore } from './event-store';
import { FleetGuard } from './fleet-guard';
import { PassUses } from './pass-uses';
import type { HubRosterStore, RosterChange } from './roster';
import { ErasureTombstones } from './erasure-tombstones';
import type { TerminalRosters } from './terminal-rosters';
import { RosterPublisher } from './roster-publisher';
import { StatusRecorder } from './status';
import { SyncResponder } from './sync-responder';
import { Webhook } from './webhook';
import { WipeReports } from './wipe-reports';

export interface HubDeps<Item> extends HubOptions {
  transport: SyncTransport;
  roster: HubRosterStore<Item>;
  /** The event store (events.db); closed by stop() when `ownsEvents`, otherwise by the caller. */
  events: EventStore;
  ownsEvents?: boolean;
  signingKey: KeyObject;
  clock: Clock;
  log: Logger;
  /** The community's stored state: persons to publish, queued commands, fleet, alerts, audit. */
  store?: HubStore;
  /** With a store: what a stored person is in this hub's roster (rosterItemOf for RosterItem). */
  itemOf?: (p: PersonRecord) => Item | null;
  /** With a store: what a revoked pass is in this hub's roster (revoked passes are published from the store too). */
  passItemOf?: (p: PassRecord) => Item;
  /** With a store: the per-door rosters (terminal-rosters.ts), loaded; every roster version goes out through them. */
  scoped?: TerminalRosters<Item>;
  /** The community folder and passphrase, for certificate renewal. */
  community?: { community: Community; passphrase: string };
  /** Told of every epoch this hub starts while running, before it is announced. */
  onEpochStarted?: (e: HubSignals['epoch']) => void;
  /** The hub's X25519 sealing key: adapted templates from the terminals are sealed to it (none: they are refused). */
  sealKey?: KeyObject;
  /** More parts, after the hub's own (the rollout's feed: provisioning/update/hub-feed.ts). */
  extraParts?: (ctx: HubContext<Item>) => HubPart[];
}

export type { EpochReason };

/** The hub was built with parts that do not fit together (a bug in its composition root). */
export class HubSetupError extends TerminalError {
  readonly code = 'hub-setup';
}

export class Hub<Item> {
  private readonly ctx: HubContext<Item>;
  private readonly guard: FleetGuard | null;
  private readonly parts: HubPart[];
  private readonly epochs: Epochs<Item>;
  private readonly sync: SyncResponder<Item>;
  private readonly status: StatusRecorder<Item>;
  private readonly commands: CommandSender<Item>;
  private readonly publisher: RosterPublisher<Item>;
  private readonly certificates: CertificateRenewal<Item>;
  private readonly webhook: Webhook | null;
  private readonly adapted: AdaptedTemplateReceiver<Item>;
  private readonly retention: RetentionSweeper<Item>;
  private readonly log: Logger;
  private timer: TimerHandle | null = null;
  /** The store's change token when the timer last ran the parts, and when (monotonic ms). */
  private seenToken: string | null = null;
  private fullTickAt = -Infinity;
  private busy = false;
  private stopped = false;
  private rejectedCount = 0;
  private readonly ownsEvents: boolean;

  constructor(deps: HubDeps<Item>) {
    const { transport, roster, events, signingKey, clock, log, store, itemOf, passItemOf, scoped, community, onEpochStarted, ownsEvents, sealKey, extraParts, ...options } = deps;
    if (store && (!itemOf || !scoped)) throw new HubSetupError('a hub with a store needs itemOf and its per-door rosters');
    this.ownsEvents = ownsEvents ?? false;
    this.log = log.child({ module: 'hub' });
    this.guard = store ? new FleetGuard(transport, store) : null;
    const guard = this.guard;
    const bus = new HubBus(this.log);
    if (onEpochStarted) bus.on('epoch', onEpochStarted);
    this.ctx = {
      transport: guard ?? transport,
      roster,
      events,
      signingKey,
      clock,
      log: this.log,
      bus,
      options,
      store: store ?? null,
      itemOf: itemOf ?? null,
      passItemOf: passItemOf ?? null,
      scoped: scoped ?? null,
      community: community ?? null,
      isActive: (id) => guard?.isActive(id) ?? true,
    };
    const url = options.webhookUrl ?? null;
    this.webhook = url ? new Webhook(url, clock) : null;
    this.epochs = new Epochs(this.ctx);
    this.status = new StatusRecorder(this.ctx);
    this.sync = new SyncResponder(this.ctx, this.epochs);
    this.commands = new CommandSender(this.ctx);
    this.publisher = new RosterPublisher(this.ctx, () => this.stop());
    this.certificates = new CertificateRenewal(this.ctx);
    this.adapted = new AdaptedTemplateReceiver(this.ctx, sealKey ?? null, options.adaptation);
    const confirmations = new ErasureConfirmations(this.ctx);
    this.retention = new RetentionSweeper(this.ctx);
    // Order matters: status is recorded before the history check reads it; the roster goes out before
    // commands; a revocation is compacted in the tick that publishes it.
    this.parts = [
      new EventReceiver(this.ctx),
      this.status,
      this.sync,
      new AlertRaiser(this.ctx, this.webhook),
      new WipeReports(this.ctx, this.webhook),
      new PassUses(this.ctx),
      new DuressAlarms(this.ctx, this.webhook),
      this.adapted,
      confirmations,
      this.publisher,
      new ErasureTombstones(this.ctx, (personId, version) => confirmations.compacted(personId, version)),
      this.commands,
      this.certificates,
      this.retention,
      ...(extraParts?.(this.ctx) ?? []),
    ];
  }

  async start(): Promise<void> {
    let ready: () => void = () => undefined;
    const connected = new Promise<void>((r) => (ready = r));
    this.ctx.transport.start(
      {
        onConnect: () => {
          this.ctx.transport
            .subscribe([TOPICS.events.filter, TOPICS.requests.filter, TOPICS.status.filter, TOPICS.templates.filter])
            .then(ready)
            .catch((err: unknown) => this.log.error({ err: String(err) }, 'hub subscribe failed'));
        },
        onDisconnect: () => {
          if (!this.stopped) this.log.warn('hub disconnected');
        },
        onMessage: (m) => this.onMessage(m),
      },
      null,
    );
    await connected;
    for (const p of this.parts) await p.start?.();
    if (!this.ctx.store) return;
    await this.tick();
    const every = this.ctx.options.pollMs ?? 250;
    if (every > 0) {
      this.timer = this.ctx.clock.setInterval(() => {
        this.pollTick().catch((err: unknown) => this.log.error({ err: String(err) }, 'hub tick failed'));
      }, every);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.timer?.cancel();
    for (const p of this.parts) await p.stop?.();
    await this.webhook?.stop();
    await this.ctx.transport.stop();
    if (this.ownsEvents) this.ctx.events.close();
  }

  /** The parts' periodic work now (publish stored changes and pass revocations, send queued commands, renewals); also by the timer (pollTick). */
  async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      this.guard?.refresh();
      this.ctx.scoped?.refresh();
      for (const p of this.parts) await p.tick?.();
    } finally {
      this.busy = false;
    }
  }

  /**
   * The timer's tick: the parts run when the store changed since they last did, or idleTickMs passed.
   * An idle hub used to query hub.db for terminals, persons, commands and erasures four times a second:
   * after the certificate file, the largest share of what it promoted between major collections
   * (bench:soak --alloc-profile).
   */
  private async pollTick(): Promise<void> {
    const store = this.ctx.store;
    const idle = this.ctx.options.idleTickMs ?? 5_000;
    if (store && idle > 0 && !this.busy && !this.stopped) {
      const token = store.changeToken(); // read before the parts run: a commit during their run makes the next tick run them
      const now = this.ctx.clock.monotonic();
      if (token === this.seenToken && now - this.fullTickAt < idle) return;
      this.seenToken = token;
      this.fullTickAt = now;
    }
    await this.tick();
  }

  /** Current roster version. */
  version(): number {
    return this.ctx.roster.version();
  }

  /** Change the master roster by hand and publish the signed delta to every door. */
  publishChange(change: RosterChange<Item>): Promise<number> {
    return this.publisher.publishChange(change);
  }

  /** Sign and send one command to one terminal (never retained). */
  sendCommand(terminalId: string, command: Command): Promise<CommandBody> {
    return this.commands.send(terminalId, command);
  }

  /** Publish a terminal's renewed certificate (signed, retained). */
  publishCertificate(terminalId: string, certificatePem: string): Promise<void> {
    return this.certificates.publish(terminalId, certificatePem);
  }

  /** The first window of a fresh snapshot to one terminal. */
  sendSnapshot(terminalId: string): Promise<void> {
    return this.sync.sendSnapshot(terminalId);
  }

  /** Starts a new epoch that continues the current history (see epochs.ts). */
  startEpoch(reason: EpochReason, notBefore = 0): RosterEpoch {
    return this.epochs.begin(reason, notBefore);
  }

  lastStatus(terminalId: string): StatusMessage | undefined {
    return this.status.lastStatus(terminalId);
  }

  /** Messages refused by a part (bad payloads, unknown topics). */
  rejected(): number {
    return this.rejectedCount;
  }

  /** What the last retention sweep deleted (counts; provisioning/retention/), or null before the first. */
  lastRetentionSweep(): SweepCounts | null {
    return this.retention.lastSweep();
  }

  /** Adapted templates from the terminals accepted and refused since start (adapted-templates.ts). */
  adaptedTemplates(): { accepted: number; refused: number } {
    return { accepted: this.adapted.accepted, refused: this.adapted.refused };
  }

  /** Messages dropped because they came from or went to a revoked or unknown terminal. */
  dropped(): number {
    return this.guard?.dropped ?? 0;
  }

  private onMessage(msg: IncomingMessage): void {
    const t = parseTopic(msg.topic);
    if (t?.kind === 'acks' || t?.kind === 'roster' || t?.kind === 'rosterAll' || t?.kind === 'commands' || t?.kind === 'certificate') return; // the hub's own
    if (!t || t.terminalId === null) {
      this.reject('unknown', new ProtocolRejectError('unknown-topic', 'not a terminal topic'), msg.payload.length);
      return;
    }
    const m = { terminalId: t.terminalId, kind: t.kind, payload: msg.payload };
    let refused: unknown = null;
    for (const p of this.parts) {
      try {
        p.onMessage?.(m);
      } catch (err) {
        refused ??= err;
      }
    }
    if (refused !== null) this.reject(t.kind, refused, msg.payload.length);
  }

  private reject(kind: string, err: unknown, bytes: number): void {
    this.rejectedCount += 1;
    const reason = err instanceof ProtocolRejectError ? err.reason : 'error';
    this.log.warn({ topic: kind, reason, bytes }, 'hub rejected message');
  }
}
