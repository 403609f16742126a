import Database from 'better-sqlite3';
import { preparePrivateDatabase } from '../../core/fs';
import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import { z } from 'zod';
import type { Authorisation } from '../decision/policy';
import { InvalidInputError, TerminalError } from '../../core/errors';
import { SystemClock, type Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import {
  RosterBatchSchema,
  RosterSnapshotSchema,
  embeddingFromBytes,
  decodeEmbedding,
  type AuthorisationIn,
  type PassRevocation,
  type PersonUpsert,
  type RosterBatchInput,
  type RosterSnapshotInput,
} from './batch';
import type { RosterEpoch } from '../protocol/schemas';
import { judgeDelta, judgeSnapshot, positionAfter, type RosterPosition, type StaleReason } from './acceptance';
import { Sealer, SealError, deriveKeyFromSecretFile } from './crypto';
import { migrate } from './migrations';
import { RosterPositionTable } from './position';
import { scrubInWorker } from './scrub';

/** The device secret does not open this roster (another terminal's secret, or a wrong file). */
export class WrongKeyError extends TerminalError {
  readonly code = 'roster-wrong-key';
  constructor() {
    super('the device secret does not match this roster database (wrong key); re-provision the terminal');
  }
}

/** A batch is not for the current roster version (a gap or a replay): nothing was applied. */
export class RosterVersionError extends TerminalError {
  readonly code = 'roster-version';
  constructor(
    readonly current: number,
    readonly received: number,
  ) {
    super(`roster change for version ${received} does not follow current version ${current}`);
  }
}

/**
 * A change from an older epoch than the one the roster holds (or from before epochs once it holds
 * one): a replay or a hub from an abandoned history. Nothing was applied.
 */
export class RosterEpochError extends TerminalError {
  readonly code = 'roster-epoch';
}

/** A row failed authentication (tampered, swapped or copied): quarantined, reported, never used. */
export class RosterIntegrityError extends TerminalError {
  readonly code = 'roster-integrity';
  constructor(
    readonly table: 'person' | 'template',
    readonly rowId: number,
    readonly subject: string,
  ) {
    super(`roster ${table} row ${rowId} (${subject}) failed its integrity check and is quarantined`);
  }
}

/** The store was closed while a wipe was erasing: the wipe finishes when the roster is next opened. */
export class WipeInterruptedError extends TerminalError {
  readonly code = 'roster-wipe-interrupted';
  constructor() {
    super('roster closed during a wipe; the wipe is finished when the roster is opened again');
  }
}

/** The wipe hold cannot be released while the wipe is still erasing. */
export class WipeInProgressError extends TerminalError {
  readonly code = 'roster-wipe-in-progress';
  constructor() {
    super('a roster wipe is still in progress; the hold can be released once it has finished');
  }
}

/** Persons deleted per transaction by a wipe (about 10 ms each on a 2-core x86_64 with FULL sync). */
export const WIPE_BATCH_PERSONS = 200;

export type PersonStatus = 'active' | 'revoked';

/** A person as the decision needs it. Revoked persons are tombstones: no label, no data. */
export interface PersonRecord {
  personId: string;
  status: PersonStatus;
  label?: string;
  authorisations: Authorisation[];
  tags: string[];
}

export interface StoredTemplate {
  /** SQLite row id: the matcher's handle for reading the exact vector back. */
  rowId: number;
  personId: string;
  templateId: string;
  modelId: string;
  embedding: Float32Array;
}

export interface QuarantinedRow {
  table: 'person' | 'template';
  rowId: number;
  subject: string;
  reason: string;
  at: number;
}

/** What changed in one committed batch or snapshot (ids only). */
export interface RosterChange {
  version: number;
  /** Every person's templates were replaced (snapshot or key rotation): rebuild indexes. */
  replacedAll: boolean;
  upserted: string[];
  revoked: string[];
}

export interface RosterStoreOptions {
  path: string;
  secretFile: string;
  logger: Logger;
  clock?: Clock;
  /** Called inside the transaction after each person written (progress of big snapshots). */
  onApplyProgress?: (done: number, total: number) => void;
}

const SealedPersonSchema = z.strictObject({
  label: z.string().optional(),
  authorisations: z.array(
    z.strictObject({
      doorIds: z.array(z.string()),
      buildingIds: z.array(z.string()),
      validFrom: z.number().optional(),
      validUntil: z.number().optional(),
      windows: z.array(z.strictObject({ days: z.array(z.number().int()), start: z.string(), end: z.string() })).optional(),
    }),
  ),
  tags: z.array(z.string()),
  credentials: z.strictObject({ cards: z.array(z.string()), pin: z.string().optional(), duressPin: z.string().optional() }).optional(),
});
type SealedPerson = z.infer<typeof SealedPersonSchema>;

/** One active person's credential digests (runtime/access builds its in-memory index from these). */
export interface PersonCredentials {
  personId: string;
  cards: string[];
  pin?: string;
  duressPin?: string;
}

const KEY_CHECK = Buffer.from('doorway roster key check v1', 'utf8');
const KEY_CHECK_AAD = 'key_check|1';

interface PersonRow {
  id: number;
  person_id: string;
  status: PersonStatus;
  row_version: number;
  sealed: Buffer;
}

interface TemplateRow {
  id: number;
  person_ref: number;
  person_id: string;
  template_id: string;
  model_id: string;
  row_version: number;
  sealed: Buffer;
}

function personAad(id: number, rowVersion: number, personId: string, status: string): string {
  return `person|${id}|${rowVersion}|${personId}|${status}`;
}

function templateAad(id: number, rowVersion: number, personRef: number, templateId: string, modelId: string): string {
  return `template|${id}|${rowVersion}|${personRef}|${templateId}|${modelId}`;
}

function toAuthorisation(a: AuthorisationIn): SealedPerson['authorisations'][number] {
  const out: SealedPerson['authorisations'][number] = { doorIds: a.doorIds, buildingIds: a.buildingIds };
  if (a.validFrom !== undefined) out.validFrom = Date.parse(a.validFrom);
  if (a.validUntil !== undefined) out.validUntil = Date.parse(a.validUntil);
  if (a.windows !== undefined) out.windows = a.windows;
  return out;
}

function refusal(reason: StaleReason, detail: string, current: number, received: number): TerminalError {
  return reason === 'stale-epoch' ? new RosterEpochError(detail) : new RosterVersionError(current, received);
}

function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (!r.success) throw new InvalidInputError(what, r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return r.data;
}

/**
 * The terminal's roster: an SQLite file (WAL) whose personal fields and templates are sealed with
 * AES-256-GCM under a key derived from the device secret. Changes come as versioned batches applied
 * in one transaction each; listeners (the matcher) hear about them right after commit.
 */
export class RosterStore {
  private readonly log: Logger;
  private readonly clock: Clock;
  private sealer: Sealer;
  private readonly listeners = new Set<(c: RosterChange) => void>();
  /** A wipe has begun and not finished: every read answers as for an empty roster. */
  private wiping = false;
  private resumed: { persons: number; templates: number } | null = null;
  private readonly position: RosterPositionTable;
  private readonly stmt: {
    personById: Database.Statement<[string], PersonRow>;
    templateByRow: Database.Statement<[number], TemplateRow>;
    quarantined: Database.Statement<[string, number], { row_id: number }>;
  };

  private constructor(
    private readonly db: Database.Database,
    private readonly opts: RosterStoreOptions,
    sealer: Sealer,
  ) {
    this.log = opts.logger.child({ module: 'roster' });
    this.clock = opts.clock ?? new SystemClock();
    this.sealer = sealer;
    this.position = new RosterPositionTable(db);
    this.stmt = {
      personById: db.prepare('SELECT id, person_id, status, row_version, sealed FROM person WHERE person_id = ?'),
      templateByRow: db.prepare(
        `SELECT t.id, t.person_ref, p.person_id, t.template_id, t.model_id, t.row_version, t.sealed
         FROM template t JOIN person p ON p.id = t.person_ref WHERE t.id = ?`,
      ),
      quarantined: db.prepare('SELECT row_id FROM quarantine WHERE table_name = ? AND row_id = ?'),
    };
  }

  /**
   * Opens (or creates) the roster. Throws SchemaVersionError for a database newer than this code,
   * InsecureSecretFileError / SecretFileError for a bad secret file, WrongKeyError for a wrong key.
   */
  static open(opts: RosterStoreOptions): RosterStore {
    preparePrivateDatabase(opts.path); // 0600 from creation, and so its -wal and -shm
    const db = new Database(opts.path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      db.pragma('synchronous = FULL');
      db.pragma('busy_timeout = 5000');
      // Deleted rows (revocations, a wipe) are overwritten with zeros, not left in free pages.
      db.pragma('secure_delete = ON');
      // Read the file through the page cache without copying it (the template scan at start-up).
      db.pragma('mmap_size = 268435456');
      migrate(db);
      const check = db.prepare('SELECT salt, sealed FROM key_check WHERE id = 1').get() as
        | { salt: Buffer; sealed: Buffer }
        | undefined;
      let sealer: Sealer;
      if (check === undefined) {
        const salt = randomBytes(16);
        sealer = new Sealer(deriveKeyFromSecretFile(opts.secretFile, salt));
        db.prepare('INSERT INTO key_check (id, salt, sealed) VALUES (1, ?, ?)').run(salt, sealer.seal(KEY_CHECK, KEY_CHECK_AAD));
      } else {
        sealer = new Sealer(deriveKeyFromSecretFile(opts.secretFile, check.salt));
        let ok = false;
        try {
          ok = sealer.open(check.sealed, KEY_CHECK_AAD).equals(KEY_CHECK);
        } catch (e) {
          if (!(e instanceof SealError)) throw e;
        }
        if (!ok) throw new WrongKeyError();
      }
      const store = new RosterStore(db, opts, sealer);
      store.finishInterruptedWipe();
      store.log.info({ version: store.version(), path: opts.path }, 'roster opened');
      return store;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  close(): void {
    this.listeners.clear();
    if (this.db.open) this.db.close();
  }

  /** The roster version last committed (0 for an empty roster). */
  version(): number {
    return this.position.version();
  }

  /** The epoch, version and high-water mark last committed (runtime/roster/acceptance.ts). */
  rosterPosition(): RosterPosition {
    return this.position.get();
  }

  /** Subscribe to committed changes; returns the unsubscribe function. */
  onChange(fn: (c: RosterChange) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Applies one delta onto version `batch.version - 1`, all or nothing, if the acceptance rule takes
   * it (`epoch`: the signed delta's; absent for a delta from before epochs). Throws InvalidInputError
   * for a malformed batch, RosterVersionError for a gap or replay, RosterEpochError for an older
   * epoch; in each case nothing changes. `after`: the signed delta's (it applies onto any version in
   * [after, batch.version), runtime/roster/acceptance.ts).
   */
  applyBatch(input: RosterBatchInput, epoch?: RosterEpoch, after?: number): RosterChange {
    if (this.wiping) throw new WipeInProgressError();
    const batch = parseOrThrow(RosterBatchSchema, input, 'roster batch');
    const decoded = this.decodeUpserts(batch.upserts);
    const total = batch.upserts.length + batch.revocations.length;
    const change = this.db.transaction((): RosterChange => {
      const pos = this.position.get();
      const verdict = judgeDelta(pos, { epoch, version: batch.version, after });
      if (verdict.kind !== 'apply') {
        if (verdict.kind === 'refuse' && verdict.reason === 'stale-epoch') throw new RosterEpochError(verdict.detail);
        throw new RosterVersionError(pos.version, batch.version);
      }
      const ids = this.nextIds();
      let done = 0;
      for (const p of batch.upserts) {
        this.writePerson(p, decoded, batch.version, ids);
        this.opts.onApplyProgress?.(++done, total);
      }
      for (const personId of batch.revocations) {
        this.writeTombstone(personId, batch.version, ids);
        this.opts.onApplyProgress?.(++done, total);
      }
      this.writePassRevocations(batch.passRevocations);
      this.position.set(positionAfter(pos, verdict.epoch, batch.version));
      return {
        version: batch.version,
        replacedAll: false,
        upserted: batch.upserts.map((p) => p.personId),
        revoked: [...batch.revocations],
      };
    }).immediate();
    this.log.info({ version: change.version, upserts: change.upserted.length, revocations: change.revoked.length }, 'roster batch applied');
    if (change.revoked.length > 0) this.truncateLog();
    this.emit(change);
    return change;
  }

  /**
   * Replaces the whole roster with a snapshot the acceptance rule takes (`epoch`: the signed
   * snapshot's): of the held epoch, newer than the current version and not below the high-water mark;
   * or of a newer epoch, whatever its version; with `resync` (the hub's resync command) also the
   * version already held. Otherwise RosterVersionError or RosterEpochError, and nothing changes.
   */
  replaceAll(input: RosterSnapshotInput, epoch?: RosterEpoch, opts: { resync?: boolean } = {}): RosterChange {
    if (this.wiping) throw new WipeInProgressError();
    const snap = parseOrThrow(RosterSnapshotSchema, input, 'roster snapshot');
    const decoded = this.decodeUpserts(snap.persons);
    const total = snap.persons.length + snap.revoked.length;
    const change = this.db.transaction((): RosterChange => {
      const pos = this.position.get();
      const verdict = judgeSnapshot(pos, { epoch, version: snap.version }, opts.resync ?? false);
      if (verdict.kind === 'refuse') throw refusal(verdict.reason, verdict.detail, pos.version, snap.version);
      this.db.exec('DELETE FROM template; DELETE FROM person; DELETE FROM quarantine; DELETE FROM revoked_pass;');
      const ids = this.nextIds();
      let done = 0;
      for (const p of snap.persons) {
        this.writePerson(p, decoded, snap.version, ids);
        this.opts.onApplyProgress?.(++done, total);
      }
      for (const personId of snap.revoked) {
        this.writeTombstone(personId, snap.version, ids);
        this.opts.onApplyProgress?.(++done, total);
      }
      this.writePassRevocations(snap.revokedPasses);
      this.position.set(positionAfter(pos, verdict.epoch, snap.version));
      return { version: snap.version, replacedAll: true, upserted: snap.persons.map((p) => p.personId), revoked: [...snap.revoked] };
    }).immediate();
    this.log.info({ version: change.version, persons: change.upserted.length }, 'roster replaced');
    this.truncateLog();
    this.emit(change);
    return change;
  }

  /**
   * Erases every person, template and quarantine mark and resets the version to 0, keeping the epoch
   * and the high-water mark (the next snapshot of this epoch must be at least as new as what was
   * erased, so a replayed older one is refused; one of a newer epoch is taken whatever its version),
   * then scrubs the file so that no deleted row stays readable in it. The roster is then held empty (`wipedAt()`) until `releaseWipeHold()`: the hub's `resync`.
   *
   * It fails closed at once, before this returns its promise: the hold and an unfinished-wipe mark are
   * committed, every read (`getPerson`, templates, `readEmbedding`) answers as for an empty roster and
   * listeners hear a replace-all change (the matcher empties). The rows are then deleted
   * `batchPersons` persons per transaction, yielding to the event loop (setImmediate) between
   * transactions, so that GPIO callbacks (fire alarm, exit button) run during a large wipe; the long
   * file-level steps (WAL checkpoint and truncate, VACUUM) run on a worker thread with its own
   * connection. If the process stops before the end, `open()` finishes the wipe (the mark stays until
   * the file is scrubbed). Rejects with WipeInterruptedError if the store is closed meanwhile.
   */
  async wipe(opts: { batchPersons?: number } = {}): Promise<{ persons: number; templates: number }> {
    const batch = Math.max(1, Math.floor(opts.batchPersons ?? WIPE_BATCH_PERSONS));
    const counts = this.beginWipe();
    this.emit({ version: 0, replacedAll: true, upserted: [], revoked: [] });
    for (;;) {
      await new Promise<void>((r) => setImmediate(r));
      if (!this.db.open) throw new WipeInterruptedError();
      if (this.eraseBatch(batch) === 0) break;
    }
    await scrubInWorker(this.opts.path);
    if (!this.db.open) throw new WipeInterruptedError();
    this.endWipe();
    this.log.warn(counts, 'roster wiped');
    return counts;
  }

  /** When the roster was wiped (epoch ms), or null if it is not held empty after a wipe. */
  wipedAt(): number | null {
    const row = this.db.prepare("SELECT value FROM roster_meta WHERE key = 'wiped_at'").get() as { value: string } | undefined;
    return row === undefined ? null : Number(row.value);
  }

  /** True from the start of a wipe until its rows are deleted and the file scrubbed (also across a restart). */
  wipeInProgress(): boolean {
    return this.wiping;
  }

  /**
   * Ends the hold after a wipe: the roster may be filled again (the hub ordered a resync). Refused
   * (WipeInProgressError) while a wipe is still erasing: the caller waits for its end.
   */
  releaseWipeHold(): void {
    if (this.wiping) throw new WipeInProgressError();
    this.db.prepare("DELETE FROM roster_meta WHERE key = 'wiped_at'").run();
  }

  /** Counts, then commits the hold, the unfinished-wipe mark and version 0; reads go empty from here. */
  private beginWipe(): { persons: number; templates: number } {
    const counts = this.db.transaction(() => {
      const persons = (this.db.prepare('SELECT COUNT(*) AS n FROM person').get() as { n: number }).n;
      const templates = (this.db.prepare('SELECT COUNT(*) AS n FROM template').get() as { n: number }).n;
      this.position.resetVersion();
      const meta = this.db.prepare('INSERT INTO roster_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
      meta.run('wiped_at', String(this.clock.now()));
      // The counts go with the mark, so that a wipe finished after a restart is reported with them.
      meta.run('wipe_pending', JSON.stringify({ persons, templates }));
      return { persons, templates };
    }).immediate();
    this.wiping = true;
    return counts;
  }

  /** Deletes up to `persons` persons with their templates in one transaction; returns how many persons. */
  private eraseBatch(persons: number): number {
    return this.db.transaction(() => {
      const ids = this.db.prepare<[number], { id: number }>('SELECT id FROM person ORDER BY id LIMIT ?').all(persons).map((r) => r.id);
      if (ids.length === 0) {
        // Templates whose person is gone cannot exist (foreign key), but leave nothing to chance.
        this.db.exec('DELETE FROM template; DELETE FROM quarantine; DELETE FROM revoked_pass;');
        return 0;
      }
      const first = ids[0] ?? 0;
      const last = ids[ids.length - 1] ?? 0;
      this.db.prepare('DELETE FROM template WHERE person_ref BETWEEN ? AND ?').run(first, last);
      this.db.prepare('DELETE FROM person WHERE id BETWEEN ? AND ?').run(first, last);
      return ids.length;
    }).immediate();
  }

  /** The rows are gone and the file scrubbed: the unfinished-wipe mark goes (the hold stays). */
  private endWipe(): void {
    this.db.prepare("DELETE FROM roster_meta WHERE key = 'wipe_pending'").run();
    this.wiping = false;
  }

  /**
   * A wipe that did not finish before the process stopped is finished here, at open and before any
   * read: every remaining row is deleted and the file scrubbed, on this thread (start-up only).
   */
  private finishInterruptedWipe(): void {
    const pending = this.db.prepare("SELECT value FROM roster_meta WHERE key = 'wipe_pending'").get() as { value: string } | undefined;
    if (pending === undefined) return;
    this.wiping = true;
    this.db.transaction(() => {
      this.db.exec('DELETE FROM template; DELETE FROM person; DELETE FROM quarantine; DELETE FROM revoked_pass;');
      this.position.resetVersion();
    }).immediate();
    this.scrub();
    this.endWipe();
    let counts = { persons: 0, templates: 0 };
    try {
      const c = JSON.parse(pending.value) as { persons?: unknown; templates?: unknown };
      if (typeof c.persons === 'number' && typeof c.templates === 'number') counts = { persons: c.persons, templates: c.templates };
    } catch {
      // A mark without counts: the wipe is finished all the same.
    }
    this.resumed = counts;
    this.log.warn(counts, 'unfinished roster wipe completed at open');
  }

  /**
   * The counts of a wipe interrupted by a stop and finished when this store was opened (the terminal
   * reports it then), or null.
   */
  wipeFinishedAtOpen(): { persons: number; templates: number } | null {
    return this.resumed;
  }

  /**
   * After a revocation or a replaced roster: the write-ahead log, which held the deleted persons' rows
   * as they were written (sealed), is checkpointed into the file (where secure_delete zeroed them) and
   * truncated, so no copy of a revoked person stays on the terminal's storage beside its device secret.
   * A reader mid-transaction leaves it to the next one.
   */
  private truncateLog(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /**
   * Leaves no deleted row readable in the file: secure_delete has zeroed the deleted content in the
   * pages written to the WAL; the checkpoint copies them over the old pages and truncates the WAL
   * (which held the rows as they were written); VACUUM rebuilds the file without free pages.
   */
  private scrub(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.exec('VACUUM');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /**
   * The person, or null if unknown. A person whose row fails authentication is quarantined and
   * RosterIntegrityError is thrown (the caller denies).
   */
  getPerson(personId: string): PersonRecord | null {
    if (this.wiping) return null;
    const row = this.stmt.personById.get(personId);
    if (row === undefined) return null;
    if (this.stmt.quarantined.get('person', row.id) !== undefined) throw new RosterIntegrityError('person', row.id, row.person_id);
    let data: SealedPerson;
    try {
      const plain = this.sealer.open(row.sealed, personAad(row.id, row.row_version, row.person_id, row.status));
      data = SealedPersonSchema.parse(JSON.parse(plain.toString('utf8')));
    } catch (e) {
      throw this.quarantine('person', row.id, row.person_id, e);
    }
    if (row.status === 'revoked') return { personId: row.person_id, status: 'revoked', authorisations: [], tags: [] };
    const rec: PersonRecord = { personId: row.person_id, status: row.status, authorisations: data.authorisations, tags: data.tags };
    if (data.label !== undefined) rec.label = data.label;
    return rec;
  }

  /**
   * Every readable template of active persons (optionally only of `personIds`). Rows failing
   * authentication are quarantined and reported in `failures`, the rest are returned.
   */
  loadTemplates(personIds?: readonly string[]): { templates: StoredTemplate[]; failures: RosterIntegrityError[] } {
    const templates: StoredTemplate[] = [];
    const failures = this.forEachTemplate((t) => templates.push(t), personIds);
    return { templates, failures };
  }

  /**
   * Streams every readable template of active persons to `fn` (one decrypted vector at a time, so a
   * large roster is never held twice in memory); returns the rows quarantined on the way.
   */
  forEachTemplate(fn: (t: StoredTemplate) => void, personIds?: readonly string[]): RosterIntegrityError[] {
    if (this.wiping) return [];
    const sql = `SELECT t.id, t.person_ref, p.person_id, t.template_id, t.model_id, t.row_version, t.sealed
      FROM template t JOIN person p ON p.id = t.person_ref
      WHERE p.status = 'active'
        AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.table_name = 'template' AND q.row_id = t.id)`;
    let rows: Iterable<TemplateRow>;
    if (personIds === undefined) {
      rows = this.db.prepare<[], TemplateRow>(`${sql} ORDER BY t.id`).iterate();
    } else {
      const st = this.db.prepare<[string], TemplateRow>(`${sql} AND p.person_id = ? ORDER BY t.id`);
      rows = personIds.flatMap((id) => st.all(id));
    }
    const bad: { row: TemplateRow; err: unknown }[] = [];
    for (const row of rows) {
      let t: StoredTemplate;
      try {
        t = this.openTemplate(row);
      } catch (err) {
        bad.push({ row, err });
        continue;
      }
      fn(t);
    }
    // Quarantine only after the read cursor is closed (the connection is busy while iterating).
    return bad.map(({ row, err }) => this.quarantine('template', row.id, row.template_id, err));
  }

  /** The exact vector of one template row (the matcher rescoring), or null when it is gone. */
  readEmbedding(rowId: number): Float32Array | null {
    if (this.wiping) return null;
    const row = this.stmt.templateByRow.get(rowId);
    if (row === undefined) return null;
    if (this.stmt.quarantined.get('template', row.id) !== undefined) throw new RosterIntegrityError('template', row.id, row.template_id);
    try {
      return this.openTemplate(row).embedding;
    } catch (e) {
      throw this.quarantine('template', row.id, row.template_id, e);
    }
  }

  /** Number of template rows (capacity hint for the matcher). */
  templateCount(): number {
    if (this.wiping) return 0;
    return (this.db.prepare('SELECT COUNT(*) AS n FROM template').get() as { n: number }).n;
  }

  /** Persons holding templates from a model other than `modelId`: they need re-enrolment. */
  personsNeedingReenrolment(modelId: string): string[] {
    if (this.wiping) return [];
    const rows = this.db
      .prepare<[string], { person_id: string }>(
        `SELECT DISTINCT p.person_id FROM template t JOIN person p ON p.id = t.person_ref
         WHERE t.model_id <> ? AND p.status = 'active' ORDER BY p.person_id`,
      )
      .all(modelId);
    return rows.map((r) => r.person_id);
  }

  /**
   * The credential digests of active persons (all, or only `personIds`). Sealed like the rest of the
   * person row: read here and kept in memory by the caller. Rows failing authentication are quarantined
   * and left out (reported in `failures`).
   */
  credentials(personIds?: readonly string[]): { persons: PersonCredentials[]; failures: RosterIntegrityError[] } {
    if (this.wiping) return { persons: [], failures: [] };
    const rows = personIds === undefined
      ? this.db.prepare<[], PersonRow>("SELECT id, person_id, status, row_version, sealed FROM person WHERE status = 'active' ORDER BY id").all()
      : personIds.flatMap((id) => this.stmt.personById.all(id)).filter((r) => r.status === 'active');
    const persons: PersonCredentials[] = [];
    const failures: RosterIntegrityError[] = [];
    for (const row of rows) {
      if (this.stmt.quarantined.get('person', row.id) !== undefined) continue;
      let data: SealedPerson;
      try {
        data = SealedPersonSchema.parse(JSON.parse(this.sealer.open(row.sealed, personAad(row.id, row.row_version, row.person_id, row.status)).toString('utf8')));
      } catch (e) {
        failures.push(this.quarantine('person', row.id, row.person_id, e));
        continue;
      }
      const c = data.credentials;
      if (!c) continue;
      const pc: PersonCredentials = { personId: row.person_id, cards: c.cards };
      if (c.pin !== undefined) pc.pin = c.pin;
      if (c.duressPin !== undefined) pc.duressPin = c.duressPin;
      persons.push(pc);
    }
    return { persons, failures };
  }

  /**
   * Whether the revocation list of visitor passes is known: false before the first roster arrives and
   * while the roster is wiped or held after a wipe (a pass is then refused, runtime/pass/rules.ts).
   */
  revocationsKnown(): boolean {
    return !this.wiping && this.version() > 0 && this.wipedAt() === null;
  }

  /** True when the hub revoked this pass (and its validity has not ended yet). */
  isPassRevoked(passId: string): boolean {
    return this.db.prepare('SELECT 1 FROM revoked_pass WHERE pass_id = ?').get(passId) !== undefined;
  }

  quarantined(): QuarantinedRow[] {
    return this.db
      .prepare<[], { table_name: 'person' | 'template'; row_id: number; subject: string; reason: string; at: number }>(
        'SELECT table_name, row_id, subject, reason, at FROM quarantine ORDER BY at, row_id',
      )
      .all()
      .map((r) => ({ table: r.table_name, rowId: r.row_id, subject: r.subject, reason: r.reason, at: r.at }));
  }

  /**
   * Re-encrypts every row under a key from `newSecretFile` in one transaction, then renames that
   * file over the configured secret file. Quarantined rows are left as they are (still unusable).
   * A crash between the commit and the rename leaves the new secret at `newSecretFile`.
   */
  rotateKey(newSecretFile: string): void {
    const salt = randomBytes(16);
    const next = new Sealer(deriveKeyFromSecretFile(newSecretFile, salt));
    let rewritten = 0;
    this.db.transaction(() => {
      const q = new Set(this.quarantined().map((r) => `${r.table}|${r.rowId}`));
      const persons = this.db.prepare<[], PersonRow>('SELECT id, person_id, status, row_version, sealed FROM person').all();
      const upP = this.db.prepare('UPDATE person SET sealed = ? WHERE id = ?');
      for (const p of persons) {
        if (q.has(`person|${p.id}`)) continue;
        const aad = personAad(p.id, p.row_version, p.person_id, p.status);
        let plain: Buffer;
        try {
          plain = this.sealer.open(p.sealed, aad);
        } catch (e) {
          this.quarantine('person', p.id, p.person_id, e);
          continue;
        }
        upP.run(next.seal(plain, aad), p.id);
        rewritten++;
      }
      const upT = this.db.prepare('UPDATE template SET sealed = ? WHERE id = ?');
      const rows = this.db
        .prepare<[], TemplateRow>(
          `SELECT t.id, t.person_ref, p.person_id, t.template_id, t.model_id, t.row_version, t.sealed
           FROM template t JOIN person p ON p.id = t.person_ref`,
        )
        .all();
      for (const t of rows) {
        if (q.has(`template|${t.id}`)) continue;
        const aad = templateAad(t.id, t.row_version, t.person_ref, t.template_id, t.model_id);
        let plain: Buffer;
        try {
          plain = this.sealer.open(t.sealed, aad);
        } catch (e) {
          this.quarantine('template', t.id, t.template_id, e);
          continue;
        }
        upT.run(next.seal(plain, aad), t.id);
        plain.fill(0);
        rewritten++;
      }
      this.db.prepare('UPDATE key_check SET salt = ?, sealed = ? WHERE id = 1').run(salt, next.seal(KEY_CHECK, KEY_CHECK_AAD));
    }).immediate();
    this.sealer = next;
    renameSync(newSecretFile, this.opts.secretFile);
    this.log.info({ rows: rewritten }, 'roster key rotated');
  }

  // --- internals -------------------------------------------------------------------------------

  private emit(change: RosterChange): void {
    for (const fn of this.listeners) {
      try {
        fn(change);
      } catch (e) {
        this.log.error({ err: e }, 'roster change listener failed');
      }
    }
  }

  private decodeUpserts(upserts: readonly PersonUpsert[]): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    const issues: string[] = [];
    const seen = new Set<string>();
    for (const [i, p] of upserts.entries()) {
      if (seen.has(p.personId)) issues.push(`upserts.${i}.personId: duplicate person in one batch`);
      seen.add(p.personId);
      for (const [j, t] of p.templates.entries()) {
        const v = decodeEmbedding(t.embedding);
        if (v === null) issues.push(`upserts.${i}.templates.${j}.embedding: not a finite non-zero float32 vector`);
        else if (out.has(t.templateId)) issues.push(`upserts.${i}.templates.${j}.templateId: duplicate template id`);
        else out.set(t.templateId, v);
      }
    }
    if (issues.length > 0) throw new InvalidInputError('roster batch', issues);
    return out;
  }

  private nextIds(): { person: number; template: number } {
    const p = this.db.prepare('SELECT COALESCE(MAX(id), 0) AS m FROM person').get() as { m: number };
    const t = this.db.prepare('SELECT COALESCE(MAX(id), 0) AS m FROM template').get() as { m: number };
    return { person: p.m + 1, template: t.m + 1 };
  }

  /** Inserts or rewrites the person row under `version`; returns its row id. */
  private writePersonRow(personId: string, status: PersonStatus, data: SealedPerson, version: number, ids: { person: number }): number {
    const existing = this.db.prepare<[string], { id: number }>('SELECT id FROM person WHERE person_id = ?').get(personId);
    const id = existing?.id ?? ids.person++;
    const sealed = this.sealer.seal(Buffer.from(JSON.stringify(data), 'utf8'), personAad(id, version, personId, status));
    if (existing !== undefined) {
      // Row ids can be reused later: forget quarantine marks of the rows deleted here.
      this.db
        .prepare("DELETE FROM quarantine WHERE table_name = 'template' AND row_id IN (SELECT id FROM template WHERE person_ref = ?)")
        .run(id);
      this.db.prepare('DELETE FROM template WHERE person_ref = ?').run(id);
      this.db.prepare('UPDATE person SET status = ?, row_version = ?, sealed = ? WHERE id = ?').run(status, version, sealed, id);
      this.db.prepare("DELETE FROM quarantine WHERE table_name = 'person' AND row_id = ?").run(id);
    } else {
      this.db.prepare('INSERT INTO person (id, person_id, status, row_version, sealed) VALUES (?, ?, ?, ?, ?)').run(id, personId, status, version, sealed);
    }
    return id;
  }

  private writePerson(p: PersonUpsert, decoded: Map<string, Float32Array>, version: number, ids: { person: number; template: number }): void {
    // A name is never kept at the door, even from a hub that still sends one (issue 16): the
    // decision never uses it. Rows written before keep theirs until the person is next written.
    const data: SealedPerson = { authorisations: p.authorisations.map(toAuthorisation), tags: p.tags };
    if (p.credentials !== undefined && (p.credentials.cards.length > 0 || p.credentials.pin !== undefined || p.credentials.duressPin !== undefined)) data.credentials = p.credentials;
    const ref = this.writePersonRow(p.personId, 'active', data, version, ids);
    const ins = this.db.prepare('INSERT INTO template (id, person_ref, template_id, model_id, row_version, sealed) VALUES (?, ?, ?, ?, ?, ?)');
    for (const t of p.templates) {
      const v = decoded.get(t.templateId);
      if (v === undefined) continue;
      const id = ids.template++;
      const bytes = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      ins.run(id, ref, t.templateId, t.modelId, version, this.sealer.seal(bytes, templateAad(id, version, ref, t.templateId, t.modelId)));
    }
  }

  /** Records revoked passes and forgets those whose validity has ended (inside the caller's transaction). */
  private writePassRevocations(revs: readonly PassRevocation[]): void {
    const ins = this.db.prepare('INSERT INTO revoked_pass (pass_id, not_after) VALUES (?, ?) ON CONFLICT(pass_id) DO UPDATE SET not_after = excluded.not_after');
    for (const r of revs) ins.run(r.passId, r.notAfter);
    this.db.prepare('DELETE FROM revoked_pass WHERE not_after <= ?').run(this.clock.now());
  }

  /** Revocation: templates and personal data deleted; only the id and the revoked status remain. */
  private writeTombstone(personId: string, version: number, ids: { person: number }): void {
    this.writePersonRow(personId, 'revoked', { authorisations: [], tags: [] }, version, ids);
  }

  private openTemplate(row: TemplateRow): StoredTemplate {
    const plain = this.sealer.open(row.sealed, templateAad(row.id, row.row_version, row.person_ref, row.template_id, row.model_id));
    const embedding = embeddingFromBytes(plain);
    plain.fill(0);
    if (embedding === null) throw new SealError('template bytes are not a float32 vector');
    return { rowId: row.id, personId: row.person_id, templateId: row.template_id, modelId: row.model_id, embedding };
  }

  private quarantine(table: 'person' | 'template', rowId: number, subject: string, cause: unknown): RosterIntegrityError {
    const reason = cause instanceof SealError ? cause.message : cause instanceof Error ? `${cause.name}` : 'unreadable';
    this.db
      .prepare('INSERT OR REPLACE INTO quarantine (table_name, row_id, subject, reason, at) VALUES (?, ?, ?, ?, ?)')
      .run(table, rowId, subject, reason, this.clock.now());
    const err = new RosterIntegrityError(table, rowId, subject);
    this.log.warn({ table, rowId, subject, code: err.code }, 'roster row quarantined');
    return err;
  }
}
