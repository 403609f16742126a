/**
 * The hot loop of the matcher: int8 dot products of one query against every template, in a tiny
 * WebAssembly SIMD module assembled here from its bytes (no toolchain, no native addon, runs the
 * same on x86_64 and arm64). Measured against a float32 JS loop, an Int8 JS loop and onnxruntime
 * MatMul/MatMulInteger in bench/match.ts; this was the fastest (see the issue report).
 *
 * Layout in the module's linear memory: the query as 16-bit integers (dim values), then the
 * templates as int8 rows of `dim` values each (dim a multiple of 16), then one int32 per template
 * for the results. The module only reads and writes that memory; JS owns the layout.
 */

/** LEB128 of an unsigned integer, as WebAssembly encodes indices, sizes and opcodes. */
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function str(s: string): number[] {
  const b = [...Buffer.from(s, 'utf8')];
  return [...uleb(b.length), ...b];
}

// Opcodes used below (WebAssembly core + fixed-width SIMD).
const I32 = 0x7f;
const V128 = 0x7b;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_EQZ = 0x45;
const I32_STORE = 0x36;
const BLOCK = 0x02;
const LOOP = 0x03;
const VOID = 0x40;
const BR_IF = 0x0d;
const END = 0x0b;
const SIMD = 0xfd;
const simd = (op: number, ...imm: number[]): number[] => [SIMD, ...uleb(op), ...imm];
const V128_LOAD = (offset: number): number[] => simd(0x00, 0, ...uleb(offset)); // align hint 1 byte
const V128_CONST0 = simd(0x0c, ...new Array<number>(16).fill(0));
const I16X8_EXTEND_LOW_I8X16_S = simd(135);
const I16X8_EXTEND_HIGH_I8X16_S = simd(136);
const I32X4_DOT_I16X8_S = simd(186);
const I32X4_ADD = simd(174);
const I32X4_EXTRACT_LANE = (lane: number): number[] => simd(27, lane);

/**
 * scan(q, base, n, out, blocks): for t in 0..n-1, out[t] = sum_d q[d] * base[t*dim + d] with
 * dim = 16 * blocks. Two accumulators per template hide the add latency.
 */
function scanBody(): number[] {
  // params: 0 q, 1 base, 2 n, 3 out, 4 blocks; locals: 5 j, 6 p, 7 qp (i32), 8 acc, 9 acc2, 10 v (v128)
  const [q, base, n, out, blocks, j, p, qp, acc, acc2, v] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const code: number[] = [
    LOCAL_GET, base, LOCAL_SET, p,
    BLOCK, VOID,
    LOCAL_GET, n, I32_EQZ, BR_IF, 0,
    LOOP, VOID,
    ...V128_CONST0, LOCAL_SET, acc,
    ...V128_CONST0, LOCAL_SET, acc2,
    LOCAL_GET, q, LOCAL_SET, qp,
    LOCAL_GET, blocks, LOCAL_SET, j,
    LOOP, VOID,
    LOCAL_GET, p, ...V128_LOAD(0), LOCAL_SET, v,
    LOCAL_GET, acc,
    LOCAL_GET, v, ...I16X8_EXTEND_LOW_I8X16_S,
    LOCAL_GET, qp, ...V128_LOAD(0),
    ...I32X4_DOT_I16X8_S, ...I32X4_ADD, LOCAL_SET, acc,
    LOCAL_GET, acc2,
    LOCAL_GET, v, ...I16X8_EXTEND_HIGH_I8X16_S,
    LOCAL_GET, qp, ...V128_LOAD(16),
    ...I32X4_DOT_I16X8_S, ...I32X4_ADD, LOCAL_SET, acc2,
    LOCAL_GET, p, I32_CONST, 16, I32_ADD, LOCAL_SET, p,
    LOCAL_GET, qp, I32_CONST, 32, I32_ADD, LOCAL_SET, qp,
    LOCAL_GET, j, I32_CONST, 1, I32_SUB, LOCAL_TEE, j,
    BR_IF, 0,
    END,
    LOCAL_GET, acc, LOCAL_GET, acc2, ...I32X4_ADD, LOCAL_SET, acc,
    LOCAL_GET, out,
    LOCAL_GET, acc, ...I32X4_EXTRACT_LANE(0),
    LOCAL_GET, acc, ...I32X4_EXTRACT_LANE(1), I32_ADD,
    LOCAL_GET, acc, ...I32X4_EXTRACT_LANE(2), I32_ADD,
    LOCAL_GET, acc, ...I32X4_EXTRACT_LANE(3), I32_ADD,
    I32_STORE, 2, 0,
    LOCAL_GET, out, I32_CONST, 4, I32_ADD, LOCAL_SET, out,
    LOCAL_GET, n, I32_CONST, 1, I32_SUB, LOCAL_TEE, n,
    BR_IF, 0,
    END,
    END,
    END,
  ];
  const locals = vec([[3, I32], [3, V128]]);
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array {
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), 0]])),
    ...section(3, vec([[0]])),
    ...section(5, vec([[0x00, 1]])),
    ...section(7, vec([[...str('scan'), 0x00, 0], [...str('mem'), 0x02, 0]])),
    ...section(10, vec([scanBody()])),
  ];
  return Uint8Array.from(bytes);
}

