/**
 * Serving bundles to terminals: a request handler for node:https with mutual TLS, small enough for the
 * hub's future HTTP service to mount under its own router. `startBundleServer` runs it alone (tests, a
 * bundle mirror).
 *
 *   GET|HEAD /updates/NAME.bundle     the file; `Range: bytes=N-` or `bytes=N-M` -> 206 with
 *                                     Content-Range; `If-Range` with a stale ETag -> the whole file (200)
 *
 * Only a client whose certificate the community CA signed (and the CRL does not list, when one is
 * given) completes the handshake; the handler then asks `authorize(commonName)` (an active terminal?)
 * and answers 403 otherwise. The ETag is the file's sha256, so a resumed download never splices two
 * different bundles. Names are a fixed pattern: no path ever leaves `dir`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../../core/log';

export interface BundleHandlerOptions {
  /** Folder holding NAME.bundle files. */
  dir: string;
  /** May the client with this certificate CN download bundles? (an active, not revoked terminal) */
  authorize: (commonName: string) => boolean;
  log?: Logger;
  /** Called for every request served (tests observe Range requests). */
  onRequest?: (r: { cn: string; name: string; range: string | null; status: number }) => void;
}

const NAME = /^\/updates\/([A-Za-z0-9][A-Za-z0-9._-]{0,127}\.bundle)$/;

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function bundleRequestHandler(o: BundleHandlerOptions): RequestHandler {
  const etags = new Map<string, { mtimeMs: number; size: number; etag: string }>();
  const etagOf = async (file: string, size: number, mtimeMs: number): Promise<string> => {
    const got = etags.get(file);
    if (got && got.size === size && got.mtimeMs === mtimeMs) return got.etag;
    const h = createHash('sha256');
    await new Promise<void>((res, rej) => createReadStream(file).on('data', (d) => h.update(d)).on('end', res).on('error', rej));
    const etag = `"${h.digest('hex')}"`;
    etags.set(file, { mtimeMs, size, etag });
    return etag;
  };

  return (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.authorized ? socket.getPeerCertificate() : null;
    const cn = peer && typeof peer.subject?.CN === 'string' ? peer.subject.CN : '';
    const range = typeof req.headers.range === 'string' ? req.headers.range : null;
    const answer = (status: number, name = ''): void => {
      o.onRequest?.({ cn, name, range, status });
      res.writeHead(status).end();
    };
    if (!cn || !o.authorize(cn)) return answer(403);
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405);
    const m = NAME.exec(req.url ?? '');
    if (!m?.[1]) return answer(404);
    const name = m[1];
    const file = join(o.dir, name);
    if (!existsSync(file)) return answer(404, name);
    const st = statSync(file);
    etagOf(file, st.size, st.mtimeMs).then(
      (etag) => {
        let start = 0;
        let end = st.size - 1;
        let status = 200;
        const ifRange = req.headers['if-range'];
        if (range && (ifRange === undefined || ifRange === etag)) {
          const r = /^bytes=(\d+)-(\d*)$/.exec(range);
          if (!r) return answer(416, name);
          start = Number(r[1]);
          end = r[2] ? Math.min(Number(r[2]), st.size - 1) : st.size - 1;
          if (start >= st.size || end < start) {
            o.onRequest?.({ cn, name, range, status: 416 });
            res.writeHead(416, { 'content-range': `bytes */${st.size}` }).end();
            return;
          }
          status = 206;
        }
        const headers: Record<string, string | number> = {
          'content-type': 'application/octet-stream',
          'content-length': end - start + 1,
          'accept-ranges': 'bytes',
          etag,
        };
        if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
        o.onRequest?.({ cn, name, range, status });
        o.log?.info({ terminal: cn, bundle: name, status, from: start }, 'bundle download');
        res.writeHead(status, headers);
        if (req.method === 'HEAD' || st.size === 0) return void res.end();
        createReadStream(file, { start, end }).on('error', () => res.destroy()).pipe(res);
      },
      () => answer(500, name),
    );
  };
}

export interface BundleServerOptions extends BundleHandlerOptions {
  ca: string | Buffer;
  cert: string | Buffer;
  key: string | Buffer;
  /** The community CRL (revoked terminals fail the handshake). */
  crl?: string | Buffer;
  host: string;
  port: number;
}

/** The handler on its own HTTPS server (requestCert, only the community CA trusted). */
export async function startBundleServer(o: BundleServerOptions): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer(
    { ca: o.ca, cert: o.cert, key: o.key, ...(o.crl ? { crl: o.crl } : {}), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' },
    bundleRequestHandler(o),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
