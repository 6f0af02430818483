// Node captions and the sizes they need. Text width is estimated from the character count (the graph
// uses one font at fixed sizes), so sizes can be computed without touching the DOM.

import { foldSentence, paramsLabel, repeatSentence } from "./module-info";
import type { VisibleNode } from "./visible-node";

export const NAME_FONT_SIZE = 12;
export const DETAIL_FONT_SIZE = 10;
const CHAR_WIDTH_PER_FONT_PX = 0.62;

export function estimateTextWidth(text: string, fontSize: number): number {
  return text.length * fontSize * CHAR_WIDTH_PER_FONT_PX;
}

/** Shortens `text` with an ellipsis so that it fits in `maxWidth`. */
export function fitText(text: string, maxWidth: number, fontSize: number): string {
  const maxChars = Math.max(1, Math.floor(maxWidth / (fontSize * CHAR_WIDTH_PER_FONT_PX)));
  return text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`;
}

/** 1234567 → "1,234,567" (toLocaleString is slow enough to show when thousands of captions are made). */
export function formatNumber(count: number): string {
  const digits = String(count);
  return /^\d{4,}$/.test(digits) ? digits.replace(/\B(?=(\d{3})+$)/g, ",") : digits;
}

export function formatCount(count: number, unit: string): string {
  return `${formatNumber(count)} ${unit}${count === 1 ? "" : "s"}`;
}

/** What a group's details say of the ops below it left unexpanded by the budget: calls and control-flow ops
 * (`While`, `If`, `Case`) alike, so "ops", not "calls". */
export function unexpandedText(count: number): string {
  return `${formatCount(count, "op")} left unexpanded (budget)`;
}

/** The page's words for the ways it shows children together (visible.ts ShowingKind) and for group roles. */
const KIND_WORDS: Record<string, string> = {
  chunk: "part",
  prefix: "by name",
  fold: "alike",
  control_flow: "control flow",
};

/** What the plugin's own groups are called on the page (the graph's name for them is in the details). */
const OWN_GROUP_NAMES: Record<string, string> = {
  inputs: "Inputs",
  outputs: "Outputs",
  functions: "Other functions",
  eager_ops: "Eager ops",
  loose_ops: "Ops outside modules",
};

/**
 * A node's name as the page shows it: the plugin's own groups in words ("Inputs", "Other functions"), a series
 * as its ops' name and count ("AddN ×122" for `AddN[0-121]`); every other node by its name in the graph.
 */
export function displayName(node: { name: string; role?: string; num_children?: number }): string {
  const own = node.role === undefined ? undefined : OWN_GROUP_NAMES[node.role];
  if (own) return own;
  if (node.role === "series") {
    const series = /^(.+)\[(\d+)-(\d+)\]$/.exec(node.name);
    if (series) return `${series[1]} ×${node.num_children ?? Number(series[3]) - Number(series[2]) + 1}`;
  }
  return node.name;
}

/** The plugin's own groups and series say what they are in their name ("Inputs", "AddN ×122"): no caption
 * repeats it. */
export function namedByRole(node: { role?: string }): boolean {
  return node.role !== undefined && (node.role in OWN_GROUP_NAMES || node.role === "series");
}

/** What kind of thing a node is, as shown under its name ("module", "series", "part"...). */
export function kindLabel(node: Pick<VisibleNode, "kind" | "role">): string {
  if (node.kind === "op") return node.role === "variable" ? "variable" : "op";
  const kind = node.role ?? node.kind;
  return KIND_WORDS[kind] ?? kind;
}

/** What a group is: its class when the graph records it ("Dense"), else its kind or role. */
export function groupKindLabel(node: Pick<VisibleNode, "kind" | "role" | "module">): string {
  return node.module?.shortClass ?? kindLabel(node);
}

/** What a group's caption and its tree row say it is: its class or kind, or nothing where its name says it. */
export function captionKind(node: Pick<VisibleNode, "kind" | "role" | "module">): string {
  return namedByRole(node) ? "" : groupKindLabel(node);
}

/** What a prefix group holds, in words (its tooltip and details). */
export function prefixSentence(prefix: string | undefined): string {
  return `the children whose names start with ${prefix ?? ""}`;
}

/**
 * The second line of a node's caption: the op type of an op; for a group its class (or kind), parameter
 * count when known and op count ("Dense · 44 params · 7 ops"). A layer of a Keras callback graph holds no
 * ops: it shows its class alone.
 */
export function detailLine(node: VisibleNode): string {
  if (node.kind === "op") return node.role === "variable" ? `variable · ${node.op ?? ""}` : (node.op ?? "op");
  if (node.kind === "fold") return `${node.childCount} × ${node.foldClass ?? "module"} · ${formatCount(node.numOps, "op")}`;
  const members = node.memberCount ?? node.childCount;
  if (node.kind === "prefix") return `${members} named ${node.prefix ?? ""}… · ${formatCount(node.numOps, "op")}`;
  if (node.kind === "chunk") return `part · ${members} · ${formatCount(node.numOps, "op")}`;
  const kind = captionKind(node);
  const parts = kind ? [kind] : [];
  const params = paramsLabel(node.module);
  if (params !== undefined) parts.push(params);
  if (node.numOps > 0 || node.module?.shortClass === undefined) parts.push(formatCount(node.numOps, "op"));
  return parts.join(" · ");
}

/** The value of the `data-shape` hook on a node's outline: its role if it has one, else its kind. */
export function shapeOf(node: Pick<VisibleNode, "kind" | "role">): string {
  return node.role ?? node.kind;
}

/**
 * A repeat badge's text, a count rather than an alarm: a fold holds "×48"; a module whose mark tells something
 * (visible.ts repeatsTold) is one of "3 alike", or of "3 same ops" where the graph records no parameter shapes to
 * compare (a trace: layers of other sizes look alike).
 */
export function repeatBadge(node: Pick<VisibleNode, "kind" | "repeat" | "inFold" | "repeatTold">): string | undefined {
  if (!node.repeat || node.inFold) return undefined;
  if (node.kind === "fold") return `×${node.repeat.count}`;
  if (!node.repeatTold) return undefined;
  return `${node.repeat.count} ${node.repeat.shapes_compared ? "alike" : "same ops"}`;
}

/** What a repeat badge means, in words (its tooltip and what a screen reader says). */
export function repeatMeaning(node: Pick<VisibleNode, "kind" | "repeat" | "label">): string | undefined {
  if (!node.repeat) return undefined;
  return node.kind === "fold" ? foldSentence(node.label, node.repeat) : repeatSentence(node.repeat);
}
