/**
 * What the update agent knows between runs, in STATE_DIR (default DATA_DIR/update):
 *
 *   state.json           which version is in which slot, the committed (known good) slot, a trial in progress
 *   reports/<id>.json    one `update.outcome` event each, for the terminal process to put in its outbox
 *                        (the agent is a process of its own; the terminal owns the outbox)
 *   update-signing.pub   an update key learnt from a bundle's endorsement (terminals provisioned without one)
 *   downloads/           bundles being downloaded (NAME.part while incomplete)
 *
 * Files are written to a temporary name, flushed and renamed, so a power cut leaves the old or the new
 * file, never a torn one. They hold no secret and are readable by the terminal's user (0644).
 */
import { randomBytes } from 'node:crypto';
import { chownSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { TerminalError } from '../../core/errors';
import { UpdateOutcomeSchema, UpdateReasonSchema, type SyncEvent } from '../protocol/schemas';
import { VersionSchema } from './manifest';
import { syncDir, type SlotName } from './slots';

export class UpdateStateError extends TerminalError {
  readonly code = 'update-state';
}

const Slot = z.enum(['a', 'b']);

const SlotInfoSchema = z.strictObject({
  version: VersionSchema,
  /** Embedding model of the runtime in the slot (from its bundle). */
  embedModel: z.string().min(1).max(128).nullable(),
  installedAt: z.number().int().nonnegative(),
});

export const UpdateStateSchema = z.strictObject({
  v: z.literal(1),
  slots: z.strictObject({ a: SlotInfoSchema.nullable(), b: SlotInfoSchema.nullable() }),
  /** The slot that passed its health check (or was there before updates began). */
  committed: Slot,
  /** Set just before `current` is switched to a new slot; cleared by commit or rollback. */
  trial: z
    .strictObject({ slot: Slot, version: VersionSchema, from: Slot, fromVersion: VersionSchema, startedAt: z.number().int().nonnegative() })
    .nullable(),
  last: z
    .strictObject({
      outcome: z.enum(['committed', 'rolled-back', 'refused']),
      version: VersionSchema.nullable(),
      reason: UpdateReasonSchema.nullable(),
      detail: z.string().max(200).nullable(),
      at: z.number().int().nonnegative(),
    })
    .nullable(),
});
export type UpdateState = z.infer<typeof UpdateStateSchema>;
export type UpdateOutcomeEvent = z.infer<typeof UpdateOutcomeSchema>;

/**
 * Makes `dir` (and missing parents). The agent runs as root and the terminal as its own user: a folder
 * the agent makes gets the owner of the folder above it (the terminal's data folder), so the terminal
 * can delete the reports it has moved into its outbox.
 */
export function ensureDir(dir: string, mode = 0o755): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) ensureDir(parent, mode);
  mkdirSync(dir, { mode });
  if (process.getuid?.() === 0) {
    const st = statSync(parent);
    chownSync(dir, st.uid, st.gid);
  }
}

/** Writes `data` to `path` durably: temporary file, fsync, rename, fsync of the folder. */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): void {
  const dir = join(path, '..');
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  syncDir(dir);
}

export class UpdateStateStore {
  constructor(readonly dir: string) {}

  get file(): string {
    return join(this.dir, 'state.json');
  }

  /** The state, or null before the first update (nothing recorded yet). */
  read(): UpdateState | null {
    if (!existsSync(this.file)) return null;
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (e) {
      throw new UpdateStateError(`${this.file} is not JSON: ${(e as Error).message}`);
    }
    const r = UpdateStateSchema.safeParse(raw);
    if (!r.success) throw new UpdateStateError(`${this.file} is invalid: ${r.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    return r.data;
  }

  /** The state, or the one implied by the layout before any update: `current`'s slot committed at `version`. */
  readOr(current: SlotName, version: string): UpdateState {
    return (
      this.read() ?? {
        v: 1,
        slots: { a: null, b: null, [current]: { version: VersionSchema.parse(version), embedModel: null, installedAt: 0 } },
        committed: current,
        trial: null,
        last: null,
      }
    );
  }

  write(s: UpdateState): void {
    ensureDir(this.dir);
    writeFileAtomic(this.file, `${JSON.stringify(UpdateStateSchema.parse(s), null, 2)}\n`);
  }
}

/** The agent's reports to the hub, dropped as files and drained into the terminal's outbox. */
export class UpdateReports {
  constructor(readonly dir: string) {}

  write(e: UpdateOutcomeEvent): void {
    ensureDir(this.dir);
    writeFileAtomic(join(this.dir, `${e.id}.json`), JSON.stringify(UpdateOutcomeSchema.parse(e)));
  }

  /** Oldest first. */
  pending(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).filter((f) => /^[0-9A-Z]{26}\.json$/.test(f)).sort();
  }

  /**
   * Hands each report to `record` (the terminal's outbox) and deletes it once recorded. A file that is not
   * a valid report is deleted and counted; a report `record` throws on stays for the next drain.
   */
  drain(record: (e: SyncEvent) => void): { recorded: number; invalid: number } {
    let recorded = 0;
    let invalid = 0;
    for (const f of this.pending()) {
      const path = join(this.dir, f);
      let e: UpdateOutcomeEvent;
      try {
        e = UpdateOutcomeSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
      } catch {
        invalid++;
        rmSync(path, { force: true });
        continue;
      }
      try {
        record(e);
      } catch {
        break;
      }
      rmSync(path, { force: true });
      recorded++;
    }
    return { recorded, invalid };
  }
}
