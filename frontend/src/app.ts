// The page: picker and search on top, the module tree, the graph and the details panel side by side.
// Wires user actions to the Explorer (what is expanded and selected) and redraws graph and tree from it.

import { ApiError, type Api, type GraphRef } from "./api";
import { COLOUR_BY_CHOICES, Colouring, isColourBy, type ColourBy } from "./colour-by";
import { costView } from "./cost-view";
import { DetailsPanel } from "./details-panel";
import { PaneDivider } from "./divider";
import { html } from "./dom";
import { Explorer } from "./explorer";
import { GraphPicker, graphToOpen } from "./graph-picker";
import { GraphView } from "./graph-view";
import { formatGraphHash, formatTensorBoardHash, parseGraphHash, parseTensorBoardHash, type ViewState } from "./hash";
import { download, exportFileName, pngOf } from "./export";
import { tensorBoardWindow } from "./host";
import { HierarchyStore } from "./hierarchy-store";
import { composeScene, layoutVisibleTree, type GroupLayout } from "./layout";
import { LayoutWorkerClient } from "./layout-client";
import { Legend, legendDrawing } from "./legend";
import { KeyHelp, listenForPageKeys } from "./page-keys";
import { SearchBox } from "./search-box";
import { measureSince, timed } from "./timing";
import { TreeView } from "./tree-view";
import type { GraphEntry, GraphsAnswer } from "./types";
import { isChildGroupPath } from "./paths";
import { findVisible, type VisibleNode } from "./visible-node";

const RECORDING_EXAMPLE = `writer = tf.summary.create_file_writer(logdir)
tf.summary.trace_on(graph=True)
model(x)                      # call your tf.function / tf.Module once
with writer.as_default():
    tf.summary.trace_export(name="model", step=0)`;

const NO_PROFILE =
  "This run holds no profile to time the graph with. Record the graph on the function's first call " +
  "(tf.summary.trace_on(graph=True), the call, tf.summary.trace_export), then profile later calls into the same " +
  "run: tf.profiler.experimental.start(run_dir), a few steps, tf.profiler.experimental.stop().";

/** While the server still counts a big graph's FLOPs, the page asks again this often, at most COST_POLLS times. */
const COST_POLL_MS = 1000;
const COST_POLLS = 60;
/** Pixels between the legend's top and the graph that fit places above it. */
const LEGEND_GAP = 8;

/** How long a redraw waits for its layout before it draws the tree alone (see redraw). */
const TREE_FIRST_AFTER_MS = 120;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What the address asks to show: TensorBoard's address while it names a graph for this tab, else the page's own. */
function wantedView(): ViewState {
  const host = tensorBoardWindow();
  const theirs = host ? parseTensorBoardHash(host.location.hash) : undefined;
  return theirs?.run !== undefined ? theirs : parseGraphHash(location.hash);
}

/** Paths outermost first (an expanded group before what is expanded inside it), then by name. */
function sortPaths(paths: Iterable<string>): string[] {
  const depth = (path: string) => path.split("/").length;
  return [...paths].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
}

function sameGraph(a: GraphRef | undefined, b: GraphRef | undefined): boolean {
  return a !== undefined && b !== undefined && a.run === b.run && a.tag === b.tag;
}

/** The one role="alert" element (the message alone), present only while there is something to say. */
class AlertArea {
  readonly element = html("div", { class: "mg-alerts" });

  show(message: string): void {
    const dismiss = html("button", { type: "button", class: "mg-dismiss", "aria-label": "Dismiss" }, "×");
    dismiss.addEventListener("click", () => this.clear());
    this.element.replaceChildren(html("div", { role: "alert", class: "mg-alert" }, message), dismiss);
  }

  clear(): void {
    this.element.replaceChildren();
  }
}

