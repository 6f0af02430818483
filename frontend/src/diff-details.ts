// The details panel's comparison section ([data-diff-details]) while two graphs are compared: the node's status,
// its two sides (A's path; B's, where it differs: a renamed node), what changed as a table of field, A and B, and
// the differences of its parameters, FLOPs and time, signed (B minus A).

import type { Measure } from "./costs";
import { diffLabel, diffSign, type DiffMark } from "./diff-marks";
import { html, pathText } from "./dom";
import { signedMeasure } from "./diff-scale";
import type { DiffChange, DiffDelta } from "./types";

const DELTAS: readonly [keyof DiffDelta, Measure, string][] = [
  ["num_params", "params", "Parameters"],
  ["flops", "flops", "FLOPs"],
  ["time_us", "time", "Time per step"],
];

/** A change's value as text: a map (counts of op types, attributes) as "key: value" parts, a list (shapes) as
 * JSON, none as "—". */
export function valueText(value: DiffChange["a"]): string {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return JSON.stringify(value);
  if (typeof value === "object") return Object.entries(value).map(([key, entry]) => `${key}: ${typeof entry === "string" ? entry : JSON.stringify(entry)}`).join(", ");
  return String(value);
}

export function diffSection(path: string, mark: DiffMark): HTMLElement {
  const { status } = mark;
  const sideA = status === "added" ? "—" : html("span", { class: "mg-path" }, ...pathText(path));
  const sideB = status === "removed" ? "—" : html("span", { class: "mg-path" }, ...pathText(mark.pathB ?? path));
  const rows: HTMLElement[] = [
    html("tr", {}, html("th", {}, "Status"), html("td", { "data-diff-status": status }, `${diffSign(status)} ${diffLabel(status)}`.trim())),
    html("tr", {}, html("th", {}, "In A"), html("td", { class: "mg-wrap" }, sideA)),
    html("tr", {}, html("th", {}, "In B"), html("td", { class: "mg-wrap" }, sideB)),
  ];
  for (const [field, measure, label] of DELTAS) {
    const value = mark.delta?.[field];
    if (value !== undefined) rows.push(html("tr", { "data-delta": field }, html("th", {}, `${label} (B − A)`), html("td", {}, signedMeasure(measure, value))));
  }
  const changes = mark.changes ?? [];
  return html(
    "section",
    { class: "mg-diff-details", "data-diff-details": status },
    html("h3", {}, "Comparison"),
    html("table", { class: "mg-diff-facts" }, ...rows),
    changes.length > 0 &&
      html(
        "table",
        { class: "mg-diff-changes mg-wrap-two" },
        html("tr", {}, html("th", {}, "Changed"), html("th", {}, "A"), html("th", {}, "B")),
        ...changes.map((change) =>
          html(
            "tr",
            { "data-change": change.field },
            html("td", {}, change.field),
            html("td", { class: "mg-wrap" }, valueText(change.a)),
            html("td", { class: "mg-wrap" }, valueText(change.b)),
          ),
        ),
      ),
  );
}
