/**
 * What a Terminal is built from, as interfaces: runtime/main.ts (the composition root) hands it real
 * parts; tests hand it fakes and run it on a fake clock without models. Parts that can fail to open
 * (files, keys, models) come as openers the Terminal calls in start(), after the door is armed: a part
 * that fails puts the terminal in degraded mode instead of stopping it.
 */
import type { KeyObject } from 'node:crypto';
import type { ZodType } from 'zod';
import type { FaceAnalyzer, Identifier, LivenessJudge } from '../loop/door-loop';
import type { Config } from '../config';
import type { Health, SyncEvent } from '../protocol/schemas';
import type { Passage } from '../roster/adaptation';
import type { LearntTemplate } from '../roster/local-adaptation';
import type { PersonRecord, QuarantinedRow } from '../roster/store';
import type { CertificateInstaller } from '../sync/certificate';
import type { RosterSink } from '../sync/roster-sink';
import type { SyncTransport } from '../sync/transport';
import type { EventStore } from './event-store';
import type { CredentialParts, CredentialRoster } from './other-ways-in';

/** The face pipeline as the terminal uses it. */
export interface FaceAnalyser extends FaceAnalyzer {
  readonly modelId: string;
  close(): Promise<void>;
}

/** The encrypted roster as the terminal uses it (runtime/roster/store.ts), credential digests and revoked passes included. */
export interface TerminalRoster extends CredentialRoster {
  version(): number;
  getPerson(personId: string): PersonRecord | null;
  quarantined(): readonly QuarantinedRow[];
  wipeFinishedAtOpen(): { persons: number; templates: number } | null;
  wipe(): Promise<{ persons: number; templates: number }>;
  wipedAt(): number | null;
  releaseWipeHold(): void;
  close(): void;
}

/** The 1:N matcher that follows the roster (runtime/roster/matcher.ts). */
export interface TerminalMatcher extends Identifier {
  readonly size: number;
  /** Persons whose templates are all of another model than the one running (they need re-enrolment). */
  needsReenrolment(): string[];
  close(): void;
}

/**
 * Template adaptation (runtime/roster/local-adaptation.ts): learns from decided passages, and searches
 * the matcher with the match-time floor on learnt templates. Follows the roster from start() to stop().
 */
export interface TerminalAdaptation extends Identifier {
  learn(p: Passage): void;
  start(): void;
  stop(): void;
  /** Where each template learnt here goes (the hub uplink). */
  onLearnt(f: ((t: LearntTemplate) => void) | null): void;
  /** The hub's `adaptation.reset`: one person's adapted templates, or all, are forgotten here. */
  reset(personId: string): number;
  resetAll(): number;
}

/** The update agent's side files (runtime/update/terminal-link.ts): its reports and what it installed. */
export interface TerminalUpdateLink {
  /** Hands each pending report to `store`; a report `store` throws on stays for the next drain. */
  drain(store: (e: SyncEvent) => void): { recorded: number; invalid: number };
  /** For the heartbeat (null: no slot layout and no update record). */
  heartbeat(): NonNullable<Health['update']> | null;
  /** Starts the update agent on an offered bundle (the hub's `update` command). */
  install(url: string): Promise<void>;
}

/** What the sync client needs besides the sync file: the connection, the pinned hub key, the roster. */
export interface HubLink {
  transport: SyncTransport;
  hubPublicKey: KeyObject;
  /** Seals staged snapshot chunks (from the device secret); without it a key held in memory is used. */
  stagingKey?: KeyObject;
  /** Installs the renewed certificates the hub publishes (without it they are ignored). */
  certificates?: CertificateInstaller;
  /** Where roster changes go (null: no roster open, roster data is refused). */
  rosterSink: RosterSink | null;
  /** The hub's X25519 sealing key: adapted templates go to the hub sealed to it (none: they stay here). */
  hubSealKey?: KeyObject;
  /** This terminal's roster key (bundle roster.key): roster data must then come sealed to it. */
  rosterKey?: KeyObject;
  batchSchema: ZodType;
  itemSchema: ZodType;
}

/** Openers of passes, cards and PINs (other-ways-in.ts) are among them. */
export interface TerminalParts extends CredentialParts {
  /** The sync file (outbox, nonces, staging), a corrupt one set aside. Throws when none can be opened. */
  openEventStore(): EventStore;
  /** The encrypted roster. Throws the roster's typed errors (key, secret file, schema) or SQLite's. */
  openRoster(): TerminalRoster;
  /** The face models. */
  loadFaces(): Promise<FaceAnalyser>;
  /** The matcher over `roster`'s templates of model `modelId`. */
  matcherFor(roster: TerminalRoster, modelId: string): TerminalMatcher;
  /** Template adaptation over `roster` and `matcher` (built after the matcher, stopped before it closes). */
  adaptationFor(roster: TerminalRoster, matcher: TerminalMatcher): TerminalAdaptation;
  /**
   * The hub connection's parts (null: no hub configured). Throws when its files cannot be read or
   * its keys parsed. `roster` is the opened roster, if any.
   */
  hubLink(events: EventStore, roster: TerminalRoster | null): HubLink | null;
  /** A liveness judge for one face track under `policy`. */
  livenessFor(policy: Config['liveness']): LivenessJudge;
  /** The update agent's report folder and state (runtime/update). */
  updateLink(): TerminalUpdateLink;
}