export class App {
  private readonly alert = new AlertArea();
  private readonly status = html("span", { class: "mg-status", role: "status", "aria-live": "polite" });
  private readonly picker: GraphPicker;
  private readonly search: SearchBox;
  private readonly graphView: GraphView;
  private readonly treeView: TreeView;
  private readonly details: DetailsPanel;
  private readonly main: HTMLElement;
  private readonly emptyState: HTMLElement;
  private readonly layoutClient: LayoutWorkerClient;
  private readonly fitButton: HTMLButtonElement;
  private readonly exportButtons: HTMLButtonElement[];
  private readonly colourSelect: HTMLSelectElement;
  private readonly legend = new Legend();
  private readonly keyHelp = new KeyHelp();
  private readonly divider: PaneDivider;

  private graphs: GraphEntry[] = [];
  private explorer: Explorer | undefined;
  private layoutCache = new Map<string, GroupLayout>();
  private visible: VisibleNode | undefined;
  /** Bumped by each redraw and each details request, so that late answers to old ones are dropped. */
  private redrawNumber = 0;
  private detailsNumber = 0;
  private pendingLoads = 0;
  private layingOut = false;
  private colourBy: ColourBy = "structure";
  /** Why the open graph has no time to colour by (no profile, one that does not read), once asked. */
  private timeMessage: string | undefined;
  private costPoll: { timer: ReturnType<typeof setTimeout> | undefined; count: number } = { timer: undefined, count: 0 };

  constructor(
    container: HTMLElement,
    private readonly api: Api,
    workerUrl: URL,
  ) {
    this.layoutClient = new LayoutWorkerClient(
      workerUrl,
      (busy) => {
        this.layingOut = busy;
        this.updateStatus();
      },
      (reason) => console.warn(`Modules tab: ${reason}; laying graphs out on the page instead.`),
    );
    this.picker = new GraphPicker((graph) => {
      this.alert.clear();
      void this.openGraph(graph);
    });
    this.search = new SearchBox({
      search: (query, regex) => this.track(this.api.search(this.explorer!.store.graph, query, regex, 50)),
      reveal: (path) => void this.reveal(path),
      onError: (error) => this.showError(error),
    });
    this.graphView = new GraphView({
      onSelect: (path) => this.select(path, "graph"),
      onToggle: (path) => void this.toggle(path),
    });
    this.treeView = new TreeView({
      onSelect: (path) => this.select(path, "tree"),
      onToggle: (path) => void this.toggle(path),
    });
    this.details = new DetailsPanel({ onReveal: (path) => void this.reveal(path) });

    const fitButton = html("button", { type: "button", title: "Fit the graph to the view" }, "Fit");
    fitButton.addEventListener("click", () => this.graphView.fit());
    this.fitButton = fitButton;
    this.exportButtons = (["svg", "png"] as const).map((kind) => {
      const button = html(
        "button",
        { type: "button", "data-export": kind, title: `Download the whole graph (or the selected expanded group) as ${kind.toUpperCase()}, with its legend`, disabled: true },
        kind.toUpperCase(),
      );
      button.addEventListener("click", () => void this.exportView(kind));
      return button;
    });
    this.colourSelect = html(
      "select",
      { name: "colour-by", title: "What the boxes and the tree's rows are coloured by" },
      ...COLOUR_BY_CHOICES.map(({ value, label }) => html("option", { value }, label)),
    );
    this.colourSelect.addEventListener("change", () => {
      if (isColourBy(this.colourSelect.value)) void this.colourByChanged(this.colourSelect.value);
    });
    const colourControl = html("label", { class: "mg-colour-by" }, "Colour by ", this.colourSelect);
    this.graphView.element.append(this.legend.element);
    this.search.setEnabled(false);
    this.divider = new PaneDivider(
      this.treeView.element,
      () => this.main.clientWidth - this.details.element.offsetWidth - this.divider.element.offsetWidth,
    );
    this.main = html(
      "main",
      { class: "mg-main" },
      this.treeView.element,
      this.divider.element,
      this.graphView.element,
      this.details.element,
    );
    this.emptyState = html("section", { class: "mg-empty", hidden: true });
    container.append(
      html(
        "div",
        { class: "mg-app" },
        html("header", { class: "mg-toolbar" }, this.picker.element, this.search.element, colourControl, fitButton, ...this.exportButtons, this.keyHelp.button, this.status),
        this.alert.element,
        this.main,
        this.emptyState,
        this.keyHelp.dialog,
      ),
    );
    listenForPageKeys(document, this.keyHelp, {
      focusSearch: () => this.search.focus(),
      clearSearch: () => this.search.clear(),
      fit: () => {
        if (!this.fitButton.disabled) this.graphView.fit();
      },
    });
    window.addEventListener("hashchange", () => this.onHashChange());
  }

