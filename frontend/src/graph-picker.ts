// Picks the graph to show: a run, then one of its tags. A graph known not to read says so in its option (and why,
// in its title); a logdir with many runs gets a filter that narrows the run list as one types.

import type { GraphRef } from "./api";
import { html } from "./dom";
import type { GraphEntry, GraphsAnswer } from "./types";

/** The run list gets a filter from this many runs on (a list of ten is read at a glance). */
export const FILTER_FROM_RUNS = 11;
const DOES_NOT_READ = "does not read";

/** The graph to open when the address names none: the server's choice, else the first graph not known to fail
 * to read, else the first. */
export function graphToOpen(answer: GraphsAnswer): GraphEntry | undefined {
  const { graphs, first } = answer;
  return (
    (first && graphs.find((graph) => graph.run === first.run && graph.tag === first.tag)) ??
    graphs.find((graph) => graph.reads !== false) ??
    graphs[0]
  );
}

/** The runs whose name holds `text`, ignoring case (all of them for an empty text), in their order. */
export function matchingRuns(runs: readonly string[], text: string): string[] {
  const wanted = text.trim().toLowerCase();
  return wanted === "" ? [...runs] : runs.filter((run) => run.toLowerCase().includes(wanted));
}

/** An option's text and title: what it names, marked when it is known not to read. */
export function optionText(name: string, graphs: readonly GraphEntry[]): { text: string; title: string } {
  const failing = graphs.filter((graph) => graph.reads === false);
  if (graphs.length === 0 || failing.length < graphs.length) {
    const source = graphs.length === 1 ? `recorded as ${graphs[0]!.source}` : "";
    return { text: name, title: failing.length > 0 ? `${failing.length} of its ${graphs.length} graphs do not read` : source };
  }
  const why = failing.length === 1 ? failing[0]!.error ?? "" : "none of its graphs reads";
  return { text: `${name} — ${DOES_NOT_READ}`, title: `${name} ${DOES_NOT_READ}: ${why}` };
}

export class GraphPicker {
  readonly element: HTMLElement;
  private readonly runSelect: HTMLSelectElement;
  private readonly tagSelect: HTMLSelectElement;
  private readonly filterInput: HTMLInputElement;
  private readonly filterControl: HTMLElement;
  private readonly filterCount: HTMLElement;
  private graphs: GraphEntry[] = [];
  private runs: string[] = [];

  constructor(private readonly onPick: (graph: GraphRef) => void) {
    this.runSelect = html("select", { "aria-label": "Run", disabled: true });
    this.tagSelect = html("select", { "aria-label": "Tag", disabled: true });
    // type=text, not search: the page's one input[type=search] is the graph's search box.
    this.filterInput = html("input", {
      type: "text",
      class: "mg-run-filter",
      placeholder: "Filter runs",
      autocomplete: "off",
      spellcheck: "false",
      title: "Type to narrow the run list; Enter opens the first match, ↓ goes to the list, Esc clears",
    });
    this.filterCount = html("span", { class: "mg-run-filter-count", "aria-live": "polite" });
    this.filterControl = html("label", { class: "mg-run-filter-label", hidden: true }, "Filter runs ", this.filterInput);
    this.element = html(
      "div",
      { class: "mg-picker" },
      this.filterControl,
      this.filterCount,
      html("label", {}, "Run ", this.runSelect),
      html("label", {}, "Tag ", this.tagSelect),
    );
    this.runSelect.addEventListener("change", () => this.pickRun(this.runSelect.value));
    this.tagSelect.addEventListener("change", () => this.onPick(this.current()!));
    this.filterInput.addEventListener("input", () => this.fillRuns());
    this.filterInput.addEventListener("keydown", (event) => this.onFilterKey(event));
  }

  setGraphs(graphs: GraphEntry[], chosen: GraphRef | undefined): void {
    this.graphs = graphs;
    this.runs = [...new Set(graphs.map((graph) => graph.run))];
    this.filterControl.hidden = this.runs.length < FILTER_FROM_RUNS;
    if (this.filterControl.hidden) this.filterInput.value = "";
    this.fillRuns(chosen?.run);
    this.fillTags(this.runSelect.value, chosen?.tag);
  }

  /** Shows `graph` as chosen (after the address changed). */
  choose(graph: GraphRef): void {
    this.fillRuns(graph.run);
    this.fillTags(graph.run, graph.tag);
  }

  /** Marks `graph` as not reading (it was opened and answered why), or as reading. */
  setReadability(graph: GraphRef, error: string | undefined): void {
    const entry = this.graphs.find((candidate) => candidate.run === graph.run && candidate.tag === graph.tag);
    if (!entry) return;
    if (error === undefined) {
      entry.reads = true;
      delete entry.error;
    } else {
      entry.reads = false;
      entry.error = error;
    }
    const current = this.current();
    this.fillRuns(current?.run);
    if (current) this.fillTags(current.run, current.tag);
  }

  current(): GraphRef | undefined {
    if (this.runSelect.value === "" || this.tagSelect.value === "") return undefined;
    return { run: this.runSelect.value, tag: this.tagSelect.value };
  }

  private pickRun(run: string): void {
    this.runSelect.value = run;
    this.fillTags(run, undefined);
    this.onPick(this.current()!);
  }

  /** Enter opens the first matching run, ↓ moves to the run list, Esc clears the filter. */
  private onFilterKey(event: KeyboardEvent): void {
    if (event.key === "Enter") {
      const first = matchingRuns(this.runs, this.filterInput.value)[0];
      if (first !== undefined && first !== this.runSelect.value) this.pickRun(first);
    } else if (event.key === "ArrowDown") {
      this.runSelect.focus();
    } else if (event.key === "Escape" && this.filterInput.value !== "") {
      this.filterInput.value = "";
      this.fillRuns();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  /** The run options: those the filter matches, and the shown run whatever the filter (the list tells the truth
   * about what is shown). */
  private fillRuns(chosenRun: string | undefined = this.runSelect.value || undefined): void {
    const matches = matchingRuns(this.runs, this.filterInput.value);
    const listed = chosenRun !== undefined && this.runs.includes(chosenRun) && !matches.includes(chosenRun)
      ? [chosenRun, ...matches]
      : matches;
    this.runSelect.replaceChildren(
      ...listed.map((run) => {
        const { text, title } = optionText(run, this.graphs.filter((graph) => graph.run === run));
        return html("option", { value: run, title: title || undefined }, text);
      }),
    );
    this.runSelect.disabled = this.runs.length === 0;
    if (chosenRun !== undefined) this.runSelect.value = chosenRun;
    const filtering = !this.filterControl.hidden && this.filterInput.value.trim() !== "";
    this.filterCount.textContent = !filtering
      ? ""
      : matches.length === 0
        ? "no run matches"
        : `${matches.length} of ${this.runs.length} runs`;
  }

  private fillTags(run: string, chosenTag: string | undefined): void {
    const entries = this.graphs.filter((graph) => graph.run === run);
    this.tagSelect.replaceChildren(
      ...entries.map((graph) => {
        const { text, title } = optionText(graph.tag, [graph]);
        return html("option", { value: graph.tag, title }, text);
      }),
    );
    this.tagSelect.disabled = entries.length === 0;
    if (chosenTag !== undefined) this.tagSelect.value = chosenTag;
  }
}
