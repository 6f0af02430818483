// Lays out one group's children, top to bottom in dataflow order. Runs in the layout worker (or, when no
// worker can start, on the main thread). Two shapes that large groups usually have are laid out directly,
// in time linear in their size: children without edges between them (a grid), and children that the edges
// put in one column, one per rank (layers of a Keras model, the blocks of a network, a chunk of them), whose
// longer edges (skip connections) run in lanes beside the column. Anything else goes to dagre, which costs
// about a millisecond per node and edge; in a large group, each chain of nodes (each feeding only the next,
// which only it feeds) is given to dagre as one tall node, and its members stacked inside it afterwards.

import { ALIKE_NODES_BEFORE_GRID, NODE_SEP, RANK_SEP, dagreLayoutOf } from "./layout-dagre";
import type { GroupLayout, LayoutRequest, Point } from "./layout";
import { withLastRolesLast, withoutEdges } from "./layout-order";

/** Lanes of the edges that skip ranks in a column: the first one's distance from the widest node, then apart. */
const LANE_MARGIN = 16;
const LANE_SEP = 10;

/** Groups at least this large have their chains contracted before dagre (smaller ones are cheap as they are). */
export const CONTRACT_CHAINS_FROM = 40;

export type LayoutMethod = "grid" | "column" | "chains" | "dagre";

/** Lays out one group's children (node centres and edge routes in the group's own coordinates). */
export function computeLayout(request: LayoutRequest): GroupLayout {
  return layoutWith(request, chooseMethod(request));
}

/** Which layout a request gets: see the top of this file. */
export function chooseMethod(request: LayoutRequest): LayoutMethod {
  request = withLastRolesLast(request).request;
  const ids = request.nodes.map((node) => node.id);
  const known = new Set(ids);
  const edges = request.edges.filter((edge) => edge.from !== edge.to && known.has(edge.from) && known.has(edge.to));
  if (edges.length === 0) return "grid";
  if (columnOrder(ids, edges)) return "column";
  return ids.length >= CONTRACT_CHAINS_FROM && findChains(ids, edges) ? "chains" : "dagre";
}

export function layoutWith(request: LayoutRequest, method: LayoutMethod): GroupLayout {
  // (a backward group after the forward children: edges that order, laid out but not drawn)
  const ordered = withLastRolesLast(request);
  return withoutEdges(layoutOrdered(ordered.request, method), ordered.added);
}

function layoutOrdered(request: LayoutRequest, method: LayoutMethod): GroupLayout {
  if (method === "grid") return gridLayout(request);
  const ids = request.nodes.map((node) => node.id);
  const known = new Set(ids);
  const edges = request.edges.filter((edge) => edge.from !== edge.to && known.has(edge.from) && known.has(edge.to));
  if (method === "column") {
    const order = columnOrder(ids, edges);
    if (order) return columnLayout(request, order, edges);
  }
  if (method === "chains") {
    const chains = findChains(ids, edges);
    if (chains) return chainsLayout(request, chains, edges);
  }
  return dagreLayoutOf(request);
}

/**
 * The chains of a graph: maximal runs of nodes each of which feeds only the next one, which only it feeds
 * (every node is in one chain, most alone). Undefined when there is no chain of two or more, or when a
 * chain is closed into a loop (a contracted graph could not draw that edge).
 */
export function findChains(ids: readonly string[], edges: readonly { from: string; to: string }[]): string[][] | undefined {
  const successors = new Map<string, Set<string>>(ids.map((id) => [id, new Set()]));
  const predecessors = new Map<string, Set<string>>(ids.map((id) => [id, new Set()]));
  for (const { from, to } of edges) {
    successors.get(from)!.add(to);
    predecessors.get(to)!.add(from);
  }
  const next = new Map<string, string>();
  for (const id of ids) {
    const out = successors.get(id)!;
    if (out.size !== 1) continue;
    const [to] = out;
    if (to !== id && predecessors.get(to!)!.size === 1) next.set(id, to!);
  }
  const followers = new Set(next.values());
  const chains: string[][] = [];
  const chainOf = new Map<string, number>();
  for (const id of ids) {
    if (followers.has(id)) continue;
    const chain = [id];
    chainOf.set(id, chains.length);
    for (let at = next.get(id); at !== undefined && !chainOf.has(at); at = next.get(at)) {
      chainOf.set(at, chains.length);
      chain.push(at);
    }
    chains.push(chain);
  }
  // Nodes of a ring (every one follows another) were never reached.
  if (chainOf.size !== ids.length || chains.every((chain) => chain.length === 1)) return undefined;
  for (const { from, to } of edges) if (chainOf.get(from) === chainOf.get(to) && next.get(from) !== to) return undefined;
  return chains;
}