  async start(): Promise<void> {
    const asked = wantedView();
    let answer: GraphsAnswer;
    try {
      // Without an address the server chooses the graph to open (first=1): the page asks nothing of graphs that
      // do not read, and the picker learns which those are.
      answer = await this.track(this.api.graphs(asked.run === undefined && asked.tag === undefined));
      this.graphs = answer.graphs;
    } catch (error) {
      this.showError(error);
      this.graphView.showMessage("The list of graphs could not be loaded.");
      return;
    }
    if (this.graphs.length === 0) {
      this.showEmptyState();
      return;
    }
    this.main.hidden = false;
    this.emptyState.hidden = true;
    this.divider.refresh();
    this.fitButton.disabled = false;
    for (const button of this.exportButtons) button.disabled = false;
    const wanted = wantedView(); // (the address may have changed while the listing loaded)
    const named = wanted.run !== undefined || wanted.tag !== undefined;
    let entry = this.findGraph(wanted);
    if (!entry && named) {
      // The address names a graph this logdir lacks: show the one the server would open first instead.
      answer = await this.track(this.api.graphs(true)).catch(() => answer);
      this.graphs = answer.graphs.length > 0 ? answer.graphs : this.graphs;
    }
    entry ??= graphToOpen(answer) ?? this.graphs[0]!;
    const chosen = { run: entry.run, tag: entry.tag };
    if (named) this.reportMissingGraph(wanted, chosen);
    this.picker.setGraphs(this.graphs, chosen);
    await this.openGraph(chosen, entry.run === wanted.run && entry.tag === wanted.tag ? wanted : undefined);
  }

  private findGraph(wanted: Partial<GraphRef>): GraphEntry | undefined {
    return this.graphs.find((graph) => graph.run === wanted.run && graph.tag === wanted.tag);
  }

  private reportMissingGraph(wanted: Partial<GraphRef>, shown: GraphRef): void {
    if (wanted.run === shown.run && wanted.tag === shown.tag) return;
    this.showError(
      `This logdir has no graph for run "${wanted.run ?? ""}" and tag "${wanted.tag ?? ""}"; ` +
        `showing "${shown.run} / ${shown.tag}".`,
    );
  }

  private showEmptyState(): void {
    const lookAgain = html("button", { type: "button" }, "Look again");
    lookAgain.addEventListener("click", () => void this.start());
    this.emptyState.replaceChildren(
      html("h2", {}, "No graphs in this logdir yet"),
      html(
        "p",
        {},
        "The Modules tab shows a traced TensorFlow graph as the tree of its tf.Module name scopes. " +
          "Record a trace of one call of your model, then look again:",
      ),
      html("pre", {}, html("code", {}, RECORDING_EXAMPLE)),
      html(
        "p",
        {},
        "Graphs written with tf.summary.graph and by the Keras TensorBoard callback (write_graph=True) are listed too.",
      ),
      lookAgain,
    );
    this.main.hidden = true;
    this.emptyState.hidden = false;
    this.fitButton.disabled = true;
    for (const button of this.exportButtons) button.disabled = true;
  }

