/**
 * The hub's storage as the rest of provisioning sees it: persons, the roster log and its epochs,
 * terminals, queued commands, terminal status, alerts, visitor passes, adapted templates, software rollouts and the audit log. `HubDb` (provisioning/db.ts,
 * SQLite, versioned migrations) is the implementation today; another database (PostgreSQL for a
 * district) is a new implementation of this interface, not a rewrite of its callers.
 *
 * Every method is synchronous (better-sqlite3 is); `tx` runs its function as one transaction, and
 * calls made inside it join that transaction.
 */
import type { Command, Health, RosterEpoch } from '../../runtime/protocol/schemas';
import type { PhotoMove } from '../photos';
import type { AdaptedTemplateStore } from './adapted-templates';
import type { ErasureStore, PersonDataStore } from './erasures';
import type { Reclaimed } from './reclaim';
import type { RosterLogChanges, TerminalRosterStore } from './terminal-rosters';
import type { RolloutState } from '../update/rollout';
import type { AlertRecord, AuditRecord, CommandRecord, PassRecord, PersonKind, PersonRecord, PersonStatus, PersonSummary, TerminalRecord, TerminalStatusRecord } from '../db';

/** Doors and buildings a resident may belong to: by access to one of the buildings or doors, or registered for one of the buildings. */
export interface Places {
  buildings: readonly string[];
  doors: readonly string[];
}

/** Which residents, and which page of them; every filter optional. */
export interface ResidentQuery {
  status?: PersonStatus;
  /** Only residents of these places (a manager's buildings and their doors). */
  within?: Places;
  /** And of these too (the `building` filter). */
  building?: Places;
  /** The id or the registered name contains it, or the room is it; ignoring case. */
  text?: string;
  offset: number;
  limit: number;
}

export interface ResidentRow {
  person: PersonSummary;
  registration: { name: string; room: string; buildingId: string } | null;
}

export interface PersonStore {
  person(id: string): PersonRecord | null;
  /** Persons in id order; `tagged`: only those with at least one tag. */
  persons(filter?: { status?: PersonStatus; kind?: PersonKind; tag?: string; tagged?: boolean }): PersonRecord[];
  /**
   * The persons published at least once, in id order, read one at a time (the hub's start: at 39,000
   * residents, reading every row at once held some 550 MB of rows and records at a time).
   */
  publishedPersons(): Iterable<PersonRecord>;
  /** Insert or replace a person; bumps `rev` so the hub publishes the change. */
  savePerson(p: Omit<PersonRecord, 'rev' | 'publishedRev' | 'createdAt' | 'updatedAt'>, now: number): PersonRecord;
  /** A page of residents in id order, and how many match (the API's resident search and list). */
  residentsPage(q: ResidentQuery): { items: ResidentRow[]; total: number };
  /** The registration a person came from, or null (added by `provision person add`). */
  registrationOf(personId: string): ResidentRow['registration'];
  /** The id of that registration, or null. */
  registrationIdOf(personId: string): string | null;
  /** Persons changed since they were last published (oldest change first). */
  dirtyPersons(limit: number): PersonRecord[];
  /** Marks persons published at the revs read, without a roster version (pending registrations). */
  markPublished(published: ReadonlyArray<{ personId: string; rev: number }>): void;
  photoMoves(): PhotoMove[];
  photoMoveDone(id: number): void;
  forgetPhoto(personId: string, name: string): void;
}

export interface RosterLogStore {
  rosterVersion(): number;
  /** What each version after `sinceVersion` covered (ids and revisions only), oldest first. */
  rosterChanges(sinceVersion: number): Array<[number, RosterLogChanges]>;
  /** The oldest version roster_log still names (0: none). */
  rosterLogStart(): number;
  rosterEpochs(): RosterEpoch[];
  recordEpoch(e: RosterEpoch, reason: string, now: number): void;
  /** Record a published roster version (the ids it covered, never their data) and mark the persons in it as published at the revs read. */
  recordVersion(version: number, changes: RosterLogChanges, published: ReadonlyArray<{ personId: string; rev: number }>, now: number): void;
}

