import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../../core/log';
import { QOS } from '../protocol/topics';

export interface IncomingMessage {
  topic: string;
  payload: Buffer;
  retain: boolean;
}

export interface TransportHandlers {
  onConnect(sessionPresent: boolean): void;
  onDisconnect(): void;
  /** Called synchronously; a QoS 1 message is acknowledged to the broker only after it returns. */
  onMessage(msg: IncomingMessage): void;
}

export interface Will {
  topic: string;
  payload: string;
}

/** The MQTT connection as the SyncClient sees it. Real: MqttTransport; fake: FakeTransport. */
export interface SyncTransport {
  start(handlers: TransportHandlers, will: Will | null): void;
  stop(): Promise<void>;
  connected(): boolean;
  subscribe(topics: string[]): Promise<void>;
  /** QoS 1 publish; resolves when the broker acknowledged it. */
  publish(topic: string, payload: string, opts: { retain: boolean }): Promise<void>;
  /** A renewed certificate (same key) to present from the next connection on. */
  setCertificate?(cert: string): void;
}

export interface MqttTransportOptions {
  /** e.g. mqtts://127.0.0.1:8883 */
  url: string;
  clientId: string;
  /** Community CA (PEM), this terminal's certificate and key (PEM). */
  ca: string | Buffer;
  cert: string | Buffer;
  key: string | Buffer;
  /** Reconnect delay doubles from min to max after each failed attempt; reset on connect. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  connectTimeoutMs: number;
  keepaliveS: number;
  log: Logger;
}

/**
 * mqtt.js over mutual TLS with a persistent session (clean: false), QoS 1 and a retained last will.
 * Incoming messages are processed before their PUBACK is sent, so a crash mid-processing makes the
 * broker redeliver them.
 */
export class MqttTransport implements SyncTransport {
  private client: MqttClient | null = null;
  private delay: number;

  constructor(private readonly opts: MqttTransportOptions) {
    this.delay = opts.reconnectMinMs;
  }

  start(handlers: TransportHandlers, will: Will | null): void {
    const o = this.opts;
    const options: IClientOptions = {
      clientId: o.clientId,
      clean: false,
      protocolVersion: 4,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      rejectUnauthorized: true,
      reconnectPeriod: o.reconnectMinMs,
      connectTimeout: o.connectTimeoutMs,
      keepalive: o.keepaliveS,
      resubscribe: false,
      ...(will ? { will: { topic: will.topic, payload: Buffer.from(will.payload), qos: QOS, retain: true } } : {}),
    };
    const client = mqtt.connect(o.url, options);
    this.client = client;
    client.handleMessage = (packet, callback) => {
      try {
        handlers.onMessage({
          topic: packet.topic,
          payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
          retain: packet.retain,
        });
      } finally {
        callback();
      }
    };
    client.on('connect', (connack) => {
      // Small QoS 1 publishes and their acks must not wait for Nagle's algorithm (~40 ms each way).
      const stream = client.stream as { setNoDelay?: (on: boolean) => void };
      stream.setNoDelay?.(true);
      this.delay = o.reconnectMinMs;
      client.options.reconnectPeriod = this.delay;
      handlers.onConnect(connack.sessionPresent);
    });
    client.on('close', () => {
      // Exponential backoff with jitter: mqtt.js reads reconnectPeriod when it schedules the next try.
      this.delay = Math.min(o.reconnectMaxMs, Math.round(this.delay * 2));
      client.options.reconnectPeriod = Math.round(this.delay * (0.75 + Math.random() * 0.5));
      handlers.onDisconnect();
    });
    client.on('error', (err) => {
      o.log.warn({ err: err.message }, 'mqtt error');
    });
  }

  /**
   * Closes the connection. Unacknowledged publishes get a short grace period while connected; then the
   * client is closed by force, so a broker that is down or gone never holds a shutdown (unacknowledged
   * events are still in the SQLite outbox and are sent again after the restart).
   */
  async stop(graceMs = 1000): Promise<void> {
    const c = this.client;
    this.client = null;
    if (!c) return;
    const pending = (): boolean => Object.keys(c.outgoing).length > 0;
    if (c.connected && pending()) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, graceMs);
        c.once('outgoingEmpty', () => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    await c.endAsync(true);
  }

  connected(): boolean {
    return this.client?.connected ?? false;
  }

  /**
   * The connection that is up stays as it is (the broker checked the old certificate at its handshake);
   * the next one, after any disconnect, presents `cert`. mqtt.js builds every reconnection from its
   * client's options, so they are updated in place.
   */
  setCertificate(cert: string): void {
    (this.opts as { cert: string | Buffer }).cert = cert;
    if (this.client) this.client.options.cert = cert;
  }

  async subscribe(topics: string[]): Promise<void> {
    if (!this.client) throw new Error('transport not started');
    const granted = await this.client.subscribeAsync(topics, { qos: QOS });
    const refused = granted.filter((g) => g.qos === 128);
    if (refused.length > 0) throw new Error(`broker refused subscription to ${refused.map((g) => g.topic).join(', ')}`);
  }

  async publish(topic: string, payload: string, opts: { retain: boolean }): Promise<void> {
    if (!this.client) throw new Error('transport not started');
    await this.client.publishAsync(topic, payload, { qos: QOS, retain: opts.retain });
  }
}
