// The address says what is shown: the graph, its expanded groups and its selection, in the page's own address
// and in TensorBoard's while it shows this tab; and what an address asks to show.

import type { GraphRef } from "./api";
import type { Explorer } from "./explorer";
import { formatGraphHash, formatTensorBoardHash, parseGraphHash, parseTensorBoardHash, type ViewState } from "./hash";
import { tensorBoardWindow } from "./host";

/** What the address asks to show: TensorBoard's address while it names a graph for this tab, else the page's own. */
export function wantedView(): ViewState {
  const host = tensorBoardWindow();
  const theirs = host ? parseTensorBoardHash(host.location.hash) : undefined;
  return theirs?.run !== undefined ? theirs : parseGraphHash(location.hash);
}

/** Paths outermost first (an expanded group before what is expanded inside it), then by name. */
export function sortPaths(paths: Iterable<string>): string[] {
  const depth = (path: string) => path.split("/").length;
  return [...paths].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Writes what `explorer` shows into the page's address, and into TensorBoard's while it shows this tab. */
export function saveView(explorer: Explorer): void {
  const expanded = explorer.store.get("") ? explorer.shownExpanded() : [...explorer.expanded];
  const other = explorer.store.compareWith;
  const compared = other ? { compare_run: other.run, compare_tag: other.tag } : {};
  const view = { ...explorer.store.graph, ...compared, expanded: sortPaths(expanded), selected: explorer.selected };
  const own = formatGraphHash(view);
  if (location.hash !== own) history.replaceState(history.state, "", location.pathname + location.search + own);
  const host = tensorBoardWindow();
  if (!host || parseTensorBoardHash(host.location.hash) === undefined) return;
  const theirs = formatTensorBoardHash(view);
  if (host.location.hash !== theirs) {
    host.history.replaceState(host.history.state, "", host.location.pathname + host.location.search + theirs);
  }
}

/** Whether `a` and `b` are one graph (both given). */
export function sameGraph(a: GraphRef | undefined, b: GraphRef | undefined): boolean {
  return a !== undefined && b !== undefined && a.run === b.run && a.tag === b.tag;
}

/** Puts `graph` back into the page's address (someone typed one this logdir lacks). */
export function showGraphInAddress(graph: GraphRef): void {
  history.replaceState(null, "", location.pathname + location.search + formatGraphHash(graph));
}

/** The graph an address compares with, if it names one. */
export function comparedIn(view: ViewState): GraphRef | undefined {
  return view.compare_run !== undefined && view.compare_tag !== undefined ? { run: view.compare_run, tag: view.compare_tag } : undefined;
}

/** Whether `a` and `b` compare with the same graph (or both with none). */
export function sameComparison(a: GraphRef | undefined, b: GraphRef | undefined): boolean {
  return (a === undefined && b === undefined) || sameGraph(a, b);
}

/** A graph as people name it ("run / tag"). */
export function graphName(graph: GraphRef): string {
  return `${graph.run} / ${graph.tag}`;
}

/** What `explorer` shows (to show it again compared with another graph, or no longer compared). */
export function shownView(explorer: Explorer): ViewState {
  // (before the graph's root has come nothing is shown: what is asked to be expanded)
  const view: ViewState = { expanded: explorer.store.get("") ? explorer.shownExpanded() : [...explorer.expanded] };
  if (explorer.selected !== undefined) view.selected = explorer.selected;
  return view;
}
