// A node's costs as the details panel shows them: each measure with its shares of its parent and of the whole
// graph, its heaviest children, and what a FLOPs count that is only a bound says.

import { Colouring, isMeasure, UNKNOWN_REASONS, type ColourBy } from "./colour-by";
import { costsOf, valueOf, type Measure } from "./costs";
import { formatMeasure } from "./number-format";
import type { HierarchyNode } from "./types";

/** A node's costs as the details panel shows them: each known measure with its shares, and its heaviest children. */
export interface CostView {
  rows: {
    measure: Measure;
    value: number;
    /** Share of its parent's value (where the parent has one). */
    ofParent?: number;
    /** Share of the whole graph's value (the top of the colour scale). */
    ofWhole?: number;
    /** Time: the share of its ops the profile timed, where under 1 ("partial": a chunk missing some). */
    coverage?: number | "partial";
    /** The part of the value its backward pass takes (a training step's module only: the rest is its forward pass). */
    backward?: number;
    /** Time: the module has a backward pass the profile did not time (a module without one has neither field). */
    backwardUntimed?: true;
  }[];
  /** The measures the server says are not known for it. */
  unknown: Measure[];
  /** Its children with the most of `measure`, heaviest first (groups whose listing is loaded). */
  heaviest?: { measure: Measure; children: { path: string; name: string; value: number; share?: number }[] };
}

/** How many children the details panel lists as the most expensive. */
export const HEAVIEST_CHILDREN = 5;
const MEASURES: readonly Measure[] = ["params", "flops", "time"];

/**
 * The costs of `node` (from its listing in its parent, or its details), with `parent` and `root` the listings
 * of its parent and of the root, and `own` its own listing when loaded (its children); `preferred` is the
 * measure the page is coloured by, which the heaviest children are sorted by (else the first one known).
 */
export function costView(
  node: HierarchyNode,
  parent: HierarchyNode | undefined,
  root: HierarchyNode | undefined,
  own: HierarchyNode | undefined,
  preferred: ColourBy,
): CostView {
  const costs = costsOf(node);
  const view: CostView = { rows: [], unknown: MEASURES.filter((measure) => costs.unknown.includes(measure)) };
  for (const measure of MEASURES) {
    const value = valueOf(costs, measure);
    if (typeof value !== "number") continue;
    const row: CostView["rows"][number] = { measure, value };
    if (measure === "time" && costs.timePartial) row.coverage = costs.timeCoverage ?? "partial";
    // Forward and backward parts are a module's: the rest of any other node is not its forward pass (the root's
    // holds the loss and the optimizer's work; a backward group is all backward).
    const backward = measure === "time" ? costs.backwardTimeUs : measure === "flops" ? costs.backwardFlops : undefined;
    if (backward !== undefined && node.kind === "module") row.backward = backward;
    else if (measure === "time" && costs.backwardUntimed && node.kind === "module") row.backwardUntimed = true;
    const parentValue = parent && parent.path !== node.path ? valueOf(costsOf(parent), measure) : undefined;
    if (typeof parentValue === "number" && parentValue > 0) row.ofParent = value / parentValue;
    const whole = new Colouring(measure, root).whole;
    if (whole !== undefined && whole > 0) row.ofWhole = value / whole;
    view.rows.push(row);
  }
  const children = own?.children ?? [];
  const measure = [preferred, ...MEASURES].find(
    (m): m is Measure => isMeasure(m as ColourBy) && children.some((child) => typeof valueOf(costsOf(child), m as Measure) === "number"),
  );
  if (measure) {
    const total = valueOf(costs, measure);
    const ranked = children
      .map((child) => ({ path: child.path, name: child.name, value: valueOf(costsOf(child), measure) }))
      .filter((child): child is { path: string; name: string; value: number } => typeof child.value === "number" && child.value > 0)
      .sort((a, b) => b.value - a.value || a.name.localeCompare(b.name))
      .slice(0, HEAVIEST_CHILDREN)
      .map((child) => (typeof total === "number" && total > 0 ? { ...child, share: child.value / total } : child));
    if (ranked.length > 0) view.heaviest = { measure, children: ranked };
  }
  return view;
}

/**
 * Why a node's FLOPs are not known: the ops below it whose FLOPs rule reads a shape the graph does not record, where
 * the server names some (a graph that records shapes), else the general reason (a trace records none).
 */
export function flopsUnknownReason(node: Pick<HierarchyNode, "flops_shapes_missing">): string {
  const ops = node.flops_shapes_missing ?? [];
  if (ops.length === 0) return UNKNOWN_REASONS.flops;
  return "The graph records no shape that these ops' FLOPs depend on (a size known only when it runs, a batch " +
    `dimension left as None): ${ops.join(", ")}.`;
}

/** The mark the server puts after an op type in flops_uncounted for ops whose functions it did not expand. */
const NOT_EXPANDED = " (not expanded)";

/**
 * A node's FLOPs where the server gives a count but names "flops" as not known: a lower bound, with why
 * ("at least 144 FLOPs: Cumsum not counted"), an upper one (a loop counted at its maximum_iterations: "at most"),
 * or some of both ("about"); undefined where its FLOPs are known or not counted at all.
 */
export function flopsLowerBound(
  node: Pick<HierarchyNode, "flops" | "cost_unknown" | "flops_uncounted" | "flops_per_iteration" | "flops_loop_bound">,
): string | undefined {
  if (node.flops === undefined || !node.cost_unknown?.includes("flops")) return undefined;
  const why: string[] = [];
  const uncounted = node.flops_uncounted ?? [];
  const calls = uncounted.filter((type) => type.endsWith(NOT_EXPANDED));
  const types = uncounted.filter((type) => !type.endsWith(NOT_EXPANDED));
  if (calls.length > 0) {
    const shown = calls.map((type) => type.slice(0, -NOT_EXPANDED.length)).join(", ");
    why.push(`${shown} not counted (${calls.length === 1 ? "an op" : "ops"} whose functions were not expanded)`);
  }
  if (types.length > 0) {
    const shown = types.slice(0, 5).join(", ") + (types.length > 5 ? ` and ${types.length - 5} more` : "");
    why.push(`${shown} not counted (no FLOPs rule for ${types.length === 1 ? "this op type" : "these op types"})`);
  }
  if (node.flops_per_iteration) why.push("a loop counted once, per iteration (the graph does not say its trip count)");
  const lower = why.length > 0;
  if (node.flops_loop_bound) {
    why.push("a loop counted at its maximum_iterations (a data-dependent condition may end it sooner)");
  }
  const bound = node.flops_loop_bound ? (lower ? "about" : "at most") : "at least";
  return `${bound} ${formatMeasure("flops", node.flops)}${why.length > 0 ? `: ${why.join("; ")}` : ""}`;
}