  /** Someone edited the address: show the graph it names, or say that there is none. */
  private onHashChange(): void {
    const current = this.explorer?.store.graph;
    const wanted = parseGraphHash(location.hash);
    const entry = this.findGraph(wanted);
    if (sameGraph(entry, current)) return;
    this.alert.clear();
    if (!entry) {
      if (current) {
        this.reportMissingGraph(wanted, current);
        history.replaceState(null, "", location.pathname + location.search + formatGraphHash(current));
      }
      return;
    }
    this.picker.choose(entry);
    void this.openGraph({ run: entry.run, tag: entry.tag });
  }

  /** Opens `graph`, then the expanded groups and the selection of `view` (an address's) where they still exist. */
  private async openGraph(graph: GraphRef, view?: ViewState): Promise<void> {
    const explorer = new Explorer(new HierarchyStore(this.api, graph));
    this.explorer = explorer;
    if (!view) this.saveView();
    this.layoutCache = new Map();
    this.visible = undefined;
    this.redrawNumber++;
    this.detailsNumber++;
    this.timeMessage = undefined;
    this.stopCostPoll();
    this.graphView.clear();
    this.graphView.showMessage("Loading the graph…");
    this.treeView.clear();
    this.details.clear();
    this.search.setEnabled(false);
    try {
      await this.track(explorer.start());
    } catch (error) {
      if (explorer !== this.explorer) return;
      if (error instanceof ApiError && error.status === 422) this.picker.setReadability(graph, error.message);
      this.showError(error);
      this.graphView.showMessage("This graph could not be loaded. Pick another one above.");
      return;
    }
    if (explorer !== this.explorer) return;
    if (this.colourBy === "time") await this.loadTimes(explorer);
    if (explorer !== this.explorer) return;
    this.search.setEnabled(true);
    await this.redraw({ fit: true });
    if (view && explorer === this.explorer) await this.restoreView(explorer, view);
  }

  /** Expands what `view` names as expanded (outermost first) and selects what it names, skipping what the graph
   * no longer has; then the address says what is shown. */
  private async restoreView(explorer: Explorer, view: ViewState): Promise<void> {
    for (const path of sortPaths(view.expanded ?? [])) {
      try {
        await explorer.expandPath(path);
      } catch {
        // (no longer in the graph: the rest of the view still opens)
      }
      if (explorer !== this.explorer) return;
    }
    const selected = view.selected;
    let found = false;
    if (selected !== undefined) {
      try {
        await explorer.reveal(selected);
        explorer.selected = selected;
        found = true;
      } catch {
        // (as above)
      }
    }
    if (explorer !== this.explorer) return;
    const drawn = await this.redraw(found ? { keepInView: selected, readable: true } : { fit: true });
    if (drawn && found && explorer === this.explorer) this.select(selected!, "reveal");
    this.saveView();
  }

  /** The address says what is shown: the page's own, and TensorBoard's while it shows this tab. */
  private saveView(): void {
    const explorer = this.explorer;
    if (!explorer) return;
    const expanded = explorer.store.get("") ? explorer.shownExpanded() : [...explorer.expanded];
    const view = { ...explorer.store.graph, expanded: sortPaths(expanded), selected: explorer.selected };
    const own = formatGraphHash(view);
    if (location.hash !== own) history.replaceState(history.state, "", location.pathname + location.search + own);
    const host = tensorBoardWindow();
    if (!host || parseTensorBoardHash(host.location.hash) === undefined) return;
    const theirs = formatTensorBoardHash(view);
    if (host.location.hash !== theirs) {
      host.history.replaceState(host.history.state, "", host.location.pathname + host.location.search + theirs);
    }
  }

