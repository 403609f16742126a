/**
 * The terminal's ways in besides a face: visitor passes shown to the camera (runtime/pass) and cards and
 * PINs on a Wiegand reader (drivers/wiegand, runtime/access). Built from the terminal's config and the
 * parts runtime/main.ts already owns (camera frames, roster, sync file, lock, outbox); each decision
 * becomes an entry record with its credential, and a duress PIN a silent `alarm.duress` for the hub.
 *
 * Kept out of main.ts on purpose while the terminal is being split into runtime/terminal/: main.ts
 * calls start() and stop() and nothing else.
 */
import { readFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { ulid } from 'ulid';
import type { Clock } from '../core/clock';
import { TerminalError } from '../core/errors';
import type { Logger } from '../core/log';
import type { GpioFactory } from '../drivers/gpio';
import type { GrantSource } from '../drivers/lock';
import { WiegandReader } from '../drivers/wiegand';
import type { Config } from './config';
import type { PersonFacts } from './decision/policy';
import { AccessController, type AccessEvent } from './access/controller';
import { CredentialIndex } from './access/credential-index';
import { credentialKeyFromFile } from './access/digest';
import { PassLedger } from './pass/ledger';
import { QrDecoder } from './pass/qr-decoder';
import { PassScanner, type PassEvent, type ScanFrame } from './pass/scanner';
import type { SyncEvent } from './protocol/schemas';
import type { RosterStore } from './roster/store';
import type { SyncDb } from './sync/db';

export interface OtherWaysInDeps {
  config: () => Config;
  clock: Clock;
  logger: Logger;
  gpio: GpioFactory;
  frames: { latest(): ScanFrame | null };
  store: RosterStore;
  syncDb: SyncDb;
  persons: { facts(personId: string): PersonFacts | null };
  lock: { grant(source: GrantSource): string };
  record: (e: SyncEvent) => void;
  notify: (e: PassEvent | AccessEvent) => void;
}

export class OtherWaysIn {
  private scanner: PassScanner | null = null;
  private reader: WiegandReader | null = null;
  private access: AccessController | null = null;
  private index: CredentialIndex | null = null;
  private readonly log: Logger;

  constructor(private readonly deps: OtherWaysInDeps) {
    this.log = deps.logger.child({ module: 'other-ways-in' });
  }

  /** Starts what the config asks for; a part that cannot start stays off (its way in stays shut) and says why. */
  async start(): Promise<void> {
    const c = this.deps.config();
    if (c.access.accept.includes('pass') && c.passes.enabled) {
      try {
        await this.startPasses(c);
      } catch (e) {
        this.log.error({ code: e instanceof TerminalError ? e.code : 'internal', err: (e as Error).message }, 'passes cannot be read; none will open this door');
      }
    }
    if (c.wiegand) {
      try {
        this.startAccess(c);
      } catch (e) {
        this.log.error({ code: e instanceof TerminalError ? e.code : 'internal', err: (e as Error).message }, 'cards and PINs cannot be used; none will open this door');
      }
    }
  }

  stop(): void {
    this.scanner?.stop();
    this.reader?.stop();
    this.access?.stop();
    this.index?.stop();
  }

  /** The scanner's last decode time (ms), for health and benches. */
  get passScanner(): PassScanner | null {
    return this.scanner;
  }

  private async startPasses(c: Config): Promise<void> {
    if (!c.hub) throw new WayInOffError('no hub key is pinned (no hub section): passes cannot be verified');
    const hubPublicKey = createPublicKey(readFileSync(c.hub.hubPublicKeyFile));
    const decoder = await QrDecoder.load();
    const ledger = new PassLedger(this.deps.syncDb);
    ledger.prune(this.deps.clock.now());
    this.scanner = new PassScanner({
      clock: this.deps.clock,
      logger: this.deps.logger,
      frames: this.deps.frames,
      decoder,
      hubPublicKey,
      door: () => this.deps.config().door,
      revocations: this.deps.store,
      ledger,
      // The policy is read at each decision: a reload that drops 'pass' shuts this way at once.
      accepting: () => this.deps.config().access.accept.includes('pass'),
      lock: this.deps.lock,
      emit: (e) => this.onPass(e),
      config: c.passes,
    });
    this.scanner.start();
  }

  private startAccess(c: Config): void {
    const wiegand = c.wiegand;
    if (!wiegand) return;
    if (!c.paths.credentialSecretFile) throw new WayInOffError('a Wiegand reader is configured but paths.credentialSecretFile is not');
    const key = credentialKeyFromFile(c.paths.credentialSecretFile);
    this.index = new CredentialIndex(this.deps.store, this.deps.logger);
    this.index.start();
    this.access = new AccessController({
      clock: this.deps.clock,
      logger: this.deps.logger,
      key,
      index: this.index,
      persons: this.deps.persons,
      door: () => this.deps.config().door,
      config: () => this.deps.config().access,
      lock: this.deps.lock,
      emit: (e) => this.onAccess(e),
    });
    const access = this.access;
    this.reader = new WiegandReader(this.deps.gpio, this.deps.clock, wiegand, this.deps.logger);
    this.reader.onFrame((f) => access.onFrame(f));
    this.reader.start();
  }

  private onPass(e: PassEvent): void {
    this.deps.notify(e);
    const base = { id: ulid(), at: e.at, score: null, liveness: null, latencyMs: Math.min(3_600_000, Math.round(e.latencyMs)) };
    const passId = e.passId ?? undefined;
    if (e.outcome === 'grant' && e.passId) {
      this.deps.record({ ...base, type: 'entry.granted', personId: e.passId, credential: 'pass', passId: e.passId });
    } else {
      this.deps.record({ ...base, type: 'entry.denied', reason: e.reason ?? 'error', credential: 'pass', ...(passId ? { passId } : {}), personId: null });
    }
  }

  private onAccess(e: AccessEvent): void {
    this.deps.notify(e);
    const base = { id: ulid(), at: e.at, score: null, liveness: null, latencyMs: Math.min(3_600_000, Math.round(e.latencyMs)) };
    if (e.outcome === 'grant' && e.personId) this.deps.record({ ...base, type: 'entry.granted', personId: e.personId, credential: e.credential });
    else this.deps.record({ ...base, type: 'entry.denied', reason: e.reason ?? 'error', credential: e.credential, personId: e.personId });
    if (e.duress && e.personId && e.credential !== 'card') {
      this.deps.record({ id: ulid(), at: e.at, type: 'alarm.duress', personId: e.personId, doorId: this.deps.config().door.doorId, credential: e.credential });
    }
  }
}

/** A way in the config asks for cannot be offered (missing key or file): it stays shut. */
export class WayInOffError extends TerminalError {
  readonly code = 'way-in-off';
}
