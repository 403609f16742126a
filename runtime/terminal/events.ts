/**
 * Event recording: the one owner of the terminal's outbox. Every job records through it; the sync
 * client is handed the same outbox and only publishes and acknowledges what is in it. Events recorded
 * before the sync file is open (the lock is armed first), or while it cannot be written, wait in a
 * bounded memory buffer and go into the outbox as soon as it takes them.
 */
import { monotonicFactory } from 'ulid';
import type { Clock } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import type { Logger } from '../../core/log';
import type { LockConfig, LockEvent } from '../../drivers/lock';
import type { LoopEvent } from '../loop/door-loop';
import { denialNamesPerson, isSecurityEvent, type SyncEvent } from '../protocol/schemas';
import type { SyncDb } from '../sync/db';
import { Outbox, OutboxEventError } from '../sync/outbox';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event without its id and time (the recorder gives both). */
export type EventBody = DistributiveOmit<SyncEvent, 'id' | 'at'>;

/** The outbox is not open or cannot be written now (an event made elsewhere stays with its maker). */
export class EventStoreUnavailableError extends TerminalError {
  readonly code = 'event-store-unavailable';
}

/** What the jobs of a terminal need to record an event. */
export interface Recorder {
  record(body: EventBody, at: number): void;
}

export interface EventRecorderDeps {
  clock: Clock;
  log: Logger;
  /** Outbox capacity (oldest non-security events dropped beyond it). */
  capacity: number;
  /** Events held in memory at most while the outbox is not there or cannot be written. */
  memoryCapacity: number;
  /** Told when the outbox stops (false) or starts again (true) taking events. */
  onStoreState?: (ok: boolean) => void;
}

export class EventRecorder implements Recorder {
  private outboxRef: Outbox | null = null;
  private readonly buffer: SyncEvent[] = [];
  private storeOk = true;
  private droppedInMemory = 0;
  private readonly log: Logger;
  private readonly nextId = monotonicFactory();

  constructor(private readonly deps: EventRecorderDeps) {
    this.log = deps.log.child({ module: 'events' });
  }

  /**
   * Records into the sync file from now on (the outbox is built on it here); events recorded before
   * go in first. Without a file (it could not be opened) events stay in memory.
   */
  useStore(db: SyncDb | null): void {
    if (!db) return this.setStoreOk(false);
    try {
      this.outboxRef = new Outbox(db, { capacity: this.deps.capacity, log: this.log });
    } catch (err) {
      this.log.error({ error: (err as Error).name }, 'outbox could not be opened; events are kept in memory');
      return this.setStoreOk(false);
    }
    this.flush();
  }

  /** The outbox to hand to the sync client (null while there is none). */
  get outbox(): Outbox | null {
    return this.outboxRef;
  }

  record(body: EventBody, at: number): void {
    // Whole milliseconds: a clock can give fractions (a fake one advanced by a Wiegand bit time).
    at = Math.floor(at);
    const event = { ...body, id: this.nextId(at), at };
    if (this.outboxRef && this.buffer.length > 0) this.flush();
    if (this.outboxRef && this.buffer.length === 0) {
      try {
        this.outboxRef.enqueue(event);
        this.setStoreOk(true);
        return;
      } catch (err) {
        if (err instanceof OutboxEventError) return this.refuse(event, err);
        // Only the type: an event carries person ids.
        this.log.error({ type: event.type, error: (err as Error).name }, 'event could not be stored; kept in memory');
        this.setStoreOk(false);
      }
    }
    this.hold(event);
  }

  /**
   * Stores an event made elsewhere with its own id and time (the update agent's reports) in the
   * outbox, or throws: it is never held in memory, so its maker keeps it until it is durable.
   */
  recordMade(event: SyncEvent): void {
    const outbox = this.outboxRef;
    if (outbox && this.buffer.length > 0) this.flush();
    if (!outbox || this.buffer.length > 0) throw new EventStoreUnavailableError('the outbox cannot take events now');
    outbox.enqueue(event);
  }

  /** Events waiting for the hub: in the outbox and in memory. */
  depth(): number {
    return (this.outboxRef?.depth() ?? 0) + this.buffer.length;
  }

  /** Events held in memory only (lost if the process stops). */
  inMemory(): number {
    return this.buffer.length;
  }

  private flush(): void {
    const outbox = this.outboxRef;
    if (!outbox) return;
    while (this.buffer.length > 0) {
      const ev = this.buffer[0] as SyncEvent;
      try {
        outbox.enqueue(ev);
      } catch (err) {
        if (!(err instanceof OutboxEventError)) {
          this.log.error({ type: ev.type, error: (err as Error).name }, 'held events could not be stored yet');
          return this.setStoreOk(false);
        }
        this.refuse(ev, err);
      }
      this.buffer.shift();
    }
    this.setStoreOk(true);
  }

