// The visible graph: which nodes are drawn, given the groups loaded so far and the set of expanded paths.
// Pure functions, shared by the graph and the tree so that both always show the same thing.

import { costsOf, sumCosts, type NodeCosts } from "./colour-by";
import { moduleInfoOf, repeatOf, type ModuleInfo } from "./module-info";
import type { HierarchyEdge, HierarchyNode, NodeKind, RepeatMark } from "./types";

/** Groups with more children than this are shown as chunks of CHUNK_SIZE children. */
export const CHUNK_THRESHOLD = 150;
export const CHUNK_SIZE = 100;

export type VisibleKind = NodeKind | "chunk";

export interface VisibleNode {
  path: string;
  /** What the node shows as its name: the hierarchy name, or "group [1-100]" for a chunk. */
  label: string;
  kind: VisibleKind;
  role?: string;
  op?: string;
  /** Class, parameters, frozen state and variables of a module, when the graph records them. */
  module?: ModuleInfo;
  /** A module among siblings of the same structure. */
  repeat?: RepeatMark;
  /** Parameters, FLOPs, time and devices, where the answers give them. */
  costs?: NodeCosts;
  numOps: number;
  /** How many children the node has, drawn or not. */
  childCount: number;
  expandable: boolean;
  /** True when the node's children are drawn inside it. */
  expanded: boolean;
  /** Drawn children (only while expanded). */
  children: VisibleNode[];
  /** Aggregated edges between `children` (only while expanded). */
  edges: HierarchyEdge[];
}

/** A pseudo group holding a slice of a large group's children, in the order the server gave them. */
export interface Chunk {
  path: string;
  label: string;
  members: HierarchyNode[];
}

/** Finds the loaded listing (node with children and edges) of a group, if it was fetched. */
export type ListingLookup = (path: string) => HierarchyNode | undefined;

export function childPath(parentPath: string, name: string): string {
  return parentPath === "" ? name : `${parentPath}/${name}`;
}

/** Paths of the ancestors of `path`, from the root's child down to its parent ("a/b/c" → ["a", "a/b"]). */
export function ancestorPaths(path: string): string[] {
  const segments = path.split("/");
  const result: string[] = [];
  for (let i = 1; i < segments.length; i++) result.push(segments.slice(0, i).join("/"));
  return result;
}

export function isExpandable(node: HierarchyNode): boolean {
  if (node.kind === "op") return false;
  if (node.has_children !== undefined) return node.has_children;
  if (node.num_children !== undefined) return node.num_children > 0;
  return (node.children?.length ?? 0) > 0;
}

/** The chunks of a group's children, or undefined when the group is small enough to show whole. */
export function splitIntoChunks(group: HierarchyNode): Chunk[] | undefined {
  const children = group.children ?? [];
  if (children.length <= CHUNK_THRESHOLD) return undefined;
  const chunks: Chunk[] = [];
  for (let start = 0; start < children.length; start += CHUNK_SIZE) {
    const members = children.slice(start, start + CHUNK_SIZE);
    const range = `[${start + 1}-${start + members.length}]`;
    chunks.push({ path: childPath(group.path, range), label: `${group.name} ${range}`, members });
  }
  return chunks;
}

/** The chunk of `group` that holds the child at `path`, if the group is chunked. */
export function chunkHolding(group: HierarchyNode, path: string): Chunk | undefined {
  return splitIntoChunks(group)?.find((chunk) => chunk.members.some((member) => member.path === path));
}

/**
 * Re-aggregates edges after mapping their ends (e.g. children to the chunks holding them). Edges whose
 * ends map to nothing or to the same node are dropped; parallel edges are merged.
 */
export function aggregateEdges(
  edges: readonly HierarchyEdge[],
  endpointOf: (path: string) => string | undefined,
): HierarchyEdge[] {
  const merged = new Map<string, HierarchyEdge>();
  for (const edge of edges) {
    const from = endpointOf(edge.from);
    const to = endpointOf(edge.to);
    if (from === undefined || to === undefined || from === to) continue;
    const key = JSON.stringify([from, to]);
    const existing = merged.get(key);
    if (!existing) {
      merged.set(key, { ...edge, from, to, dtypes: [...edge.dtypes], shapes: [...edge.shapes] });
      continue;
    }
    existing.count += edge.count;
    existing.control = existing.control && edge.control;
    for (const dtype of edge.dtypes) if (!existing.dtypes.includes(dtype)) existing.dtypes.push(dtype);
    for (const shape of edge.shapes) if (!existing.shapes.includes(shape)) existing.shapes.push(shape);
  }
  return [...merged.values()];
}

