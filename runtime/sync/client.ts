import { EventEmitter } from 'node:events';
import type { KeyObject } from 'node:crypto';
import type { z } from 'zod';
import type { Clock, TimerHandle } from '../../core/clock';
import type { Logger } from '../../core/log';
import { decodePlain, decodeSigned, DEFAULT_MAX_PAYLOAD_BYTES, ProtocolRejectError, type RejectReason } from '../protocol/codec';
import { EVENTS_MESSAGE_TARGET_BYTES } from '../protocol/limits';
import {
  AcksMessageSchema,
  CertificateBodySchema,
  CommandBodySchema,
  SCHEMA_VERSION,
  type Command,
  type Health,
  type RequestMessage,
  type StatusMessage,
  type SyncEvent,
} from '../protocol/schemas';
import { decodeRoster } from '../protocol/roster-seal';
import { parseTopic, terminalSubscriptions, topicsFor, type TopicKind } from '../protocol/topics';
import type { CertificateInstaller } from './certificate';
import type { SyncDb } from './db';
import { NonceStore } from './nonces';
import { Outbox, type EnqueueResult } from './outbox';
import type { RosterSink } from './roster-sink';
import { RosterSync, type RosterApplied } from './roster-sync';
import { ephemeralStagingKey, SnapshotStaging } from './snapshot-staging';
import type { IncomingMessage, SyncTransport } from './transport';

export interface SyncTiming {
  /** Heartbeat (retained status with health) period. */
  heartbeatMs: number;
  /** First wait for the hub's ack of an events batch; doubles per retry up to maxBackoffMs. */
  ackTimeoutMs: number;
  maxBackoffMs: number;
  /** How often in-flight batches are checked for an overdue ack. */
  tickMs: number;
  /** Minimum time between two roster sync requests (gap or stalled snapshot). */
  resyncRetryMs: number;
  /** A command living longer than this (expiresAt - issuedAt) is refused. */
  commandMaxTtlMs: number;
  /** A command issued further than this in the future (clock skew) is refused. */
  commandMaxSkewMs: number;
}

export const DEFAULT_TIMING: SyncTiming = {
  heartbeatMs: 30_000,
  ackTimeoutMs: 5_000,
  maxBackoffMs: 60_000,
  tickMs: 500,
  resyncRetryMs: 3_000,
  commandMaxTtlMs: 5 * 60_000,
  commandMaxSkewMs: 60_000,
};

export interface SyncClientDeps {
  terminalId: string;
  transport: SyncTransport;
  clock: Clock;
  log: Logger;
  /** The sync state database (openSyncDb): outbox, nonces, snapshot staging. */
  db: SyncDb;
  /**
   * Seals the snapshot chunks staged in `db` (stagingKeyFromSecretFile(db, deviceSecretFile) on a
   * terminal). Without it a random key held in memory is used: chunks are still sealed on disk, but a
   * snapshot interrupted by a restart starts again from its first chunk.
   */
  stagingKey?: KeyObject;
  /** The hub's Ed25519 public key, pinned at provisioning. */
  hubPublicKey: KeyObject;
  /**
   * This terminal's roster key (bundle `roster.key`, runtime/protocol/roster-seal.ts): roster data must
   * then come sealed to this terminal. Absent (a bundle from before it): plain roster bodies are taken.
   */
  rosterKey?: KeyObject;
  roster: {
    sink: RosterSink;
    /** The roster store's batch schema (applied to `batch` of each delta before applyBatch). */
    batchSchema: z.ZodType;
    /** The roster store's schema of one snapshot item. */
    itemSchema: z.ZodType;
  };
  /**
   * The terminal's certificate files: renewed certificates the hub publishes are checked and installed
   * through it (runtime/sync/certificate.ts); without it they are ignored.
   */
  certificates?: CertificateInstaller;
  /**
   * Live figures for the heartbeat, from the frame loop and decision path, the terminal's faults and
   * the installed update bundle.
   */
  health: () => { cameraFps: number | null; lastDecisionLatencyMs: number | null; faults?: Health['faults']; update?: Health['update'] };
  versions: { software: string; model: string };
  timing?: Partial<SyncTiming>;
  /**
   * The terminal's outbox, owned by its event recorder (runtime/terminal/events.ts): the client only
   * publishes and acknowledges what is in it. Without one the client keeps an outbox of its own in `db`.
   */
  outbox?: Outbox;
  /** Outbox capacity (events) of the client's own outbox; default 100,000. */
  outboxCapacity?: number;
  /**
   * Commands issued before this time (epoch ms) are refused: the nonces seen before it are lost (a sync
   * file set aside as corrupt), so such a command could be a replay. Default: none refused.
   */
  commandsIssuedAfter?: number;
  /** Largest accepted incoming payload; default 4 MiB. */
  maxPayloadBytes?: number;
  /** Events per published batch and batches in flight at once. */
  batchEvents?: number;
  windowBatches?: number;
}