  /** Downloads the whole graph (or the selected expanded group) at natural size, named after its run and tag. */
  private async exportView(kind: "svg" | "png"): Promise<void> {
    const explorer = this.explorer;
    if (!explorer) return;
    const { run, tag } = explorer.store.graph;
    const by = COLOUR_BY_CHOICES.find((choice) => choice.value === this.colourBy)?.label ?? this.colourBy;
    const legend = this.legend.model && legendDrawing(this.legend.model);
    // (the selected group when it is expanded, else the whole graph)
    const shot = this.graphView.snapshot(`${run} · ${tag} · coloured by ${by}`, legend, explorer.selected);
    try {
      const file = kind === "svg" ? new Blob([shot.svg], { type: "image/svg+xml" }) : await pngOf(shot.svg, shot.width, shot.height);
      download(file, exportFileName(run, tag, kind));
    } catch (error) {
      this.showError(error);
    }
  }

  /** The colours of the open graph for the chosen measure. */
  private colouring(explorer: Explorer): Colouring {
    const message = this.colourBy === "time" ? this.timeMessage : undefined;
    return new Colouring(this.colourBy, explorer.store.get(""), message);
  }

  /** Colours the graph and the tree, shows the legend, and asks again later for costs still being counted. */
  private applyColouring(explorer: Explorer, visible: VisibleNode): void {
    const colouring = this.colouring(explorer);
    this.graphView.setColouring(colouring);
    this.treeView.setColouring(colouring, visible);
    const drawn: VisibleNode["costs"][] = [];
    const visit = (node: VisibleNode) => {
      drawn.push(node.costs);
      node.children.forEach(visit);
    };
    visible.children.forEach(visit);
    this.legend.show(colouring.legend(drawn));
    this.graphView.setBottomInset(this.legend.element.hidden ? 0 : this.legend.element.offsetHeight + LEGEND_GAP);
    if (colouring.pending()) this.scheduleCostPoll(explorer);
  }

  private scheduleCostPoll(explorer: Explorer): void {
    if (this.costPoll.timer !== undefined || this.costPoll.count >= COST_POLLS) return;
    this.costPoll.timer = setTimeout(async () => {
      this.costPoll.timer = undefined;
      this.costPoll.count++;
      if (explorer !== this.explorer) return;
      try {
        await explorer.store.refresh();
      } catch (error) {
        this.showError(error);
        return;
      }
      if (explorer === this.explorer) await this.redraw({});
    }, COST_POLL_MS);
  }

  private stopCostPoll(): void {
    clearTimeout(this.costPoll.timer);
    this.costPoll = { timer: undefined, count: 0 };
  }

  /** Fetches the open graph's listings again with measured time, or says why there is none. */
  private async loadTimes(explorer: Explorer): Promise<void> {
    if (explorer.store.time || this.timeMessage !== undefined) return;
    const entry = this.findGraph(explorer.store.graph);
    if (!entry?.profiled) {
      this.timeMessage = NO_PROFILE;
      return;
    }
    try {
      await this.track(explorer.store.refresh(true));
    } catch (error) {
      this.timeMessage = messageOf(error);
    }
  }

  private async colourByChanged(by: ColourBy): Promise<void> {
    this.colourBy = by;
    const explorer = this.explorer;
    if (!explorer) return;
    if (by === "time") await this.loadTimes(explorer);
    if (explorer !== this.explorer || this.colourBy !== by) return;
    await this.redraw({});
    if (explorer.selected !== undefined) void this.showDetails(explorer, explorer.selected);
  }

