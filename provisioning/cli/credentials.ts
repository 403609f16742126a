/**
 * The login the command line keeps (`provision login`): the hub's URL, the community CA certificate
 * it pins, the operator and an API token made for this login, in
 * `$XDG_CONFIG_HOME/doorway/credentials.json` (default ~/.config/doorway). The folder is 0700 and the
 * file 0600, written atomically; a file others may read is refused, as ssh refuses such a key.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { TerminalError } from '../../core/errors';
import { writeFileAtomic } from '../../core/fs';
import { IdSchema } from '../../runtime/protocol/ids';

/** The login file is unreadable, malformed, or open to others. */
export class CredentialsFileError extends TerminalError {
  readonly code = 'credentials-file';
}

export const StoredLoginSchema = z.strictObject({
  v: z.literal(1),
  hub: z.url({ protocol: /^https$/ }),
  ca: z.string().includes('-----BEGIN CERTIFICATE-----'),
  operator: IdSchema,
  tokenId: z.string().regex(/^tok-[0-9a-f]{12}$/),
  token: z.string().min(1).max(200),
});
export type StoredLogin = z.infer<typeof StoredLoginSchema>;

/** `$XDG_CONFIG_HOME/doorway/credentials.json`, or under ~/.config when XDG_CONFIG_HOME is unset or relative. */
export function credentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env['XDG_CONFIG_HOME'];
  const base = xdg && xdg.startsWith('/') ? xdg : join(homedir(), '.config');
  return join(base, 'doorway', 'credentials.json');
}

/** The stored login, or null when there is none. */
export function readLogin(file = credentialsFile()): StoredLogin | null {
  if (!existsSync(file)) return null;
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new CredentialsFileError(`${file} may be read by others (mode ${mode.toString(8)}): chmod 600 it, or provision logout and log in again`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CredentialsFileError(`${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'not JSON'}): provision login again`);
  }
  const r = StoredLoginSchema.safeParse(parsed);
  if (!r.success) throw new CredentialsFileError(`${file} is not a login of this tool: provision login again`);
  return r.data;
}

export function saveLogin(login: StoredLogin, file = credentialsFile()): void {
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeFileAtomic(file, `${JSON.stringify(StoredLoginSchema.parse(login), null, 2)}\n`, 0o600);
}

/** Deletes the login file (one file: never a folder). */
export function deleteLogin(file = credentialsFile()): void {
  rmSync(file, { force: true });
}