export type { RosterApplied } from './roster-sync';

export interface Rejected {
  reason: RejectReason;
  topic: TopicKind | 'unknown';
}

interface SyncClientEvents {
  connected: [];
  disconnected: [];
  'roster-applied': [RosterApplied];
  /** Every chunk of a snapshot is in; it is about to be applied (for progress and timing). */
  'snapshot-received': [{ version: number; chunks: number }];
  rejected: [Rejected];
  /** A verified, fresh, single-use command for the application (unlock, reload-config, wipe, resync). */
  command: [Command, CommandMeta];
  /** A batch of events was acknowledged by the hub and deleted from the outbox. */
  acked: [number];
  /** A renewed TLS certificate was installed (used from the next connection). */
  certificate: [{ expiresAt: number | null }];
}

/** Which signed command this was: its nonce is its id (the hub audits the nonce of every command it sends). */
export interface CommandMeta {
  commandId: string;
  issuedAt: number;
}

interface InFlight {
  ids: Set<string>;
  attempts: number;
  deadline: number;
}

function certificateExpiry(c: CertificateInstaller | undefined): { certificateExpiresAt?: number } {
  const at = c?.expiresAt() ?? null;
  return at === null ? {} : { certificateExpiresAt: at };
}

/** The first rows whose stored JSON adds up to at most `maxBytes` (at least one row). */
function withinBytes<R extends { body: string }>(rows: R[], maxBytes: number): R[] {
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    bytes += Buffer.byteLength((rows[i] as R).body, 'utf8') + 1;
    if (i > 0 && bytes > maxBytes) return rows.slice(0, i);
  }
  return rows;
}
/** How long stop() waits for the broker to acknowledge the `offline` status. */
const STOP_GRACE_MS = 1000;

/**
 * The terminal's side of hub sync: roster in (signed, versioned deltas and chunked snapshots),
 * events out (SQLite outbox, QoS 1, deleted on the hub's ack), signed commands, retained status and
 * heartbeat. Every refused message is counted, logged without its payload, and changes nothing.
 */
export class SyncClient extends EventEmitter<SyncClientEvents> {
  readonly outbox: Outbox;
  private readonly nonces: NonceStore;
  private readonly staging: SnapshotStaging;
  private readonly roster: RosterSync;
  private readonly timing: SyncTiming;
  private readonly topics: Record<TopicKind, string>;
  private readonly maxPayload: number;
  private readonly batchEvents: number;
  private readonly windowBatches: number;
  private readonly log: Logger;
  private readonly rejectedCounts = new Map<RejectReason, number>();
  private timers: TimerHandle[] = [];
  private isConnected = false;
  private startedAt = 0;
  // Outbox drain state (per connection).
  private cursor = 0;
  private inflight = new Map<number, InFlight>();
  private idToBatch = new Map<string, number>();
  private nextBatchNo = 1;
  private drainScheduled = false;
  private unsubscribeOutbox: (() => void) | null = null;

  constructor(private readonly deps: SyncClientDeps) {
    super();
    this.timing = { ...DEFAULT_TIMING, ...deps.timing };
    this.topics = topicsFor(deps.terminalId);
    this.maxPayload = deps.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.batchEvents = deps.batchEvents ?? 200;
    this.windowBatches = deps.windowBatches ?? 8;
    this.log = deps.log.child({ module: 'sync' });
    this.outbox = deps.outbox ?? new Outbox(deps.db, { capacity: deps.outboxCapacity ?? 100_000, log: this.log });
    this.nonces = new NonceStore(deps.db);
    this.staging = new SnapshotStaging(deps.db, deps.stagingKey ?? ephemeralStagingKey());
    this.roster = new RosterSync({
      ...deps.roster,
      staging: this.staging,
      clock: deps.clock,
      log: this.log,
      resyncRetryMs: this.timing.resyncRetryMs,
      request: (req: RequestMessage) => this.publish(this.topics.requests, JSON.stringify(req), false),
      connected: () => this.isConnected,
      onApplied: (a) => this.emit('roster-applied', a),
      onSnapshotReceived: (x) => this.emit('snapshot-received', x),
    });
  }

