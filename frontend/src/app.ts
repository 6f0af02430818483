// The page: picker and search on top, the module tree, the graph and the details panel side by side.
// Wires user actions to the open graph's session (session.ts: its Explorer, what is expanded and selected, and
// its answers) and redraws graph and tree from it.

import { ApiError, messageOf, type Api, type GraphRef } from "./api";
import { ComparePicker } from "./compare-picker";
import { COLOUR_BY_CHOICES, Colouring, type ColourBy } from "./colour-by";
import { DetailsPanel } from "./details-panel";
import { DiffLegend } from "./diff-legend";
import { showDetails } from "./details-loader";
import { downloadGraph } from "./download-graph";
import { GraphControls } from "./graph-controls";
import { GraphPicker, graphToOpen } from "./graph-picker";
import { GraphView } from "./graph-view";
import { parseGraphHash, type ViewState } from "./hash";
import { composeScene, layoutVisibleTree } from "./layout";
import { LayoutWorkerClient } from "./layout-client";
import { Legend } from "./legend";
import { KeyHelp, listenForPageKeys } from "./page-keys";
import { PageShell } from "./page-shell";
import { SearchBox } from "./search-box";
import { GraphSession } from "./session";
import { measureSince, timed } from "./timing";
import { TreeView } from "./tree-view";
import type { DiffNode, GraphEntry, GraphsAnswer } from "./types";
import { comparedIn, graphName, sameComparison, sameGraph, saveView, showGraphInAddress, shownView, sortPaths, wantedView } from "./view-address";
import { findVisible, type VisibleNode } from "./visible-node";

/** Pixels between the legend's top and the graph that fit places above it. */
const LEGEND_GAP = 8;

/** How long a redraw waits for its layout before it draws the tree alone (see redraw). */
const TREE_FIRST_AFTER_MS = 120;

export class App {
  private readonly shell: PageShell;
  private readonly picker: GraphPicker;
  private readonly search: SearchBox;
  private readonly graphView: GraphView;
  private readonly treeView: TreeView;
  private readonly details: DetailsPanel;
  private readonly layoutClient: LayoutWorkerClient;
  private readonly controls: GraphControls;
  private readonly legend = new Legend();
  private readonly diffLegend = new DiffLegend((back) => this.nextChange(back));
  /** The graph compared with (B): while it names one, the session's listings are the union tree's. */
  private readonly comparePicker: ComparePicker;

  private graphs: GraphEntry[] = [];
  /** The open graph's session (none before the first graph opens). */
  private session: GraphSession | undefined;
  private colourBy: ColourBy = "structure";

