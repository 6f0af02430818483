// The visible graph: which nodes are drawn, given the groups loaded so far and the set of expanded paths.
// Pure functions, shared by the graph and the tree so that both always show the same thing.

import { arrangeChildren, isChildGroup, type ChildGroup, type ChildItem } from "./child-groups";
import { costsOf, sumCosts } from "./costs";
import { diffMarkOf, groupStatus } from "./diff-marks";
import { sumDeltas } from "./diff-scale";
import { displayName } from "./labels";
import { moduleInfoOf, repeatOf } from "./module-info";
import type { DiffNode, HierarchyEdge, HierarchyNode } from "./types";
import type { VisibleNode } from "./visible-node";

/** Finds the loaded listing (node with children and edges) of a group, if it was fetched. */
export type ListingLookup = (path: string) => HierarchyNode | undefined;

export function isExpandable(node: HierarchyNode): boolean {
  if (node.kind === "op") return false;
  if (node.has_children !== undefined) return node.has_children;
  if (node.num_children !== undefined) return node.num_children > 0;
  return (node.children?.length ?? 0) > 0;
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

/** A repeat count tells something for at most this many alike siblings: past it, it is on every other box. */
export const REPEAT_TOLD_MAX = 8;

/** A name without its numbers and the separators they leave: `conv2_block1_1_bn` → `conv_block_bn`, `dense_1` → `dense`. */
function nameStem(name: string): string {
  return name.replace(/\d+/g, "").replace(/_+/g, "_").replace(/^_|_$/g, "");
}

/**
 * The repeat keys among `children` whose count is worth a badge: few alike siblings (REPEAT_TOLD_MAX at most)
 * whose names do not already say they are alike (`block_0`, `block_1` do; `encoder` and `decoder` do not).
 * The others keep their shared colour, without a count on every box.
 */
export function repeatsTold(children: readonly HierarchyNode[]): Set<string> {
  const stems = new Map<string, Set<string>>();
  for (const child of children) {
    const repeat = repeatOf(child);
    if (!repeat || repeat.count > REPEAT_TOLD_MAX) continue;
    let names = stems.get(repeat.key);
    if (!names) stems.set(repeat.key, (names = new Set()));
    names.add(nameStem(child.name));
  }
  return new Set([...stems].filter(([, names]) => names.size > 1).map(([key]) => key));
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
      label: displayName(node),
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
    const diff = diffMarkOf(node);
    if (diff) visible.diff = diff;
    const module = moduleInfoOf(node);
    if (module) visible.module = module;
    const repeat = repeatOf(node);
    if (repeat) visible.repeat = repeat;
    if (repeat && told.has(repeat.key)) visible.repeatTold = true;
    const listing = visible.expandable && expanded.has(node.path) ? listingOf(node.path) : undefined;
    if (listing) fillGroup(visible, listing);
    return visible;
  }

  function fromChildGroup(group: ChildGroup, groupEdges: readonly HierarchyEdge[]): VisibleNode {
    const visible: VisibleNode = {
      path: group.path,
      label: group.label,
      kind: group.kind,
      numOps: group.members.reduce((sum, member) => sum + member.num_ops, 0),
      childCount: group.items.length,
      memberCount: group.members.length,
      costs: sumCosts(group.members.map(costsOf)),
      expandable: true,
      expanded: expanded.has(group.path),
      children: [],
      edges: [],
    };
    if (group.prefix !== undefined) visible.prefix = group.prefix;
    const status = groupStatus(group.members.map((member) => (member as DiffNode).diff));
    const delta = sumDeltas(group.members.map((member) => (member as DiffNode).delta));
    if (status) visible.diff = delta ? { status, delta } : { status };
    if (group.repeat) visible.repeat = group.repeat;
    const first = group.members[0];
    if (group.kind === "fold" && first) {
      const shortClass = moduleInfoOf(first)?.shortClass;
      if (shortClass) visible.foldClass = shortClass;
    }
    if (visible.expanded) {
      showItems(visible, group.items, edgesAmong(groupEdges, group.members), groupEdges);
      if (group.kind === "fold") for (const member of visible.children) member.inFold = true;
    }
    return visible;
  }

  /** `items` as `visible`'s children; `edges` (between the members they hold) between them. */
  function showItems(
    visible: VisibleNode,
    items: readonly ChildItem[],
    edges: readonly HierarchyEdge[],
    groupEdges: readonly HierarchyEdge[],
  ): void {
    visible.children = items.map((item) => (isChildGroup(item) ? fromChildGroup(item, groupEdges) : fromHierarchy(item)));
    if (!items.some(isChildGroup)) {
      visible.edges = [...edges];
      return;
    }
    const itemOf = new Map<string, string>();
    for (const item of items) {
      if (isChildGroup(item)) for (const member of item.members) itemOf.set(member.path, item.path);
      else itemOf.set(item.path, item.path);
    }
    visible.edges = aggregateEdges(edges, (path) => itemOf.get(path));
  }

  /** The repeat keys whose marks tell something among the children of the listing being shown. */
  let told: ReadonlySet<string> = new Set();

  function fillGroup(visible: VisibleNode, listing: HierarchyNode): void {
    const groupEdges = listing.edges ?? [];
    visible.expanded = true;
    const outer = told;
    told = repeatsTold(listing.children ?? []);
    showItems(visible, arrangeChildren(listing), groupEdges, groupEdges);
    told = outer;
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
