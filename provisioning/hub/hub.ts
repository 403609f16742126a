import { randomBytes, type KeyObject } from 'node:crypto';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { decodePlain, DEFAULT_MAX_PAYLOAD_BYTES, ProtocolRejectError } from '../../runtime/protocol/codec';
import { SNAPSHOT_WINDOW_CHUNKS } from '../../runtime/protocol/limits';
import {
  RequestMessageSchema,
  SCHEMA_VERSION,
  StatusMessageSchema,
  type AcksMessage,
  type CertificateBody,
  type Command,
  type CommandBody,
  type HeldEpoch,
  type RosterEpoch,
  type StatusMessage,
} from '../../runtime/protocol/schemas';
import { signBody } from '../../runtime/protocol/signing';
import { parseTopic, TOPICS, topicsFor } from '../../runtime/protocol/topics';
import type { IncomingMessage, SyncTransport } from '../../runtime/sync/transport';
import type { EventIngest } from './ingest';
import type { HubRosterStore, RosterChange } from './roster';

export interface HubDeps<Item> {
  transport: SyncTransport;
  roster: HubRosterStore<Item>;
  ingest: EventIngest;
  signingKey: KeyObject;
  clock: Clock;
  log: Logger;
  /** Lifetime of a signed command (default 30 s). */
  commandTtlMs?: number;
  /** A terminal this many versions behind gets a snapshot instead of a replay of deltas. */
  maxReplay?: number;
  maxPayloadBytes?: number;
  /**
   * A terminal whose heartbeat shows a roster off this hub's history (it holds versions this hub never
   * signed: the hub was restored from a backup) is sent a snapshot, at most once per this period
   * (default 10 min).
   */
  offHistorySnapshotMs?: number;
  /** Told of every epoch this hub starts while running, before it is announced (to persist it). */
  onEpochStarted?: (e: { epoch: RosterEpoch; version: number; reason: EpochReason }) => void;
}

/**
 * Why a running hub starts an epoch: a terminal holds an epoch this hub does not know and that is not
 * older than its own (a hub restored from a backup on a clock behind the one that started it).
 */
export type EpochReason = 'terminal-newer';

/** At most one epoch started for a terminal's report per this period. */
const EPOCH_COOLDOWN_MS = 10 * 60_000;

/**
 * The minimal hub service: publishes signed roster deltas to every door, answers roster sync and
 * snapshot requests, stores terminal events idempotently and acknowledges them, signs commands, and
 * keeps each terminal's last status.
 */
export class Hub<Item> {
  private readonly log: Logger;
  private readonly status = new Map<string, StatusMessage>();
  private readonly offHistorySentAt = new Map<string, number>();
  private lastEpochStartAt = -Infinity;
  private rejectedCount = 0;

  constructor(private readonly deps: HubDeps<Item>) {
    this.log = deps.log.child({ module: 'hub' });
  }

  async start(): Promise<void> {
    let ready: () => void = () => undefined;
    const connected = new Promise<void>((r) => (ready = r));
    this.deps.transport.start(
      {
        onConnect: () => {
          this.deps.transport
            .subscribe([TOPICS.events.filter, TOPICS.requests.filter, TOPICS.status.filter])
            .then(ready)
            .catch((err: unknown) => this.log.error({ err: String(err) }, 'hub subscribe failed'));
        },
        onDisconnect: () => this.log.warn('hub disconnected'),
        onMessage: (m) => this.onMessage(m),
      },
      null,
    );
    await connected;
  }

  async stop(): Promise<void> {
    await this.deps.transport.stop();
  }

  /** Change the master roster and publish the signed delta to every door. */
  async publishChange(change: RosterChange<Item>): Promise<number> {
    const { version, payload } = this.deps.roster.change(change);
    await this.deps.transport.publish(TOPICS.rosterAll.filter, payload, { retain: false });
    return version;
  }

  /** Sign and send one command to one terminal (never retained). */
  async sendCommand(terminalId: string, command: Command): Promise<CommandBody> {
    const now = this.deps.clock.now();
    const body: CommandBody = {
      v: SCHEMA_VERSION,
      kind: 'command',
      terminalId,
      nonce: randomBytes(16).toString('base64url'),
      issuedAt: now,
      expiresAt: now + (this.deps.commandTtlMs ?? 30_000),
      command,
    };
    await this.deps.transport.publish(topicsFor(terminalId).commands, signBody(body, this.deps.signingKey), { retain: false });
    return body;
  }

  /**
   * Publish a terminal's renewed certificate (signed, retained: a terminal offline now gets it when it
   * connects again; it installs it once, see runtime/sync/certificate.ts).
   */
  async publishCertificate(terminalId: string, certificatePem: string): Promise<void> {
    const body: CertificateBody = { v: SCHEMA_VERSION, kind: 'certificate', terminalId, certificate: certificatePem, issuedAt: this.deps.clock.now() };
    await this.deps.transport.publish(topicsFor(terminalId).certificate, signBody(body, this.deps.signingKey), { retain: true });
  }

  /**
   * Start sending the roster to one terminal as signed chunks: the first window of them
   * (SNAPSHOT_WINDOW_CHUNKS); the terminal asks for the rest, window by window.
   */
  async sendSnapshot(terminalId: string): Promise<void> {
    const snap = this.deps.roster.snapshot();
    await this.publishAll(topicsFor(terminalId).roster, snap.chunks.slice(0, SNAPSHOT_WINDOW_CHUNKS));
  }

