import { assertFrame, FrameFormatError, type RawFrame, sampleRegion, warpToPlanar } from '../../models/image';

function frame(w: number, h: number, fn: (x: number, y: number) => [number, number, number], format: 'rgb24' | 'bgr24' = 'rgb24'): RawFrame {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = fn(x, y);
      const o = (y * w + x) * 3;
      if (format === 'rgb24') data.set([r, g, b], o);
      else data.set([b, g, r], o);
    }
  }
  return { width: w, height: h, format, data };
}

describe('raw frames', () => {
  it('refuses a buffer whose size does not match width x height x 3 with a typed error', () => {
    const f: RawFrame = { width: 640, height: 480, format: 'rgb24', data: new Uint8Array(640 * 480 * 3 - 1) };
    expect(() => assertFrame(f)).toThrow(FrameFormatError);
    expect(() => assertFrame(f)).toThrow(/921599 bytes does not match 640x480/);
  });

  it('refuses unknown pixel formats and non-positive sizes', () => {
    expect(() => assertFrame({ width: 2, height: 2, format: 'rgba' as never, data: new Uint8Array(12) })).toThrow(FrameFormatError);
    expect(() => assertFrame({ width: 0, height: 2, format: 'rgb24', data: new Uint8Array(0) })).toThrow(FrameFormatError);
  });

  it('accepts a well-formed frame', () => {
    expect(() => assertFrame({ width: 4, height: 2, format: 'bgr24', data: new Uint8Array(24) })).not.toThrow();
  });
});

describe('sampleRegion', () => {
  const f = frame(8, 4, (x, y) => [x * 10, y * 20, 200]);

  it('copies pixels exactly at 1:1 scale into R,G,B planes', () => {
    const out = sampleRegion(f, { x: 0, y: 0, w: 8, h: 4 }, 8, 4, 'rgb', { sub: 0, mul: 1 });
    expect(out[3]).toBe(30); // R of (3,0)
    expect(out[32 + 8 * 2 + 1]).toBe(40); // G of (1,2)
    expect(out[64 + 5]).toBe(200); // B plane
  });

  it('puts planes in B,G,R order when asked and reads BGR frames correctly', () => {
    const bgrFrame = frame(8, 4, (x, y) => [x * 10, y * 20, 200], 'bgr24');
    const a = sampleRegion(f, { x: 0, y: 0, w: 8, h: 4 }, 8, 4, 'bgr', { sub: 0, mul: 1 });
    const b = sampleRegion(bgrFrame, { x: 0, y: 0, w: 8, h: 4 }, 8, 4, 'bgr', { sub: 0, mul: 1 });
    expect(a[0]).toBe(200); // first plane is blue
    expect(a[64 + 3]).toBe(30); // last plane is red
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('normalises as (p - sub) * mul', () => {
    const out = sampleRegion(f, { x: 0, y: 0, w: 8, h: 4 }, 8, 4, 'rgb', { sub: 127, mul: 1 / 128 });
    expect(out[0]).toBeCloseTo(-127 / 128, 6);
  });

  it('averages neighbours when halving', () => {
    const out = sampleRegion(f, { x: 0, y: 0, w: 8, h: 4 }, 4, 2, 'rgb', { sub: 0, mul: 1 });
    expect(out[0]).toBeCloseTo(5, 5); // mean of R 0 and 10
  });

  it('uses the model luma weights 0.114 R + 0.587 G + 0.299 B for gray', () => {
    const g = frame(1, 1, () => [100, 50, 10]);
    const out = sampleRegion(g, { x: 0, y: 0, w: 1, h: 1 }, 1, 1, 'gray', { sub: 0, mul: 1 });
    expect(out[0]).toBeCloseTo(0.114 * 100 + 0.587 * 50 + 0.299 * 10, 4);
  });
});

describe('warpToPlanar', () => {
  it('with the identity map reproduces the frame', () => {
    const f = frame(6, 6, (x, y) => [x * 7, y * 9, 3]);
    const out = warpToPlanar(f, [1, 0, 0, 0, 1, 0], 6, 6, 'rgb', { sub: 0, mul: 1 });
    expect(out[2 * 6 + 4]).toBe(28);
    expect(out[36 + 5 * 6 + 1]).toBe(45);
  });

  it('fills samples far outside the frame with black', () => {
    const f = frame(4, 4, () => [255, 255, 255]);
    const out = warpToPlanar(f, [1, 0, 100, 0, 1, 100], 2, 2, 'rgb', { sub: 0, mul: 1 });
    expect(Array.from(out).every((v) => v === 0)).toBe(true);
  });
});
