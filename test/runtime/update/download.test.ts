/**
 * Bundle download over real HTTPS with mutual TLS (test CA, real certificates) against the hub-side
 * handler (provisioning/update/server.ts): interrupted transfers resume with Range, a bundle replaced on
 * the server is fetched again from the start, and only certificates of the community CA whose terminal
 * is authorised get a byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { bundleRequestHandler, startBundleServer } from '../../../provisioning/update/server';
import { download, DownloadError } from '../../../runtime/update/download';
import { TestPki } from '../../harness/pki';
import { scaled, tempDir } from '../../harness/update';

let pki: TestPki;
let other: TestPki;
let dir: string;
const bundleBytes = randomBytes(3 * 1024 * 1024 + 17);
const served: { cn: string; name: string; range: string | null; status: number }[] = [];

/** Cuts the response of the next `cuts` requests after `afterBytes` bytes (the connection drops). */
const cutter = { cuts: 0, afterBytes: 0 };
let server: Server;
let port: number;

beforeAll(async () => {
  pki = TestPki.create(tempDir('pki'));
  other = TestPki.create(tempDir('pki-other'));
  dir = tempDir('bundles');
  writeFileSync(join(dir, 'doorway-0.2.0.bundle'), bundleBytes);
  const handler = bundleRequestHandler({ dir, authorize: (cn) => cn.startsWith('t'), onRequest: (r) => served.push(r) });
  // The handler mounted on a server of the test's own (as the hub's HTTP service will mount it), with
  // a socket that can be cut mid-transfer.
  server = createServer({ ca: pki.ca, cert: pki.server.cert, key: pki.server.key, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    if (cutter.cuts > 0) {
      cutter.cuts--;
      let sent = 0;
      const write = res.write.bind(res) as (c: Buffer) => boolean;
      res.write = ((chunk: Buffer) => {
        sent += chunk.length;
        if (sent > cutter.afterBytes) {
          res.socket?.destroy();
          return false;
        }
        return write(chunk);
      }) as typeof res.write;
    }
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  served.length = 0;
});

function client(cn: string, ca = pki): { ca: string; cert: string; key: string } {
  const c = ca.client(cn);
  return { ca: pki.ca, cert: c.cert, key: c.key };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('bundle download (mutual TLS, resumable)', () => {
  it('downloads a whole bundle and says it started from the beginning', async () => {
    const dest = join(tempDir('dl'), 'b.bundle');
    const r = await download({ url: `https://127.0.0.1:${port}/updates/doorway-0.2.0.bundle`, dest, ...client('t1'), idleTimeoutMs: scaled(5000) });
    expect(r).toEqual({ file: dest, size: bundleBytes.length, resumedFrom: 0 });
    expect(sha(readFileSync(dest))).toBe(sha(bundleBytes));
    expect(served).toEqual([{ cn: 't1', name: 'doorway-0.2.0.bundle', range: null, status: 200 }]);
  });

  it('keeps what arrived when the connection drops, then asks only for the rest', async () => {
    const dest = join(tempDir('dl'), 'b.bundle');
    const url = `https://127.0.0.1:${port}/updates/doorway-0.2.0.bundle`;
    cutter.cuts = 2;
    cutter.afterBytes = 1024 * 1024;
    const first = await download({ url, dest, ...client('t1'), idleTimeoutMs: scaled(5000) }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(DownloadError);
    expect((first as DownloadError).retryable).toBe(true);
    const kept1 = statSync(`${dest}.part`).size;
    expect(kept1).toBeGreaterThan(0);
    expect(kept1).toBeLessThan(bundleBytes.length);
    expect(existsSync(dest)).toBe(false);

    const second = await download({ url, dest, ...client('t1'), idleTimeoutMs: scaled(5000) }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(DownloadError);
    const kept2 = statSync(`${dest}.part`).size;
    expect(kept2).toBeGreaterThan(kept1);

    const done = await download({ url, dest, ...client('t1'), idleTimeoutMs: scaled(5000) });
    expect(done.resumedFrom).toBe(kept2);
    expect(sha(readFileSync(dest))).toBe(sha(bundleBytes));
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(served.map((s) => [s.status, s.range])).toEqual([
      [200, null],
      [206, `bytes=${kept1}-`],
      [206, `bytes=${kept2}-`],
    ]);
  });

  it('starts again from the beginning when the bundle changed on the server since the interruption', async () => {
    const name = 'doorway-0.3.0.bundle';
    const v1 = randomBytes(2 * 1024 * 1024);
    const v2 = randomBytes(2 * 1024 * 1024);
    writeFileSync(join(dir, name), v1);
    const dest = join(tempDir('dl'), 'b.bundle');
    const url = `https://127.0.0.1:${port}/updates/${name}`;
    cutter.cuts = 1;
    cutter.afterBytes = 512 * 1024;
    await expect(download({ url, dest, ...client('t2'), idleTimeoutMs: scaled(5000) })).rejects.toThrow(DownloadError);
    writeFileSync(join(dir, name), v2);
    const r = await download({ url, dest, ...client('t2'), idleTimeoutMs: scaled(5000) });
    expect(r.resumedFrom).toBe(0); // If-Range: the old ETag no longer matches, so the whole new file came
    expect(sha(readFileSync(dest))).toBe(sha(v2));
  });

  it('gives nothing to a certificate of another CA, to no certificate, or to an unauthorised terminal', async () => {
    const url = `https://127.0.0.1:${port}/updates/doorway-0.2.0.bundle`;
    const foreign = await download({ url, dest: join(tempDir('dl'), 'x'), ...client('t1', other), idleTimeoutMs: scaled(5000) }).catch((e: unknown) => e);
    expect(foreign).toBeInstanceOf(DownloadError);
    const none = await download({ url, dest: join(tempDir('dl'), 'x'), ca: pki.ca, cert: '', key: '', idleTimeoutMs: scaled(5000) }).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(DownloadError);
    const hub = await download({ url, dest: join(tempDir('dl'), 'x'), ...client('hub'), idleTimeoutMs: scaled(5000) }).catch((e: unknown) => e);
    expect(hub).toBeInstanceOf(DownloadError);
    expect((hub as DownloadError).message).toMatch(/HTTP 403/);
    expect((hub as DownloadError).retryable).toBe(false);
    expect(served.filter((s) => s.status !== 403)).toEqual([]);
  });

  it('answers 404 for a name outside the pattern (no path leaves the bundle folder)', async () => {
    const r = await download({ url: `https://127.0.0.1:${port}/updates/..%2F..%2Fetc%2Fpasswd`, dest: join(tempDir('dl'), 'x'), ...client('t1'), idleTimeoutMs: scaled(5000) }).catch((e: unknown) => e);
    expect((r as DownloadError).message).toMatch(/HTTP 404/);
  });

  it('runs on a server of its own with startBundleServer', async () => {
    const s = await startBundleServer({ dir, authorize: () => true, ca: pki.ca, cert: pki.server.cert, key: pki.server.key, host: '127.0.0.1', port: 0 });
    try {
      const dest = join(tempDir('dl'), 'b.bundle');
      await download({ url: `https://127.0.0.1:${s.port}/updates/doorway-0.2.0.bundle`, dest, ...client('t3'), idleTimeoutMs: scaled(5000) });
      expect(sha(readFileSync(dest))).toBe(sha(bundleBytes));
    } finally {
      await s.close();
    }
  });
});