  constructor(
    container: HTMLElement,
    private readonly api: Api,
    workerUrl: URL,
  ) {
    this.layoutClient = new LayoutWorkerClient(
      workerUrl,
      (busy) => this.shell.setLayingOut(busy),
      (reason) => console.warn(`Modules tab: ${reason}; laying graphs out on the page instead.`),
    );
    this.picker = new GraphPicker((graph) => {
      this.shell.alert.clear();
      void this.openGraph(graph);
    });
    this.comparePicker = new ComparePicker(() => {
      this.shell.alert.clear();
      const session = this.session; // (its root not come yet, as when the tag's change follows the run's: its view)
      if (session) void this.openGraph(session.graph, session.explorer.store.get("") ? shownView(session.explorer) : session.view);
    });
    this.search = new SearchBox({
      search: (query, regex) => this.shell.track(this.api.search(this.session!.graph, query, regex, 50)),
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
    this.controls = new GraphControls({
      fit: () => this.graphView.fit(),
      // (the whole graph, or the selected expanded group, at natural size, named after its run and tag)
      exportAs: (kind) => {
        const by = COLOUR_BY_CHOICES.find((choice) => choice.value === this.colourBy)?.label ?? this.colourBy;
        if (!this.session) return;
        const { graph, explorer } = this.session;
        downloadGraph(this.graphView, graph, explorer.selected, by, this.legend.model, kind).catch((error) => this.showError(error));
      },
      colourBy: (by) => void this.colourByChanged(by),
    });
    this.search.setEnabled(false);
    const keyHelp = new KeyHelp();
    this.shell = new PageShell(container, {
      picker: this.picker,
      comparePicker: this.comparePicker,
      diffLegend: this.diffLegend,
      search: this.search,
      controls: this.controls,
      keyHelp,
      treeView: this.treeView,
      graphView: this.graphView,
      details: this.details,
      legend: this.legend,
    });
    listenForPageKeys(document, keyHelp, {
      focusSearch: () => this.search.focus(),
      clearSearch: () => this.search.clear(),
      fit: () => {
        if (this.controls.enabled) this.graphView.fit();
      },
      nextChange: (back) => this.nextChange(back),
    });
    window.addEventListener("hashchange", () => this.onHashChange());
  }

  async start(): Promise<void> {
    const asked = wantedView();
    let answer: GraphsAnswer;
    try {
      // Without an address the server chooses the graph to open (first=1): the page asks nothing of graphs that
      // do not read, and the picker learns which those are.
      answer = await this.shell.track(this.api.graphs(asked.run === undefined && asked.tag === undefined));
      this.graphs = answer.graphs;
    } catch (error) {
      this.showError(error);
      this.graphView.showMessage("The list of graphs could not be loaded.");
      return;
    }
    if (this.graphs.length === 0) {
      this.shell.showEmpty(() => void this.start());
      return;
    }
    this.shell.showPanes();
    const wanted = wantedView(); // (the address may have changed while the listing loaded)
    const named = wanted.run !== undefined || wanted.tag !== undefined;
    let entry = this.findGraph(wanted);
    if (!entry && named) {
      // The address names a graph this logdir lacks: show the one the server would open first instead.
      answer = await this.shell.track(this.api.graphs(true)).catch(() => answer);
      this.graphs = answer.graphs.length > 0 ? answer.graphs : this.graphs;
    }
    entry ??= graphToOpen(answer) ?? this.graphs[0]!;
    const chosen = { run: entry.run, tag: entry.tag };
    if (named) this.reportMissingGraph(wanted, chosen);
    this.picker.setGraphs(this.graphs, chosen);
    const compared = comparedIn(wanted);
    this.comparePicker.setGraphs(this.graphs, compared);
    if (compared && !this.comparePicker.current()) this.showError(`This logdir has no graph for run "${compared.run}" and tag "${compared.tag}" to compare with.`);
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

  /** Someone edited the address: show the graph it names, or say that there is none. */
  private onHashChange(): void {
    const current = this.session?.graph;
    const wanted = parseGraphHash(location.hash);
    const entry = this.findGraph(wanted);
    const compared = comparedIn(wanted);
    if (sameGraph(entry, current) && sameComparison(compared, this.session?.compareWith)) return;
    this.shell.alert.clear();
    if (!entry) {
      if (current) {
        this.reportMissingGraph(wanted, current);
        showGraphInAddress(current);
      }
      return;
    }
    this.picker.choose(entry);
    this.comparePicker.choose(compared);
    void this.openGraph({ run: entry.run, tag: entry.tag });
  }

  /** Opens `graph` (compared with the graph the compare picker names, if any), then the expanded groups and the
   * selection of `view` (an address's) where they still exist. */
  private async openGraph(graph: GraphRef, view?: ViewState): Promise<void> {
    this.session?.close();
    const session = new GraphSession(this.api, graph, this.comparePicker.current());
    session.view = view;
    this.session = session;
    if (!view) saveView(session.explorer);
    this.graphView.clear();
    this.graphView.showMessage("Loading the graph…");
    this.treeView.clear();
    this.details.clear();
    this.search.setEnabled(false);
    try {
      await session.guard(this.shell.track(session.explorer.start()));
    } catch (error) {
      if (error instanceof ApiError && error.status === 422 && !session.compareWith) this.picker.setReadability(graph, error.message);
      this.showError(error);
      this.graphView.showMessage("This graph could not be loaded. Pick another one above.");
      return;
    }
    if (this.colourBy === "time") await this.loadTimes(session);
    this.search.setEnabled(true);
    await this.redraw(session, { fit: true });
    if (view) await this.restoreView(session, view);
  }

  /** Expands what `view` names as expanded (outermost first) and selects what it names, skipping what the graph
   * no longer has; then the address says what is shown. */
  private async restoreView(session: GraphSession, view: ViewState): Promise<void> {
    const { explorer } = session;
    for (const path of sortPaths(view.expanded ?? [])) {
      try {
        await session.guard(explorer.expandPath(path));
      } catch {
        // (no longer in the graph: the rest of the view still opens)
      }
    }
    const selected = view.selected;
    let found = false;
    if (selected !== undefined) {
      try {
        await session.guard(explorer.reveal(selected));
        explorer.selected = selected;
        found = true;
      } catch {
        // (as above)
      }
    }
    const drawn = await this.redraw(session, found ? { keepInView: selected, readable: true } : { fit: true });
    if (drawn && found) this.select(selected!, "reveal");
    saveView(explorer);
  }

  /** Colours the graph and the tree, shows the legend, and asks again later for costs still being counted. */
  private applyColouring(session: GraphSession, visible: VisibleNode): void {
    const message = this.colourBy === "time" ? session.timeMessage : undefined;
    const colouring = new Colouring(this.colourBy, session.store.get(""), message, session.compareWith !== undefined);
    this.graphView.setColouring(colouring);
    this.treeView.setColouring(colouring, visible);
    const drawn: VisibleNode["costs"][] = [];
    const visit = (node: VisibleNode) => {
      drawn.push(node.costs);
      node.children.forEach(visit);
    };
    visible.children.forEach(visit);
    this.legend.show(colouring.legend(drawn));
    const other = session.compareWith;
    const root = session.store.get("") as DiffNode | undefined;
    this.diffLegend.show(other && { a: graphName(session.graph), b: graphName(other), root });
    const legends = [this.legend.element, this.diffLegend.element]; // (fit places the graph above both)
    this.graphView.setBottomInset(Math.max(...legends.map((legend) => (legend.hidden ? 0 : legend.offsetHeight + LEGEND_GAP))));
    if (!colouring.pending()) return;
    session.scheduleCostPoll(async () => {
      try {
        await session.guard(session.store.loadOverlay("flops")); // (still pending: the redraw asks again)
      } catch (error) {
        this.showError(error);
        return;
      }
      await this.redraw(session, {});
    });
  }

  /** Fetches the graph's time, when the run holds a profile (see GraphSession.loadTimes). */
  private loadTimes(session: GraphSession): Promise<void> {
    return session.loadTimes(this.findGraph(session.graph)?.profiled === true, (request) => this.shell.track(request));
  }

  private async colourByChanged(by: ColourBy): Promise<void> {
    this.colourBy = by;
    const session = this.session;
    if (!session) return;
    if (by === "time") await this.loadTimes(session);
    if (this.colourBy !== by) return;
    await this.redraw(session, {});
    const { selected } = session.explorer;
    if (selected !== undefined) void this.showDetails(session, selected);
  }

  /**
   * Draws the graph once its layout is ready, then the tree, in a task of its own after the graph's frame:
   * the layout worker's answer does not wait behind the tree's rendering, and no single task draws both.
   * A layout that takes longer than TREE_FIRST_AFTER_MS gets the tree drawn first. False when nothing was
   * drawn (no nodes, a failed layout, or a newer redraw came first).
   */
  private async redraw(session: GraphSession, options: { fit?: boolean; keepInView?: string; readable?: boolean }): Promise<boolean> {
    const { explorer } = session;
    const newest = session.begin("redraw");
    const visible = timed("visible", () => explorer.visibleTree());
    session.visible = visible;
    let treeDrawn = false;
    const drawTree = () => {
      if (treeDrawn || !newest()) return;
      treeDrawn = true;
      timed("tree", () => this.treeView.render(visible, explorer.selected));
    };
    if (visible.children.length === 0) {
      this.applyColouring(session, visible);
      drawTree();
      this.graphView.clear();
      this.graphView.showMessage("This graph has no nodes.");
      return false;
    }
    const early = setTimeout(drawTree, TREE_FIRST_AFTER_MS);
    let scene;
    try {
      const start = performance.now();
      const layouts = await session.guard(
        layoutVisibleTree(visible, session.layoutCache, (request) => this.layoutClient.layout(request)),
      );
      measureSince("layout", start);
      scene = timed("compose", () => composeScene(visible, layouts));
    } catch (error) {
      drawTree();
      if (newest()) this.showError(error);
      return false;
    } finally {
      clearTimeout(early);
    }
    if (!newest()) return false;
    this.graphView.showMessage(undefined);
    this.applyColouring(session, visible);
    timed("render", () => this.graphView.render(scene, explorer.selected, options));
    saveView(explorer);
    // The tree in a task of its own once the graph is on screen: no one task lays out both.
    requestAnimationFrame(() => setTimeout(drawTree, 0));
    return true;
  }

  private async toggle(path: string): Promise<void> {
    const session = this.session;
    const node = session?.visible && findVisible(session.visible, path);
    if (!session || !node?.expandable) return;
    if (node.expanded) {
      session.explorer.collapse(path);
    } else {
      try {
        const start = performance.now();
        await session.guard(this.shell.track(session.explorer.expand(node)));
        measureSince("load", start);
      } catch (error) {
        this.showError(error);
        return;
      }
    }
    await this.redraw(session, { keepInView: path });
  }

  private select(path: string, from: "graph" | "tree" | "reveal"): void {
    const session = this.session;
    if (!session) return;
    session.explorer.selected = path;
    saveView(session.explorer);
    this.graphView.setSelected(path);
    this.treeView.setSelected(path);
    if (from !== "graph") this.graphView.ensureVisible(path, from === "reveal");
    if (from !== "tree") this.treeView.scrollTo(path);
    void this.showDetails(session, path);
  }

  /** Expands everything above `path`, selects it and brings it into view (search, links in the details). */
  private async reveal(path: string): Promise<void> {
    const session = this.session;
    if (!session) return;
    try {
      await session.guard(this.shell.track(session.explorer.reveal(path)));
    } catch (error) {
      this.showError(error);
      return;
    }
    session.explorer.selected = path;
    if (await this.redraw(session, { keepInView: path, readable: true })) this.select(path, "reveal");
  }

  /** Comparing: reveals and selects the next change after the selection (`back`: the one before). */
  private nextChange(back: boolean): void {
    const session = this.session;
    if (session?.compareWith) session.walkChanges(back, (path) => this.shell.track(this.reveal(path))).catch((error) => this.showError(error));
  }

  private showDetails(session: GraphSession, path: string): Promise<void> {
    const context = { api: this.api, panel: this.details, colourBy: this.colourBy, showError: (error: unknown) => this.showError(error) };
    return showDetails({ ...context, track: (request) => this.shell.track(request) }, session, path);
  }

  private showError(error: unknown): void {
    this.shell.alert.show(messageOf(error));
  }
}