const PAGE = 65536;

// The project's lib settings carry no WebAssembly typings (they live in lib.dom); the little used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * One instance of the kernel with its own memory. Rows are appended or overwritten in place by slot;
 * `scan` fills `scores` (an Int32Array view valid until the next grow) with integer dot products.
 */
export class Int8DotKernel {
  readonly dim: number;
  private readonly scanFn: (q: number, base: number, n: number, out: number, blocks: number) => void;
  private readonly memory: WasmMemory;
  private capacity = 0;
  /** A view of the whole memory, renewed when the memory grows (growing detaches the old buffer). */
  private bytes = new Int8Array(0);
  private baseOff = 0;
  private outOff = 0;

  constructor(dim: number, initialCapacity = 1024) {
    if (dim % 16 !== 0 || dim <= 0) throw new RangeError(`dimension ${dim} must be a positive multiple of 16`);
    this.dim = dim;
    const mod = new Wasm.Module(moduleBytes());
    const inst = new Wasm.Instance(mod, {});
    this.scanFn = inst.exports['scan'] as (q: number, b: number, n: number, o: number, k: number) => void;
    this.memory = inst.exports['mem'] as WasmMemory;
    this.reserve(initialCapacity);
  }

  /** Bytes of linear memory held (the index's int8 rows, the query and the result buffer). */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Make room for `n` rows, keeping the rows already written. */
  reserve(n: number): void {
    if (n <= this.capacity) return;
    const cap = Math.max(n, Math.ceil(this.capacity * 1.25));
    const qBytes = this.dim * 2;
    const baseOff = align(qBytes, 64);
    const outOff = align(baseOff + cap * this.dim, 64);
    const need = outOff + cap * 4;
    const have = this.memory.buffer.byteLength;
    if (need > have) this.memory.grow(Math.ceil((need - have) / PAGE));
    // Rows stay where they are (base offset never moves); only the result area moves up.
    this.baseOff = baseOff;
    this.outOff = outOff;
    this.capacity = cap;
  }

  /** The int8 row of slot `i`, a view into the kernel's memory (valid until the next reserve()). */
  row(i: number): Int8Array {
    return new Int8Array(this.memory.buffer, this.baseOff + i * this.dim, this.dim);
  }

  setRow(i: number, codes: Int8Array): void {
    if (i >= this.capacity) throw new RangeError(`slot ${i} beyond capacity ${this.capacity}`);
    if (codes.length !== this.dim) throw new RangeError('row dimension mismatch');
    if (this.bytes.buffer !== this.memory.buffer) this.bytes = new Int8Array(this.memory.buffer);
    this.bytes.set(codes, this.baseOff + i * this.dim);
  }

  /** Integer dot products of the int16 query with rows 0..n-1; returns a view of the results. */
  scan(query: Int16Array, n: number): Int32Array {
    if (query.length !== this.dim) throw new RangeError('query dimension mismatch');
    if (n > this.capacity) throw new RangeError('scan beyond capacity');
    new Int16Array(this.memory.buffer, 0, this.dim).set(query);
    this.scanFn(0, this.baseOff, n, this.outOff, this.dim / 16);
    return new Int32Array(this.memory.buffer, this.outOff, n);
  }
}

function align(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}