  /** An event its schema refuses is a bug of its maker: logged (type and paths only) and dropped, never held. */
  private refuse(event: SyncEvent, err: OutboxEventError): void {
    this.log.error({ type: event.type, err: err.message }, 'event refused by its schema; not recorded');
  }

  private hold(event: SyncEvent): void {
    if (this.buffer.length >= this.deps.memoryCapacity) {
      const i = this.buffer.findIndex((e) => !isSecurityEvent(e.type));
      if (i < 0 && !isSecurityEvent(event.type)) {
        this.droppedInMemory += 1;
        return;
      }
      if (i >= 0) {
        this.buffer.splice(i, 1);
        this.droppedInMemory += 1;
      }
      if (this.droppedInMemory % 1000 === 1) this.log.warn({ dropped: this.droppedInMemory }, 'memory buffer full: oldest plain events dropped');
    }
    this.buffer.push(event);
  }

  private setStoreOk(ok: boolean): void {
    if (ok === this.storeOk) return;
    this.storeOk = ok;
    this.deps.onStoreState?.(ok);
  }
}

/**
 * The events a decision of the frame loop makes: the entry record, the release of the door for a
 * grant that the lock carried out, and alert sightings. `pulseMs` is the release the lock gave.
 */
export function loopEventRecords(e: LoopEvent, doorId: string, pulseMs: number): EventBody[] {
  if (e.type === 'error') return [{ type: 'entry.denied', reason: 'error', credential: 'face', personId: null, score: null, liveness: null, latencyMs: 0 }];
  const d = e.decision;
  const liveness = clamp01(e.liveness.score);
  const score = d.match ? clamp01(d.match.score) : null;
  const latencyMs = Math.min(3_600_000, Math.round(e.latencyMs));
  const out: EventBody[] = [];
  if (d.kind === 'grant' && e.lock === 'method-not-accepted') {
    // Recognised, but this door's credential policy does not open for faces.
    out.push({ type: 'entry.denied', reason: 'method-not-accepted', credential: 'face', personId: d.personId, score, liveness, latencyMs });
  } else if (d.kind === 'grant') {
    out.push({ type: 'entry.granted', personId: d.personId, credential: 'face', score, liveness, latencyMs });
    if (e.lock === 'unlocked') out.push({ type: 'door.released', source: 'face', personId: d.personId, commandId: null, requestedBy: null, durationMs: pulseMs });
  } else {
    // An unknown, ambiguous or not-live face names nobody: the nearest resident is not recorded (the score is, as a number).
    const named = denialNamesPerson({ credential: 'face', reason: d.reason });
    out.push({ type: 'entry.denied', reason: d.reason, credential: 'face', personId: named ? (d.match?.personId ?? null) : null, score, liveness, latencyMs });
  }
  for (const a of d.alerts) out.push({ type: 'alert.sighting', tag: a.tag, personId: a.personId, doorId, score: score ?? 0 });
  return out;
}

/**
 * The events a lock transition makes. Releases by the exit button and the fire alarm are recorded
 * here; releases for a grant are recorded by whoever asked for the grant (the frame loop's decision,
 * the hub command), who knows the person or the command.
 */
export function lockEventRecords(e: LockEvent, lock: LockConfig): EventBody[] {
  switch (e.type) {
    case 'alarm':
      switch (e.alarm) {
        case 'forced-open':
          return [{ type: 'alarm.forced-open' }];
        case 'held-open':
          return [{ type: 'alarm.held-open', openMs: lock.heldOpenAlarmMs }];
        case 'tamper':
          return [{ type: 'alarm.tamper', input: 'tamper' }];
        case 'fire':
          return [{ type: 'alarm.fire', state: 'active' }];
        case 'relay-fault':
          return []; // the relay-fault event before it says which level failed
      }
      return [];
    case 'alarm-cleared':
      if (e.alarm === 'fire') return [{ type: 'alarm.fire', state: 'cleared' }];
      if (e.alarm === 'relay-fault') return [{ type: 'alarm.relay-fault', state: 'cleared', intended: null }];
      return [];
    case 'relay-fault':
      return [{ type: 'alarm.relay-fault', state: 'active', intended: e.intended }];
    case 'unlocked':
      if (e.reason === 'exit-button') return [release('exit-button', lock.unlockPulseMs)];
      if (e.reason === 'fire') return [release('fire', null)];
      return [];
    case 'locked':
    case 'door-opened':
    case 'door-closed':
      return [];
  }
}

function release(source: 'exit-button' | 'fire', durationMs: number | null): EventBody {
  return { type: 'door.released', source, personId: null, commandId: null, requestedBy: null, durationMs };
}

function clamp01(v: number): number {
  return Math.min(1, Math.max(0, v));
}
