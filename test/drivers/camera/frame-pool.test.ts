import { FramePool, LatestFrame, holdOnce, type PooledBuffer } from '../../../drivers/camera/frame-pool';

/** Fills a buffer as the decoder would and publishes it; null when the pool had none free (a dropped frame). */
function decode(latest: LatestFrame, value: number, at = 0): PooledBuffer | null {
  const b = latest.pool.acquire();
  if (!b) return null;
  b.data.fill(value);
  latest.publish(b, at);
  return b;
}

describe('FramePool', () => {
  it('hands out each buffer to one filler at a time and none once every buffer is held', () => {
    const pool = new FramePool(12, 3);
    const got = [pool.acquire(), pool.acquire(), pool.acquire()];
    expect(got.map((b) => b?.slot).sort()).toEqual([0, 1, 2]);
    expect(pool.acquire()).toBeNull();
    expect(pool.inUse()).toBe(3);
    pool.release(got[1] as PooledBuffer);
    expect(pool.acquire()).toBe(got[1]);
  });

  it('allocates its buffers once: the same Buffers come back, never new ones', () => {
    const pool = new FramePool(12, 2);
    const seen = new Set<Buffer>();
    for (let i = 0; i < 50; i++) {
      const b = pool.acquire() as PooledBuffer;
      seen.add(b.data);
      pool.release(b);
    }
    expect(seen.size).toBe(2);
  });

  it('does not give out a buffer until its last hold is released', () => {
    const pool = new FramePool(12, 2);
    const a = pool.acquire() as PooledBuffer;
    pool.retain(a); // the source and a reader
    pool.acquire(); // the other buffer, being filled
    pool.release(a);
    expect(pool.acquire()).toBeNull();
    pool.release(a);
    expect(pool.acquire()).toBe(a);
  });

  it('refuses to release a buffer more often than it was held, or to retain a free one', () => {
    const pool = new FramePool(12, 2);
    const a = pool.acquire() as PooledBuffer;
    pool.release(a);
    expect(() => pool.release(a)).toThrow(RangeError);
    expect(() => pool.retain(a)).toThrow(RangeError);
    expect(() => new FramePool(12, 2).release(a)).toThrow(RangeError); // another pool's buffer
  });

  it('gives a hold back once however often its release is called', () => {
    const pool = new FramePool(12, 2);
    const a = pool.acquire() as PooledBuffer;
    const release = holdOnce(pool, a);
    release();
    release();
    expect(pool.holds(a)).toBe(1); // the filler's hold is still there
  });

  it('rejects a pool too small to fill one frame while another is the latest', () => {
    expect(() => new FramePool(12, 1)).toThrow(RangeError);
    expect(() => new FramePool(0, 4)).toThrow(RangeError);
  });
});

describe('LatestFrame over a pool', () => {
  it('never refills a held frame: newer frames go to other buffers, and are dropped when none is free', () => {
    const latest = new LatestFrame(new FramePool(12, 4), 2, 2);
    decode(latest, 1);
    const held = latest.hold();
    expect(held?.frame.seq).toBe(1);
    // the reader keeps frame 1 while 20 more are decoded: only 3 buffers are left to cycle
    for (let v = 2; v <= 21; v++) decode(latest, v);
    expect([...(held?.frame.data ?? [])]).toEqual(new Array(12).fill(1));
    expect(latest.latest()?.seq).toBe(21);
    // hold two more: with the latest's buffer, every buffer is held and the next frame has nowhere to go
    const h2 = latest.hold();
    decode(latest, 22);
    const h3 = latest.hold();
    expect(decode(latest, 23)).not.toBeNull(); // the fourth buffer becomes the latest
    expect(decode(latest, 24)).toBeNull();
    expect([...(h2?.frame.data ?? [])]).toEqual(new Array(12).fill(21));
    expect([...(h3?.frame.data ?? [])]).toEqual(new Array(12).fill(22));
    const first = held?.frame.data;
    held?.release();
    expect(decode(latest, 25)?.data).toBe(first); // frame 1's buffer, handed back, is the one refilled
  });

  it('keeps at most the pool size in flight and frees every buffer a reader hands back', () => {
    const pool = new FramePool(12, 3);
    const latest = new LatestFrame(pool, 2, 2);
    for (let v = 1; v <= 10; v++) {
      decode(latest, v);
      const h = latest.hold();
      expect(pool.inUse()).toBeLessThanOrEqual(3);
      h?.release();
    }
    expect(pool.inUse()).toBe(1); // only the latest
  });

  it('numbers frames 1, 2, 3 and shows each frame its own pixels while it is the latest', () => {
    const latest = new LatestFrame(new FramePool(12, 2), 2, 2);
    for (let v = 1; v <= 5; v++) {
      decode(latest, v * 10, v);
      expect(latest.latest()).toMatchObject({ seq: v, capturedAt: v, width: 2, height: 2, format: 'rgb24' });
      expect(latest.latest()?.data[0]).toBe(v * 10);
    }
    expect(latest.count).toBe(5);
  });
});
