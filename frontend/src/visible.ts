// The visible graph: which nodes are drawn, given the groups loaded so far and the set of expanded paths.
// Pure functions, shared by the graph and the tree so that both always show the same thing.

import { costsOf, sumCosts, type NodeCosts } from "./colour-by";
import { displayName } from "./labels";
import { moduleInfoOf, repeatOf, type ModuleInfo } from "./module-info";
import type { HierarchyEdge, HierarchyNode, NodeKind, RepeatMark } from "./types";

/** Lists longer than this are shown in chunks of CHUNK_SIZE (what names and repeats leave that long). */
export const CHUNK_THRESHOLD = 150;
export const CHUNK_SIZE = 100;
/** Lists longer than this are shown in prefix groups, where the names share `_`-separated prefixes. */
export const PREFIX_MIN_ITEMS = 16;
/** At least this many consecutive sibling modules of one structure fold into one node. */
export const FOLD_MIN = 3;

/**
 * Ways of showing a group's children that are not nodes of the graph (their paths end in `[...]`, which no
 * TensorFlow name holds): a slice of a long list ("chunk", `g/[1-100]`), the children whose names share a prefix
 * ("prefix", `g/[conv2]`, nested `g/[conv2]/[conv2_block1]`), consecutive modules of one structure ("fold",
 * `g/[block_0…block_47]`).
 */
export type ShowingKind = "chunk" | "prefix" | "fold";
export type VisibleKind = NodeKind | ShowingKind;

export interface VisibleNode {
  path: string;
  /** What the node shows as its name: the hierarchy name, or a child group's ("conv2", "block_0 … block_47"). */
  label: string;
  kind: VisibleKind;
  role?: string;
  op?: string;
  /** Class, parameters, frozen state and variables of a module, when the graph records them. */
  module?: ModuleInfo;
  /** A module among siblings of the same structure; a fold: the mark its members share. */
  repeat?: RepeatMark;
  /** A member of an open fold: the fold shows the count, its members show none. */
  inFold?: boolean;
  /** Its repeat mark tells something its name does not (see repeatsTold): it shows a count. */
  repeatTold?: boolean;
  /** A prefix group: the prefix its members' names share ("conv2_"). */
  prefix?: string;
  /** A fold: its members' class, when the graph records it ("Block"). */
  foldClass?: string;
  /** Parameters, FLOPs, time and devices, where the answers give them. */
  costs?: NodeCosts;
  numOps: number;
  /** How many children the node has, drawn or not (a child group: the items it shows when opened). */
  childCount: number;
  /** A child group: how many of the real group's children it holds, in nested child groups too. */
  memberCount?: number;
  expandable: boolean;
  /** True when the node's children are drawn inside it. */
  expanded: boolean;
  /** Drawn children (only while expanded). */
  children: VisibleNode[];
  /** Aggregated edges between `children` (only while expanded). */
  edges: HierarchyEdge[];
}

/** Some of a group's children shown together (see ShowingKind), in the order the server gave them. */
export interface ChildGroup {
  kind: ShowingKind;
  path: string;
  label: string;
  /** A prefix group: the prefix its members' names share, "_" included ("conv2_"). */
  prefix?: string;
  /** A fold: the repeat mark its members share. */
  repeat?: RepeatMark;
  /** Every child of the real group it holds, nested child groups' too, in order. */
  members: HierarchyNode[];
  /** What it shows when opened: children and nested child groups, in order. */
  items: ChildItem[];
}

export type ChildItem = HierarchyNode | ChildGroup;

export function isChildGroup(item: ChildItem): item is ChildGroup {
  return "members" in item;
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

/** A child group's path (`g/[conv2]`, `g/[1-100]`): the part before its first `[...]` segment is the real group. */
export function isChildGroupPath(path: string): boolean {
  return path.split("/").some((segment) => segment.startsWith("[") && segment.endsWith("]"));
}

/** The real group a child group's path belongs to (`g/[conv2]/[conv2_block1]` → `g`). */
export function realGroupOf(path: string): string {
  const segments = path.split("/");
  const first = segments.findIndex((segment) => segment.startsWith("[") && segment.endsWith("]"));
  return first < 0 ? path : segments.slice(0, first).join("/");
}

export function isExpandable(node: HierarchyNode): boolean {
  if (node.kind === "op") return false;
  if (node.has_children !== undefined) return node.has_children;
  if (node.num_children !== undefined) return node.num_children > 0;
  return (node.children?.length ?? 0) > 0;
}

const arrangements = new WeakMap<HierarchyNode, ChildItem[]>();

/**
 * How a loaded group's children are shown: where the list is long and names share prefixes (`conv2_block1_1_conv`),
 * nested prefix groups; runs of FOLD_MIN or more consecutive modules of one structure (the server's repeat
 * marks), folds; what is still longer than CHUNK_THRESHOLD, chunks. Made once per listing.
 */
export function arrangeChildren(group: HierarchyNode): ChildItem[] {
  let items = arrangements.get(group);
  if (!items) {
    items = arrange(group.children ?? [], group.path, group.name, "");
    arrangements.set(group, items);
  }
  return items;
}

function arrange(children: readonly HierarchyNode[], path: string, label: string, prefix: string): ChildItem[] {
  let items: ChildItem[] = children.length > PREFIX_MIN_ITEMS ? prefixGroups(children, path, prefix) : [...children];
  items = foldRepeats(items, path);
  return items.length > CHUNK_THRESHOLD ? chunksOf(items, path, label) : items;
}

/** The `_`-separated word after `prefix` that `name` is grouped by, or undefined (`dense_1`: a number follows). */
export function prefixWord(name: string, prefix: string): string | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  const cut = rest.indexOf("_");
  if (cut <= 0) return undefined;
  const after = rest.slice(cut + 1);
  return after === "" || /^\d+$/.test(after) ? undefined : rest.slice(0, cut);
}

