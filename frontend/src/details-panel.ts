// The details panel of the selected node. Its element carries data-details-for="<path>" once the
// details of that path are shown.

import { html } from "./dom";
import { formatCount } from "./labels";
import type { Endpoint, NodeDetails } from "./types";
import type { VisibleNode } from "./visible";

/** Long lists (a group's inputs can number thousands) are cut here, with a line saying how many more. */
const MAX_ROWS = 200;

export interface DetailsPanelHandlers {
  /** The user clicked a node path in the panel (an input, an output, a variable). */
  onReveal(path: string): void;
}

type Cell = Node | string;

export class DetailsPanel {
  readonly element: HTMLElement;

  constructor(private readonly handlers: DetailsPanelHandlers) {
    this.element = html("aside", { class: "mg-details", "aria-label": "Details" });
    this.clear();
  }

  clear(): void {
    this.element.removeAttribute("data-details-for");
    this.element.replaceChildren(html("p", { class: "mg-hint" }, "Select a node to see its details."));
  }

  showLoading(path: string): void {
    this.element.removeAttribute("data-details-for");
    this.element.replaceChildren(html("h2", {}, path), html("p", { class: "mg-hint" }, "Loading details…"));
  }

  /** Details of a chunk, which only the page knows about. */
  showChunk(chunk: VisibleNode): void {
    this.element.setAttribute("data-details-for", chunk.path);
    this.element.replaceChildren(
      html("h2", {}, chunk.label),
      this.facts([
        ["Path", chunk.path],
        ["Kind", "chunk (a slice of a large group's children, in the server's order)"],
        ["Children", String(chunk.childCount)],
        ["Ops", formatCount(chunk.numOps, "op")],
      ]),
    );
  }

  show(details: NodeDetails): void {
    this.element.setAttribute("data-details-for", details.path);
    const facts: [string, Cell | undefined][] = [
      ["Path", details.path],
      ["Kind", details.kind],
      ["Role", details.role],
      ["Op type", details.op],
      ["Op name", details.op_name],
      ["Device", details.device || undefined],
      ["Function", details.function],
      ["Ops", details.kind === "op" ? undefined : formatCount(details.num_ops, "op")],
      ["Children", details.num_children === undefined ? undefined : String(details.num_children)],
    ];
    this.element.replaceChildren(
      html("h2", {}, details.name),
      this.facts(facts),
      this.endpoints(details.kind === "op" ? "Inputs" : "Inputs entering the group", details.inputs),
      this.endpoints(details.kind === "op" ? "Outputs" : "Outputs leaving the group", details.outputs),
      this.attributes(details.attrs),
      this.opTypes(details.op_types),
      this.variables(details.variables),
    );
  }

  private facts(rows: [string, Cell | undefined][]): HTMLElement {
    const list = html("dl", { class: "mg-facts" });
    for (const [name, value] of rows) {
      if (value === undefined) continue;
      list.append(html("dt", {}, name), html("dd", {}, value));
    }
    return list;
  }

  private pathLink(path: string): HTMLButtonElement {
    const button = html("button", { type: "button", class: "mg-link", title: `Show ${path}` }, path);
    button.addEventListener("click", () => this.handlers.onReveal(path));
    return button;
  }

  /** A titled table; its first `wrapping` columns hold paths and names, which may wrap anywhere. */
  private section(title: string, headers: string[], rows: Cell[][], wrapping = 1): HTMLElement | string {
    if (rows.length === 0) return "";
    const cell = (value: Cell, column: number) => html("td", { class: column < wrapping ? "mg-wrap" : undefined }, value);
    const table = html(
      "table",
      {},
      html("thead", {}, html("tr", {}, ...headers.map((header) => html("th", {}, header)))),
      html("tbody", {}, ...rows.slice(0, MAX_ROWS).map((row) => html("tr", {}, ...row.map(cell)))),
    );
    return html(
      "section",
      {},
      html("h3", {}, `${title} (${rows.length})`),
      table,
      rows.length > MAX_ROWS && html("p", { class: "mg-hint" }, `… and ${rows.length - MAX_ROWS} more`),
    );
  }

  private endpoints(title: string, endpoints: Endpoint[] | undefined): HTMLElement | string {
    const rows = (endpoints ?? []).map((endpoint) => [
      this.pathLink(endpoint.path),
      endpoint.control ? "control" : endpoint.port,
      endpoint.dtype ?? "",
      endpoint.shape ?? "",
    ]);
    return this.section(title, ["Node", "Port", "Dtype", "Shape"], rows);
  }

  private attributes(attrs: Record<string, string> | undefined): HTMLElement | string {
    const rows = Object.entries(attrs ?? {}).map(([name, value]) => [name, html("code", {}, value)]);
    return this.section("Attributes", ["Name", "Value"], rows, 2);
  }

  private opTypes(opTypes: Record<string, number> | undefined): HTMLElement | string {
    const rows = Object.entries(opTypes ?? {})
      .sort(([a, countA], [b, countB]) => countB - countA || a.localeCompare(b))
      .map(([op, count]) => [op, count.toLocaleString("en-US")]);
    return this.section("Op types", ["Op", "Count"], rows);
  }

  private variables(variables: NodeDetails["variables"]): HTMLElement | string {
    const rows = (variables ?? []).map((variable) => [
      this.pathLink(variable.path),
      variable.name,
      variable.dtype ?? "",
      variable.shape ?? "",
    ]);
    return this.section("Variables", ["Node", "Name", "Dtype", "Shape"], rows, 2);
  }
}
