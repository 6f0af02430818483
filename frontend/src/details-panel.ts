// The details panel of the selected node. Its element carries data-details-for="<path>" once the
// details of that path are shown.

import { UNKNOWN_REASONS } from "./colour-by";
import { flopsLowerBound, flopsUnknownReason, type CostView } from "./cost-view";
import type { Measure } from "./costs";
import { formatMeasure, formatShare } from "./number-format";
import { html, pathText } from "./dom";
import { displayName, formatCount, formatNumber, prefixSentence, unexpandedText } from "./labels";
import { comparedClause, foldSentence, moduleInfoOf, type ModuleInfo, type ModuleVariable } from "./module-info";
import type { CapturedVariable, Endpoint, NodeDetails, NotExpanded, RepeatMark } from "./types";
import { childPath, realGroupOf } from "./paths";
import type { VisibleNode } from "./visible-node";

/** The name of the real group a child group shows children of ("resnet50" for `resnet50/[conv2]`; "the graph"). */
function realGroupName(path: string): string {
  const real = realGroupOf(path);
  return real === "" ? "the graph" : real.slice(real.lastIndexOf("/") + 1);
}

/** Long lists (a group's inputs can number thousands) are cut here, with a line saying how many more. */
const MAX_ROWS = 200;
/** Other attribute paths of one module shown (a TensorFlow Probability bijector is reached through dozens). */
const MAX_ALIASES = 8;

export interface DetailsPanelHandlers {
  /** The user clicked a node path in the panel (an input, an output, a variable). */
  onReveal(path: string): void;
}

type Cell = Node | string;

const MEASURE_NAMES: Record<Measure, string> = { params: "Parameters", flops: "FLOPs", time: "Time per step" };
const BACKWARD_UNTIMED = "it has backward ops (its backward group), and the profile timed none of them";
const NOT_RUN = "ops TensorFlow never runs: nothing the function returns or must run needs their results (a frozen layer's gradients, an RNN's dropped cell step); they count no FLOPs";
const HEAVIEST_BY: Record<Measure, string> = { params: "by parameters", flops: "by FLOPs", time: "by time per step" };

