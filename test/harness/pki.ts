import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { programPath } from '../../core/programs';

/**
 * A throw-away certificate authority for tests, made with the openssl CLI: one CA, a broker
 * certificate for 127.0.0.1/localhost, and client certificates whose CN is the MQTT identity
 * (`hub`, or a terminal id). EC P-256 keys: quick to make and to handshake.
 */
export interface Credentials {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

export class TestPki {
  readonly caPath: string;
  readonly ca: string;
  readonly server: Credentials;
  private readonly issued = new Map<string, Credentials>();

  private constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.caPath = join(dir, 'ca.crt');
    const caKey = join(dir, 'ca.key');
    if (!existsSync(this.caPath)) {
      openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey,
        '-out', this.caPath, '-days', '2', '-subj', '/CN=doorway-test-ca', '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    }
    this.ca = readFileSync(this.caPath, 'utf8');
    this.server = this.make('server', 'broker', ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth']);
  }

  /** Create (or reuse) a CA in `dir`. */
  static create(dir: string): TestPki {
    return new TestPki(dir);
  }

  /** A client certificate with CN = `cn` (the broker uses it as the MQTT user name). */
  client(cn: string): Credentials {
    return this.make(`client-${cn}`, cn, ['extendedKeyUsage=clientAuth']);
  }

  private make(file: string, cn: string, ext: string[]): Credentials {
    const got = this.issued.get(file);
    if (got) return got;
    const certPath = join(this.dir, `${file}.crt`);
    const keyPath = join(this.dir, `${file}.key`);
    if (!existsSync(certPath)) {
      openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath,
        '-out', certPath, '-days', '2', '-subj', `/CN=${cn}`, '-CA', this.caPath, '-CAkey', join(this.dir, 'ca.key'),
        ...ext.flatMap((e) => ['-addext', e])]);
    }
    const c = { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
    this.issued.set(file, c);
    return c;
  }
}

function openssl(args: string[]): void {
  execFileSync(programPath('openssl'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function writeText(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
}
