// How a node compares while two graphs are compared (the `diff` route's fields, as the graph and the tree draw
// them): its status, shown as a colour, an outline style and a mark (colour is never the only sign), what
// changed, and the counts of statuses below a group. Pure: no DOM.

import type { DiffChange, DiffCounts, DiffDelta, DiffNode, DiffStatus } from "./types";

/** How a node compares, as its listing says. */
export interface DiffMark {
  status: DiffStatus;
  changes?: DiffChange[];
  /** Its path in B, where that differs from its path (a renamed node and what is below it). */
  pathB?: string;
  counts?: DiffCounts;
  delta?: DiffDelta;
}

/** The statuses in the order the legend lists them, each with its mark (a letter-like sign beside the colour) and
 * what it means. */
export const DIFF_STATUSES: readonly { status: DiffStatus; mark: string; label: string; what: string }[] = [
  { status: "added", mark: "+", label: "Added", what: "only in B" },
  { status: "removed", mark: "−", label: "Removed", what: "only in A" },
  { status: "changed", mark: "~", label: "Changed", what: "it, or something inside it, differs" },
  { status: "renamed", mark: "→", label: "Renamed", what: "alike, under another name in B" },
  { status: "same", mark: "", label: "Same", what: "alike in both" },
];

export function diffSign(status: DiffStatus): string {
  return DIFF_STATUSES.find((entry) => entry.status === status)?.mark ?? "";
}

export function diffLabel(status: DiffStatus): string {
  return DIFF_STATUSES.find((entry) => entry.status === status)?.label ?? status;
}

/** The comparison fields of a listing's node, when it is a comparison's. */
export function diffMarkOf(node: DiffNode): DiffMark | undefined {
  if (node.diff === undefined) return undefined;
  const mark: DiffMark = { status: node.diff };
  if (node.changes !== undefined) mark.changes = node.changes;
  if (node.path_b !== undefined) mark.pathB = node.path_b;
  if (node.counts !== undefined) mark.counts = node.counts;
  if (node.delta !== undefined) mark.delta = node.delta;
  return mark;
}

/** The status of several nodes shown as one (a chunk, a prefix group, a fold): theirs when they all share one,
 * else changed. */
export function groupStatus(statuses: readonly (DiffStatus | undefined)[]): DiffStatus | undefined {
  if (statuses.length === 0 || statuses.some((status) => status === undefined)) return undefined;
  return statuses.every((status) => status === statuses[0]) ? statuses[0] : "changed";
}

/** Whether anything below a node of the union tree differs: its counts name a status other than same. An added
 * or removed node counts as one change (all inside it is so too). */
export function changesBelow(node: DiffNode): boolean {
  if (node.kind === "op" || node.diff === "added" || node.diff === "removed") return false;
  const counts = node.counts;
  if (!counts) return node.diff !== undefined && node.diff !== "same";
  return (counts.changed ?? 0) + (counts.added ?? 0) + (counts.removed ?? 0) + (counts.renamed ?? 0) > 0;
}
