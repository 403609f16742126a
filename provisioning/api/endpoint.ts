/**
 * Where the running hub serves its API, recorded in the community folder (hub/api.json, written
 * atomically when `provision hub --http` starts listening) so that a command line acting as root on the
 * folder finds it. A wildcard listen address is recorded as loopback: root works on the hub's own
 * machine, and the API's certificate names 127.0.0.1 and localhost unless `--http-host` chose others.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../core/fs';
import type { Community } from '../community';
import { ensureRootKey } from '../operators/root';
import { HubApi, type ApiOptions } from './server';
import { httpTls, renewHttpTlsIfDue } from './tls';

const EndpointSchema = z.strictObject({ v: z.literal(1), url: z.url({ protocol: /^https$/ }) });

export function apiEndpointFile(c: Pick<Community, 'paths'>): string {
  return join(c.paths.dir, 'hub', 'api.json');
}

/** `https://HOST:PORT` for a listen address (IPv6 in brackets; a wildcard as loopback). */
export function apiUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `https://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

export function recordApiEndpoint(c: Pick<Community, 'paths'>, host: string, port: number): string {
  const url = apiUrl(host, port);
  writeFileAtomic(apiEndpointFile(c), `${JSON.stringify({ v: 1, url })}\n`);
  return url;
}

/** The URL the hub last recorded, or null (never started with --http, or an unreadable file). */
export function recordedApiEndpoint(c: Pick<Community, 'paths'>): string | null {
  const f = apiEndpointFile(c);
  if (!existsSync(f)) return null;
  try {
    const r = EndpointSchema.safeParse(JSON.parse(readFileSync(f, 'utf8')));
    return r.success ? r.data.url : null;
  } catch {
    return null;
  }
}

/**
 * The hub's API for a community, as `provision hub --http` runs it: the root request key made if
 * missing, the HTTPS certificate (made or renewed when due), listening on `host:port` (0: any free
 * port), the certificate renewed while it runs when due (once a day), the address recorded for root on
 * the folder.
 */
export async function serveApi(o: Omit<ApiOptions, 'tls' | 'passphrase'> & { passphrase: string; host: string; port: number }): Promise<{ api: HubApi; url: string }> {
  const { host, port, ...options } = o;
  ensureRootKey(o.community, o.passphrase);
  const api = await HubApi.create({ ...options, tls: httpTls(o.community, o.passphrase, o.clock.now()), renewTls: (now) => renewHttpTlsIfDue(o.community, o.passphrase, now) });
  const at = await api.listen(host, port);
  return { api, url: recordApiEndpoint(o.community, host, at.port) };
}
