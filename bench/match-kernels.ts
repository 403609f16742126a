/**
 * Alternative 1:N scoring kernels, kept only to measure them against the one the matcher uses
 * (runtime/roster/kernel.ts, int8 WebAssembly SIMD). Each computes raw scores of one query against
 * all N templates (row-major, dim values each); no top-k selection.
 */
import * as ort from 'onnxruntime-node';

export function float32Loop(rows: Float32Array, n: number, dim: number, q: Float32Array, out: Float32Array): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * dim;
    for (let d = 0; d < dim; d++) s += (q[d] ?? 0) * (rows[o + d] ?? 0);
    out[i] = s;
  }
}

export function int8Loop(rows: Int8Array, n: number, dim: number, q: Int16Array, out: Int32Array): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * dim;
    for (let d = 0; d < dim; d++) s += (q[d] ?? 0) * (rows[o + d] ?? 0);
    out[i] = s;
  }
}

// --- a tiny protobuf writer, enough for an ONNX ModelProto with one node -------------------------

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 127) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}
const fieldVarint = (f: number, v: number): number[] => [...varint((f << 3) | 0), ...varint(v)];
const fieldBytes = (f: number, b: number[]): number[] => [...varint((f << 3) | 2), ...varint(b.length), ...b];
const fieldStr = (f: number, s: string): number[] => fieldBytes(f, [...Buffer.from(s, 'utf8')]);

/** ValueInfoProto for a tensor; a string dim is symbolic. */
function valueInfo(name: string, elemType: number, dims: (number | string)[]): number[] {
  const shape = dims.flatMap((d) => fieldBytes(1, typeof d === 'number' ? fieldVarint(1, d) : fieldStr(2, d)));
  const tensorType = [...fieldVarint(1, elemType), ...fieldBytes(2, shape)];
  return [...fieldStr(1, name), ...fieldBytes(2, fieldBytes(1, tensorType))];
}

const FLOAT = 1;
const INT8 = 3;
const INT32 = 6;

/** S[N,1] = T[N,dim] x Q[dim,1], with MatMul (float32) or MatMulInteger (int8 -> int32). */
export function matmulModel(dim: number, kind: 'float32' | 'int8'): Uint8Array {
  const op = kind === 'float32' ? 'MatMul' : 'MatMulInteger';
  const et = kind === 'float32' ? FLOAT : INT8;
  const node = [...fieldStr(1, 'T'), ...fieldStr(1, 'Q'), ...fieldStr(2, 'S'), ...fieldStr(3, 'scores'), ...fieldStr(4, op)];
  const graph = [
    ...fieldBytes(1, node),
    ...fieldStr(2, 'match'),
    ...fieldBytes(11, valueInfo('T', et, ['N', dim])),
    ...fieldBytes(11, valueInfo('Q', et, [dim, 1])),
    ...fieldBytes(12, valueInfo('S', kind === 'float32' ? FLOAT : INT32, ['N', 1])),
  ];
  const model = [...fieldVarint(1, 8), ...fieldStr(2, 'doorway-bench'), ...fieldBytes(7, graph), ...fieldBytes(8, fieldVarint(2, 13))];
  return Uint8Array.from(model);
}

export interface OrtScorer {
  run(): Promise<void>;
  release(): Promise<void>;
}

export async function ortScorer(kind: 'float32' | 'int8', rows: Float32Array | Int8Array, n: number, dim: number, q: Float32Array | Int8Array, threads: number): Promise<OrtScorer> {
  const session = await ort.InferenceSession.create(matmulModel(dim, kind), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const type = kind === 'float32' ? 'float32' : 'int8';
  const feeds = {
    T: new ort.Tensor(type, rows.subarray(0, n * dim), [n, dim]),
    Q: new ort.Tensor(type, q, [dim, 1]),
  };
  return {
    run: async () => {
      await session.run(feeds);
    },
    release: () => session.release(),
  };
}
