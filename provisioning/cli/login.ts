/**
 * `provision login` and `provision logout`: an operator's credential for the command line. Login asks
 * for the password (PROVISION_PASSWORD for scripts; a one-time password must be replaced first:
 * PROVISION_NEW_PASSWORD or a prompt), opens a session only to make an API token for this login, ends
 * the session, and stores the token with the hub's URL and the CA certificate it pins (credentials.ts).
 * Logout revokes that token at the hub and deletes the file.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors';
import { parseCli } from '../../runtime/command-line';
import { parseId } from '../../runtime/protocol/ids';
import { ApiClientError } from '../api/client';
import { common, commonSchema, positionals, readSecret, type Command } from './common';
import { CliHubClient, HubRefusedError } from './connect';
import { credentialsFile, deleteLogin, readLogin, saveLogin } from './credentials';

const HubUrlSchema = z.url({ protocol: /^https$/, error: 'https://HOST:PORT' });

function caOf(file: string | undefined, dir: string | undefined): string {
  const f = file ?? process.env['PROVISION_CA'] ?? (dir ?? process.env['PROVISION_DIR'] ? join(dir ?? process.env['PROVISION_DIR'] ?? '', 'ca', 'ca.crt') : undefined);
  if (f === undefined) throw new InvalidInputError('login', ["--ca FILE is required: the community CA certificate (ca/ca.crt of the community folder), the only one this login trusts"]);
  try {
    return readFileSync(f, 'utf8');
  } catch (e) {
    throw new InvalidInputError('login', [`${f} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
}

/** Login answers as one line: a wrong password is "Unauthorized: ...", a locked account "Too Many Requests: ...". */
function loginRefusal(e: unknown): unknown {
  if (!(e instanceof ApiClientError)) return e;
  return new HubRefusedError(e.status, e.problem, `${e.problem?.title ?? `HTTP ${e.status}`}: ${e.problem?.detail ?? 'login refused'}`);
}

async function newPassword(id: string): Promise<string> {
  const env = process.env['PROVISION_NEW_PASSWORD'];
  if (env !== undefined) return env;
  const next = await readSecret('PROVISION_NEW_PASSWORD', `${id} has a one-time password: choose a new one (at least 12 characters): `);
  const again = await readSecret('PROVISION_NEW_PASSWORD', 'the new password again: ');
  if (next !== again) throw new InvalidInputError('new password', ['the two did not match']);
  return next;
}

export const loginCommand: Command = async (args, io) => {
  const o = parseCli('login', args, { ...common, hub: { type: 'string' }, ca: { type: 'string' }, id: { type: 'string' } },
    z.strictObject({ ...commonSchema, hub: HubUrlSchema.optional(), ca: z.string().min(1).optional(), id: z.string().optional() }));
  positionals('login', o.positionals, 0);
  const hubGiven = o.hub ?? process.env['PROVISION_HUB'];
  if (!hubGiven) throw new InvalidInputError('login', ['--hub https://HOST:PORT is required']);
  const url = HubUrlSchema.parse(hubGiven).replace(/\/+$/, '');
  if (!o.id) throw new InvalidInputError('login', ['--id NAME is required']);
  const id = parseId('operator', o.id);
  const ca = caOf(o.ca, o.dir);
  const password = await readSecret('PROVISION_PASSWORD', `password for ${id} at ${url}: `);
  const client = new CliHubClient(url, ca, { kind: 'none' }, id);
  const session = await client.login(id, password).catch((e: unknown) => {
    throw loginRefusal(e);
  });
  if (session.operator.mustChangePassword) await client.changePassword(password, await newPassword(id));
  const made = await client.createMyToken(`provision login on ${hostname().slice(0, 60)}`);
  await client.logout();
  // A login replaces the one before: its token is revoked when the hub still knows it.
  const before = readLogin();
  if (before && before.tokenId !== made.info.id) {
    await new CliHubClient(before.hub, before.ca, { kind: 'token', token: before.token }, before.operator).revokeMyToken(before.tokenId).catch(() => undefined);
  }
  const file = credentialsFile();
  saveLogin({ v: 1, hub: url, ca, operator: id, tokenId: made.info.id, token: made.token }, file);
  io.out(`logged in to ${url} as ${id} (${session.operator.role}${session.operator.buildings.length ? ` of ${session.operator.buildings.join(', ')}` : ''}); token ${made.info.id} kept in ${file}`);
  return 0;
};

export const logoutCommand: Command = async (args, io) => {
  const o = parseCli('logout', args, { ...common }, z.strictObject({ ...commonSchema }));
  positionals('logout', o.positionals, 0);
  const file = credentialsFile();
  const login = readLogin(file);
  if (!login) {
    io.out(`not logged in (no ${file})`);
    return 0;
  }
  let revoked: 'revoked' | 'was no longer valid' | Error = 'revoked';
  try {
    await new CliHubClient(login.hub, login.ca, { kind: 'token', token: login.token }, login.operator).revokeMyToken(login.tokenId);
  } catch (e) {
    if (e instanceof HubRefusedError && e.status === 401) revoked = 'was no longer valid';
    else revoked = e instanceof Error ? e : new Error(String(e));
  }
  deleteLogin(file);
  if (revoked instanceof Error) {
    io.err(`provision logout: ${file} deleted, but token ${login.tokenId} could not be revoked (${revoked.message}): an admin can revoke it in the console or with the API`);
    return 1;
  }
  io.out(`logged out of ${login.hub}: token ${login.tokenId} ${revoked}; ${file} deleted`);
  return 0;
};
