/**
 * Downloads a bundle over HTTPS with mutual TLS (the terminal's own certificate and key, the community
 * CA as the only trusted root), resumably: bytes go to DEST.part, with the server's ETag and the total
 * size in DEST.part.json; after an interruption the next attempt asks for the rest with
 * `Range: bytes=N-` and `If-Range: ETAG`, so a bundle that changed on the server is fetched again from
 * the start instead of being spliced. DEST appears (by rename) only when every byte has arrived.
 * The server side is provisioning/update/server.ts.
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { request } from 'node:https';
import { z } from 'zod';
import { TerminalError } from '../../core/errors';

/** The download did not complete; `bytes` of it are kept in DEST.part for the next attempt. */
export class DownloadError extends TerminalError {
  readonly code = 'update-download';
  constructor(
    message: string,
    readonly bytes: number,
    /** false: retrying cannot help (refused by the server, not found). */
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export interface DownloadOptions {
  url: string;
  dest: string;
  ca: string | Buffer;
  cert: string | Buffer;
  key: string | Buffer;
  /** No byte for this long: the attempt fails (and can be resumed). */
  idleTimeoutMs: number;
}

export interface DownloadResult {
  file: string;
  size: number;
  /** Where this attempt started (0: from scratch). */
  resumedFrom: number;
}

const PartMetaSchema = z.strictObject({ url: z.string(), etag: z.string().nullable(), total: z.number().int().nonnegative() });

export async function download(o: DownloadOptions): Promise<DownloadResult> {
  const url = new URL(o.url);
  if (url.protocol !== 'https:') throw new DownloadError(`${o.url}: only https:// is accepted`, 0, false);
  const part = `${o.dest}.part`;
  const metaFile = `${o.dest}.part.json`;
  let meta: z.infer<typeof PartMetaSchema> | null = null;
  if (existsSync(part) && existsSync(metaFile)) {
    const r = PartMetaSchema.safeParse(safeJson(readFileSync(metaFile, 'utf8')));
    meta = r.success && r.data.url === o.url ? r.data : null;
  }
  let have = meta && existsSync(part) ? statSync(part).size : 0;
  if (!meta || have > meta.total) {
    rmSync(part, { force: true });
    have = 0;
    meta = null;
  }

  return new Promise<DownloadResult>((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (have > 0 && meta) {
      headers['range'] = `bytes=${have}-`;
      if (meta.etag) headers['if-range'] = meta.etag;
    }
    let fd: number | null = null;
    let written = have;
    let done = false;
    const finish = (e: DownloadError | null, r?: DownloadResult): void => {
      if (done) return;
      done = true;
      if (fd !== null) {
        try {
          fsyncSync(fd);
        } catch {
          // the bytes written so far are still in the page cache; resume measures the file
        }
        closeSync(fd);
        fd = null;
      }
      if (e) return reject(e);
      if (r) {
        renameSync(part, o.dest);
        rmSync(metaFile, { force: true });
        resolve(r);
      }
    };
    const req = request(
      url,
      { method: 'GET', headers, ca: o.ca, cert: o.cert, key: o.key, agent: false },
      (res) => {
        const status = res.statusCode ?? 0;
        const etag = typeof res.headers.etag === 'string' ? res.headers.etag : null;
        let total: number;
        let start: number;
        if (status === 206) {
          const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers['content-range'] ?? '');
          if (!m || Number(m[1]) !== have) {
            res.resume();
            rmSync(part, { force: true });
            return finish(new DownloadError(`${o.url}: unexpected Content-Range ${res.headers['content-range'] ?? '(none)'}`, 0, true));
          }
          start = have;
          total = Number(m[3]);
        } else if (status === 200) {
          start = 0;
          total = Number(res.headers['content-length']);
          if (!Number.isSafeInteger(total)) {
            res.resume();
            return finish(new DownloadError(`${o.url}: no Content-Length`, 0, false));
          }
        } else if (status === 416) {
          res.resume();
          rmSync(part, { force: true });
          rmSync(metaFile, { force: true });
          return finish(new DownloadError(`${o.url}: the server refused the resume range; starting again`, 0, true));
        } else {
          res.resume();
          return finish(new DownloadError(`${o.url}: HTTP ${status}`, have, status >= 500));
        }
        writeFileSync(metaFile, JSON.stringify({ url: o.url, etag, total }));
        fd = openSync(part, start === 0 ? 'w' : 'a', 0o600);
        written = start;
        const resumedFrom = start;
        res.on('data', (chunk: Buffer) => {
          if (fd === null) return;
          writeSync(fd, chunk);
          written += chunk.length;
        });
        res.on('end', () => {
          if (written !== total) return finish(new DownloadError(`${o.url}: ended after ${written} of ${total} bytes`, written, true));
          finish(null, { file: o.dest, size: total, resumedFrom });
        });
        res.on('aborted', () => finish(new DownloadError(`${o.url}: interrupted after ${written} of ${total} bytes`, written, true)));
        res.on('error', (e) => finish(new DownloadError(`${o.url}: ${e.message} after ${written} of ${total} bytes`, written, true)));
      },
    );
    req.setTimeout(o.idleTimeoutMs, () => req.destroy(new Error(`no data for ${o.idleTimeoutMs} ms`)));
    req.on('error', (e) => finish(new DownloadError(`${o.url}: ${e.message}`, written, !/certificate|self.signed|unable to verify|handshake/i.test(e.message))));
    req.end();
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
