// Picks the graph to show: a run, then one of its tags.

import type { GraphRef } from "./api";
import { html } from "./dom";
import type { GraphEntry } from "./types";

export class GraphPicker {
  readonly element: HTMLElement;
  private readonly runSelect: HTMLSelectElement;
  private readonly tagSelect: HTMLSelectElement;
  private graphs: GraphEntry[] = [];

  constructor(private readonly onPick: (graph: GraphRef) => void) {
    this.runSelect = html("select", { "aria-label": "Run", disabled: true });
    this.tagSelect = html("select", { "aria-label": "Tag", disabled: true });
    this.element = html(
      "div",
      { class: "mg-picker" },
      html("label", {}, "Run ", this.runSelect),
      html("label", {}, "Tag ", this.tagSelect),
    );
    this.runSelect.addEventListener("change", () => {
      this.fillTags(this.runSelect.value, undefined);
      this.onPick(this.current()!);
    });
    this.tagSelect.addEventListener("change", () => this.onPick(this.current()!));
  }

  setGraphs(graphs: GraphEntry[], chosen: GraphRef | undefined): void {
    this.graphs = graphs;
    const runs = [...new Set(graphs.map((graph) => graph.run))];
    this.runSelect.replaceChildren(...runs.map((run) => html("option", { value: run }, run)));
    this.runSelect.disabled = runs.length === 0;
    if (chosen) this.runSelect.value = chosen.run;
    this.fillTags(this.runSelect.value, chosen?.tag);
  }

  /** Shows `graph` as chosen (after the address changed). */
  choose(graph: GraphRef): void {
    this.runSelect.value = graph.run;
    this.fillTags(graph.run, graph.tag);
  }

  current(): GraphRef | undefined {
    if (this.runSelect.value === "" || this.tagSelect.value === "") return undefined;
    return { run: this.runSelect.value, tag: this.tagSelect.value };
  }

  private fillTags(run: string, chosenTag: string | undefined): void {
    const entries = this.graphs.filter((graph) => graph.run === run);
    this.tagSelect.replaceChildren(
      ...entries.map((graph) =>
        html("option", { value: graph.tag, title: `recorded as ${graph.source}` }, graph.tag),
      ),
    );
    this.tagSelect.disabled = entries.length === 0;
    if (chosenTag !== undefined) this.tagSelect.value = chosenTag;
  }
}
