// How the graph and the tree show a node's comparison status: a mark in the status's colour (+ added, − removed,
// ~ changed, → renamed) beside the colour and outline style that styles/compare.css gives [data-diff] nodes, so the
// status never rests on colour alone; and the words a node's title says of it.

import { diffLabel, diffSign, DIFF_STATUSES } from "./diff-marks";
import { html, svg } from "./dom";
import type { VisibleNode } from "./visible-node";

/** The graph node's mark: a small disc with the status's sign on its top-left corner (none for same). */
export function diffBadge(node: VisibleNode): SVGGElement | undefined {
  const status = node.diff?.status;
  if (status === undefined || status === "same") return undefined;
  return svg(
    "g",
    { class: "mg-diff-badge", "aria-hidden": "true" },
    svg("circle", { cx: 0, cy: 0, r: 8 }),
    svg("text", { x: 0, y: 4, "text-anchor": "middle" }, diffSign(status)),
  );
}

/** The tree row's mark: the status's sign in its colour (an empty slot for same keeps the names aligned). */
export function treeDiffMark(node: VisibleNode): HTMLElement | false {
  const status = node.diff?.status;
  if (status === undefined) return false;
  return html("span", { class: "mg-tree-diff", title: diffTitle(node) }, diffSign(status));
}

/** What a node's title says of its comparison ("Renamed: in B model/dense_1_2"). */
export function diffTitle(node: VisibleNode): string {
  const diff = node.diff;
  if (!diff) return "";
  const what = DIFF_STATUSES.find((entry) => entry.status === diff.status)?.what ?? "";
  const where = diff.pathB !== undefined ? `; in B: ${diff.pathB}` : "";
  return `${diffLabel(diff.status)}: ${what}${where}`;
}
