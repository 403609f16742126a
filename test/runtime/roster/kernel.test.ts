import { Int8DotKernel } from '../../../runtime/roster/kernel';
import { rng } from './fixtures';

describe('Int8DotKernel', () => {
  it('computes the same integer dot products as a plain loop, extremes included', () => {
    const rand = rng(7);
    const dim = 64;
    const k = new Int8DotKernel(dim, 4);
    const rows: Int8Array[] = [];
    for (let i = 0; i < 300; i++) {
      const r = new Int8Array(dim);
      for (let d = 0; d < dim; d++) r[d] = i === 0 ? 127 : i === 1 ? -127 : Math.floor(rand() * 255) - 127;
      k.reserve(i + 1);
      k.setRow(i, r);
      rows.push(r);
    }
    const q = new Int16Array(dim);
    for (let d = 0; d < dim; d++) q[d] = d % 2 === 0 ? 4095 : Math.floor(rand() * 8191) - 4095;
    const got = Array.from(k.scan(q, rows.length));
    const want = rows.map((r) => r.reduce((s, x, d) => s + x * (q[d] ?? 0), 0));
    expect(got).toEqual(want);
  });

  it('refuses a dimension that is not a multiple of 16', () => {
    expect(() => new Int8DotKernel(100)).toThrow(RangeError);
  });
});
