/**
 * An MQTT broker inside the hub process (aedes) for demos and small sites without mosquitto, with the
 * same protections as the generated mosquitto configuration (provisioning/broker.ts):
 *
 * - mutual TLS with the community CA and its CRL; the client certificate's CN is the identity, and
 *   the client id: whatever id a client asks for, its session is its CN's (a terminal cannot take
 *   over the hub's session or another terminal's);
 * - the same rules as the generated ACL: `hub` may do everything; an active terminal may only read
 *   hub/<id>/# and hub/roster/all and write door/<id>/#; a revoked or unknown terminal is refused;
 * - the same bounds (BROKER_LIMITS): a packet over the size limit closes its connection before it is
 *   read, each client's unacknowledged messages are bounded (provisioning/inproc-limits.ts);
 * - revocations reach it without a signal: every `refreshMs` it reloads the CRL (and its own
 *   certificate, after a renewal) when the files changed, and the terminal list, and closes the
 *   connection of any terminal no longer active.
 */
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Clock, TimerHandle } from '../core/clock';
import type { Logger } from '../core/log';
import { BROKER_LIMITS } from './broker';
import type { Community } from './community';
import { boundedQueues, limitPackets, type OutgoingPersistence } from './inproc-limits';

interface AedesClient {
  id: string;
  conn: unknown;
  close: () => void;
}
interface AedesBroker {
  handle: (stream: NodeJS.ReadWriteStream) => unknown;
  close: (cb?: () => void) => void;
  clients: Record<string, AedesClient>;
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

export interface InProcessBrokerOptions {
  host?: string;
  port?: number;
  log: Logger;
  clock: Clock;
  /** How often the CRL and the terminal list are checked for revocations (default 2 s). */
  refreshMs?: number;
}

export class InProcessBroker {
  private server: Server | null = null;
  private broker: AedesBroker | null = null;
  private readonly identities = new WeakMap<object, string>();
  private active = new Set<string>();
  private crlStamp = '';
  private timer: TimerHandle | null = null;
  private readonly log: Logger;
  port = 0;

  constructor(
    private readonly community: Community,
    private readonly opts: InProcessBrokerOptions,
  ) {
    this.log = opts.log.child({ module: 'broker' });
  }

  async start(): Promise<number> {
    // aedes is an ES module; Node 20.19+ loads it with require() (no top-level await inside)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Aedes } = require('aedes') as { Aedes: { createBroker(o: object): Promise<AedesBroker> } };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const memory = require('aedes-persistence') as () => OutgoingPersistence;
    const log = this.log;
    this.refreshTerminals();
    const isActive = (id: string | undefined): id is string => id !== undefined && (id === 'hub' || this.active.has(id));
    const identity = (client: AedesClient | null): string | undefined => (client ? this.identities.get(client.conn as object) : 'hub');
    const limits = BROKER_LIMITS;
    const queues = boundedQueues(memory(), {
      // aedes has no separate in-flight window: its bound covers queued and in-flight messages
      maxMessages: limits.maxQueuedMessages + limits.maxInflightMessages,
      maxBytes: limits.maxQueuedBytes + limits.maxInflightBytes,
      onDrop: (clientId) => log.warn({ client: clientId }, 'queue full: message dropped for this client'),
    });
    this.broker = await Aedes.createBroker({
      persistence: queues.persistence,
      authorizeForward: queues.authorizeForward,
      // The session is the certificate's: the client id becomes the CN (mosquitto's use_username_as_clientid).
      preConnect: (client: AedesClient, packet: { clientId: string }, done: Done) => {
        const cn = this.identities.get(client.conn as object);
        if (!cn) {
          done(Object.assign(new Error('no certificate identity'), { returnCode: 5 }), false);
          return;
        }
        packet.clientId = cn;
        done(null, true);
      },
      authenticate: (client: AedesClient, _u: unknown, _p: unknown, done: Done) => {
        this.refreshTerminals();
        if (!isActive(identity(client))) {
          log.warn({ client: client.id }, 'refused: unknown or revoked identity');
          done(Object.assign(new Error('not authorised'), { returnCode: 5 }), false);
          return;
        }
        done(null, true);
      },
      authorizePublish: (client: AedesClient | null, packet: { topic: string }, cb: (e?: Error | null) => void) => {
        const cn = identity(client);
        cb(isActive(cn) && mayPublish(cn, packet.topic) ? null : new Error('publish not authorised'));
      },
      authorizeSubscribe: (client: AedesClient, sub: { topic: string }, cb: (e: Error | null, s?: unknown) => void) => {
        const cn = identity(client);
        // a denied filter gets a SUBACK failure code
        cb(null, isActive(cn) && maySubscribe(cn, sub.topic) ? sub : null);
      },
    });
    const server = createServer(this.tlsOptions());
    server.on('secureConnection', (socket: TLSSocket) => {
      const cn = socket.getPeerCertificate().subject?.CN;
      const stream = limitPackets(socket, limits.maxPacketBytes, () => log.warn({ identity: cn }, 'oversize packet: connection closed'));
      if (typeof cn === 'string') this.identities.set(stream, cn);
      this.broker?.handle(stream);
    });
    server.on('tlsClientError', (err) => log.warn({ err: err.message }, 'TLS handshake refused'));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.timer = this.opts.clock.setInterval(() => this.refresh(), this.opts.refreshMs ?? 2000);
    return this.port;
  }

  /**
   * Re-reads the CRL (when the file changed) and the terminal list, and closes the connections of
   * terminals that are no longer active (also run every `refreshMs`).
   */
  refresh(): void {
    const server = this.server;
    const broker = this.broker;
    if (!server || !broker) return;
    try {
      const stamp = this.crlStampNow();
      if (stamp !== this.crlStamp) {
        server.setSecureContext(this.tlsOptions());
        this.log.info('CRL and certificate reloaded');
      }
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'CRL reload failed; the previous one stays');
    }
    this.refreshTerminals();
    for (const client of Object.values(broker.clients)) {
      const cn = this.identities.get(client.conn as object);
      if (cn !== undefined && cn !== 'hub' && !this.active.has(cn)) {
        this.log.warn({ identity: cn }, 'revoked: connection closed');
        client.close();
      }
    }
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = null;
    // the broker first: it disconnects its clients, so the TLS server can then close
    const b = this.broker;
    this.broker = null;
    if (b) await new Promise<void>((r) => b.close(() => r()));
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  private refreshTerminals(): void {
    this.active = new Set(this.community.db.terminals().filter((t) => t.status === 'active').map((t) => t.id));
  }

  /** Changes when the CRL or the broker's certificate (renewed: provision broker renew) is rewritten. */
  private crlStampNow(): string {
    return [this.community.paths.ca.crl, this.community.paths.brokerCert].map((f) => {
      const st = statSync(f);
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    }).join('|');
  }

  private tlsOptions(): { ca: Buffer; cert: Buffer; key: Buffer; crl: Buffer; requestCert: true; rejectUnauthorized: true } {
    const p = this.community.paths;
    this.crlStamp = this.crlStampNow();
    return { ca: readFileSync(p.ca.cert), cert: readFileSync(p.brokerCert), key: readFileSync(p.brokerKey), crl: readFileSync(p.ca.crl), requestCert: true, rejectUnauthorized: true };
  }
}
