// What the details panel shows of the selected node: a child group's details from the visible tree, else the
// `node` route's answer with its measured time and its costs beside its parent's and the graph's (cost-view);
// while comparing, how it compares first (diff-details), its details from B when it is only in B.

import type { Api } from "./api";
import type { ColourBy } from "./colour-by";
import { costView } from "./cost-view";
import type { DetailsPanel } from "./details-panel";
import { diffSection } from "./diff-details";
import { diffMarkOf, type DiffMark } from "./diff-marks";
import type { HierarchyStore } from "./hierarchy-store";
import { html } from "./dom";
import { isChildGroupPath } from "./paths";
import type { GraphSession } from "./session";
import { findVisible } from "./visible-node";

/** How the node at `path` compares, from its entry in its parent's listing (or its own listing). */
function diffMarkAt(store: HierarchyStore, path: string): DiffMark | undefined {
  const parentPath = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  const entry = (path === "" ? undefined : store.get(parentPath)?.children?.find((child) => child.path === path)) ?? store.get(path);
  return entry && diffMarkOf(entry);
}

export interface DetailsContext {
  api: Api;
  panel: DetailsPanel;
  colourBy: ColourBy;
  /** Counts a request in the page's status. */
  track<T>(request: Promise<T>): Promise<T>;
  showError(error: unknown): void;
}

export async function showDetails(context: DetailsContext, session: GraphSession, path: string): Promise<void> {
  const { api, panel, colourBy, track } = context;
  const newest = session.begin("details");
  const visibleNode = () => session.visible && findVisible(session.visible, path);
  const node = visibleNode();
  if (node && isChildGroupPath(node.path)) {
    panel.showChildGroup(node);
    return;
  }
  panel.showLoading(path);
  const store = session.store;
  const other = session.compareWith;
  const mark = other && diffMarkAt(store, path);
  try {
    // (a node only in B: its details are B's, at its path there)
    const asked = mark?.status === "added" && other ? api.node(other, mark.pathB ?? path) : api.node(store.graph, path);
    const [answer] = await session.guard(
      track(Promise.all([asked, node && node.kind !== "op" ? store.load(path) : undefined])),
    );
    const details = session.overlays.apply(answer); // (its measured time, as its listing has it)
    if (!newest()) return;
    const parentPath = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    const costs = costView(details, store.get(parentPath), store.get(""), store.get(path), colourBy);
    panel.show(details, visibleNode(), costs);
    if (mark) panel.element.querySelector(":scope > h2")?.after(diffSection(path, mark));
  } catch (error) {
    if (!newest()) return;
    panel.clear();
    if (!mark) {
      context.showError(error);
      return;
    }
    // (its details did not come: how it compares still shows)
    panel.element.setAttribute("data-details-for", path);
    panel.element.replaceChildren(html("h2", {}, path.slice(path.lastIndexOf("/") + 1)), diffSection(path, mark));
  }
}