  start(): void {
    const { clock, transport } = this.deps;
    this.startedAt = clock.monotonic();
    // Chunks staged before a restart that no longer open (altered, other key) are dropped before the
    // missing ones are computed: they are asked for again like any chunk that never arrived.
    const unreadable = this.staging.discardUnreadable();
    if (unreadable > 0) this.countRejected('staged-chunk-unreadable', 'roster', `${unreadable} staged chunk(s) discarded at start`);
    // Whoever records an event (the terminal's recorder), it goes out as soon as it is committed.
    this.unsubscribeOutbox = this.outbox.onQueued(() => this.scheduleDrain());
    const offline: StatusMessage = { v: SCHEMA_VERSION, state: 'offline' };
    transport.start(
      {
        onConnect: (sp) => this.onConnect(sp),
        onDisconnect: () => this.onDisconnect(),
        onMessage: (m) => this.onMessage(m),
      },
      { topic: this.topics.status, payload: JSON.stringify(offline) },
    );
    this.timers.push(clock.setInterval(() => this.publishStatus(), this.timing.heartbeatMs));
    this.timers.push(clock.setInterval(() => this.tick(), this.timing.tickMs));
  }

  async stop(): Promise<void> {
    for (const t of this.timers) t.cancel();
    this.timers = [];
    this.unsubscribeOutbox?.();
    this.unsubscribeOutbox = null;
    if (this.isConnected) {
      // Say goodbye if the broker answers soon; a broker that went away must not hold a shutdown
      // (the retained last will says `offline` anyway).
      const offline: StatusMessage = { v: SCHEMA_VERSION, state: 'offline' };
      const bye = this.deps.transport.publish(this.topics.status, JSON.stringify(offline), { retain: true }).catch(() => undefined);
      await Promise.race([bye, new Promise<void>((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
    }
    this.isConnected = false;
    await this.deps.transport.stop();
  }

  /** Store an event durably (committed before this returns), then publish it when connected. */
  record(event: SyncEvent): EnqueueResult {
    const r = this.outbox.enqueue(event);
    this.scheduleDrain();
    return r;
  }

  connected(): boolean {
    return this.isConnected;
  }

  /** Refused incoming messages by reason since start. */
  rejected(): Partial<Record<RejectReason, number>> {
    return Object.fromEntries(this.rejectedCounts);
  }

  rejectedTotal(): number {
    let n = 0;
    for (const v of this.rejectedCounts.values()) n += v;
    return n;
  }

  health(): Health {
    const live = this.deps.health();
    const pos = this.deps.roster.sink.position();
    return {
      uptimeS: Math.round((this.deps.clock.monotonic() - this.startedAt) / 1000),
      rosterVersion: pos.version,
      // Left out while none is held, so a hub from before epochs still reads the heartbeat.
      ...(pos.epoch ? { rosterEpoch: pos.epoch } : {}),
      ...certificateExpiry(this.deps.certificates),
      outboxDepth: this.outbox.depth(),
      outboxDropped: this.outbox.dropped(),
      rejectedMessages: this.rejectedTotal(),
      cameraFps: live.cameraFps,
      lastDecisionLatencyMs: live.lastDecisionLatencyMs,
      softwareVersion: this.deps.versions.software,
      modelVersion: this.deps.versions.model,
      faults: live.faults ?? [],
      ...(live.update ? { update: live.update } : {}),
    };
  }

  /**
   * Publishes an adapted-template message (runtime/sync/template-uplink.ts: already sealed to the hub)
   * on door/<id>/templates; false when not connected (nothing is sent).
   */
  publishTemplate(payload: string): boolean {
    if (!this.isConnected) return false;
    this.publish(this.topics.templates, payload, false);
    return true;
  }

  /** Publishes the status with health now instead of at the next heartbeat (a fault came or went). */
  healthChanged(): void {
    this.publishStatus();
  }

  /**
   * The roster was wiped (hub `wipe` command): forgets every roster state kept here (held deltas,
   * the staged snapshot whose chunks hold templates, the last snapshot id, so the same snapshot is
   * taken again after a resync) and scrubs the sync file: snapshot chunks staged and deleted earlier
   * may still sit in its free pages or WAL, so the WAL is checkpointed and truncated and the file
   * rebuilt (VACUUM). The outbox is kept.
   */
  rosterWiped(): void {
    this.roster.wiped();
    const db = this.deps.db;
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
    this.log.warn('roster sync state cleared after a wipe');
  }

  /**
   * Asks the hub for a full snapshot again (a resync ordered while a wipe was still erasing: the
   * snapshot asked for at the command was refused while the roster was held).
   */
  requestSnapshotAgain(): void {
    this.roster.resync();
  }

  // --- connection ------------------------------------------------------------------------------

  private onConnect(sessionPresent: boolean): void {
    this.isConnected = true;
    this.resetDrain();
    this.log.info({ sessionPresent }, 'connected');
    this.emit('connected');
    this.deps.transport
      .subscribe(terminalSubscriptions(this.deps.terminalId))
      .then(() => {
        this.publishStatus();
        this.roster.onConnect(sessionPresent);
        this.scheduleDrain();
      })
      .catch((err: unknown) => this.log.error({ err: String(err) }, 'subscribe failed'));
  }

  private onDisconnect(): void {
    if (!this.isConnected) return;
    this.isConnected = false;
    this.roster.onDisconnect();
    this.resetDrain();
    this.log.warn('disconnected');
    this.emit('disconnected');
  }

  private publishStatus(): void {
    if (!this.isConnected) return;
    const msg: StatusMessage = { v: SCHEMA_VERSION, state: 'online', at: this.deps.clock.now(), health: this.health() };
    this.publish(this.topics.status, JSON.stringify(msg), true);
  }

  private publish(topic: string, payload: string, retain: boolean): void {
    this.deps.transport.publish(topic, payload, { retain }).catch((err: unknown) => {
      this.log.debug({ err: String(err), topic }, 'publish failed');
    });
  }

  private tick(): void {
    if (!this.isConnected) return;
    const now = this.deps.clock.monotonic();
    for (const [no, b] of this.inflight) {
      if (b.deadline > now) continue;
      this.inflight.delete(no);
      for (const id of b.ids) this.idToBatch.delete(id);
      const rows = this.outbox.pending([...b.ids]);
      if (rows.length > 0) this.sendBatch(rows, b.attempts + 1);
    }
    this.roster.tick();
    this.scheduleDrain();
  }

  // --- outbox ----------------------------------------------------------------------------------

  private resetDrain(): void {
    this.cursor = 0;
    this.inflight.clear();
    this.idToBatch.clear();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (this.isConnected && this.inflight.size < this.windowBatches) {
      const rows = withinBytes(this.outbox.after(this.cursor, this.batchEvents), EVENTS_MESSAGE_TARGET_BYTES);
      const last = rows[rows.length - 1];
      if (!last) return;
      this.cursor = last.seq;
      this.sendBatch(rows, 0);
    }
  }

  private sendBatch(rows: { id: string; body: string }[], attempts: number): void {
    const no = this.nextBatchNo++;
    const wait = Math.min(this.timing.maxBackoffMs, this.timing.ackTimeoutMs * 2 ** attempts);
    const ids = new Set(rows.map((r) => r.id));
    this.inflight.set(no, { ids, attempts, deadline: this.deps.clock.monotonic() + wait });
    for (const id of ids) this.idToBatch.set(id, no);
    // The stored JSON text of each event is sent as is: no re-serialisation.
    const payload = `{"v":${SCHEMA_VERSION},"events":[${rows.map((r) => r.body).join(',')}]}`;
    this.deps.transport.publish(this.topics.events, payload, { retain: false }).catch((err: unknown) => {
      // Not delivered on this connection: let the tick retry it after its deadline.
      this.log.debug({ err: String(err) }, 'events publish failed');
    });
  }

  private onAcks(msg: IncomingMessage): void {
    const acks = decodePlain(msg.payload, AcksMessageSchema, this.maxPayload);
    const n = this.outbox.ack(acks.ids);
    for (const id of acks.ids) {
      const no = this.idToBatch.get(id);
      if (no === undefined) continue;
      this.idToBatch.delete(id);
      const b = this.inflight.get(no);
      if (!b) continue;
      b.ids.delete(id);
      if (b.ids.size === 0) this.inflight.delete(no);
    }
    if (n > 0) this.emit('acked', n);
    this.scheduleDrain();
  }

  // --- incoming --------------------------------------------------------------------------------

  private onMessage(msg: IncomingMessage): void {
    const parsed = parseTopic(msg.topic);
    const kind: TopicKind | 'unknown' = parsed?.kind ?? 'unknown';
    try {
      if (!parsed || (parsed.terminalId !== null && parsed.terminalId !== this.deps.terminalId)) {
        throw new ProtocolRejectError('unknown-topic', 'not a topic of this terminal');
      }
      switch (parsed.kind) {
        case 'acks':
          this.onAcks(msg);
          return;
        case 'roster':
        case 'rosterAll':
          this.onRoster(msg);
          return;
        case 'commands':
          this.onCommand(msg);
          return;
        case 'certificate':
          this.onCertificate(msg);
          return;
        case 'status':
        case 'events':
        case 'requests':
        case 'templates':
          throw new ProtocolRejectError('unknown-topic', 'terminal topics are not read by the terminal');
      }
    } catch (err) {
      const reason: RejectReason = err instanceof ProtocolRejectError ? err.reason : 'store-refused';
      // The error text never quotes the payload; for non-protocol errors only the class name is kept.
      const detail = err instanceof ProtocolRejectError ? err.message : err instanceof Error ? err.name : 'unknown';
      this.countRejected(reason, kind, detail, msg.payload.length);
    }
  }

  private countRejected(reason: RejectReason, topic: TopicKind | 'unknown', detail: string, bytes?: number): void {
    this.rejectedCounts.set(reason, (this.rejectedCounts.get(reason) ?? 0) + 1);
    this.log.warn({ topic, reason, bytes, detail }, 'message rejected');
    this.emit('rejected', { reason, topic });
  }

  private onRoster(msg: IncomingMessage): void {
    this.roster.onBody(decodeRoster(msg.payload, this.deps.hubPublicKey, this.maxPayload, this.deps.terminalId, this.deps.rosterKey ?? null));
  }

  private onCertificate(msg: IncomingMessage): void {
    if (msg.payload.length === 0) return; // a cleared retained message
    const c = decodeSigned(msg.payload, CertificateBodySchema, this.deps.hubPublicKey, this.maxPayload);
    if (c.terminalId !== this.deps.terminalId) throw new ProtocolRejectError('wrong-terminal', 'certificate for another terminal');
    const installer = this.deps.certificates;
    if (!installer) return;
    const pem = installer.install(c.certificate);
    if (pem === null) return; // the one in use, delivered again
    this.deps.transport.setCertificate?.(pem);
    this.emit('certificate', { expiresAt: installer.expiresAt() });
    this.publishStatus();
  }

  private onCommand(msg: IncomingMessage): void {
    // A retained command would be replayed by the broker at every reconnect (the "door opens at
    // every reboot" failure of other controllers): commands are never retained, so refuse it.
    if (msg.retain) throw new ProtocolRejectError('retained', 'retained command ignored');
    const c = decodeSigned(msg.payload, CommandBodySchema, this.deps.hubPublicKey, this.maxPayload);
    if (c.terminalId !== this.deps.terminalId) throw new ProtocolRejectError('wrong-terminal', 'command for another terminal');
    const now = this.deps.clock.now();
    if (now > c.expiresAt) throw new ProtocolRejectError('expired', 'command expired');
    if (c.expiresAt - c.issuedAt > this.timing.commandMaxTtlMs || c.issuedAt > now + this.timing.commandMaxSkewMs) {
      throw new ProtocolRejectError('expired', 'command validity window not acceptable');
    }
    if (this.deps.commandsIssuedAfter !== undefined && c.issuedAt <= this.deps.commandsIssuedAfter) {
      throw new ProtocolRejectError('expired', 'command issued before the nonce store was replaced');
    }
    if (!this.nonces.claim(c.nonce, c.expiresAt, now)) throw new ProtocolRejectError('replayed-nonce', 'nonce already used');
    this.log.info({ command: c.command.type }, 'command accepted');
    if (c.command.type === 'resync') this.roster.resync();
    this.emit('command', c.command, { commandId: c.nonce, issuedAt: c.issuedAt });
  }
}
