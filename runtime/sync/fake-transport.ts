import type { IncomingMessage, SyncTransport, TransportHandlers, Will } from './transport';

export interface Published {
  topic: string;
  payload: string;
  retain: boolean;
}

/**
 * Scriptable in-memory transport for unit tests: `connect()`/`disconnect()` drive the session,
 * `deliver()` hands the client a message as the broker would, `published` records what was sent.
 */
export class FakeTransport implements SyncTransport {
  readonly published: Published[] = [];
  readonly subscriptions: string[] = [];
  will: Will | null = null;
  /** Certificates handed over by setCertificate, oldest first. */
  readonly certificates: string[] = [];
  /** When false, publishes stay pending until `flush()` (to test in-flight windows). */
  autoAck = true;
  private handlers: TransportHandlers | null = null;
  private isConnected = false;
  private pendingAcks: (() => void)[] = [];

  start(handlers: TransportHandlers, will: Will | null): void {
    this.handlers = handlers;
    this.will = will;
  }

  stop(): Promise<void> {
    this.isConnected = false;
    this.handlers = null;
    return Promise.resolve();
  }

  connected(): boolean {
    return this.isConnected;
  }

  /** Whether a client has started this transport (and not stopped it): `connect()` now reaches it. */
  get started(): boolean {
    return this.handlers !== null;
  }

  subscribe(topics: string[]): Promise<void> {
    this.subscriptions.push(...topics);
    return Promise.resolve();
  }

  publish(topic: string, payload: string, opts: { retain: boolean }): Promise<void> {
    if (!this.isConnected) return Promise.reject(new Error('not connected'));
    this.published.push({ topic, payload, retain: opts.retain });
    if (this.autoAck) return Promise.resolve();
    return new Promise((resolve) => this.pendingAcks.push(resolve));
  }

  setCertificate(cert: string): void {
    this.certificates.push(cert);
  }

  flush(): void {
    const p = this.pendingAcks;
    this.pendingAcks = [];
    for (const r of p) r();
  }

  connect(sessionPresent = false): void {
    this.isConnected = true;
    this.handlers?.onConnect(sessionPresent);
  }

  disconnect(): void {
    this.isConnected = false;
    this.handlers?.onDisconnect();
  }

  deliver(topic: string, payload: string | Buffer, retain = false): void {
    const msg: IncomingMessage = { topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), retain };
    this.handlers?.onMessage(msg);
  }

  /** Published messages on one topic, payload parsed. */
  on(topic: string): unknown[] {
    return this.published.filter((p) => p.topic === topic).map((p) => JSON.parse(p.payload) as unknown);
  }
}