export interface TerminalStore {
  addTerminal(t: Omit<TerminalRecord, 'status' | 'revokedAt'>): void;
  terminal(id: string): TerminalRecord | null;
  terminals(): TerminalRecord[];
  setTerminalSerial(id: string, serial: string): void;
  revokeTerminal(id: string, at: number): void;
  saveStatus(terminalId: string, state: 'online' | 'offline', health: Health | null, now: number): void;
  statuses(): TerminalStatusRecord[];
}

export interface CommandStore {
  queueCommand(terminalId: string, command: Command, by: string, now: number): number;
  queuedCommands(): CommandRecord[];
  command(id: number): CommandRecord | null;
  finishCommand(id: number, status: CommandRecord['status'], now: number): void;
}

export interface AlertStore {
  /** Store a sighting once (by event id); returns the alert, or null for a duplicate. */
  addAlert(a: Omit<AlertRecord, 'id' | 'webhook'>): AlertRecord | null;
  setAlertWebhook(id: number, outcome: string): void;
  alerts(tag?: string): AlertRecord[];
}

export interface PassStore {
  addPass(p: Omit<PassRecord, 'revokedAt' | 'revokedBy' | 'used'>): void;
  pass(id: string): PassRecord | null;
  passes(): PassRecord[];
  /** Marks a pass revoked (once) and not yet published. */
  revokePass(id: string, by: string, at: number): void;
  /** Revoked passes not yet sent to the terminals, still valid at `now` (an expired one needs no revocation). */
  unpublishedRevocations(now: number): PassRecord[];
  markRevocationsPublished(ids: readonly string[]): void;
  /** A terminal reported a use of a pass (each event once); counted per terminal and in total. A pass never issued is ignored. */
  countPassUse(id: string, terminalId: string): void;
  /** Uses of a pass by terminal (only terminals that reported one). */
  passUses(id: string): Record<string, number>;
}

/** A page of the audit log, newest first; every filter optional. */
export interface AuditQuery {
  /** Rows with a smaller id (paging backwards from the newest); none: from the newest. */
  before?: number;
  limit: number;
  actor?: string;
  action?: string;
  subject?: string;
  from?: number;
  to?: number;
}

export interface AuditStore {
  audit(actor: string, action: string, subject: string, detail: Record<string, unknown>, now: number): void;
  auditLog(limit?: number): AuditRecord[];
  auditPage(q: AuditQuery): AuditRecord[];
}

/** A staged software rollout as stored: its state machine's whole state (provisioning/update/rollout.ts). */
export interface RolloutRecord {
  id: number;
  version: string;
  /** The bundle's file name in the community's update/bundles/. */
  bundle: string;
  state: RolloutState;
  startedBy: string;
  startedAt: number;
  updatedAt: number;
}

export interface RolloutLogLine {
  id: number;
  at: number;
  line: string;
}

export interface RolloutStore {
  addRollout(r: { version: string; bundle: string; state: RolloutState; startedBy: string }, now: number): number;
  rollout(id: number): RolloutRecord | null;
  /** The most recent rollout (whatever its phase), or null. */
  latestRollout(): RolloutRecord | null;
  saveRollout(id: number, state: RolloutState, now: number): void;
  addRolloutLog(id: number, lines: readonly string[], now: number): void;
  /** The rollout's log lines after line id `afterLine`, oldest first. */
  rolloutLog(id: number, afterLine?: number): RolloutLogLine[];
}

export interface HubStore extends PersonStore, RosterLogStore, TerminalRosterStore, TerminalStore, CommandStore, AlertStore, PassStore, AuditStore, AdaptedTemplateStore, RolloutStore {
  /** Run `f` as one transaction (immediate: writers queue, never deadlock). */
  tx<T>(f: () => T): T;
  /**
   * Differs from an earlier answer once anything was committed to the store since, by this connection
   * or any other (another process: `provision` on the same hub.db). Cheap: the hub asks four times a second.
   */
  changeToken(): string;
  /** Persons revoked and erased, and the terminals that confirmed it (erasures.ts). */
  readonly erasures: ErasureStore & PersonDataStore;
  /** After an erasure: the space freed and no old page left in the write-ahead log (reclaim.ts). */
  reclaim(): Reclaimed;
  close(): void;
}
