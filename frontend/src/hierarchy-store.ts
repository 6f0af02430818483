// Cache of group listings (a group with its children and their edges, fetched with depth=1) for one graph.
// The graph and the tree share it, so every group is fetched once.

import type { Api, GraphRef } from "./api";
import type { HierarchyNode } from "./types";

export class HierarchyStore {
  private readonly listings = new Map<string, HierarchyNode>();
  private readonly inFlight = new Map<string, Promise<HierarchyNode>>();

  constructor(
    private readonly api: Api,
    readonly graph: GraphRef,
  ) {}

  /** The listing of `path` if it was loaded. */
  get(path: string): HierarchyNode | undefined {
    return this.listings.get(path);
  }

  /** Loads the listing of `path` (once; concurrent callers share the request). */
  load(path: string): Promise<HierarchyNode> {
    const cached = this.listings.get(path);
    if (cached) return Promise.resolve(cached);
    let request = this.inFlight.get(path);
    if (!request) {
      request = this.api
        .hierarchy(this.graph, path, 1)
        .then((listing) => {
          this.listings.set(path, listing);
          return listing;
        })
        .finally(() => this.inFlight.delete(path));
      this.inFlight.set(path, request);
    }
    return request;
  }
}
