import type { Logger } from '../../core/log';
import { TerminalError } from '../../core/errors';
import { Int8DotKernel } from './kernel';
import { RosterIntegrityError, type RosterChange, type RosterStore, type StoredTemplate } from './store';

/** A query embedding of the wrong size or with no direction. */
export class MatcherInputError extends TerminalError {
  readonly code = 'matcher-input';
}

/** Where the matcher reads a template's exact float32 vector back for rescoring. */
export interface ExactSource {
  /** null when the row is gone; may throw RosterIntegrityError (the slot is then dropped). */
  readEmbedding(rowId: number): Float32Array | null;
}

export interface MatchResult {
  personId: string;
  /** The person's best template for this query. */
  templateId: string;
  /** Exact cosine similarity, computed in float64 from the stored float32 vectors. */
  score: number;
}

export interface MatcherOptions {
  /** Only templates made by this model are indexed; the others need re-enrolment. */
  modelId: string;
  dim?: number;
  logger?: Logger;
  /**
   * Exact vectors for the final rescoring. Without one, the matcher keeps a float32 copy of every
   * template (4 bytes per value); with one (the roster store) it keeps only int8 codes (1 byte).
   */
  exact?: ExactSource;
  initialCapacity?: number;
}

export interface TemplateEntry {
  personId: string;
  templateId: string;
  modelId: string;
  embedding: Float32Array;
  /** Row id in the exact source (needed when the matcher was given one, unless `local`). */
  rowId?: number;
  /**
   * Held in memory only, not in the exact source (an adapted template, runtime/roster/adaptation.ts):
   * the matcher keeps its float32 vector for the exact rescoring.
   */
  local?: boolean;
}

const QUERY_LEVELS = 4095; // query quantised to 13 bits: int32 sums cannot overflow (512*4095*127)
const FP_SLACK = 1e-6;

/**
 * Exact cosine top-k over the enrolled templates, one result per person.
 *
 * How it is fast and still exact: every template is stored normalised and quantised to int8 with its
 * own scale; a WebAssembly SIMD kernel computes all int8 dot products (about 2 ms for 100,000 x 512
 * on one x86 core). For each template the quantisation error is bounded (Cauchy-Schwarz, from the
 * residual norms kept per template and the query's own residual), giving an upper bound of its true
 * cosine. Candidates are rescored exactly in order of that bound until no unscored template can
 * still enter the top k; the final scores and order equal a float64 brute force.
 */
export class Matcher {
  readonly modelId: string;
  readonly dim: number;
  private readonly kernel: Int8DotKernel;
  private readonly exactSource: ExactSource | undefined;
  private readonly log: Logger | undefined;
  private n = 0;
  private cap = 0;
  private scale = new Float64Array(0);
  private resid = new Float64Array(0);
  private codeNorm = new Float64Array(0);
  private norm = new Float64Array(0);
  private rowIds = new Float64Array(0);
  private personOf: string[] = [];
  private templateOf: string[] = [];
  private exactOf: (Float32Array | undefined)[] = [];
  private readonly slotsOf = new Map<string, Set<number>>();
  private readonly slotOfTemplate = new Map<string, number>();
  private readonly reenrol = new Set<string>();
  private unsubscribe: (() => void) | undefined;
  private readonly q16: Int16Array;
  private readonly qf: Float64Array;
  private readonly codes: Int8Array;

  constructor(opts: MatcherOptions) {
    this.modelId = opts.modelId;
    this.dim = opts.dim ?? 512;
    this.exactSource = opts.exact;
    this.log = opts.logger?.child({ module: 'matcher' });
    this.kernel = new Int8DotKernel(this.dim, 16);
    this.q16 = new Int16Array(this.dim);
    this.qf = new Float64Array(this.dim);
    this.codes = new Int8Array(this.dim);
    this.reserve(opts.initialCapacity ?? 1024);
  }

  /**
   * Builds the index from every readable template in the store (exact vectors are read back from
   * it) and follows its committed changes: after applyBatch returns, revoked persons are gone.
   */
  static fromStore(store: RosterStore, opts: Omit<MatcherOptions, 'exact'>): Matcher {
    const m = new Matcher({ ...opts, exact: store });
    m.loadFrom(store);
    m.unsubscribe = store.onChange((c) => m.applyChange(store, c));
    return m;
  }

  /** Stops following the store. */
  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Number of indexed templates. */
  get size(): number {
    return this.n;
  }

  get personCount(): number {
    return this.slotsOf.size;
  }

