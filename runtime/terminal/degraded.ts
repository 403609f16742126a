/**
 * Degraded mode: the faults a terminal runs with instead of stopping. The door never depends on them:
 * the lock controller is armed before anything here can fail, so the exit button and the fire release
 * keep working; what a fault switches off is face decisions (roster, device secret, models), the hub
 * link (its credentials or URL), durable events (the sync file), cards and PINs (the reader's lines, the
 * credential key) or passes (the QR decoder, the hub key). Each fault has a machine-readable
 * code (the protocol's TerminalFaultCode), shown by /healthz and the heartbeat and recorded as a
 * `terminal.fault` event for the hub.
 */
import type { Clock } from '../../core/clock';
import { TerminalError } from '../../core/errors';
import type { Logger } from '../../core/log';
import type { TerminalFaultCode } from '../protocol/schemas';
import { InsecureSecretFileError, SecretFileError } from '../roster/crypto';
import { SchemaVersionError } from '../roster/migrations';
import { WrongKeyError } from '../roster/store';
import type { Recorder } from './events';

/** What a fault switches off. */
export type FaultPart = 'faces' | 'hub' | 'events' | 'relay' | 'cards' | 'passes';

const PART: Record<TerminalFaultCode, FaultPart> = {
  'roster-corrupt': 'faces',
  'roster-wrong-key': 'faces',
  'roster-schema': 'faces',
  'roster-unavailable': 'faces',
  'secret-insecure': 'faces',
  'secret-unreadable': 'faces',
  'models-unavailable': 'faces',
  'event-store-replaced': 'events',
  'event-store-unavailable': 'events',
  'hub-credentials': 'hub',
  'hub-url': 'hub',
  'relay-fault': 'relay',
  'card-reader-unavailable': 'cards',
  'credential-key-unavailable': 'cards',
  'passes-unavailable': 'passes',
};

export interface Fault {
  code: TerminalFaultCode;
  part: FaultPart;
  /** Epoch ms when it was raised. */
  since: number;
}

export interface DegradedModeDeps {
  clock: Clock;
  log: Logger;
  recorder: Recorder;
  /** A fault was raised or cleared (the heartbeat goes out at once). */
  onChange?: () => void;
}

export class DegradedMode {
  private readonly active = new Map<TerminalFaultCode, Fault>();
  private readonly log: Logger;

  constructor(private readonly deps: DegradedModeDeps) {
    this.log = deps.log.child({ module: 'degraded' });
  }

  /**
   * Raises a fault (once per code). The log line carries the code and the error's class and code,
   * never its message (a path or a value from a file could be in it). `record: false` when another
   * event already tells the hub (the relay's own alarm).
   */
  raise(code: TerminalFaultCode, err?: unknown, opts: { record?: boolean } = {}): void {
    if (this.active.has(code)) return;
    const fault: Fault = { code, part: PART[code], since: this.deps.clock.now() };
    this.active.set(code, fault);
    this.log.error({ fault: code, part: fault.part, ...errorTag(err) }, 'running degraded');
    if (opts.record ?? true) this.deps.recorder.record({ type: 'terminal.fault', code, state: 'raised' }, fault.since);
    this.deps.onChange?.();
  }

  clear(code: TerminalFaultCode, opts: { record?: boolean } = {}): void {
    if (!this.active.delete(code)) return;
    this.log.warn({ fault: code }, 'fault cleared');
    if (opts.record ?? true) this.deps.recorder.record({ type: 'terminal.fault', code, state: 'cleared' }, this.deps.clock.now());
    this.deps.onChange?.();
  }

  has(code: TerminalFaultCode): boolean {
    return this.active.has(code);
  }

  faults(): Fault[] {
    return [...this.active.values()];
  }

  codes(): TerminalFaultCode[] {
    return [...this.active.keys()];
  }

  /** No face decisions: the roster, the device secret or the models cannot be used. */
  facesOff(): boolean {
    return this.faults().some((f) => f.part === 'faces');
  }
}

/** The fault code for an error met while opening the roster (its file, its key, the device secret). */
export function rosterFaultOf(err: unknown): TerminalFaultCode {
  if (err instanceof InsecureSecretFileError) return 'secret-insecure';
  if (err instanceof SecretFileError) return 'secret-unreadable';
  if (err instanceof WrongKeyError) return 'roster-wrong-key';
  if (err instanceof SchemaVersionError) return 'roster-schema';
  if (isCorruptSqlite(err)) return 'roster-corrupt';
  return 'roster-unavailable';
}

/** SQLite says the file is not a database or is malformed ("file is not a database"). */
export function isCorruptSqlite(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT'));
}

/** What may be logged of an error: its class and code, not its message. */
export function errorTag(err: unknown): { error?: string; code?: string } {
  if (err === undefined) return {};
  if (!(err instanceof Error)) return { error: typeof err };
  const code = err instanceof TerminalError ? err.code : (err as { code?: unknown }).code;
  return { error: err.name, ...(typeof code === 'string' ? { code } : {}) };
}
