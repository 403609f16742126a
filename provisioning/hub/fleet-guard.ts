/**
 * The hub's connection as the fleet allows it: messages from a terminal that is not active in the
 * store (revoked, unknown) are dropped before any part sees them, and nothing is published to one (not
 * even acknowledgements or roster replies). The active set is re-read on every hub tick.
 */
import { parseTopic } from '../../runtime/protocol/topics';
import type { IncomingMessage, SyncTransport, TransportHandlers, Will } from '../../runtime/sync/transport';
import type { TerminalStore } from '../store/hub-store';

export class FleetGuard implements SyncTransport {
  private active = new Set<string>();
  dropped = 0;

  constructor(
    private readonly inner: SyncTransport,
    private readonly terminals: Pick<TerminalStore, 'terminals'>,
  ) {
    this.refresh();
  }

  refresh(): void {
    this.active = new Set(this.terminals.terminals().filter((t) => t.status === 'active').map((t) => t.id));
  }

  isActive(id: string): boolean {
    return this.active.has(id);
  }

  start(handlers: TransportHandlers, will: Will | null): void {
    this.inner.start(
      {
        ...handlers,
        onMessage: (m: IncomingMessage) => {
          const t = parseTopic(m.topic);
          if (t?.terminalId && t.kind !== 'acks' && t.kind !== 'roster' && t.kind !== 'commands' && t.kind !== 'certificate' && !this.active.has(t.terminalId)) {
            this.dropped += 1;
            return;
          }
          handlers.onMessage(m);
        },
      },
      will,
    );
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  connected(): boolean {
    return this.inner.connected();
  }

  subscribe(topics: string[]): Promise<void> {
    return this.inner.subscribe(topics);
  }

  publish(topic: string, payload: string, opts: { retain: boolean }): Promise<void> {
    const t = parseTopic(topic);
    if (t?.terminalId && !this.active.has(t.terminalId)) {
      this.dropped += 1;
      return Promise.resolve();
    }
    return this.inner.publish(topic, payload, opts);
  }

  setCertificate(pem: string): void {
    this.inner.setCertificate?.(pem);
  }
}
