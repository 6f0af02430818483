// Layout by dagre (layered, for groups of no simpler shape), with the child order of a group's structure
// remembered, so that expanding one box does not reorder its siblings, and loose alike nodes stacked in a grid.

import { graphlib, layout as dagreLayout, type EdgeLabel } from "@dagrejs/dagre";
import type { GroupLayout, LayoutRequest } from "./layout";

/** Above this many children with the same neighbours, they are stacked into a grid, not one wide row. */
export const ALIKE_NODES_BEFORE_GRID = 12;
/** Spacing, as given to dagre: between nodes of a rank, between ranks. */
export const NODE_SEP = 18;
export const RANK_SEP = 36;

export function dagreLayoutOf(request: LayoutRequest): GroupLayout {
  const graph = new graphlib.Graph({ multigraph: false });
  graph.setGraph({ rankdir: "TB", nodesep: NODE_SEP, ranksep: RANK_SEP, edgesep: 10, marginx: 0, marginy: 0 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of request.nodes) graph.setNode(node.id, { width: node.width, height: node.height });
  for (const edge of request.edges) {
    if (graph.hasNode(edge.from) && graph.hasNode(edge.to)) graph.setEdge(edge.from, edge.to, {});
  }
  const gridEdges = stackLooseNodes(graph, request);

  dagreLayout(graph, { customOrder: rememberedOrder(structureKey(request)) });

  const nodes: GroupLayout["nodes"] = {};
  for (const node of request.nodes) {
    const label = graph.node(node.id);
    nodes[node.id] = { x: label.x ?? 0, y: label.y ?? 0 };
  }
  const edges = request.edges
    .filter((edge) => !gridEdges.has(`${edge.from}\n${edge.to}`) && graph.hasEdge(edge.from, edge.to))
    .map((edge) => ({
      from: edge.from,
      to: edge.to,
      points: ((graph.edge(edge.from, edge.to) as EdgeLabel).points ?? []).map((p) => ({ x: p.x, y: p.y })),
    }));
  const size = graph.graph();
  return { width: size.width ?? 0, height: size.height ?? 0, nodes, edges };
}

/**
 * The order dagre found within each rank, by the structure it was found for (the children and edges of a
 * group, sizes aside), keyed by node (a real node by its id, an edge's dummy node by the edge and rank).
 * Expanding a child changes its size and so its group's layout, and its ancestors': their structure is
 * unchanged, and so are the ranks and the order within them, which do not depend on sizes. dagre then only
 * assigns coordinates, and the crossing minimisation (half of its time) is skipped.
 */
const orderMemo = new Map<string, Map<string, number>>();
const ORDER_MEMO_ENTRIES = 200;

/** Forgets the remembered orders (for tests). */
export function forgetOrders(): void {
  orderMemo.clear();
}

function structureKey(request: LayoutRequest): string {
  return JSON.stringify([request.nodes.map((node) => node.id), request.edges.map((edge) => [edge.from, edge.to])]);
}

interface OrderedNode {
  order?: number;
  rank?: number;
  dummy?: string;
  edgeObj?: { v: string; w: string };
  edgeLabel?: { reversed?: boolean };
}

/** A node's key across runs; dummy nodes by their edge (a reversed one apart: a→b and b→a reversed). */
function stableKey(graph: graphlib.Graph, id: string): string | undefined {
  const label = graph.node(id) as OrderedNode;
  if (!label.dummy) return JSON.stringify(["node", id]);
  if (label.dummy === "edge" && label.edgeObj) {
    const { v, w } = label.edgeObj;
    return JSON.stringify(["edge", v, w, label.edgeLabel?.reversed === true, label.rank]);
  }
  return undefined;
}

function rememberedOrder(key: string): NonNullable<Parameters<typeof dagreLayout>[1]>["customOrder"] {
  return (graph, order) => {
    const memo = orderMemo.get(key);
    if (memo) {
      const orders = graph.nodes().map((id) => {
        const stable = stableKey(graph, id);
        return stable === undefined ? undefined : memo.get(stable);
      });
      if (orders.every((value) => value !== undefined)) {
        graph.nodes().forEach((id, index) => ((graph.node(id) as OrderedNode).order = orders[index]));
        orderMemo.delete(key);
        orderMemo.set(key, memo);
        return;
      }
    }
    order(graph, {});
    const found = new Map<string, number>();
    for (const id of graph.nodes()) {
      const stable = stableKey(graph, id);
      const value = (graph.node(id) as OrderedNode).order;
      // Only an order that names every node once can be given back.
      if (stable === undefined || value === undefined || found.has(stable)) return;
      found.set(stable, value);
    }
    orderMemo.set(key, found);
    if (orderMemo.size > ORDER_MEMO_ENTRIES) orderMemo.delete(orderMemo.keys().next().value!);
  };
}

/**
 * dagre puts siblings that have the same neighbours on one rank, side by side: 100 captured variables (no
 * edges at all) or 100 casts fed by one op make a row 15,000 px wide. Invisible edges from the i-th to the
 * (i+columns)-th of each such set stack it into a roughly square grid. Returns the keys of those edges
 * (none is a real edge: nodes with the same neighbours have no edge between them).
 */
function stackLooseNodes(graph: graphlib.Graph, request: LayoutRequest): Set<string> {
  const neighbours = (id: string) =>
    JSON.stringify([(graph.predecessors(id) ?? []).sort(), (graph.successors(id) ?? []).sort()]);
  const alike = new Map<string, string[]>();
  for (const { id } of request.nodes) {
    const key = neighbours(id);
    const set = alike.get(key);
    if (set) set.push(id);
    else alike.set(key, [id]);
  }
  const added = new Set<string>();
  for (const set of alike.values()) {
    if (set.length <= ALIKE_NODES_BEFORE_GRID) continue;
    const columns = Math.ceil(Math.sqrt(set.length * 2));
    for (let i = 0; i + columns < set.length; i++) {
      graph.setEdge(set[i]!, set[i + columns]!, {});
      added.add(`${set[i]}\n${set[i + columns]}`);
    }
  }
  return added;
}