function edgesAmong(edges: readonly HierarchyEdge[], members: readonly HierarchyNode[]): HierarchyEdge[] {
  const inside = new Set(members.map((member) => member.path));
  return edges.filter((edge) => inside.has(edge.from) && inside.has(edge.to));
}

/** Builds the visible tree below the root listing: expanded groups whose listing is loaded show their children. */
export function buildVisibleTree(
  rootListing: HierarchyNode,
  expanded: ReadonlySet<string>,
  listingOf: ListingLookup,
): VisibleNode {
  function fromHierarchy(node: HierarchyNode): VisibleNode {
    const visible: VisibleNode = {
      path: node.path,
      label: node.name,
      kind: node.kind,
      numOps: node.num_ops,
      childCount: node.num_children ?? node.children?.length ?? 0,
      expandable: isExpandable(node),
      expanded: false,
      children: [],
      edges: [],
    };
    if (node.role !== undefined) visible.role = node.role;
    if (node.op !== undefined) visible.op = node.op;
    visible.costs = costsOf(node);
    const module = moduleInfoOf(node);
    if (module) visible.module = module;
    const repeat = repeatOf(node);
    if (repeat) visible.repeat = repeat;
    const listing = visible.expandable && expanded.has(node.path) ? listingOf(node.path) : undefined;
    if (listing) fillGroup(visible, listing);
    return visible;
  }

  function fromChunk(chunk: Chunk, groupEdges: readonly HierarchyEdge[]): VisibleNode {
    const visible: VisibleNode = {
      path: chunk.path,
      label: chunk.label,
      kind: "chunk",
      numOps: chunk.members.reduce((sum, member) => sum + member.num_ops, 0),
      childCount: chunk.members.length,
      costs: sumCosts(chunk.members.map(costsOf)),
      expandable: true,
      expanded: expanded.has(chunk.path),
      children: [],
      edges: [],
    };
    if (visible.expanded) {
      visible.children = chunk.members.map(fromHierarchy);
      visible.edges = edgesAmong(groupEdges, chunk.members);
    }
    return visible;
  }

  function fillGroup(visible: VisibleNode, listing: HierarchyNode): void {
    const groupEdges = listing.edges ?? [];
    const chunks = splitIntoChunks(listing);
    visible.expanded = true;
    if (!chunks) {
      visible.children = (listing.children ?? []).map(fromHierarchy);
      visible.edges = [...groupEdges];
      return;
    }
    const chunkOf = new Map<string, string>();
    for (const chunk of chunks) for (const member of chunk.members) chunkOf.set(member.path, chunk.path);
    visible.children = chunks.map((chunk) => fromChunk(chunk, groupEdges));
    visible.edges = aggregateEdges(groupEdges, (path) => chunkOf.get(path));
  }

  const root: VisibleNode = {
    path: rootListing.path,
    label: rootListing.name,
    kind: rootListing.kind,
    numOps: rootListing.num_ops,
    childCount: rootListing.children?.length ?? 0,
    costs: costsOf(rootListing),
    expandable: true,
    expanded: true,
    children: [],
    edges: [],
  };
  fillGroup(root, rootListing);
  return root;
}

/** Visits every visible node below `root` (not the root itself), parents before children. */
export function forEachVisible(root: VisibleNode, visit: (node: VisibleNode, parent: VisibleNode) => void): void {
  const stack: [VisibleNode, VisibleNode][] = root.children.map((child) => [child, root]);
  stack.reverse();
  while (stack.length) {
    const [node, parent] = stack.pop()!;
    visit(node, parent);
    for (let i = node.children.length - 1; i >= 0; i--) stack.push([node.children[i]!, node]);
  }
}

export function findVisible(root: VisibleNode, path: string): VisibleNode | undefined {
  let found: VisibleNode | undefined;
  forEachVisible(root, (node) => {
    if (node.path === path) found = node;
  });
  return found;
}