  /** Persons with templates from another model (never compared): they need re-enrolment. */
  needsReenrolment(): string[] {
    return [...this.reenrol].sort();
  }

  /** Bytes held by the index (int8 codes, per-template numbers, kept float32 copies; ids estimated). */
  memoryBytes(): number {
    const perSlotNumbers = this.cap * 8 * 5;
    const exact = this.exactOf.reduce((s, v) => s + (v ? v.byteLength : 0), 0);
    const ids = this.n * 2 * 64; // two short id strings and their map entries per template, roughly
    return this.kernel.byteLength + perSlotNumbers + exact + ids;
  }

  /** Adds (or replaces, by templateId) one template. Other models' templates are refused quietly. */
  add(t: TemplateEntry): boolean {
    if (t.modelId !== this.modelId) {
      this.reenrol.add(t.personId);
      return false;
    }
    if (t.embedding.length !== this.dim) {
      this.log?.warn({ templateId: t.templateId, dim: t.embedding.length }, 'template of the wrong dimension skipped');
      return false;
    }
    if (this.exactSource && t.rowId === undefined && !t.local) throw new MatcherInputError('a template needs its rowId when an exact source is used');
    const old = this.slotOfTemplate.get(t.templateId);
    if (old !== undefined) this.removeSlot(old);
    const e = t.embedding;
    const dim = this.dim;
    let sq = 0;
    let maxRaw = 0;
    for (let d = 0; d < dim; d++) {
      const x = e[d]!;
      sq += x * x;
      const a = Math.abs(x); // branchless: a sign test here mispredicts half the time
      if (a > maxRaw) maxRaw = a;
    }
    const norm = Math.sqrt(sq);
    if (!(norm > 0) || !Number.isFinite(norm)) return false;
    const scale = maxRaw / norm / 127;
    const codes = this.codes;
    const inv = 1 / norm;
    const invScale = 1 / scale;
    let r = 0;
    let c = 0;
    for (let d = 0; d < dim; d++) {
      // Any rounding will do: the error bound is computed from the codes actually stored.
      const x = e[d]! * inv;
      const code = roundHalfEven(x * invScale);
      codes[d] = code;
      const back = code * scale;
      const diff = x - back;
      r += diff * diff;
      c += back * back;
    }
    this.reserve(this.n + 1);
    const i = this.n++;
    this.kernel.setRow(i, this.codes);
    this.scale[i] = scale;
    this.resid[i] = Math.sqrt(r);
    this.codeNorm[i] = Math.sqrt(c);
    this.norm[i] = norm;
    this.rowIds[i] = t.rowId ?? -1;
    this.personOf[i] = t.personId;
    this.templateOf[i] = t.templateId;
    this.exactOf[i] = this.exactSource && !t.local ? undefined : Float32Array.from(t.embedding);
    let set = this.slotsOf.get(t.personId);
    if (!set) this.slotsOf.set(t.personId, (set = new Set()));
    set.add(i);
    this.slotOfTemplate.set(t.templateId, i);
    return true;
  }

  /** Removes one template by id; false when it is not indexed. */
  removeTemplate(templateId: string): boolean {
    const slot = this.slotOfTemplate.get(templateId);
    if (slot === undefined) return false;
    this.removeSlot(slot);
    return true;
  }

  /** Removes every template of the person; from now on the person cannot match. */
  removePerson(personId: string): void {
    this.reenrol.delete(personId);
    const set = this.slotsOf.get(personId);
    if (!set) return;
    // Remove highest slots first so swap-removal never moves a slot we still have to remove.
    for (const s of [...set].sort((a, b) => b - a)) this.removeSlot(s);
  }

