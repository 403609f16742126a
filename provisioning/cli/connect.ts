/**
 * How a `provision` command reaches the hub: every command that reads or changes the community's state
 * is a call to the hub's API (provisioning/api/), made with one credential, the first of:
 *
 *   1. PROVISION_TOKEN (an API token) with PROVISION_HUB (https://HOST:PORT) and the community CA from
 *      PROVISION_CA (a file), else the community folder's (--dir / PROVISION_DIR), else the stored login's;
 *   2. PROVISION_PASSPHRASE: the built-in root operator. The command line unlocks hub/root-auth.key in the
 *      community folder (--dir / PROVISION_DIR) and signs each request with it (the passphrase never
 *      leaves this machine); the hub's URL is the one the running hub recorded there (hub/api.json;
 *      PROVISION_HUB overrides it), the CA the folder's;
 *   3. the login stored by `provision login` (credentials.ts);
 *   4. with --dir / PROVISION_DIR and a terminal to ask on: the passphrase, prompted for, then as 2.
 *
 * Without any: NoCredentialError naming the ways, and nothing is changed. The hub decides what the
 * caller may do and audits it as the authenticated operator (or `root`).
 */
import { readFileSync } from 'node:fs';
import { InvalidInputError, TerminalError } from '../../core/errors';
import { recordedApiEndpoint } from '../api/endpoint';
import { ApiClientError, HubClient, type Credential, type RawResponse } from '../api/client';
import { Community } from '../community';
import { ensureRootKey } from '../operators/root';
import { readPassphrase } from './common';
import { readLogin } from './credentials';

/** No credential was given: nothing was sent. */
export class NoCredentialError extends TerminalError {
  readonly code = 'no-credential';
}

/** The hub cannot be reached (not running, wrong address, a certificate not from the pinned CA). */
export class HubUnreachableError extends TerminalError {
  readonly code = 'hub-unreachable';
}

/** The hub refused the request (401, 403, 404, 409, 422, ...): its problem's title and detail. */
export class HubRefusedError extends TerminalError {
  readonly code = 'hub-refused';

  constructor(
    readonly status: number,
    readonly problem: ApiClientError['problem'],
    message: string,
  ) {
    super(message);
  }
}

/** The hub found the input invalid (400): an argument to fix, like the command line's own checks (exit status 2). */
export class HubInputError extends InvalidInputError {
  constructor(detail: string, issues: readonly string[]) {
    super('request', issues);
    this.message = issues.length > 0 ? `${detail}: ${issues.join('; ')}` : detail;
  }
}

export const NO_CREDENTIAL = 'no credential for the hub: log in (provision login --hub https://HOST:PORT --id NAME), give an API token (PROVISION_HUB and PROVISION_TOKEN), or the community passphrase to act as root (PROVISION_PASSPHRASE with --dir DIR or PROVISION_DIR)';

/** A HubClient whose failures are one-line errors of the command line. */
export class CliHubClient extends HubClient {
  constructor(
    readonly url: string,
    ca: string | Buffer,
    credential: Credential,
    /** Who the hub will see: `root` or the operator's id (for messages). */
    readonly who: string,
  ) {
    super({ baseUrl: url, ca, credential });
  }

  override async raw(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<RawResponse> {
    try {
      return await super.raw(method, path, body, extraHeaders);
    } catch (e) {
      if (e instanceof TerminalError) throw e;
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new HubUnreachableError(`cannot reach the hub at ${this.url} (${code}): is provision hub --http running there, with a certificate from this community's CA?`);
    }
  }

  override async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await super.call<T>(method, path, body);
    } catch (e) {
      throw e instanceof ApiClientError ? refusal(e, this.who) : e;
    }
  }
}

/** A problem answer as the command line says it: 401/403 with the title, 400 as bad input, the rest by their detail. */
export function refusal(e: ApiClientError, who: string): TerminalError {
  const p = e.problem;
  const detail = p?.detail ?? `HTTP ${e.status}`;
  const issues = (p?.issues ?? []).map((i) => `${i.path}: ${i.message}`);
  if (e.status === 401) return new HubRefusedError(401, p, `${p?.title ?? 'Unauthorized'}: ${detail} (${who === 'root' ? 'root' : `operator ${who}`}; provision login again or check the token)`);
  if (e.status === 403) return new HubRefusedError(403, p, `${p?.title ?? 'Forbidden'}: ${detail}`);
  if (e.status === 400) return new HubInputError(detail, issues);
  return new HubRefusedError(e.status, p, detail);
}

function communityDirOf(dir: string | undefined): string | undefined {
  return dir ?? process.env['PROVISION_DIR'];
}

function readCa(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new InvalidInputError(what, [`${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
}

/** Root on the community folder: the request key unlocked with the passphrase, the hub's recorded URL, the folder's CA. */
function rootClient(dir: string, passphrase: string): CliHubClient {
  const c = Community.open(dir);
  try {
    c.checkPassphrase(passphrase);
    const key = ensureRootKey(c, passphrase);
    const url = process.env['PROVISION_HUB'] ?? recordedApiEndpoint(c);
    if (!url) throw new HubUnreachableError(`the hub of ${dir} has not recorded its API address: start it with provision hub --http HOST:PORT, or set PROVISION_HUB`);
    return new CliHubClient(url, readFileSync(c.paths.ca.cert), { kind: 'root', key }, 'root');
  } finally {
    c.close();
  }
}

/** The client of this command, with the first credential there is (above). */
export async function connect(dir: string | undefined): Promise<CliHubClient> {
  const env = process.env;
  const folder = communityDirOf(dir);
  const token = env['PROVISION_TOKEN'];
  if (token !== undefined) {
    const url = env['PROVISION_HUB'];
    if (!url) throw new NoCredentialError('PROVISION_TOKEN needs PROVISION_HUB (https://HOST:PORT)');
    const ca = env['PROVISION_CA'] ? readCa(env['PROVISION_CA'], 'PROVISION_CA')
      : folder ? readCa(`${folder}/ca/ca.crt`, 'the community CA')
      : readLogin()?.ca;
    if (ca === undefined) throw new NoCredentialError('PROVISION_TOKEN needs the community CA certificate: PROVISION_CA=FILE (ca/ca.crt of the community folder)');
    return new CliHubClient(url, ca, { kind: 'token', token }, 'the token\'s operator');
  }
  const passphrase = env['PROVISION_PASSPHRASE'];
  if (passphrase !== undefined) {
    if (!folder) throw new NoCredentialError('PROVISION_PASSPHRASE acts as root on a community folder: give --dir DIR or set PROVISION_DIR');
    return rootClient(folder, passphrase);
  }
  const login = readLogin();
  if (login) return new CliHubClient(login.hub, login.ca, { kind: 'token', token: login.token }, login.operator);
  if (folder && process.stdin.isTTY) return rootClient(folder, await readPassphrase());
  throw new NoCredentialError(NO_CREDENTIAL);
}
