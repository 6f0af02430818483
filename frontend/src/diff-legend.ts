// The legend of a comparison ([data-diff-legend] rows, over the graph's lower right corner): what each status's mark
// means and how many nodes of the union tree have it (the root's counts), and the buttons that walk the changes.

import { DIFF_STATUSES } from "./diff-marks";
import { html } from "./dom";
import type { DiffCounts } from "./types";

export class DiffLegend {
  readonly element = html("section", { class: "mg-diff-legend mg-float", "aria-label": "Comparison", hidden: true });

  constructor(private readonly onNext: (back: boolean) => void) {}

  /** Shows A and B and the counts of the statuses below the root (hidden: not comparing). */
  show(comparison: { a: string; b: string; counts: DiffCounts | undefined } | undefined): void {
    this.element.hidden = comparison === undefined;
    if (!comparison) {
      this.element.replaceChildren();
      return;
    }
    const { a, b, counts } = comparison;
    const button = (back: boolean, text: string, title: string) => {
      const element = html("button", { type: "button", class: "mg-next-change", title }, text);
      element.addEventListener("click", () => this.onNext(back));
      return element;
    };
    this.element.replaceChildren(
      html("h3", {}, "Comparing"),
      html("p", { class: "mg-diff-legend-sides" }, html("b", {}, "A "), a, html("br"), html("b", {}, "B "), b),
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