/** dagre over the chains as tall nodes; each chain's members stacked in its box, on its axis. */
function chainsLayout(
  request: LayoutRequest,
  chains: readonly string[][],
  edges: readonly { from: string; to: string }[],
): GroupLayout {
  const size = new Map(request.nodes.map((node) => [node.id, node]));
  const head = new Map<string, string>();
  const place = new Map<string, number>();
  for (const chain of chains) {
    chain.forEach((id, index) => {
      head.set(id, chain[0]!);
      place.set(id, index);
    });
  }
  const inChain = (from: string, to: string) => head.get(from) === head.get(to) && place.get(to) === place.get(from)! + 1;
  const unique = uniqueEdges(edges);
  const outerEdges = new Map<string, { from: string; to: string }>();
  for (const { from, to } of unique) {
    if (inChain(from, to)) continue;
    const key = `${head.get(from)}\n${head.get(to)}`;
    if (!outerEdges.has(key)) outerEdges.set(key, { from: head.get(from)!, to: head.get(to)! });
  }
  const outer = dagreLayoutOf({
    nodes: chains.map((chain) => ({
      id: chain[0]!,
      width: Math.max(...chain.map((id) => size.get(id)!.width)),
      height: chain.reduce((sum, id) => sum + size.get(id)!.height, 0) + (chain.length - 1) * RANK_SEP,
    })),
    edges: [...outerEdges.values()],
  });

  const nodes: GroupLayout["nodes"] = {};
  for (const chain of chains) {
    const centre = outer.nodes[chain[0]!]!;
    const height = chain.reduce((sum, id) => sum + size.get(id)!.height, 0) + (chain.length - 1) * RANK_SEP;
    let top = centre.y - height / 2;
    for (const id of chain) {
      const member = size.get(id)!;
      nodes[id] = { x: centre.x, y: top + member.height / 2 };
      top += member.height + RANK_SEP;
    }
  }
  const topOf = (id: string) => ({ x: nodes[id]!.x, y: nodes[id]!.y - size.get(id)!.height / 2 });
  const bottomOf = (id: string) => ({ x: nodes[id]!.x, y: nodes[id]!.y + size.get(id)!.height / 2 });
  const routes = new Map(outer.edges.map((edge) => [`${edge.from}\n${edge.to}`, edge.points]));
  const routed = unique.flatMap(({ from, to }) => {
    if (inChain(from, to)) return [{ from, to, points: [bottomOf(from), topOf(to)] }];
    const points = routes.get(`${head.get(from)}\n${head.get(to)}`);
    if (!points) return [];
    // dagre's ends are on the chains' boxes; move them to the members' own top and bottom.
    const down = nodes[to]!.y >= nodes[from]!.y;
    const middle = points.length > 2 ? points.slice(1, -1) : [];
    return [{ from, to, points: [down ? bottomOf(from) : topOf(from), ...middle, down ? topOf(to) : bottomOf(to)] }];
  });
  return { width: outer.width, height: outer.height, nodes, edges: routed };
}

/**
 * Children without edges between them: rows of up to ALIKE_NODES_BEFORE_GRID nodes stay one row, more make a
 * grid about twice as wide as it is tall (as dagre draws them with the stacking edges below).
 */