/** Why an op's functions were not expanded, after "not expanded (<reason>): ". */
const NOT_EXPANDED_WHY: Record<NotExpanded, string> = {
  budget: "its functions would pass the record's expansion budget",
  depth: "some of its bodies call themselves, lie deeper than the calls expanded, or are not in the graph's library",
};

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

  /** Details of a chunk, prefix group or fold, which only the page knows about (ShowingKind). */
  showChildGroup(group: VisibleNode): void {
    this.element.setAttribute("data-details-for", group.path);
    const kind =
      group.kind === "fold" && group.repeat
        ? foldSentence(group.label, group.repeat)
        : group.kind === "prefix"
          ? `${prefixSentence(group.prefix)}, in the graph's order (a way of showing them, not a scope of the graph)`
          : "a slice of a large group's children, in the graph's order";
    this.element.replaceChildren(
      html("h2", {}, group.label),
      this.facts([
        ["Kind", kind],
        ["Shown as", html("span", { class: "mg-path" }, ...pathText(group.path))],
        ["Holds", `${formatNumber(group.memberCount ?? group.childCount)} children of ${realGroupName(group.path)}` +
          (group.childCount === group.memberCount ? "" : `, shown as ${group.childCount}`)],
        ["Class", group.foldClass],
        ["Ops", formatCount(group.numOps, "op")],
      ]),
    );
  }

  /**
   * Details of a node from the node route. `drawn` is the node as the hierarchy route listed it (with the
   * page's repeat mark); the node route adds what enters and leaves it and the captured variables placed in it.
   * `costs`: its parameters, FLOPs and time with their shares of its parent and of the graph.
   */
  show(details: NodeDetails, drawn?: VisibleNode, costs?: CostView): void {
    this.element.setAttribute("data-details-for", details.path);
    const fromDetails = moduleInfoOf(details);
    const module: ModuleInfo | undefined = drawn?.module ? { ...drawn.module } : fromDetails;
    if (module && !module.variables && fromDetails?.variables) module.variables = fromDetails.variables;
    const repeat = drawn?.repeat; // (the node route lists no siblings: no repeat mark)
    const captured = details.captured_variables ?? [];
    const facts: [string, Cell | undefined][] = [
      ["Path", html("span", { class: "mg-path" }, ...pathText(details.path))],
      ["Name in the graph", displayName(details) === details.name ? undefined : details.name],
      ["Kind", details.kind],
      ...this.moduleFacts(details.path, module, repeat),
      ["Role", details.role],
      ["Op type", details.op],
      ["Op name", details.op_name],
      ["Fused kernel", details.fused === undefined ? undefined : `${details.fused}: its time is on the first of these ops`],
      ["Device", details.device || undefined],
      ["Function", details.function],
      ["Not expanded", details.not_expanded && `not expanded (${details.not_expanded}): ${NOT_EXPANDED_WHY[details.not_expanded]}`],
      ["Not expanded", details.unexpanded_ops ? unexpandedText(details.unexpanded_ops) : undefined],
      ["Ops", details.kind === "op" ? undefined : formatCount(details.num_ops, "op")],
      ["Children", details.num_children === undefined ? undefined : String(details.num_children)],
    ];
    this.element.replaceChildren(
      html(
        "h2",
        {},
        displayName(details),
        module?.frozen && html("span", { class: "mg-frozen-badge", title: "frozen: no trainable parameters" }, "❄ frozen"),
      ),
      this.facts(facts),
      this.costs(costs, details),
      this.heaviest(costs),
      this.moduleVariables(module?.variables),
      this.endpoints(details.kind === "op" ? "Inputs" : "Inputs entering the group", details.inputs),
      this.endpoints(details.kind === "op" ? "Outputs" : "Outputs leaving the group", details.outputs),
      this.attributes(details.attrs),
      this.opTypes(details.op_types),
      this.variables(captured, module?.variables !== undefined),
    );
  }

  /** Class, attribute path, parameters, frozen state and repeated structure of a module. */
  private moduleFacts(path: string, module: ModuleInfo | undefined, repeat: RepeatMark | undefined) {
    const facts: [string, Cell | undefined][] = [];
    if (module?.className !== undefined) {
      const qualified = module.className !== module.shortClass && html("code", { class: "mg-qualified" }, module.className);
      facts.push(["Class", html("span", {}, html("strong", {}, module.shortClass ?? module.className), " ", qualified)]);
    }
    if (module?.attributePath !== undefined) {
      facts.push([
        "Attribute path",
        module.attributePath === "" ? "(the recorded module itself)" : html("code", {}, module.attributePath),
      ]);
    }
    if (module?.aliases?.length) {
      const shown = module.aliases.slice(0, MAX_ALIASES);
      const more = module.aliases.length - shown.length;
      facts.push([
        "Also reached as",
        html(
          "span",
          { class: "mg-aliases" },
          ...shown.flatMap((alias, i) => [i ? ", " : "", html("code", {}, alias)]),
          more > 0 ? ` and ${more} more` : "",
        ),
      ]);
    }
    if (module?.numParams !== undefined) {
      const total = formatNumber(module.numParams);
      facts.push([
        "Parameters",
        module.paramsEstimated ? `~${total} (estimated from the shapes of the variables its ops read)` : total,
      ]);
    }
    if (module?.numTrainableParams !== undefined) {
      facts.push(["Trainable parameters", formatNumber(module.numTrainableParams)]);
    }
    if (module?.frozen) facts.push(["Frozen", "yes: its parameters are not trainable"]);
    if (repeat) {
      const parent = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
      const first = childPath(parent, repeat.key);
      const sameAs = first === path ? html("span", {}, repeat.key, " (this one)") : this.pathLink(first, repeat.key);
      facts.push([
        "Structure",
        html("span", { class: "mg-repeat-fact" }, `one of ${repeat.count} modules with the same structure as `, sameAs, comparedClause(repeat)),
      ]);
    }
    return facts;
  }

  /** What the node costs: each measure known, its share of its parent and of the whole graph; what is not known. */
  private costs(costs: CostView | undefined, details: NodeDetails): HTMLElement | string {
    if (!costs || (costs.rows.length === 0 && costs.unknown.length === 0)) return "";
    const lowerBound = flopsLowerBound(details);
    const rows: Cell[][] = [];
    for (const row of costs.rows) {
      rows.push([
        MEASURE_NAMES[row.measure],
        html("span", { "data-cost-row": row.measure }, formatMeasure(row.measure, row.value)),
        row.ofParent === undefined ? "" : formatShare(row.ofParent),
        row.ofWhole === undefined ? "" : formatShare(row.ofWhole),
      ]);
      if (row.measure === "flops" && details.flops_not_run) {
        // (why its FLOPs are fewer than its ops suggest: a frozen layer's gradients, an RNN's dropped step)
        const n = details.flops_not_run;
        rows.push([
          html("span", { class: "mg-cost-part", title: NOT_RUN }, "not run"),
          html("span", { "data-cost-row": "not-run-flops", title: NOT_RUN }, `${formatNumber(n)} ${n === 1 ? "op" : "ops"}, 0 FLOPs`),
          "",
          "",
        ]);
      }
      if (row.coverage !== undefined) {
        // A row of its own, short: said beside the value it widened the column past the panel's edge.
        const share = row.coverage === "partial" ? "part" : formatShare(row.coverage);
        rows.push([
          html("span", { class: "mg-cost-part", title: "the share of its ops the profile timed (of the op types it times at all)" }, "ops timed"),
          html("span", { "data-cost-row": `coverage-${row.measure}` }, share),
          "",
          "",
        ]);
      }
      if (row.backward !== undefined) {
        // A training step's module: its forward and backward passes, each with its share of the whole above.
        const parts = [
          ["forward", Math.max(0, row.value - row.backward)],
          ["backward", row.backward],
        ] as const;
        for (const [pass, value] of parts) {
          const share = row.value > 0 ? ` (${formatShare(value / row.value)} of it)` : "";
          rows.push([
            html("span", { class: "mg-cost-part", title: `${MEASURE_NAMES[row.measure]}, ${pass} pass` }, pass),
            html("span", { "data-cost-row": `${pass}-${row.measure}` }, formatMeasure(row.measure, value) + share),
            "",
            "",
          ]);
        }
      } else if (row.backwardUntimed) {
        // (said, or it would read as a module without a backward pass)
        rows.push([
          html("span", { class: "mg-cost-part", title: `${MEASURE_NAMES[row.measure]}, backward pass` }, "backward"),
          html("span", { class: "mg-unknown", "data-cost-row": `backward-${row.measure}`, title: BACKWARD_UNTIMED }, "not timed"),
          "",
          "",
        ]);
      }
    }
    for (const measure of costs.unknown) {
      if (measure === "flops" && lowerBound !== undefined) {
        rows.push([MEASURE_NAMES[measure], html("span", { class: "mg-lower-bound" }, lowerBound), "", ""]);
        continue;
      }
      const why = measure === "flops" ? flopsUnknownReason(details) : UNKNOWN_REASONS[measure];
      rows.push([MEASURE_NAMES[measure], html("span", { class: "mg-unknown", title: why }, "not known"), "", ""]);
    }
    return html("div", { class: "mg-costs" }, this.section("Costs", ["Measure", "Value", "Of parent", "Of graph"], rows, 0, () => undefined, false));
  }

  private heaviest(costs: CostView | undefined): HTMLElement | string {
    const heaviest = costs?.heaviest;
    if (!heaviest) return "";
    const rows = heaviest.children.map((child) => [
      this.pathLink(child.path, child.name),
      formatMeasure(heaviest.measure, child.value),
      child.share === undefined ? "" : formatShare(child.share),
    ]);
    const title = `Most expensive children (${HEAVIEST_BY[heaviest.measure]})`;
    return this.section(title, ["Child", "Value", "Share"], rows, 1, () => undefined, false);
  }

  private facts(rows: [string, Cell | undefined][]): HTMLElement {
    const list = html("dl", { class: "mg-facts" });
    for (const [name, value] of rows) {
      if (value === undefined) continue;
      list.append(html("dt", {}, name), html("dd", {}, value));
    }
    return list;
  }

  private pathLink(path: string, text = path): HTMLButtonElement {
    const button = html("button", { type: "button", class: "mg-link", title: `Show ${path}` }, ...pathText(text));
    button.addEventListener("click", () => this.handlers.onReveal(path));
    return button;
  }

  /** A variable's name (often a path of scopes): wraps after its "/" first, whole in its tooltip. */
  private nameText(name: string): HTMLElement {
    return html("span", { title: name }, ...pathText(name));
  }

  /** A titled table; its first `wrapping` columns hold paths and names, which may wrap anywhere. */
  private section(
    title: string,
    headers: string[],
    rows: Cell[][],
    wrapping = 1,
    rowClass: (index: number) => string | undefined = () => undefined,
    counted = true,
  ): HTMLElement | string {
    if (rows.length === 0) return "";
    const cell = (value: Cell, column: number) => html("td", { class: column < wrapping ? "mg-wrap" : undefined }, value);
    const table = html(
      "table",
      { class: wrapping > 1 ? "mg-wrap-two" : undefined },
      html("thead", {}, html("tr", {}, ...headers.map((header) => html("th", {}, header)))),
      html(
        "tbody",
        {},
        ...rows.slice(0, MAX_ROWS).map((row, index) => html("tr", { class: rowClass(index) }, ...row.map(cell))),
      ),
    );
    return html(
      "section",
      {},
      html("h3", {}, counted ? `${title} (${rows.length})` : title),
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
      .map(([op, count]) => [op, formatNumber(count)]);
    return this.section("Op types", ["Op", "Count"], rows);
  }

  /** The variables a recorded module holds; frozen ones (not trainable) and shared ones are marked. */
  private moduleVariables(variables: ModuleVariable[] | undefined): HTMLElement | string {
    const list = variables ?? [];
    const rows = list.map((variable) => [
      variable.shared
        ? html(
            "span",
            {},
            this.nameText(variable.name),
            " ",
            html(
              "span",
              { class: "mg-shared-mark", title: "another module holds it too: counted once, in the modules above both" },
              "shared",
            ),
          )
        : this.nameText(variable.name),
      variable.shape,
      variable.dtype,
      variable.trainable ? "trainable" : html("span", { class: "mg-frozen-mark" }, "❄ frozen"),
    ]);
    return this.section("Variables", ["Name", "Shape", "Dtype", "Trainable"], rows, 1, (index) =>
      list[index]!.trainable ? undefined : "mg-frozen-row",
    );
  }

  /** The captured variables (graph inputs) placed in the group. */
  private variables(variables: CapturedVariable[], moduleVariablesShown: boolean): HTMLElement | string {
    const rows = variables.map((variable) => [
      this.pathLink(variable.path),
      this.nameText(variable.name),
      variable.dtype ?? "",
      variable.shape ?? "",
    ]);
    const title = moduleVariablesShown ? "Captured variables" : "Variables";
    return this.section(title, ["Node", "Name", "Dtype", "Shape"], rows, 2);
  }
}
