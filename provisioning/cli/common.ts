/**
 * What every `provision` command group shares: the community folder (--dir or PROVISION_DIR), secrets
 * asked for (PROVISION_PASSPHRASE, PROVISION_PASSWORD or a prompt that does not echo), and, for the
 * commands that stay on the folder (bootstrap and offline recovery: init, broker, hub, update build and
 * key), the admin context as the root operator. Everything else goes through the hub's API (connect.ts).
 * The command line is the composition root of its process: the system clock is made here.
 */
import { unlockCommunity } from '../at-rest-key';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { SystemClock } from '../../core/clock';
import { InvalidInputError } from '../../core/errors';
import type { CliIo } from '../../runtime/command-line';
import { isId, printable } from '../../runtime/protocol/ids';
import type { AdminContext } from '../admin/context';
import { checkPhotos } from '../admin/enrol';
import type { PhotoIn, Resident } from '../api/client';
import { Community } from '../community';
import { ROOT_OPERATOR } from '../operators/roles';

export type Command = (args: string[], io: CliIo) => Promise<number>;

export const common = {
  dir: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const commonSchema = {
  dir: z.string().min(1).optional(),
  positionals: z.array(z.string()),
};

/** `--as` or PROVISION_ACTOR given: the audit log no longer takes a name from the caller. */
export class ActorOptionRemovedError extends InvalidInputError {
  constructor(given: string) {
    super(given, []);
    this.message = `${given} is no longer accepted: the hub audits whoever authenticated. Log in (provision login --hub URL --id NAME), give an API token (PROVISION_HUB and PROVISION_TOKEN), or the community passphrase to act as root (PROVISION_PASSPHRASE)`;
  }
}

/** Refuses `--as NAME`, `--as=NAME` and PROVISION_ACTOR before anything is read or sent. */
export function refuseActorOption(args: readonly string[]): void {
  const end = args.indexOf('--');
  if ((end < 0 ? args : args.slice(0, end)).some((a) => a === '--as' || a.startsWith('--as='))) throw new ActorOptionRemovedError('--as');
  if (process.env['PROVISION_ACTOR'] !== undefined) throw new ActorOptionRemovedError('PROVISION_ACTOR');
}

export function communityDir(dir: string | undefined): string {
  const d = dir ?? process.env['PROVISION_DIR'];
  if (!d) throw new InvalidInputError('community', ['give --dir DIR or set PROVISION_DIR']);
  return d;
}

/** A secret from `envName`, or a prompt (input not echoed) when stdin is a terminal. */
export async function readSecret(envName: string, prompt: string): Promise<string> {
  const env = process.env[envName];
  if (env !== undefined) return env;
  if (!process.stdin.isTTY) throw new InvalidInputError(envName === 'PROVISION_PASSPHRASE' ? 'passphrase' : 'password', [`set ${envName} (no terminal to prompt on)`]);
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

/** PROVISION_PASSPHRASE, or a prompt (input not echoed) when stdin is a terminal. */
export function readPassphrase(prompt = 'community passphrase: '): Promise<string> {
  return readSecret('PROVISION_PASSPHRASE', prompt);
}

/** Comma-separated and repeated options as one list. */
export const list = (v: string[] | undefined): string[] | undefined => (v === undefined ? undefined : v.flatMap((x) => x.split(',')).map((s) => s.trim()).filter(Boolean));

/** Local photo files as the API takes them (each checked readable first, like the admin library does). */
export function photosIn(files: readonly string[]): PhotoIn[] {
  checkPhotos(files);
  return files.map((f) => {
    const data = readFileSync(f);
    return { contentType: data.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47])) ? 'image/png' : 'image/jpeg', data: data.toString('base64') };
  });
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

/** The admin context of a command on the folder itself (bootstrap, recovery): root, with the passphrase. */
export function rootContext(c: Community, passphrase: string): AdminContext {
  c.checkPassphrase(passphrase);
  const clock = new SystemClock();
  unlockCommunity(c, { passphrase }, clock.now()); // templates and photos are encrypted at rest
  return { clock, actor: ROOT_OPERATOR, community: c, store: c.db, passphrase };
}

export function time(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString();
}

/** One resident on one line (the API's view). */
export function personLine(p: Resident): string {
  const a = p.access[0];
  const access = a ? `doors=${a.doorIds.join(',') || '-'} buildings=${a.buildingIds.join(',') || '-'}${a.validFrom ? ` from=${a.validFrom}` : ''}${a.validUntil ? ` until=${a.validUntil}` : ''}${a.windows ? ` hours=${a.windows.map((w) => `${w.days.join(',')} ${w.start}-${w.end}`).join(';')}` : ''}` : 'no access';
  return `${p.personId}\tresident\t${p.status}\t${access}\ttemplates=${p.templates}${p.tags.length ? `\ttags=${p.tags.join(',')}` : ''}${p.published ? '' : '\t(not yet published)'}`;
}

export const COMMAND_OUTCOME: Record<string, string> = {
  queued: 'still queued (is the hub running?)',
  sent: 'sent (signed; valid for 30 s)',
  expired: 'expired before the hub could send it',
  refused: 'refused (terminal revoked)',
};
