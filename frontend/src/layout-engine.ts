// Lays out one group's children with dagre, top to bottom in dataflow order. Runs in the layout worker.

import { graphlib, layout as dagreLayout, type EdgeLabel } from "@dagrejs/dagre";
import type { GroupLayout, LayoutRequest } from "./layout";

/** Above this many unconnected children, they are stacked into a grid instead of one very wide row. */
const LOOSE_NODES_BEFORE_GRID = 12;

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
 * dagre puts every node without edges on the first rank, side by side: 100 captured variables make a row
 * 15,000 px wide. Invisible edges from node i to node i+columns stack them into a roughly square grid.
 * Returns the keys of the edges it added (none of them is a real edge, since the nodes had none).
 */
function stackLooseNodes(graph: graphlib.Graph, request: LayoutRequest): Set<string> {
  const loose = request.nodes.filter((node) => (graph.nodeEdges(node.id) ?? []).length === 0).map((n) => n.id);
  const added = new Set<string>();
  if (loose.length <= LOOSE_NODES_BEFORE_GRID) return added;
  const columns = Math.ceil(Math.sqrt(loose.length * 2));
  for (let i = 0; i + columns < loose.length; i++) {
    graph.setEdge(loose[i]!, loose[i + columns]!, { minlen: 1 });
    added.add(`${loose[i]}\n${loose[i + columns]}`);
  }
  return added;
}
