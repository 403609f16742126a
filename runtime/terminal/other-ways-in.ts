/**
 * The terminal's ways in besides a face: visitor passes shown to the camera (runtime/pass) and cards and
 * PINs on a Wiegand reader (drivers/wiegand, runtime/access). One job of a running terminal, built like
 * the others from its dependencies; the Terminal starts it whether or not the roster could be opened. A
 * card, a PIN or a pass cannot be judged without the roster (its credentials and pass revocations):
 * without one (degraded mode for the roster: `NO_ROSTER`; or a roster never synced) each is refused as
 * `no-roster`, with the deny tone and an entry record, so the person at the door is told and the
 * security office sees the attempts; the exit button and the fire release still work.
 *
 * What it needs that can fail comes from the parts as openers (parts.ts `CredentialParts`): the QR
 * decoder and the pinned hub key for passes, the community's credential key and the reader's GPIO lines
 * for cards and PINs. One that fails shuts only its way in, raises its fault (degraded.ts: /healthz, the
 * heartbeat and a `terminal.fault` event) and stops nothing else.
 *
 * Every decision goes the same ways as a face's: the grant through the lock controller (its relay read
 * back and retried; a duress PIN opens through it exactly like the PIN), the entry record with its
 * credential, a `door.released` when the lock released the door, and a duress PIN's silent
 * `alarm.duress`, all through the terminal's one event recorder; the resident hears and sees the same
 * feedback as for a face (nothing at the door differs for duress).
 */
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import type { GrantResult, GrantSource } from '../../drivers/lock';
import type { WiegandEvent } from '../../drivers/wiegand';
import type { RawFrame } from '../../models/image';
import { AccessController, type AccessEvent } from '../access/controller';
import { CredentialIndex, type CredentialSource } from '../access/credential-index';
import type { Config } from '../config';
import type { PersonFacts } from '../decision/policy';
import { PassLedger } from '../pass/ledger';
import { PassScanner, type PassEvent, type PassRevocations, type ScanFrame } from '../pass/scanner';
import type { TerminalFaultCode } from '../protocol/schemas';
import type { SyncDb } from '../sync/db';
import { errorTag } from './degraded';
import type { EventBody, Recorder } from './events';

/** A Wiegand card reader and/or keypad (drivers/wiegand/reader.ts), its lines already opened. */
export interface WiegandSource {
  onFrame(listener: (e: WiegandEvent) => void): () => void;
  stop(): void;
}

/** What passes, cards and PINs need besides the roster; each opener throws when it cannot be had. */
export interface CredentialParts {
  /**
   * The QR decoder and the hub's pinned public key (passes are verified offline with it); null when
   * no hub is configured (a terminal on its own has no key that signs passes: none are read).
   */
  passReader(): Promise<{ decoder: { decode(frame: RawFrame): readonly { text: string }[] }; hubPublicKey: KeyObject } | null>;
  /** The community's credential key (cards and PINs are looked up by keyed digest). */
  credentialKey(): Buffer;
  /** The Wiegand reader on its two lines, listening (null: none configured). */
  openWiegand(): WiegandSource | null;
}

/** The roster as passes, cards and PINs use it (runtime/roster/store.ts). */
export type CredentialRoster = CredentialSource & PassRevocations;

/** Stands in for a roster that could not be opened: nobody's credentials, no revocations known. */
export const NO_ROSTER: CredentialRoster = {
  credentials: () => ({ persons: [] }),
  onChange: () => () => undefined,
  revocationsKnown: () => false,
  isPassRevoked: () => true,
};

export interface OtherWaysInDeps {
  config: () => Config;
  clock: Clock;
  log: Logger;
  parts: CredentialParts;
  roster: CredentialRoster;
  /** The sync file: pass uses are counted in it (none: passes stay shut, uses could not be kept). */
  eventsDb: SyncDb | null;
  frames: { latest(): ScanFrame | null };
  persons: { facts(personId: string): PersonFacts | null };
  lock: { grant(source: GrantSource): GrantResult };
  recorder: Recorder;
  feedback: { granted(): void; denied(): void };
  /** A way in could not be opened (degraded.ts). */
  fault: (code: TerminalFaultCode, err: unknown) => void;
  /** Every decision, for the demo and the status line. */
  notify: (e: PassEvent | AccessEvent) => void;
}

export class OtherWaysIn {
  private scanner: PassScanner | null = null;
  private reader: WiegandSource | null = null;
  private access: AccessController | null = null;
  private index: CredentialIndex | null = null;
  private readonly log: Logger;

  constructor(private readonly deps: OtherWaysInDeps) {
    this.log = deps.log.child({ module: 'other-ways-in' });
  }

  /** Starts what the config asks for; a part that cannot start stays off (its way in stays shut) and raises its fault. */
  async start(): Promise<void> {
    const c = this.deps.config();
    if (c.access.accept.includes('pass') && c.passes.enabled) await this.startPasses(c);
    if (c.wiegand) this.startAccess();
  }