  /**
   * Draws the graph once its layout is ready, then the tree, in a task of its own after the graph's frame:
   * the layout worker's answer does not wait behind the tree's rendering, and no single task draws both.
   * A layout that takes longer than TREE_FIRST_AFTER_MS gets the tree drawn first.
   */
  private async redraw(options: { fit?: boolean; keepInView?: string; readable?: boolean }): Promise<boolean> {
    const explorer = this.explorer;
    if (!explorer) return false;
    const number = ++this.redrawNumber;
    const visible = timed("visible", () => explorer.visibleTree());
    this.visible = visible;
    let treeDrawn = false;
    const drawTree = () => {
      if (treeDrawn || number !== this.redrawNumber) return;
      treeDrawn = true;
      timed("tree", () => this.treeView.render(visible, explorer.selected));
    };
    if (visible.children.length === 0) {
      this.applyColouring(explorer, visible);
      drawTree();
      this.graphView.clear();
      this.graphView.showMessage("This graph has no nodes.");
      return false;
    }
    const early = setTimeout(drawTree, TREE_FIRST_AFTER_MS);
    let scene;
    try {
      const start = performance.now();
      const layouts = await layoutVisibleTree(visible, this.layoutCache, (request) => this.layoutClient.layout(request));
      measureSince("layout", start);
      scene = timed("compose", () => composeScene(visible, layouts));
    } catch (error) {
      drawTree();
      if (number === this.redrawNumber) this.showError(error);
      return false;
    } finally {
      clearTimeout(early);
    }
    if (number !== this.redrawNumber) return false;
    this.graphView.showMessage(undefined);
    this.applyColouring(explorer, visible);
    timed("render", () => this.graphView.render(scene, explorer.selected, options));
    this.saveView();
    // The tree in a task of its own once the graph is on screen: no one task lays out both.
    requestAnimationFrame(() => setTimeout(drawTree, 0));
    return true;
  }

  private async toggle(path: string): Promise<void> {
    const explorer = this.explorer;
    const node = this.visible && findVisible(this.visible, path);
    if (!explorer || !node?.expandable) return;
    if (node.expanded) {
      explorer.collapse(path);
    } else {
      try {
        const start = performance.now();
        await this.track(explorer.expand(node));
        measureSince("load", start);
      } catch (error) {
        this.showError(error);
        return;
      }
      if (explorer !== this.explorer) return;
    }
    await this.redraw({ keepInView: path });
  }

  private select(path: string, from: "graph" | "tree" | "reveal"): void {
    const explorer = this.explorer;
    if (!explorer) return;
    explorer.selected = path;
    this.saveView();
    this.graphView.setSelected(path);
    this.treeView.setSelected(path);
    if (from !== "graph") this.graphView.ensureVisible(path, from === "reveal");
    if (from !== "tree") this.treeView.scrollTo(path);
    void this.showDetails(explorer, path);
  }

  /** Expands everything above `path`, selects it and brings it into view (search, links in the details). */
  private async reveal(path: string): Promise<void> {
    const explorer = this.explorer;
    if (!explorer) return;
    try {
      await this.track(explorer.reveal(path));
    } catch (error) {
      this.showError(error);
      return;
    }
    if (explorer !== this.explorer) return;
    explorer.selected = path;
    if (await this.redraw({ keepInView: path, readable: true })) this.select(path, "reveal");
  }

  private async showDetails(explorer: Explorer, path: string): Promise<void> {
    const number = ++this.detailsNumber;
    const node = this.visible && findVisible(this.visible, path);
    if (node && isChildGroupPath(node.path)) {
      this.details.showChildGroup(node);
      return;
    }
    this.details.showLoading(path);
    try {
      const store = explorer.store;
      const [details] = await this.track(
        Promise.all([this.api.node(store.graph, path, store.time), node && node.kind !== "op" ? store.load(path) : undefined]),
      );
      if (number !== this.detailsNumber) return;
      const parentPath = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
      const costs = costView(details, store.get(parentPath), store.get(""), store.get(path), this.colourBy);
      this.details.show(details, this.visible && findVisible(this.visible, path), costs);
    } catch (error) {
      if (number !== this.detailsNumber) return;
      this.details.clear();
      this.showError(error);
    }
  }

  private showError(error: unknown): void {
    this.alert.show(messageOf(error));
  }

  /** Counts a request in the "loading…" status while it runs. */
  private async track<T>(promise: Promise<T>): Promise<T> {
    this.pendingLoads++;
    this.updateStatus();
    try {
      return await promise;
    } finally {
      this.pendingLoads--;
      this.updateStatus();
    }
  }

  private updateStatus(): void {
    this.status.textContent = this.layingOut ? "laying out…" : this.pendingLoads > 0 ? "loading…" : "";
  }
}