/**
 * Consecutive children whose names continue `prefix` with the same word become one prefix group, when that at
 * least halves the list (else names carry no such structure: `dense, dropout, dense_1...`); a list that is one
 * such run is grouped by the word after it (conv2's children by block).
 */
function prefixGroups(children: readonly HierarchyNode[], path: string, prefix: string): ChildItem[] {
  const runs: { word: string | undefined; members: HierarchyNode[] }[] = [];
  for (const child of children) {
    const word = prefixWord(child.name, prefix);
    const last = runs[runs.length - 1];
    if (last && word !== undefined && last.word === word) last.members.push(child);
    else runs.push({ word, members: [child] });
  }
  const only = runs[0];
  if (runs.length === 1 && only?.word !== undefined) return prefixGroups(children, path, `${prefix}${only.word}_`);
  // A word that comes back after other names is left ungrouped: one word, one group (and one path).
  const runsOf = new Map<string, number>();
  for (const { word } of runs) if (word !== undefined) runsOf.set(word, (runsOf.get(word) ?? 0) + 1);
  const grouped = (run: (typeof runs)[number]) => run.word !== undefined && run.members.length > 1 && runsOf.get(run.word) === 1;
  const count = runs.reduce((sum, run) => sum + (grouped(run) ? 1 : run.members.length), 0);
  if (count > children.length / 2 || !runs.some(grouped)) return [...children];
  return runs.flatMap((run): ChildItem[] => {
    const { word, members } = run;
    if (word === undefined || !grouped(run)) return members;
    const groupPrefix = `${prefix}${word}_`;
    const groupPath = childPath(path, `[${prefix}${word}]`);
    return [{ kind: "prefix", path: groupPath, label: word, prefix: groupPrefix, members,
      items: arrange(members, groupPath, word, groupPrefix) }];
  });
}

/** Runs of FOLD_MIN or more consecutive modules with one repeat mark become a fold. */
function foldRepeats(items: readonly ChildItem[], path: string): ChildItem[] {
  const out: ChildItem[] = [];
  for (let start = 0; start < items.length; ) {
    const first = items[start]!;
    const key = !isChildGroup(first) ? repeatOf(first)?.key : undefined;
    let end = start + 1;
    while (key !== undefined && end < items.length) {
      const next = items[end]!;
      if (isChildGroup(next) || repeatOf(next)?.key !== key) break;
      end++;
    }
    if (key === undefined || end - start < FOLD_MIN) {
      out.push(first);
      start++;
      continue;
    }
    const members = items.slice(start, end) as HierarchyNode[];
    const head = members[0]!;
    const last = members[members.length - 1]!;
    const foldPath = childPath(path, `[${head.name}…${last.name}]`);
    const label = `${head.name} … ${last.name}`;
    out.push({ kind: "fold", path: foldPath, label, repeat: { ...repeatOf(head)!, count: members.length }, members,
      items: members.length > CHUNK_THRESHOLD ? chunksOf(members, foldPath, label) : members });
    start = end;
  }
  return out;
}

function chunksOf(items: readonly ChildItem[], path: string, label: string): ChildGroup[] {
  const chunks: ChildGroup[] = [];
  for (let start = 0; start < items.length; start += CHUNK_SIZE) {
    const slice = items.slice(start, start + CHUNK_SIZE);
    const range = `[${start + 1}-${start + slice.length}]`;
    chunks.push({ kind: "chunk", path: childPath(path, range), label: `${label} ${range}`, items: slice,
      members: slice.flatMap((item) => (isChildGroup(item) ? item.members : [item])) });
  }
  return chunks;
}

/**
 * The child groups of `group` that hold the child at `path`, outermost first ([] when it is shown directly); with
 * `isGroup`, `path` is a child group's own and the chain ends with it ([] when there is none). A child group's path
 * names the groups it is nested in by name (`g/[conv2]/[conv2_block1]`) but not the parts or folds it sits in.
 */
export function childGroupsHolding(group: HierarchyNode, path: string, isGroup = false): ChildGroup[] {
  const holds = (item: ChildGroup) => (isGroup ? item.path === path : item.members.some((m) => m.path === path));
  const search = (items: readonly ChildItem[]): ChildGroup[] | undefined => {
    for (const item of items) {
      if (!isChildGroup(item)) continue;
      if (holds(item)) return [item, ...(isGroup ? [] : (search(item.items) ?? []))];
      if (isGroup) {
        const below = search(item.items);
        if (below) return [item, ...below];
      }
    }
    return undefined;
  };
  return search(arrangeChildren(group)) ?? [];
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
