// The legend of a comparison ([data-diff-legend] rows, over the graph's lower right corner): what each status's mark
// means and how many nodes of the union tree have it (the root's counts), the measures the comparison could not
// compare and why (a trace records no parameter shapes: "same" there is the structure only), and the buttons that
// walk the changes.

import { DIFF_STATUSES } from "./diff-marks";
import { html } from "./dom";
import type { DiffNode, NotCompared } from "./types";

/** The measures a comparison may leave uncompared, as the note names them. */
const MEASURE_NAMES: Record<keyof NotCompared, string> = { num_params: "parameters", flops: "FLOPs" };

export class DiffLegend {
  readonly element = html("section", { class: "mg-diff-legend mg-float", "aria-label": "Comparison", hidden: true });

  constructor(private readonly onNext: (back: boolean) => void) {}

  /** Shows A and B, the counts of the statuses below the root (the union tree's root listing) and what was not
   * compared (hidden: not comparing). */
  show(comparison: { a: string; b: string; root: DiffNode | undefined } | undefined): void {
    this.element.hidden = comparison === undefined;
    if (!comparison) {
      this.element.replaceChildren();
      return;
    }
    const { a, b, root } = comparison;
    const counts = root?.counts;
    const button = (back: boolean, text: string, title: string) => {
      const element = html("button", { type: "button", class: "mg-next-change", title }, text);
      element.addEventListener("click", () => this.onNext(back));
      return element;
    };
    this.element.replaceChildren(
      html("h3", {}, "Comparing"),
      html("p", { class: "mg-diff-legend-sides" }, html("b", {}, "A "), a, html("br"), html("b", {}, "B "), b),
      ...notComparedNote(root?.not_compared),
      html(
        "ul",
        {},
        ...DIFF_STATUSES.map(({ status, mark, label, what }) =>
          html(
            "li",
            { "data-diff-legend": status, title: what },
            html("span", { class: "mg-diff-legend-mark", "aria-hidden": "true" }, mark),
            html("span", {}, label),
            html("span", { class: "mg-diff-legend-count" }, String(counts?.[status] ?? 0)),
          ),
        ),
      ),
      html(
        "div",
        { class: "mg-diff-legend-walk" },
        button(true, "◀ Previous", "Previous change (Shift+N)"),
        button(false, "Next change ▶", "Next change (n): reveals and selects it"),
      ),
    );
  }
}

/** The note on what the comparison could not compare (none where it compared everything). */
function notComparedNote(missing: NotCompared | undefined): HTMLElement[] {
  const keys = (Object.keys(MEASURE_NAMES) as (keyof NotCompared)[]).filter((key) => missing?.[key] !== undefined);
  if (keys.length === 0) return [];
  const names = capitalised(keys.map((key) => MEASURE_NAMES[key]).join(" and "));
  const why = (key: keyof NotCompared) =>
    html("li", { "data-not-compared-measure": key }, html("b", {}, `${capitalised(MEASURE_NAMES[key])}: `), missing![key]!);
  return [
    html(
      "div",
      { class: "mg-diff-not-compared", role: "note", "data-not-compared": keys.join(" ") },
      html("p", {}, html("b", {}, `${names} not compared`), ": Same means the same structure, not the same sizes."),
      html("ul", {}, ...keys.map(why)),
    ),
  ];
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
