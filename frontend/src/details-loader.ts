// What the details panel shows of the selected node: a child group's details from the visible tree, else the
// `node` route's answer with its measured time and its costs beside its parent's and the graph's (cost-view).

import type { Api } from "./api";
import type { ColourBy } from "./colour-by";
import { costView } from "./cost-view";
import type { DetailsPanel } from "./details-panel";
import { isChildGroupPath } from "./paths";
import type { GraphSession } from "./session";
import { findVisible } from "./visible-node";

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
  try {
    const store = session.store;
    const [answer] = await session.guard(
      track(Promise.all([api.node(store.graph, path), node && node.kind !== "op" ? store.load(path) : undefined])),
    );
    const details = session.overlays.apply(answer); // (its measured time, as its listing has it)
    if (!newest()) return;
    const parentPath = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    const costs = costView(details, store.get(parentPath), store.get(""), store.get(path), colourBy);
    panel.show(details, visibleNode(), costs);
  } catch (error) {
    if (!newest()) return;
    panel.clear();
    context.showError(error);
  }
}
