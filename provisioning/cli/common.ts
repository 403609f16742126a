/**
 * What every `provision` command group shares: the community folder (--dir or PROVISION_DIR), the
 * operator for the audit log (--as, PROVISION_ACTOR or the OS user), the passphrase
 * (PROVISION_PASSPHRASE or a prompt), the face pipeline loaded only when a photo is enrolled, and the
 * admin context (provisioning/admin/) each command calls with. The command line is the composition
 * root of its process: the system clock is made here.
 */
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import type { ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { SystemClock } from '../../core/clock';
import { InvalidInputError } from '../../core/errors';
import { FacePipeline } from '../../models/pipeline';
import type { CliIo } from '../../runtime/command-line';
import { isId, printable } from '../../runtime/protocol/ids';
import type { AdminContext } from '../admin/context';
import { lazyPipelineEnroller, type Enroller } from '../admin/enrol';
import { Community } from '../community';
import type { PersonRecord } from '../db';

export type Command = (args: string[], io: CliIo) => Promise<number>;

export const common = {
  dir: { type: 'string' },
  as: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const commonSchema = {
  dir: z.string().min(1).optional(),
  as: z.string().min(1).max(64).optional(),
  positionals: z.array(z.string()),
};

export function communityDir(dir: string | undefined): string {
  const d = dir ?? process.env['PROVISION_DIR'];
  if (!d) throw new InvalidInputError('community', ['give --dir DIR or set PROVISION_DIR']);
  return d;
}

/**
 * The operator named in the audit log: `given` (--as), PROVISION_ACTOR, or the OS user. The admin
 * operations check it against the one identifier rule (runtime/protocol/ids.ts).
 */
export function operator(given?: string): string {
  const name = given ?? process.env['PROVISION_ACTOR'];
  if (name !== undefined) return name;
  try {
    return userInfo().username;
  } catch {
    throw new InvalidInputError('operator', ['no user name for the audit log: give --as NAME or set PROVISION_ACTOR']);
  }
}

/** PROVISION_PASSPHRASE, or a prompt (input not echoed) when stdin is a terminal. */
export async function readPassphrase(prompt = 'community passphrase: '): Promise<string> {
  const env = process.env['PROVISION_PASSPHRASE'];
  if (env !== undefined) return env;
  if (!process.stdin.isTTY) throw new InvalidInputError('passphrase', ['set PROVISION_PASSPHRASE (no terminal to prompt on)']);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const rlMuted = rl as unknown as { _writeToOutput: (s: string) => void };
  process.stderr.write(prompt);
  rlMuted._writeToOutput = () => undefined;
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** Comma-separated and repeated options as one list. */
export const list = (v: string[] | undefined): string[] | undefined => (v === undefined ? undefined : v.flatMap((x) => x.split(',')).map((s) => s.trim()).filter(Boolean));

/** The face pipeline, loaded only when a photo is actually enrolled (bad input is refused before). */
export async function withEnroller<T>(f: (e: Enroller) => Promise<T>): Promise<T> {
  const e = lazyPipelineEnroller(() => FacePipeline.load());
  try {
    return await f(e);
  } finally {
    await e.close();
  }
}

/** An id from a file as it may be shown on one line: as is when it is an id, quoted and escaped otherwise. */
export const shown = (id: string): string => (id === '' ? '(no id)' : isId(id) ? id : printable(id));

/** Positional arguments beyond `max` are refused, not ignored. */
export function positionals(what: string, given: string[], max: number): string[] {
  if (given.length > max) throw new InvalidInputError(`${what} arguments`, [`unexpected ${printable(given[max] ?? '')}${max === 0 ? ': this command takes only options' : ''}`]);
  return given;
}

export async function withCommunity<T>(dir: string | undefined, f: (c: Community) => T | Promise<T>): Promise<T> {
  const c = Community.open(communityDir(dir));
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

/** The admin context of one command: this process's clock, the operator, the folder and its store. */
export function adminContext(c: Community, as: string | undefined, extra: Pick<AdminContext, 'enroller' | 'passphrase'> = {}): AdminContext {
  return { clock: new SystemClock(), actor: operator(as), community: c, store: c.db, ...extra };
}

export function time(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

export function personLine(p: PersonRecord): string {
  const a = p.authorisations[0];
  const access = a ? `doors=${a.doorIds.join(',') || '-'} buildings=${a.buildingIds.join(',') || '-'}${a.validFrom ? ` from=${a.validFrom}` : ''}${a.validUntil ? ` until=${a.validUntil}` : ''}${a.windows ? ` hours=${a.windows.map((w) => `${w.days.join(',')} ${w.start}-${w.end}`).join(';')}` : ''}` : 'no access';
  return `${p.personId}\t${p.kind}\t${p.status}\t${access}\ttemplates=${p.templates.length}${p.tags.length ? `\ttags=${p.tags.join(',')}` : ''}${p.publishedRev < p.rev ? '\t(not yet published)' : ''}`;
}

export const COMMAND_OUTCOME: Record<string, string> = {
  queued: 'still queued (is the hub running?)',
  sent: 'sent (signed; valid for 30 s)',
  expired: 'expired before the hub could send it',
  refused: 'refused (terminal revoked)',
};
