// Lays out one group's children with dagre, top to bottom in dataflow order. Runs in the layout worker.

import { graphlib, layout as dagreLayout, type EdgeLabel } from "@dagrejs/dagre";
import type { GroupLayout, LayoutRequest } from "./layout";

/** Above this many children with the same neighbours, they are stacked into a grid, not one wide row. */
const ALIKE_NODES_BEFORE_GRID = 12;

export function computeLayout(request: LayoutRequest): GroupLayout {
  const graph = new graphlib.Graph({ multigraph: false });
  graph.setGraph({ rankdir: "TB", nodesep: 18, ranksep: 36, edgesep: 10, marginx: 0, marginy: 0 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of request.nodes) graph.setNode(node.id, { width: node.width, height: node.height });
  for (const edge of request.edges) {
    if (graph.hasNode(edge.from) && graph.hasNode(edge.to)) graph.setEdge(edge.from, edge.to, {});
  }
  const gridEdges = stackLooseNodes(graph, request);

  dagreLayout(graph);

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
