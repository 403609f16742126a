import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { programPath } from '../../core/programs';
import { mosquittoIdentityAndLimits } from '../../provisioning/broker';
import { freeLoopbackPort as freePort } from '../../provisioning/ports';
import type { TestPki } from './pki';
import { waitFor } from './wait';

/**
 * A real mosquitto broker for tests, on a random loopback port, configured as a site would be:
 *
 *   per_listener_settings false
 *   allow_anonymous false
 *   persistence true                  sessions and queued QoS 1 messages survive a broker restart
 *   user root                         (tests run as root and must read their own keys)
 *   identity and limits               as generated for a site (provisioning/broker.ts): the certificate
 *                                     CN is the MQTT user and the client id; packet size limit and
 *                                     bounded per-client queues (BROKER_LIMITS)
 *   set_tcp_nodelay true              no Nagle delay on small QoS 1 publishes and acks
 *   listener <port> 127.0.0.1
 *   cafile / certfile / keyfile       the test CA and a broker certificate for 127.0.0.1
 *   require_certificate true          mutual TLS: no client without a certificate from the CA
 *   acl_file                          see ACL below
 *
 * ACL: the hub has full access; `hub-tool` (tests that forge hub messages while the hub runs: the hub's
 * own identity would take over the hub's session) may write hub/#; `spy` (tests that check what the
 * broker carries) may read everything; every other identity (%u = its CN)
 * may only read hub/<itself>/#
 * and hub/roster/all and only write door/<itself>/#. A terminal publishing on another terminal's
 * topics gets "not authorised" (MQTT 5 reason code) or is silently dropped (MQTT 3.1.1).
 */
export const ACL = `user hub
topic readwrite #

user hub-tool
topic write hub/#

user spy
topic read #

pattern read hub/%u/#
pattern read hub/roster/all
pattern write door/%u/#
`;

export class MosquittoBroker {
  private proc: ChildProcess | null = null;
  readonly url: string;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly confPath: string,
  ) {
    this.url = `mqtts://127.0.0.1:${port}`;
  }

  static async start(dir: string, pki: TestPki): Promise<MosquittoBroker> {
    mkdirSync(join(dir, 'data'), { recursive: true });
    const port = await freePort();
    const aclPath = join(dir, 'acl');
    writeFileSync(aclPath, ACL);
    const confPath = join(dir, 'mosquitto.conf');
    writeFileSync(
      confPath,
      [
        'per_listener_settings false',
        'allow_anonymous false',
        'persistence true',
        `persistence_location ${join(dir, 'data')}/`,
        'user root',
        'set_tcp_nodelay true',
        `log_dest file ${join(dir, 'mosquitto.log')}`,
        `listener ${port} 127.0.0.1`,
        `cafile ${pki.caPath}`,
        `certfile ${pki.server.certPath}`,
        `keyfile ${pki.server.keyPath}`,
        'require_certificate true',
        ...mosquittoIdentityAndLimits(),
        `acl_file ${aclPath}`,
        '',
      ].join('\n'),
    );
    const b = new MosquittoBroker(dir, port, confPath);
    await b.restart();
    return b;
  }

  running(): boolean {
    return this.proc !== null;
  }

  /** Start (again) on the same port with the same persistence. */
  async restart(): Promise<void> {
    if (this.proc) return;
    const p = spawn(programPath('mosquitto'), ['-c', this.confPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = p;
    let stderr = '';
    p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', (err) => {
      stderr += err.message;
    });
    p.on('exit', () => {
      if (this.proc === p) this.proc = null;
    });
    await waitFor(async () => {
      if (this.proc !== p) throw new Error(`mosquitto exited: ${stderr}`);
      return canConnect(this.port);
    }, 10_000, 'mosquitto to listen');
  }

  /** Stop gracefully (SIGTERM: the broker saves its sessions and queues). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    await exited;
    this.proc = null;
  }
}


function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}
