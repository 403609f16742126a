/**
 * A small fixed ring of preallocated frame buffers. The decoder fills one, the source keeps the newest
 * as its latest frame, and work that outlives the current turn of the event loop (the frame loop's
 * pipeline run) holds the frame it works on and hands it back when done. A buffer is only given out to
 * be filled when nobody holds it, so a frame still in use is never overwritten; when every buffer is
 * held, the decoder's next frames are dropped (counted) until one is handed back.
 *
 * Why: a 640x480 camera at 25 fps made a fresh 921,600-byte Buffer per frame (23 MB/s of short-lived
 * external memory, most frames dropped at once under "latest frame only"); the terminal's resident memory
 * grew with the backing stores waiting for collection (README, Long runs). With the pool the camera's
 * memory is `size` buffers, allocated once.
 */
import type { Frame, FrameHold } from './index';

/** One buffer of the pool. `data` is the same Buffer for the pool's lifetime; its pixels change when refilled. */
export interface PooledBuffer {
  readonly data: Buffer;
  /** Index in the pool (for tests and logs). */
  readonly slot: number;
}

interface Slot extends PooledBuffer {
  holds: number;
}

/** The default number of buffers: one being filled, the latest, one in the frame loop, one spare. */
export const DEFAULT_FRAME_BUFFERS = 4;

export class FramePool {
  private readonly slots: Slot[];
  /** Next slot to look at: buffers are handed out round-robin, so a just-released frame is reused last. */
  private next = 0;

  constructor(
    readonly frameBytes: number,
    readonly size: number = DEFAULT_FRAME_BUFFERS,
  ) {
    if (!Number.isInteger(size) || size < 2) throw new RangeError(`a frame pool needs at least 2 buffers, not ${size}`);
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) throw new RangeError(`frame size must be a positive integer, not ${frameBytes}`);
    this.slots = Array.from({ length: size }, (_, slot) => ({ data: Buffer.alloc(frameBytes), slot, holds: 0 }));
  }

  /** A buffer nobody holds, now held once by the caller; null when every buffer is held. */
  acquire(): PooledBuffer | null {
    for (let i = 0; i < this.size; i++) {
      const s = this.slots[(this.next + i) % this.size] as Slot;
      if (s.holds === 0) {
        s.holds = 1;
        this.next = (s.slot + 1) % this.size;
        return s;
      }
    }
    return null;
  }

  /** One more hold on a buffer that is held already (a frame shared by the source and a reader). */
  retain(b: PooledBuffer): void {
    const s = this.own(b);
    if (s.holds === 0) throw new RangeError(`frame buffer ${b.slot} is not held: it may be refilled at any time`);
    s.holds += 1;
  }

  /** Gives one hold back; the buffer can be refilled once nobody holds it. */
  release(b: PooledBuffer): void {
    const s = this.own(b);
    if (s.holds === 0) throw new RangeError(`frame buffer ${b.slot} released more often than held`);
    s.holds -= 1;
  }

  /** Holds on a buffer (0: free). */
  holds(b: PooledBuffer): number {
    return this.own(b).holds;
  }

  /** Buffers held by anyone (the one being filled included). */
  inUse(): number {
    return this.slots.reduce((n, s) => n + (s.holds > 0 ? 1 : 0), 0);
  }

  private own(b: PooledBuffer): Slot {
    const s = this.slots[b.slot];
    if (s !== b) throw new RangeError('that buffer is not from this pool');
    return s;
  }
}

/**
 * A hold on one frame's buffer, handed back once by `release()` (a second call does nothing, so a
 * `finally` and an early return cannot give back someone else's hold).
 */
export function holdOnce(pool: FramePool, b: PooledBuffer): () => void {
  pool.retain(b);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    pool.release(b);
  };
}

/**
 * A source's newest frame over a pool: `publish` takes over the decoder's hold on a filled buffer and
 * hands back the previous newest; `hold` adds a reader's hold. One of these per source, across restarts
 * of its decoder.
 */
export class LatestFrame {
  private frame: Frame | null = null;
  private buffer: PooledBuffer | null = null;
  private seq = 0;

  constructor(
    readonly pool: FramePool,
    private readonly width: number,
    private readonly height: number,
  ) {}

  /** Frames published so far (the last frame's seq). */
  get count(): number {
    return this.seq;
  }

  publish(b: PooledBuffer, capturedAt: number): Frame {
    const frame: Frame = { width: this.width, height: this.height, format: 'rgb24', data: b.data, capturedAt, seq: ++this.seq };
    const previous = this.buffer;
    this.frame = frame;
    this.buffer = b;
    if (previous) this.pool.release(previous);
    return frame;
  }

  latest(): Frame | null {
    return this.frame;
  }

  hold(): FrameHold | null {
    if (!this.frame || !this.buffer) return null;
    return { frame: this.frame, release: holdOnce(this.pool, this.buffer) };
  }
}
