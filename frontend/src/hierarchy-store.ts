// Cache of group listings (a group with its children and their edges, fetched with depth=1) for one graph.
// The graph and the tree share it, so every group is fetched once. Measures asked for later (measured time; FLOPs
// a big graph is still counting) arrive as overlays (overlays.ts, the `values` route) for the loaded listings'
// paths, never by fetching a listing again; a listing loaded while time is on fetches its time overlay with it.

import type { Api, GraphRef } from "./api";
import { Overlays } from "./overlays";
import type { CostMeasure, DiffNode, HierarchyNode, OverlayValues } from "./types";

/** Paths asked for in one `values` request (the server takes at most 500; a URL stays short). */
export const VALUE_PATHS_PER_REQUEST = 100;

export class HierarchyStore {
  /** The listings as fetched (parameters and FLOPs as known then). */
  private readonly listings = new Map<string, HierarchyNode>();
  /** The same with the overlays in place, made once per listing until the overlays change. */
  private readonly overlaid = new Map<string, HierarchyNode>();
  private readonly inFlight = new Map<string, Promise<HierarchyNode>>();
  /** Measures every listing loaded from now on fetches its overlay of (time, once asked for). */
  private readonly following = new Set<CostMeasure>();
  /** Comparing, time asked for: why one of the two runs has no time (then no time difference is known). */
  timeMissing: string | undefined;

  constructor(
    private readonly api: Api,
    readonly graph: GraphRef,
    readonly overlays: Overlays = new Overlays(),
    /** Comparing with this graph: the listings are the `diff` route's, of the union of both trees. */
    readonly compareWith?: GraphRef,
  ) {}

  /** Whether listings carry measured time. */
  get time(): boolean {
    return this.overlays.has("time");
  }

  /** The listing of `path` if it was loaded, with the overlays' values in place. */
  get(path: string): HierarchyNode | undefined {
    let node = this.overlaid.get(path);
    if (!node) {
      const listing = this.listings.get(path);
      if (!listing) return undefined;
      node = this.overlays.apply(listing);
      this.overlaid.set(path, node);
    }
    return node;
  }

  /** Loads the listing of `path` (once; concurrent callers share the request), with the overlays followed. */
  load(path: string): Promise<HierarchyNode> {
    const cached = this.get(path);
    if (cached) return Promise.resolve(cached);
    let request = this.inFlight.get(path);
    if (!request) {
      const fetched = this.compareWith
        ? this.api.diff(this.graph, this.compareWith, path, 1)
        : this.api.hierarchy(this.graph, path, 1);
      request = fetched
        .then(async (listing) => {
          for (const measure of [...this.following]) {
            try {
              await this.fetchOverlay(measure, [path]);
            } catch {
              // (the listing stands without it: the measure's own request says why it is missing)
            }
          }
          this.listings.set(path, listing);
          this.overlaid.delete(path);
          return this.get(path)!;
        })
        .finally(() => {
          if (this.inFlight.get(path) === request) this.inFlight.delete(path);
        });
      this.inFlight.set(path, request);
    }
    return request;
  }

  /**
   * Fetches `measure`'s overlay for every loaded listing (a few requests of several paths each) and puts it in
   * place once every answer has come, so the views never mix old and new values; `follow`: listings loaded from
   * now on fetch it too (time; not FLOPs, which later listings hold once counted). Resolves whether the server is
   * still working the measure out (then nothing changed: ask again later). A failure changes nothing.
   */
  async loadOverlay(measure: CostMeasure, follow = false): Promise<boolean> {
    if (follow) this.following.add(measure);
    try {
      const pending = await this.fetchOverlay(measure, [...this.listings.keys()]);
      if (pending && follow) this.following.delete(measure);
      return pending;
    } catch (error) {
      if (follow) this.following.delete(measure);
      throw error;
    }
  }

  /** Fetches `measure`'s values of `paths` (with their children) and keeps them, unless any answer is pending. */
  private async fetchOverlay(measure: CostMeasure, paths: string[]): Promise<boolean> {
    if (this.compareWith && measure === "time") return this.fetchDiffTimes(paths);
    const batches: string[][] = [];
    for (let i = 0; i < paths.length; i += VALUE_PATHS_PER_REQUEST) batches.push(paths.slice(i, i + VALUE_PATHS_PER_REQUEST));
    const answers = await Promise.all(batches.map((batch) => this.api.values(this.graph, measure, batch, 1)));
    if (answers.some((answer) => answer.pending)) return true;
    this.overlays.set(measure, {}); // (fetched, even where no listing was loaded yet)
    for (const answer of answers) this.overlays.set(measure, answer.values);
    this.overlaid.clear();
    return false;
  }

  /** Comparing: the union tree has no `values`, so time comes from its listings asked again with time=1; their
   * nodes' values (time, and the deltas with time's) go in the time overlay by path, the structure kept as first
   * fetched. */
  private async fetchDiffTimes(paths: string[]): Promise<boolean> {
    const other = this.compareWith!;
    const listings = await Promise.all(paths.map((path) => this.api.diffTimes(this.graph, other, path, 1)));
    const values: Record<string, OverlayValues> = {};
    for (const listing of listings) {
      for (const node of [listing, ...(listing.children ?? [])]) values[node.path] = timeValuesOf(node);
      if (listing.time_missing !== undefined) this.timeMissing = listing.time_missing;
    }
    this.overlays.set("time", values);
    this.overlaid.clear();
    return false;
  }
}

/** A `diff` node's time fields and its deltas (as an overlay entry: time unknown where the node has none). */
function timeValuesOf(node: DiffNode): OverlayValues {
  const entry: OverlayValues & Pick<DiffNode, "delta"> = {};
  if (node.time_us !== undefined) entry.time_us = node.time_us;
  if (node.time_coverage !== undefined) entry.time_coverage = node.time_coverage;
  if (node.backward_time_us !== undefined) entry.backward_time_us = node.backward_time_us;
  if (node.fused !== undefined) entry.fused = node.fused;
  if (node.step_time_us !== undefined) entry.step_time_us = node.step_time_us;
  if (node.module_time_us !== undefined) entry.module_time_us = node.module_time_us;
  if (node.delta !== undefined) entry.delta = node.delta;
  if (node.time_us === undefined) entry.unknown = ["time"];
  return entry;
}
