/**
 * Compares two V8 heap snapshots of one process (`npm run bench:soak -- --heap-snapshots K` writes them
 * with node --heapsnapshot-signal) the way the comparison view of the browser's tools does: objects
 * grouped by kind and constructor (or closure name), with their count and own size in each snapshot,
 * sorted by growth. What grew between the end of the warm-up and the end of a soak is a candidate leak;
 * `--retainers GROUP` then says what holds the objects of that group that are new in the second snapshot
 * (node ids are stable within a process), and `--paths N` follows N of them up their first strong
 * retainers to see the chain.
 *
 *   node --max-old-space-size=4096 --import tsx bench/heap-diff.ts A.heapsnapshot B.heapsnapshot
 *        [--top N] [--retainers 'object:Foo'] [--paths N] [--json]
 */
import { readFileSync } from 'node:fs';
import { r2, wantsJson } from './stats';

export interface RawSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** A snapshot with its nodes indexed (node n's fields start at n * nodeFieldCount). */
export class Heap {
  readonly nodeCount: number;
  private readonly nf: number;
  private readonly ef: number;
  private readonly f: { type: number; name: number; id: number; size: number; edges: number };
  private readonly e: { type: number; name: number; to: number };
  private readonly nodeTypes: string[];
  private readonly edgeTypes: string[];
  /** index of each node's first edge */
  private readonly firstEdge: Uint32Array;
  private retainersOf: Map<number, Array<{ from: number; edge: number }>> | null = null;

  constructor(private readonly raw: RawSnapshot) {
    const m = raw.snapshot.meta;
    this.nf = m.node_fields.length;
    this.ef = m.edge_fields.length;
    const at = (fields: string[], name: string): number => {
      const i = fields.indexOf(name);
      if (i < 0) throw new Error(`heap snapshot without a ${name} field`);
      return i;
    };
    this.f = { type: at(m.node_fields, 'type'), name: at(m.node_fields, 'name'), id: at(m.node_fields, 'id'), size: at(m.node_fields, 'self_size'), edges: at(m.node_fields, 'edge_count') };
    this.e = { type: at(m.edge_fields, 'type'), name: at(m.edge_fields, 'name_or_index'), to: at(m.edge_fields, 'to_node') };
    this.nodeTypes = m.node_types[0];
    this.edgeTypes = m.edge_types[0];
    this.nodeCount = raw.nodes.length / this.nf;
    this.firstEdge = new Uint32Array(this.nodeCount + 1);
    let edge = 0;
    for (let n = 0; n < this.nodeCount; n++) {
      this.firstEdge[n] = edge;
      edge += (raw.nodes[n * this.nf + this.f.edges] as number) * this.ef;
    }
    this.firstEdge[this.nodeCount] = edge;
  }

  type(n: number): string {
    return this.nodeTypes[this.raw.nodes[n * this.nf + this.f.type] as number] ?? '?';
  }

  name(n: number): string {
    return this.raw.strings[this.raw.nodes[n * this.nf + this.f.name] as number] ?? '?';
  }

  id(n: number): number {
    return this.raw.nodes[n * this.nf + this.f.id] as number;
  }

  size(n: number): number {
    return this.raw.nodes[n * this.nf + this.f.size] as number;
  }

  /** The group a node is counted in: its kind, and for objects, closures and the like its name. */
  group(n: number): string {
    const t = this.type(n);
    switch (t) {
      case 'string':
      case 'concatenated string':
      case 'sliced string':
      case 'number':
      case 'heap number':
      case 'bigint':
      case 'code':
        return t;
      default: {
        const name = this.name(n);
        return `${t}:${name.length > 80 ? `${name.slice(0, 77)}...` : name}`;
      }
    }
  }

  /** What holds node n: strong edges into it (weak ones do not keep anything alive). */
  retainers(n: number): Array<{ from: number; edge: number }> {
    if (!this.retainersOf) {
      const r = new Map<number, Array<{ from: number; edge: number }>>();
      const toFieldOffset = this.e.to;
      for (let from = 0; from < this.nodeCount; from++) {
        for (let e = this.firstEdge[from] as number; e < (this.firstEdge[from + 1] as number); e += this.ef) {
          if (this.edgeTypes[this.raw.edges[e + this.e.type] as number] === 'weak') continue;
          const to = (this.raw.edges[e + toFieldOffset] as number) / this.nf;
          let list = r.get(to);
          if (!list) r.set(to, (list = []));
          list.push({ from, edge: e });
        }
      }
      this.retainersOf = r;
    }
    return this.retainersOf.get(n) ?? [];
  }

  edgeLabel(e: number): string {
    const type = this.edgeTypes[this.raw.edges[e + this.e.type] as number] ?? '?';
    const nameOrIndex = this.raw.edges[e + this.e.name] as number;
    const name = type === 'element' || type === 'hidden' ? `[${nameOrIndex}]` : (this.raw.strings[nameOrIndex] ?? '?');
    return `${type} ${name}`;
  }
}

export interface GroupFigures {
  count: number;
  bytes: number;
}

export function groups(h: Heap): Map<string, GroupFigures> {
  const out = new Map<string, GroupFigures>();
  for (let n = 0; n < h.nodeCount; n++) {
    const g = h.group(n);
    const f = out.get(g) ?? { count: 0, bytes: 0 };
    f.count++;
    f.bytes += h.size(n);
    out.set(g, f);
  }
  return out;
}

/** Each group's count and bytes in A and in B, and their growth (B - A); unsorted. */
export function growth(ga: Map<string, GroupFigures>, gb: Map<string, GroupFigures>): Array<{ group: string; countA: number; countB: number; bytesA: number; bytesB: number; dCount: number; dBytes: number }> {
  return [...new Set([...ga.keys(), ...gb.keys()])].map((g) => {
    const x = ga.get(g) ?? { count: 0, bytes: 0 };
    const y = gb.get(g) ?? { count: 0, bytes: 0 };
    return { group: g, countA: x.count, countB: y.count, bytesA: x.bytes, bytesB: y.bytes, dCount: y.count - x.count, dBytes: y.bytes - x.bytes };
  });
}

function load(file: string): Heap {
  return new Heap(JSON.parse(readFileSync(file, 'utf8')) as RawSnapshot);
}

function main(): void {
  const argv = process.argv.slice(2);
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const files = argv.filter((a, i) => !a.startsWith('--') && !(i > 0 && ['--top', '--retainers', '--paths'].includes(argv[i - 1] as string)));
  if (files.length !== 2) throw new Error('usage: heap-diff A.heapsnapshot B.heapsnapshot [--top N] [--retainers GROUP] [--paths N] [--json]');
  const top = Number(opt('--top') ?? 25);
  const a = load(files[0] as string);
  const b = load(files[1] as string);
  const ga = groups(a);
  const gb = groups(b);
  const rows = growth(ga, gb);
  const total = (g: Map<string, GroupFigures>): number => [...g.values()].reduce((s, f) => s + f.bytes, 0);
  console.log(`A: ${a.nodeCount} nodes, ${r2(total(ga) / 2 ** 20)} MB; B: ${b.nodeCount} nodes, ${r2(total(gb) / 2 ** 20)} MB`);
  const byBytes = [...rows].sort((p, q) => q.dBytes - p.dBytes).slice(0, top);
  const byCount = [...rows].sort((p, q) => q.dCount - p.dCount).slice(0, top);
  const line = (r: (typeof rows)[number]): string => `| ${r.group.replace(/\|/g, '\\|')} | ${r.countA} | ${r.countB} | ${r.dCount >= 0 ? '+' : ''}${r.dCount} | ${r2(r.bytesA / 1024)} | ${r2(r.bytesB / 1024)} | ${r.dBytes >= 0 ? '+' : ''}${r2(r.dBytes / 1024)} |`;
  const head = '| group | count A | count B | +count | KB A | KB B | +KB |\n|---|---|---|---|---|---|---|';
  console.log(`\ngrowth by own size (top ${top})\n${head}\n${byBytes.map(line).join('\n')}`);
  console.log(`\ngrowth by count (top ${top})\n${head}\n${byCount.map(line).join('\n')}`);

  const which = opt('--retainers');
  if (which) {
    const idsA = new Set<number>();
    for (let n = 0; n < a.nodeCount; n++) if (a.group(n) === which) idsA.add(a.id(n));
    const fresh: number[] = [];
    for (let n = 0; n < b.nodeCount; n++) if (b.group(n) === which && !idsA.has(b.id(n))) fresh.push(n);
    const held = new Map<string, number>();
    for (const n of fresh) for (const r of b.retainers(n)) held.set(`${b.group(r.from)} --${b.edgeLabel(r.edge)}-->`, (held.get(`${b.group(r.from)} --${b.edgeLabel(r.edge)}-->`) ?? 0) + 1);
    console.log(`\n${fresh.length} nodes of ${which} in B are not in A; what holds them:`);
    for (const [k, c] of [...held].sort((p, q) => q[1] - p[1]).slice(0, top)) console.log(`  ${c}\t${k}`);
    const paths = Number(opt('--paths') ?? 3);
    for (const start of fresh.slice(0, paths)) {
      const chain: string[] = [b.group(start)];
      const seen = new Set([start]);
      let n = start;
      for (let depth = 0; depth < 20; depth++) {
        // a named reference (property, element, closure context) says more than V8's internal links,
        // and a synthetic root says least
        const rank = (x: { from: number; edge: number }): number => (b.type(x.from) === 'synthetic' ? 3 : /^(property|element|context) /.test(b.edgeLabel(x.edge)) ? 0 : 1);
        const r = b.retainers(n).filter((x) => !seen.has(x.from)).sort((p, q) => rank(p) - rank(q))[0];
        if (!r) break;
        chain.push(`<-${b.edgeLabel(r.edge)}- ${b.group(r.from)}`);
        seen.add(r.from);
        n = r.from;
      }
      console.log(`\npath: ${chain.join('\n        ')}`);
    }
  }
  if (wantsJson()) {
    console.log(JSON.stringify({ a_mb: r2(total(ga) / 2 ** 20), b_mb: r2(total(gb) / 2 ** 20), growth_kb: byBytes.slice(0, 10).map((r) => ({ group: r.group, count: r.dCount, kb: r2(r.dBytes / 1024) })) }));
  }
}

if (require.main === module) main();
