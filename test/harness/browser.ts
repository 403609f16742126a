/**
 * A real headless browser for the web console's tests: Debian's chromium (core/programs.ts finds it,
 * or says which package to install), driven by playwright-core, whose own browser download this
 * network cannot reach. Each context trusts the hub's certificate only by its SPKI pin (not "ignore
 * every certificate error"), so the console runs as a secure context with its __Host- cookie.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { programPath } from '../../core/programs';

/** Launches chromium; `certPem` is the hub's HTTPS certificate, which it then accepts. */
export async function launchBrowser(certPem: string): Promise<Browser> {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const pin = createHash('sha256').update(spki).digest('base64');
  return chromium.launch({
    executablePath: programPath('chromium'),
    headless: true,
    args: [`--ignore-certificate-errors-spki-list=${pin}`, '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
}