/** Each (from, to) pair once: a group may hold several edges between the same two children. */
function uniqueEdges<E extends { from: string; to: string }>(edges: readonly E[]): E[] {
  const seen = new Set<string>();
  return edges.filter(({ from, to }) => {
    const key = `${from}\n${to}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function gridLayout(request: LayoutRequest): GroupLayout {
  const count = request.nodes.length;
  if (count === 0) return { width: 0, height: 0, nodes: {}, edges: [] };
  const columns = count <= ALIKE_NODES_BEFORE_GRID ? count : Math.ceil(Math.sqrt(count * 2));
  const cellWidth = Math.max(...request.nodes.map((node) => node.width));
  const rows = Math.ceil(count / columns);
  const nodes: GroupLayout["nodes"] = {};
  let top = 0;
  for (let row = 0; row < rows; row++) {
    const members = request.nodes.slice(row * columns, (row + 1) * columns);
    const height = Math.max(...members.map((node) => node.height));
    members.forEach((node, column) => {
      nodes[node.id] = { x: column * (cellWidth + NODE_SEP) + cellWidth / 2, y: top + height / 2 };
    });
    top += height + RANK_SEP;
  }
  const width = Math.min(columns, count) * (cellWidth + NODE_SEP) - NODE_SEP;
  return { width, height: top - RANK_SEP, nodes, edges: [] };
}

/**
 * The nodes in dataflow order when every node is on a path through all of them: each node feeds the next
 * one (and maybe later ones), none is left out. Undefined otherwise (branches side by side, unconnected
 * nodes, cycles).
 */
export function columnOrder(ids: readonly string[], edges: readonly { from: string; to: string }[]): string[] | undefined {
  const successors = new Map<string, Set<string>>(ids.map((id) => [id, new Set()]));
  const inDegree = new Map<string, number>(ids.map((id) => [id, 0]));
  for (const { from, to } of edges) {
    const next = successors.get(from)!;
    if (next.has(to)) continue;
    next.add(to);
    inDegree.set(to, inDegree.get(to)! + 1);
  }
  // Kahn's algorithm: a single path exists exactly when there is never more than one node ready.
  let ready = ids.filter((id) => inDegree.get(id) === 0);
  const order: string[] = [];
  while (ready.length === 1) {
    const id = ready[0]!;
    order.push(id);
    ready = [];
    for (const next of successors.get(id)!) {
      const degree = inDegree.get(next)! - 1;
      inDegree.set(next, degree);
      if (degree === 0) ready.push(next);
    }
  }
  if (order.length !== ids.length) return undefined;
  // Consecutive nodes must be joined, or the column would show a gap where there is no dataflow.
  for (let i = 1; i < order.length; i++) if (!successors.get(order[i - 1]!)!.has(order[i]!)) return undefined;
  return order;
}

/**
 * One node per rank, centred on one axis; an edge to the next node is a straight line, an edge that skips
 * nodes runs in a lane to the right of the column (lanes are shared by edges whose spans do not overlap).
 */
function columnLayout(
  request: LayoutRequest,
  order: readonly string[],
  edges: readonly { from: string; to: string }[],
): GroupLayout {
  const size = new Map(request.nodes.map((node) => [node.id, node]));
  const maxWidth = Math.max(...request.nodes.map((node) => node.width));
  const axis = maxWidth / 2;
  const nodes: GroupLayout["nodes"] = {};
  const rank = new Map<string, number>();
  const tops: number[] = [];
  let top = 0;
  order.forEach((id, index) => {
    const { height } = size.get(id)!;
    rank.set(id, index);
    tops.push(top);
    nodes[id] = { x: axis, y: top + height / 2 };
    top += height + RANK_SEP;
  });
  const bottomOf = (id: string) => tops[rank.get(id)!]! + size.get(id)!.height;
  const topOf = (id: string) => tops[rank.get(id)!]!;

  // Lanes of the long edges, by first fit in order of their start.
  const unique = uniqueEdges(edges);
  const long = unique
    .filter(({ from, to }) => rank.get(to)! - rank.get(from)! > 1)
    .sort((a, b) => rank.get(a.from)! - rank.get(b.from)! || rank.get(a.to)! - rank.get(b.to)!);
  const laneEnds: number[] = [];
  const laneOf = new Map<string, number>();
  for (const { from, to } of long) {
    const start = rank.get(from)!;
    let lane = laneEnds.findIndex((end) => end <= start);
    if (lane < 0) lane = laneEnds.push(0) - 1;
    laneEnds[lane] = rank.get(to)!;
    laneOf.set(`${from}\n${to}`, lane);
  }
  const laneX = (lane: number) => maxWidth + LANE_MARGIN + lane * LANE_SEP;

  const routed = unique.map(({ from, to }) => {
    const lane = laneOf.get(`${from}\n${to}`);
    let points: Point[];
    if (lane === undefined) {
      points = [
        { x: axis, y: bottomOf(from) },
        { x: axis, y: topOf(to) },
      ];
    } else {
      const x = laneX(lane);
      const leave = { x: axis + size.get(from)!.width / 4, y: bottomOf(from) };
      const arrive = { x: axis + size.get(to)!.width / 4, y: topOf(to) };
      points = [leave, { x, y: leave.y + RANK_SEP / 2 }, { x, y: arrive.y - RANK_SEP / 2 }, arrive];
    }
    return { from, to, points };
  });
  const width = laneEnds.length > 0 ? laneX(laneEnds.length - 1) + LANE_SEP / 2 : maxWidth;
  return { width, height: top - RANK_SEP, nodes, edges: routed };
}
