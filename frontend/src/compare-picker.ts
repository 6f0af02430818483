// "Compare with": the run and tag of a second graph (B) to compare the open one (A) with, beside the graph picker.
// Its first run option, "—", ends the comparison.

import type { GraphRef } from "./api";
import { html } from "./dom";
import type { GraphEntry } from "./types";

/** The run option that compares with nothing. */
export const NO_COMPARISON = "—";

export class ComparePicker {
  readonly element: HTMLElement;
  private readonly runSelect: HTMLSelectElement;
  private readonly tagSelect: HTMLSelectElement;
  private graphs: GraphEntry[] = [];

  constructor(private readonly onPick: (graph: GraphRef | undefined) => void) {
    this.runSelect = html("select", { "aria-label": "Compare with run", disabled: true });
    this.tagSelect = html("select", { "aria-label": "Compare with tag", disabled: true });
    this.element = html(
      "div",
      { class: "mg-picker mg-compare-picker", title: "Compare the open graph (A) with another (B), module by module" },
      html("label", {}, "Compare with ", this.runSelect),
      html("label", {}, "Tag ", this.tagSelect),
    );
    this.runSelect.addEventListener("change", () => {
      this.fillTags(this.runSelect.value, undefined);
      this.onPick(this.current());
    });
    this.tagSelect.addEventListener("change", () => this.onPick(this.current()));
  }

  setGraphs(graphs: GraphEntry[], chosen: GraphRef | undefined): void {
    this.graphs = graphs;
    this.choose(chosen);
  }

  /** Shows `graph` as the one compared with (none, or one the logdir lacks: "—"). */
  choose(graph: GraphRef | undefined): void {
    const runs = [...new Set(this.graphs.map((entry) => entry.run))];
    this.runSelect.replaceChildren(
      html("option", { value: "" }, NO_COMPARISON),
      ...runs.map((run) => html("option", { value: run }, run)),
    );
    this.runSelect.disabled = runs.length === 0;
    const known = graph && this.graphs.some((entry) => entry.run === graph.run && entry.tag === graph.tag);
    this.runSelect.value = known ? graph.run : "";
    this.fillTags(this.runSelect.value, known ? graph.tag : undefined);
  }

  /** The graph compared with, if any. */
  current(): GraphRef | undefined {
    if (this.runSelect.value === "" || this.tagSelect.value === "") return undefined;
    return { run: this.runSelect.value, tag: this.tagSelect.value };
  }

  private fillTags(run: string, chosenTag: string | undefined): void {
    const entries = run === "" ? [] : this.graphs.filter((graph) => graph.run === run);
    this.tagSelect.replaceChildren(...entries.map((graph) => html("option", { value: graph.tag }, graph.tag)));
    this.tagSelect.disabled = entries.length === 0;
    if (chosenTag !== undefined) this.tagSelect.value = chosenTag;
  }
}
