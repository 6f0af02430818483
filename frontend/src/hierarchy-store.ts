// Cache of group listings (a group with its children and their edges, fetched with depth=1) for one graph.
// The graph and the tree share it, so every group is fetched once. Listings are fetched with measured time
// while `time` is set (colour by time); changing it fetches again what was loaded.

import type { Api, GraphRef } from "./api";
import type { HierarchyNode } from "./types";

export class HierarchyStore {
  private listings = new Map<string, HierarchyNode>();
  private readonly inFlight = new Map<string, Promise<HierarchyNode>>();
  /** Bumped by each refresh: a listing fetched before it is not kept. */
  private generation = 0;
  private withTime = false;

  constructor(
    private readonly api: Api,
    readonly graph: GraphRef,
  ) {}

  /** Whether listings carry measured time. */
  get time(): boolean {
    return this.withTime;
  }

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
      const generation = this.generation;
      request = this.api
        .hierarchy(this.graph, path, 1, this.withTime)
        .then((listing) => {
          if (generation === this.generation) this.listings.set(path, listing);
          return listing;
        })
        .finally(() => {
          if (this.inFlight.get(path) === request) this.inFlight.delete(path);
        });
      this.inFlight.set(path, request);
    }
    return request;
  }

  /**
   * Fetches every loaded listing again (with measured time or without), and replaces them all at once when
   * every one has come: the views never mix old and new listings. A failure leaves the old ones in place.
   */
  async refresh(time: boolean = this.withTime): Promise<void> {
    const paths = [...this.listings.keys()];
    const answers = await Promise.all(paths.map((path) => this.api.hierarchy(this.graph, path, 1, time)));
    this.generation++;
    this.inFlight.clear();
    this.withTime = time;
    this.listings = new Map(paths.map((path, i) => [path, answers[i]!]));
  }
}
