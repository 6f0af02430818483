// The view lives in the address, so that a reload, a bookmark or a shared link opens it again: the graph (run and
// tag), the expanded groups and the selected node. Inside TensorBoard it is TensorBoard's own address,
// `#module_graph&run=R&tag=T&expanded=P&expanded=Q&selected=S`, with
// `compare_run=R2&compare_tag=T2` while comparing (TensorBoard routes `#<plugin>&...` to the tab and
// keeps the rest across a reload); on the page alone, its own `#run=R&tag=T&...`. Values are URL-encoded.

import type { GraphRef } from "./api";

/** What an address says of the view (each part may be missing). */
export interface ViewState extends Partial<GraphRef> {
  /** Paths of the expanded groups and chunks, outermost first. */
  expanded?: string[];
  selected?: string;
  /** The graph compared with (run and tag), while comparing. */
  compare_run?: string;
  compare_tag?: string;
}

/** TensorBoard's name of the tab in its address (`#module_graph`). */
export const TAB_ID = "module_graph";

export function parseViewParams(params: string): ViewState {
  const query = new URLSearchParams(params);
  const result: ViewState = {};
  const run = query.get("run");
  const tag = query.get("tag");
  const selected = query.get("selected");
  const expanded = query.getAll("expanded");
  if (run !== null) result.run = run;
  if (tag !== null) result.tag = tag;
  if (expanded.length > 0) result.expanded = expanded;
  if (selected !== null) result.selected = selected;
  const compareRun = query.get("compare_run");
  const compareTag = query.get("compare_tag");
  if (compareRun !== null && compareTag !== null) {
    result.compare_run = compareRun;
    result.compare_tag = compareTag;
  }
  return result;
}

export function formatViewParams(view: GraphRef & ViewState): string {
  const parts = [`run=${encodeURIComponent(view.run)}`, `tag=${encodeURIComponent(view.tag)}`];
  if (view.compare_run !== undefined && view.compare_tag !== undefined) {
    parts.push(`compare_run=${encodeURIComponent(view.compare_run)}`, `compare_tag=${encodeURIComponent(view.compare_tag)}`);
  }
  for (const path of view.expanded ?? []) parts.push(`expanded=${encodeURIComponent(path)}`);
  if (view.selected !== undefined) parts.push(`selected=${encodeURIComponent(view.selected)}`);
  return parts.join("&");
}

/** The page's own address: `#run=R&tag=T[&expanded=...][&selected=...]`. */
export function parseGraphHash(hash: string): ViewState {
  return parseViewParams(hash.replace(/^#/, ""));
}

export function formatGraphHash(view: GraphRef & ViewState): string {
  return `#${formatViewParams(view)}`;
}

/** TensorBoard's address when it shows this tab (`#module_graph` or `#module_graph&...`), else undefined. */
export function parseTensorBoardHash(hash: string): ViewState | undefined {
  const body = hash.replace(/^#/, "");
  if (body !== TAB_ID && !body.startsWith(`${TAB_ID}&`)) return undefined;
  return parseViewParams(body.slice(TAB_ID.length + 1));
}

export function formatTensorBoardHash(view: GraphRef & ViewState): string {
  return `#${TAB_ID}&${formatViewParams(view)}`;
}
