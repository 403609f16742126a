/**
 * What every part of the hub is built from (zigbee2mqtt's extension shape): each job is one class in
 * its own file whose constructor takes this context, and which the hub (hub.ts) calls for the terminal
 * messages it handles, on every tick, at start and at stop.
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import type { RosterEpoch, SyncEvent } from '../../runtime/protocol/schemas';
import type { AdaptationPolicy } from '../../runtime/roster/adaptation';
import type { SyncTransport } from '../../runtime/sync/transport';
import type { Community } from '../community';
import type { AlertRecord, PassRecord, PersonRecord } from '../db';
import type { HubStore } from '../store/hub-store';
import type { EventStore } from './event-store';
import type { HubRosterStore } from './roster';
import type { TerminalRosters } from './terminal-rosters';

/** Why the hub starts a roster epoch while running (see epochs.ts). */
export type EpochReason = 'terminal-newer';

export interface HubOptions {
  /** Lifetime of a signed command, and the age after which a queued one is not sent (default 30 s). */
  commandTtlMs?: number;
  /** A terminal this many versions behind gets a snapshot instead of a replay of deltas (default 1000). */
  maxReplay?: number;
  maxPayloadBytes?: number;
  /**
   * A terminal whose heartbeat shows a roster off this hub's history is sent a snapshot, at most once
   * per this period (default 10 min).
   */
  offHistorySnapshotMs?: number;
  /** How often the hub ticks: publishes stored changes, sends queued commands (default 250 ms; 0: only by hand). */
  pollMs?: number;
  /**
   * With a store, a timer's tick runs the parts only when the store changed since the last one (by this
   * process or another: HubStore.changeToken), and at least this often regardless, for the work that
   * time alone makes due (commands expiring, the hub's certificate file, renewal checks, retention).
   * Default 5 s; 0: every tick runs the parts.
   */
  idleTickMs?: number;
  /** Persons per roster delta at most (default 200; a delta is also cut at ROSTER_MESSAGE_TARGET_BYTES). */
  maxPersonsPerDelta?: number;
  /** How often certificates are checked for renewal (default 1 h; 0: never, renew by hand). */
  renewCheckMs?: number;
  /** Where alerts and wipe reports are POSTed (null: nowhere). */
  webhookUrl?: string | null;
  onAlert?: (a: AlertRecord) => void;
  /** How often the retention sweep runs (provisioning/retention/; default one day; 0: never). */
  retentionSweepMs?: number;
  /** How adapted templates from the terminals are judged (anchor floor, bound per person); default DEFAULT_ADAPTATION. */
  adaptation?: Pick<AdaptationPolicy, 'minEnrolledScore' | 'maxPerPerson'>;
}

/** A terminal's message on one of its own topics, after the fleet guard let it through. */
export interface TerminalMessage {
  terminalId: string;
  kind: 'events' | 'requests' | 'status' | 'templates';
  payload: Buffer;
}

/** Things parts of the hub tell each other (one failing listener never stops the others). */
export interface HubSignals {
  /** An event from a terminal, after it is stored (`duplicate`: it had been stored before). */
  event: { terminalId: string; event: SyncEvent; duplicate: boolean; receivedAt: number };
  /** An epoch this hub started while running, before it is announced. */
  epoch: { epoch: RosterEpoch; version: number; reason: EpochReason };
}

export class HubBus {
  private readonly listeners: { [K in keyof HubSignals]: Array<(s: HubSignals[K]) => void> } = { event: [], epoch: [] };

  constructor(private readonly log: Logger) {}

  on<K extends keyof HubSignals>(kind: K, f: (s: HubSignals[K]) => void): void {
    this.listeners[kind].push(f);
  }

  emit<K extends keyof HubSignals>(kind: K, s: HubSignals[K]): void {
    for (const f of this.listeners[kind]) {
      try {
        f(s);
      } catch (err) {
        this.log.error({ signal: kind, err: String(err) }, 'hub listener failed');
      }
    }
  }
}

export interface HubContext<Item> {
  /** The connection to the broker (behind the fleet guard when the hub has a store). */
  transport: SyncTransport;
  roster: HubRosterStore<Item>;
  events: EventStore;
  signingKey: KeyObject;
  clock: Clock;
  log: Logger;
  bus: HubBus;
  options: HubOptions;
  /** The community's stored state; null for a hub fed by hand (protocol tests, the sync bench). */
  store: HubStore | null;
  /** What a stored person is in this hub's roster (an upsert, a tombstone, or nothing yet); with a store. */
  itemOf: ((p: PersonRecord) => Item | null) | null;
  /** What a revoked pass is in this hub's roster (its id and end only); with a store. */
  passItemOf: ((p: PassRecord) => Item) | null;
  /** Per-door rosters (terminal-rosters.ts): with a store, each terminal is sent its own part, sealed to it. */
  scoped: TerminalRosters<Item> | null;
  /** The community folder and its passphrase (certificates); null without one. */
  community: { community: Community; passphrase: string } | null;
  /** True when messages to and from this terminal may pass (the fleet guard; always without a store). */
  isActive(terminalId: string): boolean;
}

/** One job of the hub. Every method is optional; the hub calls them in the order the parts were listed. */
export interface HubPart {
  onMessage?(m: TerminalMessage): void;
  /** Periodic work (every pollMs, and on `hub.tick()`). */
  tick?(): Promise<void>;
  /** After the connection is up, before the first tick. */
  start?(): Promise<void>;
  /** Before the connection closes. */
  stop?(): Promise<void>;
}
