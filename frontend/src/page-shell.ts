// The page's frame: the toolbar, the alert, the three panes with their divider (or the empty state when the
// logdir holds no graph), the keys' help, and the status that says what is under way ("loading…").

import { AlertArea } from "./alert";
import type { ComparePicker } from "./compare-picker";
import type { DetailsPanel } from "./details-panel";
import type { DiffLegend } from "./diff-legend";
import { PaneDivider } from "./divider";
import { html } from "./dom";
import { emptyStateContent } from "./empty-state";
import type { GraphControls } from "./graph-controls";
import type { GraphPicker } from "./graph-picker";
import type { GraphView } from "./graph-view";
import type { Legend } from "./legend";
import type { KeyHelp } from "./page-keys";
import type { SearchBox } from "./search-box";
import type { TreeView } from "./tree-view";

/** The parts the page is made of, made by the app with their handlers. */
export interface PageParts {
  picker: GraphPicker;
  comparePicker: ComparePicker;
  diffLegend: DiffLegend;
  search: SearchBox;
  controls: GraphControls;
  keyHelp: KeyHelp;
  treeView: TreeView;
  graphView: GraphView;
  details: DetailsPanel;
  legend: Legend;
}

export class PageShell {
  readonly alert = new AlertArea();
  private readonly status = html("span", { class: "mg-status", role: "status", "aria-live": "polite" });
  private readonly main: HTMLElement;
  private readonly emptyState: HTMLElement;
  private readonly divider: PaneDivider;
  private pendingLoads = 0;
  private layingOut = false;

  constructor(
    container: HTMLElement,
    private readonly parts: PageParts,
  ) {
    const { picker, comparePicker, diffLegend, search, controls, keyHelp, treeView, graphView, details, legend } = parts;
    graphView.element.append(legend.element, diffLegend.element);
    this.divider = new PaneDivider(
      treeView.element,
      () => this.main.clientWidth - details.element.offsetWidth - this.divider.element.offsetWidth,
    );
    this.main = html("main", { class: "mg-main" }, treeView.element, this.divider.element, graphView.element, details.element);
    this.emptyState = html("section", { class: "mg-empty", hidden: true });
    container.append(
      html(
        "div",
        { class: "mg-app" },
        html("header", { class: "mg-toolbar" }, picker.element, comparePicker.element, search.element, ...controls.elements, keyHelp.button, this.status),
        this.alert.element,
        this.main,
        this.emptyState,
        keyHelp.dialog,
      ),
    );
  }

  /** There are graphs: the panes show, and the graph's controls work. */
  showPanes(): void {
    this.main.hidden = false;
    this.emptyState.hidden = true;
    this.divider.refresh();
    this.parts.controls.setEnabled(true);
  }

  /** No graph yet: how to record one, with `lookAgain` behind its button. */
  showEmpty(lookAgain: () => void): void {
    this.emptyState.replaceChildren(...emptyStateContent(lookAgain));
    this.main.hidden = true;
    this.emptyState.hidden = false;
    this.parts.controls.setEnabled(false);
  }

  /** The layout worker is busy (or no longer): the status says "laying out…". */
  setLayingOut(busy: boolean): void {
    this.layingOut = busy;
    this.updateStatus();
  }

  /** Counts a request in the "loading…" status while it runs. */
  async track<T>(promise: Promise<T>): Promise<T> {
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
