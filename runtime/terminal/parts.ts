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
import type { PersonRecord, QuarantinedRow } from '../roster/store';
import type { RosterSink } from '../sync/roster-sink';
import type { SyncTransport } from '../sync/transport';
import type { EventStore } from './event-store';

/** The face pipeline as the terminal uses it. */
export interface FaceAnalyser extends FaceAnalyzer {
  readonly modelId: string;
  close(): Promise<void>;
}

/** The encrypted roster as the terminal uses it (runtime/roster/store.ts). */
export interface TerminalRoster {
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
  close(): void;
}

/** What the sync client needs besides the sync file: the connection, the pinned hub key, the roster. */
export interface HubLink {
  transport: SyncTransport;
  hubPublicKey: KeyObject;
  /** Seals staged snapshot chunks (from the device secret); without it a key held in memory is used. */
  stagingKey?: KeyObject;
  /** Where roster changes go (null: no roster open, roster data is refused). */
  rosterSink: RosterSink | null;
  batchSchema: ZodType;
  itemSchema: ZodType;
}

export interface TerminalParts {
  /** The sync file (outbox, nonces, staging), a corrupt one set aside. Throws when none can be opened. */
  openEventStore(): EventStore;
  /** The encrypted roster. Throws the roster's typed errors (key, secret file, schema) or SQLite's. */
  openRoster(): TerminalRoster;
  /** The face models. */
  loadFaces(): Promise<FaceAnalyser>;
  /** The matcher over `roster`'s templates of model `modelId`. */
  matcherFor(roster: TerminalRoster, modelId: string): TerminalMatcher;
  /**
   * The hub connection's parts (null: no hub configured). Throws when its files cannot be read or
   * its keys parsed. `roster` is the opened roster, if any.
   */
  hubLink(events: EventStore, roster: TerminalRoster | null): HubLink | null;
  /** A liveness judge for one face track under `policy`. */
  livenessFor(policy: Config['liveness']): LivenessJudge;
}
