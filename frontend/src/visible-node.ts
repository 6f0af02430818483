// A node of the visible graph (what the graph and the tree draw) and walks over a visible tree.

import type { NodeCosts } from "./costs";
import type { DiffMark } from "./diff-marks";
import type { ModuleInfo } from "./module-info";
import type { HierarchyEdge, NodeKind, RepeatMark } from "./types";

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
  /** While comparing two graphs: how it compares (a child group: the status its members share, else changed). */
  diff?: DiffMark;
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
