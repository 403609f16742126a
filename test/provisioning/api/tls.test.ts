/**
 * The API's HTTPS certificate renewed while the hub runs: the daily check on the site's FakeClock
 * renews it from the community's real CA (openssl) when it is within 30 days of its end, and the same
 * listening server serves the new certificate to the next connection, without a restart.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { httpTlsPaths } from '../../../provisioning/api/tls';
import { certificateInfo } from '../../../provisioning/certificates';
import { startApiSite, type ApiSite } from '../../harness/hub-api';

const DAY = 24 * 3_600_000;
let site: ApiSite;

beforeAll(async () => {
  site = await startApiSite();
}, 60_000);

afterAll(async () => {
  await site.stop();
});

/** The serial number of the certificate the server presents to a new connection. */
function servedSerial(): Promise<string> {
  const { port } = new URL(site.baseUrl);
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: Number(port), ca: site.ca, servername: 'localhost' }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.end();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

const fileSerial = (): string => new X509Certificate(readFileSync(httpTlsPaths(site.community).cert)).serialNumber;

describe("the API's HTTPS certificate", () => {
  it('is renewed by the daily check once it is due and served from the next connection without a restart', async () => {
    const first = await servedSerial();
    expect(first).toBe(fileSerial());
    const { notAfter } = certificateInfo(readFileSync(httpTlsPaths(site.community).cert, 'utf8'));
    // Up to the last daily check before it is due (more than 30 days left): nothing changes.
    const checksBefore = Math.floor((notAfter - 30 * DAY - site.clock.now()) / DAY);
    site.clock.advance(checksBefore * DAY);
    expect(await servedSerial()).toBe(first);
    expect(site.community.db.auditLog().some((a) => a.action === 'http.renew')).toBe(false);
    // The next check finds it due.
    site.clock.advance(DAY);
    const renewed = fileSerial();
    expect(renewed).not.toBe(first);
    expect(await servedSerial()).toBe(renewed);
    expect(site.community.db.auditLog().filter((a) => a.action === 'http.renew')).toHaveLength(1);
    // The same server goes on answering requests.
    expect((await site.anonymous().raw('GET', '/api/openapi.json')).status).toBe(200);
  });
});
