import { randomBytes, type KeyObject } from 'node:crypto';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { decodePlain, DEFAULT_MAX_PAYLOAD_BYTES, ProtocolRejectError } from '../../runtime/protocol/codec';
import {
  RequestMessageSchema,
  SCHEMA_VERSION,
  StatusMessageSchema,
  type AcksMessage,
  type Command,
  type CommandBody,
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
}

/**
 * The minimal hub service: publishes signed roster deltas to every door, answers roster sync and
 * snapshot requests, stores terminal events idempotently and acknowledges them, signs commands, and
 * keeps each terminal's last status.
 */
export class Hub<Item> {
  private readonly log: Logger;
  private readonly status = new Map<string, StatusMessage>();
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

  /** Send the whole roster to one terminal as signed chunks. */
  async sendSnapshot(terminalId: string): Promise<void> {
    const snap = this.deps.roster.snapshot();
    await this.publishAll(topicsFor(terminalId).roster, snap.chunks);
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
            const deltas = req.version === 0 ? null : this.deps.roster.deltasSince(req.version);
            if (deltas && deltas.length <= (this.deps.maxReplay ?? 1000)) {
              for (const d of deltas) this.fire(topicsFor(id).roster, d);
            } else {
              this.fire(topicsFor(id).roster, ...this.deps.roster.snapshot().chunks);
            }
          } else {
            const resumed = req.resume ? this.deps.roster.snapshotChunks(req.resume.snapshotId, req.resume.missing) : null;
            this.fire(topicsFor(id).roster, ...(resumed ?? this.deps.roster.snapshot().chunks));
          }
          return;
        }
        case 'status': {
          if (msg.payload.length === 0) return; // a cleared retained status
          this.status.set(id, decodePlain(msg.payload, StatusMessageSchema, max));
          return;
        }
        case 'acks':
        case 'roster':
        case 'rosterAll':
        case 'commands':
          return; // the hub's own publications
      }
    } catch (err) {
      this.rejectedCount += 1;
      const reason = err instanceof ProtocolRejectError ? err.reason : 'error';
      this.log.warn({ topic: t?.kind ?? 'unknown', reason, bytes: msg.payload.length }, 'hub rejected message');
    }
  }

  private fire(topic: string, ...payloads: string[]): void {
    for (const p of payloads) {
      this.deps.transport.publish(topic, p, { retain: false }).catch((err: unknown) => {
        this.log.warn({ err: String(err) }, 'hub publish failed');
      });
    }
  }
}
