import { groups, growth, Heap, type RawSnapshot } from '../../bench/heap-diff';

/**
 * A heap snapshot in V8's format, built by hand: nodes are [type, name, id, self_size, edge_count],
 * edges are [type, name_or_index, to_node (index into nodes, times the field count)].
 */
function snapshot(nodes: Array<[type: string, name: string, id: number, size: number, edges: Array<[type: string, name: string, to: number]>]>): RawSnapshot {
  const nodeTypes = ['hidden', 'array', 'string', 'object', 'code', 'closure', 'synthetic'];
  const edgeTypes = ['context', 'element', 'property', 'internal', 'hidden', 'shortcut', 'weak'];
  const strings: string[] = [];
  const str = (s: string): number => {
    const i = strings.indexOf(s);
    return i >= 0 ? i : strings.push(s) - 1;
  };
  const flatNodes: number[] = [];
  const flatEdges: number[] = [];
  for (const [type, name, id, size, edges] of nodes) {
    flatNodes.push(nodeTypes.indexOf(type), str(name), id, size, edges.length);
    for (const [et, en, to] of edges) flatEdges.push(edgeTypes.indexOf(et), et === 'element' ? Number(en) : str(en), to * 5);
  }
  return {
    snapshot: {
      meta: {
        node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'],
        node_types: [nodeTypes],
        edge_fields: ['type', 'name_or_index', 'to_node'],
        edge_types: [edgeTypes],
      },
    },
    nodes: flatNodes,
    edges: flatEdges,
    strings,
  };
}

describe('heap snapshot comparison', () => {
  // the root holds a cache (a Map) that holds one Entry in A and three in B
  const a = snapshot([
    ['synthetic', '(GC roots)', 1, 0, [['property', 'cache', 1]]],
    ['object', 'Map', 3, 40, [['element', '0', 2]]],
    ['object', 'Entry', 5, 100, []],
    ['string', 'hello', 7, 24, []],
  ]);
  const b = snapshot([
    ['synthetic', '(GC roots)', 1, 0, [['property', 'cache', 1]]],
    ['object', 'Map', 3, 40, [['element', '0', 2], ['element', '1', 3], ['element', '2', 4], ['weak', 'w', 5]]],
    ['object', 'Entry', 5, 100, []],
    ['object', 'Entry', 9, 120, []],
    ['object', 'Entry', 11, 120, []],
    ['code', 'f', 13, 500, []],
  ]);

  it('groups objects by constructor and other nodes by kind, with their count and own size', () => {
    const g = groups(new Heap(b));
    expect(g.get('object:Entry')).toEqual({ count: 3, bytes: 340 });
    expect(g.get('object:Map')).toEqual({ count: 1, bytes: 40 });
    expect(g.get('code')).toEqual({ count: 1, bytes: 500 });
  });

  it('says which groups grew between two snapshots and by how much, a group gone as negative', () => {
    const rows = growth(groups(new Heap(a)), groups(new Heap(b)));
    const by = new Map(rows.map((r) => [r.group, r]));
    expect(by.get('object:Entry')).toMatchObject({ countA: 1, countB: 3, dCount: 2, dBytes: 240 });
    expect(by.get('code')).toMatchObject({ countA: 0, dCount: 1, dBytes: 500 });
    expect(by.get('string')).toMatchObject({ countB: 0, dCount: -1, dBytes: -24 });
    expect(by.get('object:Map')).toMatchObject({ dCount: 0, dBytes: 0 });
  });

  it('finds what holds a node by its strong edges only', () => {
    const h = new Heap(b);
    const held = h.retainers(3).map((r) => `${h.group(r.from)} ${h.edgeLabel(r.edge)}`);
    expect(held).toEqual(['object:Map element [1]']);
    expect(h.retainers(5)).toEqual([]); // only a weak edge points at the code object
    expect(h.id(4)).toBe(11);
  });
});
