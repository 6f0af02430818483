// The values of a graph's nodes fetched apart from its structure (the `values` route): one overlay per measure,
// keyed by node path. Whatever reads a node's measures (the colouring, the legend, the details panel) reads the
// node as `apply` gives it: its listing or details with every overlay's values of it in place.

import type { CostMeasure, HierarchyNode, NodeDetails, OverlayValues } from "./types";

export class Overlays {
  private readonly byMeasure = new Map<CostMeasure, Map<string, OverlayValues>>();

  /** Whether values of `measure` were fetched. */
  has(measure: CostMeasure): boolean {
    return this.byMeasure.has(measure);
  }

  /** The values of `measure` fetched for `path`, if any. */
  valuesOf(measure: CostMeasure, path: string): OverlayValues | undefined {
    return this.byMeasure.get(measure)?.get(path);
  }

  /** Keeps `values` of `measure` (by node path), replacing what it held for those paths. */
  set(measure: CostMeasure, values: Readonly<Record<string, OverlayValues>>): void {
    let kept = this.byMeasure.get(measure);
    if (!kept) this.byMeasure.set(measure, (kept = new Map()));
    for (const [path, entry] of Object.entries(values)) kept.set(path, entry);
  }

  /** A copy of `node` (and of its children, as listed) with every overlay's values of it: the measure's fields
   * set, and the measure in `cost_unknown` exactly where its overlay says it is not known. */
  apply<T extends HierarchyNode | NodeDetails>(node: T): T {
    const out: T = { ...node };
    for (const [measure, kept] of this.byMeasure) {
      const entry = kept.get(node.path);
      if (!entry) continue;
      const { unknown, ...fields } = entry;
      Object.assign(out, fields);
      const others = (out.cost_unknown ?? []).filter((name) => name !== measure);
      const names = unknown?.includes(measure) ? [...others, measure] : others;
      if (names.length > 0) out.cost_unknown = names;
      else delete out.cost_unknown;
    }
    const children = (node as HierarchyNode).children;
    if (children) (out as HierarchyNode).children = children.map((child) => this.apply(child));
    return out;
  }
}