  /**
   * The best `k` persons for `embedding`, best first, each with its best template and exact cosine
   * (ties broken by person id). Templates whose stored row fails its integrity check are dropped.
   */
  search(embedding: Float32Array, k = 2): MatchResult[] {
    if (embedding.length !== this.dim) throw new MatcherInputError(`query has ${embedding.length} values, expected ${this.dim}`);
    if (!(k >= 1) || this.n === 0) return [];
    let sq = 0;
    for (let d = 0; d < this.dim; d++) sq += (embedding[d] ?? 0) * (embedding[d] ?? 0);
    const qn = Math.sqrt(sq);
    if (!(qn > 0) || !Number.isFinite(qn)) throw new MatcherInputError('query has no direction (zero or not finite)');
    let maxAbs = 0;
    for (let d = 0; d < this.dim; d++) {
      const v = (embedding[d] ?? 0) / qn;
      this.qf[d] = v;
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    const qs = maxAbs / QUERY_LEVELS;
    let qErr2 = 0;
    for (let d = 0; d < this.dim; d++) {
      const v = this.qf[d] ?? 0;
      const code = roundHalfEven(v / qs);
      this.q16[d] = code;
      qErr2 += (v - code * qs) * (v - code * qs);
    }
    const qErr = Math.sqrt(qErr2);
    const n = this.n;
    const dots = this.kernel.scan(this.q16, n);

    // Upper bounds; keep the M best in a min-heap, remember the best bound left out.
    const M = Math.min(n, Math.max(32, 8 * k));
    const heapU = new Float64Array(M);
    const heapI = new Int32Array(M);
    let size = 0;
    let leftOut = -Infinity;
    const scale = this.scale;
    const resid = this.resid;
    const codeNorm = this.codeNorm;
    for (let i = 0; i < n; i++) {
      const u = qs * (scale[i] ?? 0) * (dots[i] ?? 0) + (resid[i] ?? 0) + qErr * (codeNorm[i] ?? 0) + FP_SLACK;
      if (size < M) {
        heapPush(heapU, heapI, size++, u, i);
      } else if (u > (heapU[0] ?? 0)) {
        if ((heapU[0] ?? 0) > leftOut) leftOut = heapU[0] ?? 0;
        heapReplaceTop(heapU, heapI, size, u, i);
      } else if (u > leftOut) {
        leftOut = u;
      }
    }
    const order = Array.from({ length: size }, (_, j) => j).sort((a, b) => (heapU[b] ?? 0) - (heapU[a] ?? 0));
    const best = new Map<string, { score: number; templateId: string }>();
    const done = new Set<number>();
    const dropped: string[] = [];
    const candidates = order.map((j) => ({ u: heapU[j] ?? 0, slot: heapI[j] ?? 0 }));
    const stopped = this.rescore(candidates, k, best, done, dropped);
    if (!stopped && leftOut > -Infinity && (best.size < k || leftOut >= kth(best, k))) {
      // Rare: more than M templates could still enter the top k. Rescore in full bound order.
      const all: { u: number; slot: number }[] = [];
      for (let i = 0; i < this.n; i++) {
        if (done.has(i)) continue;
        all.push({ u: qs * (scale[i] ?? 0) * (dots[i] ?? 0) + (resid[i] ?? 0) + qErr * (codeNorm[i] ?? 0) + FP_SLACK, slot: i });
      }
      all.sort((a, b) => b.u - a.u);
      this.rescore(all, k, best, done, dropped);
    }
    // Slots move when one is removed: drop unreadable templates only once the search is over.
    for (const id of dropped) {
      const slot = this.slotOfTemplate.get(id);
      if (slot !== undefined) this.removeSlot(slot);
    }
    return [...best.entries()]
      .map(([personId, b]) => ({ personId, templateId: b.templateId, score: b.score }))
      .sort((a, b) => b.score - a.score || (a.personId < b.personId ? -1 : a.personId > b.personId ? 1 : 0))
      .slice(0, k);
  }

  // --- internals -------------------------------------------------------------------------------

  /** Exact scores in bound order until no remaining bound reaches the k-th person; true if stopped. */
  private rescore(
    cands: readonly { u: number; slot: number }[],
    k: number,
    best: Map<string, { score: number; templateId: string }>,
    done: Set<number>,
    dropped: string[],
  ): boolean {
    let kthScore = kth(best, k);
    for (const c of cands) {
      if (best.size >= k && c.u < kthScore) return true;
      done.add(c.slot);
      const s = this.exactScore(c.slot);
      const templateId = this.templateOf[c.slot] ?? '';
      if (s === null) {
        dropped.push(templateId);
        continue;
      }
      const p = this.personOf[c.slot] ?? '';
      const cur = best.get(p);
      if (!cur || s > cur.score) {
        best.set(p, { score: s, templateId });
        kthScore = kth(best, k);
      }
    }
    return false;
  }

  private exactScore(slot: number): number | null {
    let v = this.exactOf[slot];
    if (v === undefined && this.exactSource) {
      try {
        v = this.exactSource.readEmbedding(this.rowIds[slot] ?? -1) ?? undefined;
      } catch (e) {
        if (!(e instanceof RosterIntegrityError)) throw e;
        this.log?.warn({ templateId: this.templateOf[slot], code: e.code }, 'template dropped from the index');
        return null;
      }
    }
    if (v === undefined || v.length !== this.dim) return null;
    let dot = 0;
    for (let d = 0; d < this.dim; d++) dot += (this.qf[d] ?? 0) * (v[d] ?? 0);
    return dot / (this.norm[slot] ?? 1);
  }

  private removeSlot(i: number): void {
    const last = this.n - 1;
    const person = this.personOf[i] ?? '';
    const tid = this.templateOf[i] ?? '';
    this.slotsOf.get(person)?.delete(i);
    if (this.slotsOf.get(person)?.size === 0) this.slotsOf.delete(person);
    this.slotOfTemplate.delete(tid);
    if (i !== last) {
      this.kernel.setRow(i, this.kernel.row(last));
      this.scale[i] = this.scale[last] ?? 0;
      this.resid[i] = this.resid[last] ?? 0;
      this.codeNorm[i] = this.codeNorm[last] ?? 0;
      this.norm[i] = this.norm[last] ?? 0;
      this.rowIds[i] = this.rowIds[last] ?? -1;
      const lp = this.personOf[last] ?? '';
      const lt = this.templateOf[last] ?? '';
      this.personOf[i] = lp;
      this.templateOf[i] = lt;
      this.exactOf[i] = this.exactOf[last];
      const set = this.slotsOf.get(lp);
      set?.delete(last);
      set?.add(i);
      this.slotOfTemplate.set(lt, i);
    }
    this.personOf.length = last;
    this.templateOf.length = last;
    this.exactOf.length = last;
    this.n = last;
  }

  private reserve(need: number): void {
    if (need <= this.cap) return;
    const cap = Math.max(need, Math.ceil(this.cap * 1.5), 16);
    this.kernel.reserve(cap);
    const grow = (a: Float64Array): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.scale = grow(this.scale);
    this.resid = grow(this.resid);
    this.codeNorm = grow(this.codeNorm);
    this.norm = grow(this.norm);
    this.rowIds = grow(this.rowIds);
    this.cap = cap;
  }

  private loadFrom(store: RosterStore, personIds?: readonly string[]): void {
    if (personIds === undefined) this.reserve(store.templateCount());
    const failures = store.forEachTemplate((t) => this.addStored(t), personIds);
    if (failures.length > 0) this.log?.warn({ count: failures.length }, 'templates quarantined while loading');
  }

  private addStored(t: StoredTemplate): void {
    this.add({ personId: t.personId, templateId: t.templateId, modelId: t.modelId, embedding: t.embedding, rowId: t.rowId });
  }

  private applyChange(store: RosterStore, c: RosterChange): void {
    if (c.replacedAll) {
      for (const p of [...this.slotsOf.keys()]) this.removePerson(p);
      this.reenrol.clear();
      this.loadFrom(store);
      return;
    }
    for (const p of c.revoked) this.removePerson(p);
    for (const p of c.upserted) this.removePerson(p);
    if (c.upserted.length > 0) this.loadFrom(store, c.upserted);
  }
}

const ROUNDER = 6755399441055744; // 1.5 * 2^52: adding and subtracting it rounds to an integer

/**
 * Round to nearest (ties to even) for |x| < 2^51, without branches. Math.round measured about 10x
 * slower here, which made building a 100,000-template index take over a second longer.
 */
function roundHalfEven(x: number): number {
  return x + ROUNDER - ROUNDER;
}

function kth(best: Map<string, { score: number }>, k: number): number {
  if (best.size < k) return -Infinity;
  const s = [...best.values()].map((b) => b.score).sort((a, b) => b - a);
  return s[k - 1] ?? -Infinity;
}

function heapPush(u: Float64Array, idx: Int32Array, size: number, val: number, i: number): void {
  let c = size;
  while (c > 0) {
    const p = (c - 1) >> 1;
    if ((u[p] ?? 0) <= val) break;
    u[c] = u[p] ?? 0;
    idx[c] = idx[p] ?? 0;
    c = p;
  }
  u[c] = val;
  idx[c] = i;
}

function heapReplaceTop(u: Float64Array, idx: Int32Array, size: number, val: number, i: number): void {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    if (l >= size) break;
    const r = l + 1;
    const m = r < size && (u[r] ?? 0) < (u[l] ?? 0) ? r : l;
    if ((u[m] ?? 0) >= val) break;
    u[c] = u[m] ?? 0;
    idx[c] = idx[m] ?? 0;
    c = m;
  }
  u[c] = val;
  idx[c] = i;
}
