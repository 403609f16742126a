/**
 * The hub's bundle server: the mutual-TLS handler (server.ts) over the community's shelf
 * (update/bundles/, bundles.ts) on a port of its own, with the hub's HTTPS certificate (api/tls.ts),
 * the community CA as the only client root and its CRL. A client is let in by its certificate and
 * then must be an active terminal in hub.db (`authorize`): a terminal revoked after the server started
 * gets 403.
 *
 * Why a port of its own rather than the API's server: the API is for people and scripts (sessions,
 * tokens); asking every browser of the console for a client certificate would prompt them, and the
 * bundle server needs the opposite TLS policy (a client certificate is required, the CRL applies). The
 * terminals learn the address from each offer (the signed `update` command carries the URL), so no
 * terminal config names it: the host is the broker's (the name terminals already reach the hub by, in
 * the certificate's names by default), or `announceHost`.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../../core/log';
import { httpTls } from '../api/tls';
import type { Community } from '../community';
import { bundlesDir } from './bundles';
import { startBundleServer } from './server';

export interface HubBundleServer {
  /** The URL a terminal downloads the bundle `name` from. */
  url(name: string): string;
  port: number;
  close(): Promise<void>;
}

export async function startHubBundleServer(
  c: Community,
  o: { passphrase: string; host: string; port: number; now: number; log: Logger; announceHost?: string; onRequest?: (r: { cn: string; name: string; range: string | null; status: number }) => void },
): Promise<HubBundleServer> {
  const tls = httpTls(c, o.passphrase, o.now);
  const s = await startBundleServer({
    dir: bundlesDir(c),
    authorize: (cn) => c.db.terminal(cn)?.status === 'active',
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    crl: readFileSync(c.paths.ca.crl),
    host: o.host,
    port: o.port,
    log: o.log.child({ module: 'bundles' }),
    ...(o.onRequest ? { onRequest: o.onRequest } : {}),
  });
  const host = o.announceHost ?? /^mqtts:\/\/([^:/]+):/.exec(c.config.brokerUrl)?.[1] ?? '127.0.0.1';
  return { url: (name) => `https://${host}:${s.port}/updates/${name}`, port: s.port, close: s.close };
}
