/**
 * Sends the chunks of per-door snapshots (terminal-rosters.ts) to terminals. Each terminal has one
 * queue: its chunks go out one at a time, each sealed when its turn comes and published (QoS 1: the
 * broker has it) before the next, and the hub's loop is free between two chunks. Eight gates taking
 * 39,000 residents each (about 390 chunks of 0.75 MB apiece) thus leave the hub answering the other
 * doors, the API and its own MQTT keepalive; sealing them all at once held its loop for minutes, the
 * broker dropped it, and no door synced (bench:community, 200 doors).
 *
 * A terminal asks again for the chunks it misses when they stop coming for a few seconds, which a busy
 * hub or a slow link causes; asks for chunks still queued for it are merged with the queue, so a slow
 * door no longer has window upon window stacked on the broker's queue for it, which the broker drops.
 * A chunk already sent and asked for again is sent again (the broker may have dropped it). A publish
 * the broker has not acknowledged within PUBLISH_WAIT_MS ends the terminal's queue (its next ask starts
 * a new one), so that one lost acknowledgement cannot leave a door without its roster for good.
 */
import type { Clock } from '../../core/clock';
import type { Logger } from '../../core/log';
import { topicsFor } from '../../runtime/protocol/topics';
import type { SyncTransport } from '../../runtime/sync/transport';

export interface SnapshotChunkSource {
  /** Chunk `index` of the terminal's snapshot `snapshotId`, sealed to it; null when that snapshot is gone. */
  chunk(terminalId: string, snapshotId: string, index: number): string | null;
}

/** How long one chunk's publish is waited for before the terminal's queue is given up. */
export const PUBLISH_WAIT_MS = 60_000;

interface Queue {
  snapshotId: string;
  /** Chunk indices to send, in order; each at most once. */
  pending: number[];
}

export class SnapshotSender {
  private readonly queues = new Map<string, Queue>();
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(
    private readonly transport: SyncTransport,
    private readonly source: SnapshotChunkSource,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /**
   * Queue chunks `indices` of the terminal's snapshot `snapshotId` after those already queued (those
   * already queued are not queued twice). Asking for another snapshot replaces what was queued for
   * that terminal. Resolves when this terminal's queue is empty.
   */
  send(terminalId: string, snapshotId: string, indices: readonly number[]): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const q = this.queues.get(terminalId);
    if (q && q.snapshotId === snapshotId) {
      for (const i of indices) if (!q.pending.includes(i)) q.pending.push(i);
    } else {
      this.queues.set(terminalId, { snapshotId, pending: [...new Set(indices)] });
    }
    let run = this.running.get(terminalId);
    if (!run) {
      run = this.drain(terminalId);
      this.running.set(terminalId, run);
    }
    return run;
  }

  /** Chunks still queued for a terminal (0 when none). */
  queued(terminalId: string): number {
    return this.queues.get(terminalId)?.pending.length ?? 0;
  }

  /** Nothing more is sent (a chunk being published is not waited for: the connection closes next). */
  stop(): void {
    this.stopped = true;
    this.queues.clear();
  }

  private async drain(terminalId: string): Promise<void> {
    const topic = topicsFor(terminalId).roster;
    for (;;) {
      // Other terminals' chunks, requests and the API get their turn between two chunks.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const q = this.queues.get(terminalId);
      const index = q?.pending.shift();
      if (q === undefined || index === undefined) return this.done(terminalId);
      const payload = this.source.chunk(terminalId, q.snapshotId, index);
      // A newer snapshot or a revocation since: the terminal asks again and is sent a new one.
      if (payload === null) return this.done(terminalId);
      try {
        if (!(await this.published(topic, payload))) {
          this.log.warn({ terminal: terminalId, waitedMs: PUBLISH_WAIT_MS }, 'snapshot chunk not acknowledged by the broker; the terminal will ask again');
          return this.done(terminalId);
        }
      } catch (err) {
        this.log.warn({ err: String(err), terminal: terminalId }, 'snapshot chunk publish failed; the terminal will ask again');
        return this.done(terminalId);
      }
    }
  }

  /** Publishes; false when the broker has not acknowledged it within PUBLISH_WAIT_MS. */
  private published(topic: string, payload: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => resolve(false), PUBLISH_WAIT_MS);
      this.transport.publish(topic, payload, { retain: false }).then(
        () => {
          timer.cancel();
          resolve(true);
        },
        (err: unknown) => {
          timer.cancel();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  /** The terminal's queue is over (in the same turn as its last check, so that a new ask starts a new one). */
  private done(terminalId: string): void {
    this.queues.delete(terminalId);
    this.running.delete(terminalId);
  }
}
