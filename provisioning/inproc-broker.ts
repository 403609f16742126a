/**
 * An MQTT broker inside the hub process (aedes) for demos and small sites without mosquitto: mutual TLS
 * with the community CA, the client certificate's CN as identity, and the same rules as the generated
 * mosquitto ACL: `hub` may do everything; an active terminal may only read hub/<id>/# and
 * hub/roster/all and write door/<id>/#; a revoked or unknown terminal is refused at connect.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/log';
import type { Community } from './community';

interface AedesClient {
  id: string;
  conn: unknown;
}
interface AedesBroker {
  handle: (stream: TLSSocket) => unknown;
  close: (cb?: () => void) => void;
}
type Done = (error: (Error & { returnCode?: number }) | null, ok?: boolean | null) => void;

/** Topic filter `sub` stays inside `prefix/#` (no wildcard escaping above it). */
function within(sub: string, prefix: string): boolean {
  return sub === prefix || sub.startsWith(`${prefix}/`);
}

export function mayPublish(identity: string, topic: string): boolean {
  if (identity === 'hub') return true;
  return within(topic, `door/${identity}`) && !/[+#]/.test(topic);
}

export function maySubscribe(identity: string, filter: string): boolean {
  if (identity === 'hub') return true;
  return filter === 'hub/roster/all' || within(filter, `hub/${identity}`);
}

export class InProcessBroker {
  private server: Server | null = null;
  private broker: AedesBroker | null = null;
  private readonly identities = new WeakMap<object, string>();
  port = 0;

  constructor(
    private readonly community: Community,
    private readonly opts: { host?: string; port?: number; log: Logger },
  ) {}

  async start(): Promise<number> {
    // aedes is an ES module; Node 20.19+ loads it with require() (no top-level await inside)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Aedes } = require('aedes') as { Aedes: { createBroker(o: object): Promise<AedesBroker> } };
    const log = this.opts.log.child({ module: 'broker' });
    const active = (id: string): boolean => id === 'hub' || this.community.db.terminals().some((t) => t.id === id && t.status === 'active');
    this.broker = await Aedes.createBroker({
      authenticate: (client: AedesClient, _u: unknown, _p: unknown, done: Done) => {
        const cn = this.identities.get(client.conn as object);
        if (!cn || !active(cn)) {
          log.warn({ client: client.id }, 'refused: unknown or revoked identity');
          const e = Object.assign(new Error('not authorised'), { returnCode: 5 });
          done(e, false);
          return;
        }
        done(null, true);
      },
      authorizePublish: (client: AedesClient | null, packet: { topic: string }, cb: (e?: Error | null) => void) => {
        const cn = client ? this.identities.get(client.conn as object) : 'hub';
        cb(cn && mayPublish(cn, packet.topic) ? null : new Error('publish not authorised'));
      },
      authorizeSubscribe: (client: AedesClient, sub: { topic: string }, cb: (e: Error | null, s?: unknown) => void) => {
        const cn = this.identities.get(client.conn as object);
        // a denied filter gets a SUBACK failure code
        cb(null, cn && maySubscribe(cn, sub.topic) ? sub : null);
      },
    });
    const p = this.community.paths;
    const server = createServer({
      ca: readFileSync(p.ca.cert),
      cert: readFileSync(p.brokerCert),
      key: readFileSync(p.brokerKey),
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      const cn = socket.getPeerCertificate().subject?.CN;
      if (typeof cn === 'string') this.identities.set(socket, cn);
      this.broker?.handle(socket);
    });
    server.on('tlsClientError', (err) => log.warn({ err: err.message }, 'TLS handshake refused'));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    // the broker first: it disconnects its clients, so the TLS server can then close
    const b = this.broker;
    this.broker = null;
    if (b) await new Promise<void>((r) => b.close(() => r()));
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