  /**
   * Starts a new epoch that continues the current history (see HubRosterStore.startEpoch) and persists
   * it through `onEpochStarted`. Terminals on this hub's history go on with the next delta; the others
   * take the next snapshot (of a newer epoch, whatever its version).
   */
  startEpoch(reason: EpochReason, notBefore = 0): RosterEpoch {
    const roster = this.deps.roster;
    const epoch = roster.startEpoch(notBefore);
    this.deps.onEpochStarted?.({ epoch, version: roster.version(), reason });
    this.log.warn({ reason, version: roster.version() }, 'roster epoch started');
    return epoch;
  }

  lastStatus(terminalId: string): StatusMessage | undefined {
    return this.status.get(terminalId);
  }

  rejected(): number {
    return this.rejectedCount;
  }

  private async publishAll(topic: string, payloads: string[]): Promise<void> {
    await Promise.all(payloads.map((p) => this.deps.transport.publish(topic, p, { retain: false })));
  }

  private onMessage(msg: IncomingMessage): void {
    const t = parseTopic(msg.topic);
    try {
      if (!t || t.terminalId === null) throw new ProtocolRejectError('unknown-topic', 'not a terminal topic');
      const id = t.terminalId;
      const max = this.deps.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
      switch (t.kind) {
        case 'events': {
          const r = this.deps.ingest.ingest(id, msg.payload, this.deps.clock.now());
          for (let i = 0; i < r.ids.length; i += 1000) {
            const ack: AcksMessage = { v: SCHEMA_VERSION, ids: r.ids.slice(i, i + 1000) };
            this.fire(topicsFor(id).acks, JSON.stringify(ack));
          }
          return;
        }
        case 'requests': {
          const req = decodePlain(msg.payload, RequestMessageSchema, max);
          if (req.kind === 'sync') {
            const held = req.epoch ?? null;
            const deltas = this.deps.roster.answerSync(held, req.version);
            if (deltas && deltas.length <= (this.deps.maxReplay ?? 1000)) {
              for (const d of deltas) this.fire(topicsFor(id).roster, d);
            } else {
              this.sendSnapshotFor(id, held);
            }
          } else {
            // One window per request: the first chunks the terminal misses, or the first of a new snapshot.
            const resumed = req.resume ? this.deps.roster.snapshotChunks(req.resume.snapshotId, req.resume.missing.slice(0, SNAPSHOT_WINDOW_CHUNKS)) : null;
            this.fire(topicsFor(id).roster, ...(resumed ?? this.deps.roster.snapshot().chunks.slice(0, SNAPSHOT_WINDOW_CHUNKS)));
          }
          return;
        }
        case 'status': {
          if (msg.payload.length === 0) return; // a cleared retained status
          const status = decodePlain(msg.payload, StatusMessageSchema, max);
          this.status.set(id, status);
          if (status.state === 'online') this.checkHistory(id, status.health.rosterEpoch ?? null, status.health.rosterVersion);
          return;
        }
        case 'acks':
        case 'roster':
        case 'rosterAll':
        case 'commands':
        case 'certificate':
          return; // the hub's own publications
      }
    } catch (err) {
      this.rejectedCount += 1;
      const reason = err instanceof ProtocolRejectError ? err.reason : 'error';
      this.log.warn({ topic: t?.kind ?? 'unknown', reason, bytes: msg.payload.length }, 'hub rejected message');
    }
  }

  /**
   * A snapshot for a terminal holding `held`. When that epoch is unknown here and not older than the
   * current one (this hub restored from a backup, on a clock behind the one that started that epoch),
   * the terminal would refuse this hub's snapshot as older: a newer epoch is started first.
   */
  private sendSnapshotFor(id: string, held: HeldEpoch | null): void {
    const roster = this.deps.roster;
    const now = this.deps.clock.monotonic();
    if (held && !roster.knows(held.id) && held.startedAt >= roster.epoch().startedAt && now - this.lastEpochStartAt >= EPOCH_COOLDOWN_MS) {
      this.lastEpochStartAt = now;
      this.startEpoch('terminal-newer', held.startedAt + 1);
    }
    this.fire(topicsFor(id).roster, ...roster.snapshot().chunks.slice(0, SNAPSHOT_WINDOW_CHUNKS));
  }

  /**
   * A heartbeat shows where a terminal's roster stands: off this hub's history (versions it never
   * signed, or an epoch it does not know), the terminal is sent a snapshot without waiting for it to
   * ask (it would only ask at this hub's next change). An empty or wiped roster (version 0) asks for
   * what it needs itself.
   */
  private checkHistory(id: string, held: HeldEpoch | null, version: number): void {
    if (version === 0 || this.deps.roster.onHistory(held, version)) return;
    const now = this.deps.clock.monotonic();
    if (now - (this.offHistorySentAt.get(id) ?? -Infinity) < (this.deps.offHistorySnapshotMs ?? 10 * 60_000)) return;
    this.offHistorySentAt.set(id, now);
    this.log.warn({ terminal: id, version }, 'terminal roster off this hub\'s history: sending a snapshot');
    this.sendSnapshotFor(id, held);
  }

  private fire(topic: string, ...payloads: string[]): void {
    for (const p of payloads) {
      this.deps.transport.publish(topic, p, { retain: false }).catch((err: unknown) => {
        this.log.warn({ err: String(err) }, 'hub publish failed');
      });
    }
  }
}