  stop(): void {
    this.scanner?.stop();
    this.reader?.stop();
    this.access?.stop();
    this.index?.stop();
  }

  /** The pass scanner, when passes are read (benches read its decode times). */
  get passScanner(): PassScanner | null {
    return this.scanner;
  }

  /** Resolves when every card or PIN decision asked for so far has been made. */
  idle(): Promise<void> {
    return this.access?.idle() ?? Promise.resolve();
  }

  private async startPasses(c: Config): Promise<void> {
    const { eventsDb } = this.deps;
    let reader;
    try {
      if (!eventsDb) throw new Error('no sync file to count pass uses in');
      reader = await this.deps.parts.passReader();
    } catch (e) {
      this.deps.fault('passes-unavailable', e);
      return;
    }
    if (!reader) {
      this.log.info('no hub key is pinned: passes are not read at this door');
      return;
    }
    const ledger = new PassLedger(eventsDb);
    ledger.prune(this.deps.clock.now());
    this.scanner = new PassScanner({
      clock: this.deps.clock,
      logger: this.deps.log,
      frames: this.deps.frames,
      decoder: reader.decoder,
      hubPublicKey: reader.hubPublicKey,
      door: () => this.deps.config().door,
      revocations: this.deps.roster,
      ledger,
      // The policy is read at each decision: a reload that drops 'pass' shuts this way at once.
      accepting: () => this.deps.config().access.accept.includes('pass'),
      lock: this.deps.lock,
      emit: (e) => this.onPass(e),
      config: c.passes,
    });
    this.scanner.start();
  }

  private startAccess(): void {
    let key: Buffer;
    try {
      key = this.deps.parts.credentialKey();
    } catch (e) {
      this.deps.fault('credential-key-unavailable', e);
      return;
    }
    this.index = new CredentialIndex(this.deps.roster, this.deps.log);
    this.index.start();
    const access = new AccessController({
      clock: this.deps.clock,
      logger: this.deps.log,
      key,
      index: this.index,
      persons: this.deps.persons,
      door: () => this.deps.config().door,
      config: () => this.deps.config().access,
      lock: this.deps.lock,
      emit: (e) => this.onAccess(e),
      rosterKnown: () => this.deps.roster.revocationsKnown(),
    });
    this.access = access;
    try {
      this.reader = this.deps.parts.openWiegand();
    } catch (e) {
      this.log.error({ ...errorTag(e) }, 'the card reader or keypad cannot be opened; cards and PINs will not open this door');
      this.deps.fault('card-reader-unavailable', e);
      return;
    }
    this.reader?.onFrame((f) => access.onFrame(f));
  }

  private onPass(e: PassEvent): void {
    this.deps.notify(e);
    const base = { score: null, liveness: null, latencyMs: Math.min(3_600_000, Math.round(e.latencyMs)) };
    const bodies: EventBody[] = [];
    if (e.outcome === 'grant' && e.passId) {
      // A pass names no person: its id stands in for one (each such entry is one use, for the hub).
      bodies.push({ ...base, type: 'entry.granted', personId: e.passId, credential: 'pass', passId: e.passId });
      if (e.lock === 'unlocked') bodies.push(this.released('qr', e.passId));
    } else {
      bodies.push({ ...base, type: 'entry.denied', reason: e.reason ?? 'error', credential: 'pass', ...(e.passId ? { passId: e.passId } : {}), personId: null });
    }
    this.finish(e.outcome === 'grant' && e.lock === 'unlocked', bodies, e.at);
  }

  private onAccess(e: AccessEvent): void {
    this.deps.notify(e);
    const base = { score: null, liveness: null, latencyMs: Math.min(3_600_000, Math.round(e.latencyMs)) };
    const bodies: EventBody[] = [];
    if (e.outcome === 'grant' && e.personId) {
      bodies.push({ ...base, type: 'entry.granted', personId: e.personId, credential: e.credential });
      if (e.lock === 'unlocked') bodies.push(this.released(e.credential === 'pin' ? 'pin' : 'card', e.personId));
    } else {
      bodies.push({ ...base, type: 'entry.denied', reason: e.reason ?? 'error', credential: e.credential, personId: e.personId });
    }
    // Silent: the hub raises the alarm; the door behaves as for the PIN.
    if (e.duress && e.personId && e.credential !== 'card') {
      bodies.push({ type: 'alarm.duress', personId: e.personId, doorId: this.deps.config().door.doorId, credential: e.credential });
    }
    this.finish(e.outcome === 'grant' && e.lock === 'unlocked', bodies, e.at);
  }

  private released(source: 'qr' | 'pin' | 'card', personId: string): EventBody {
    return { type: 'door.released', source, personId, commandId: null, requestedBy: null, durationMs: this.deps.config().lock.unlockPulseMs };
  }

  private finish(opened: boolean, bodies: EventBody[], at: number): void {
    for (const b of bodies) this.deps.recorder.record(b, at);
    if (opened) this.deps.feedback.granted();
    else if (!bodies.some((b) => b.type === 'entry.granted')) this.deps.feedback.denied();
  }
}
