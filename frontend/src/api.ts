// Client of the plugin's HTTP API. URLs are relative: TensorBoard loads the page with
// <base href="plugin/module_graph/">, so "./graphs" reaches /data/plugin/module_graph/graphs.

import type { CostMeasure, DiffNode, GraphsAnswer, HierarchyNode, NodeDetails, SearchResult, ValuesAnswer } from "./types";

/** What an error says to people (an ApiError: what the server wrote). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An API answer that is not a success, with the message the server wrote for people. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface GraphRef {
  run: string;
  tag: string;
}

export interface Api {
  /** `first`: the server also chooses the graph to open first and says which graphs do not read (first=1). */
  graphs(first?: boolean): Promise<GraphsAnswer>;
  /** A listing, with parameters and FLOPs (measured time comes apart from it: `values`). */
  hierarchy(graph: GraphRef, path: string, depth?: number): Promise<HierarchyNode>;
  node(graph: GraphRef, path: string): Promise<NodeDetails>;
  search(graph: GraphRef, query: string, regex: boolean, limit?: number): Promise<SearchResult>;
  /** One measure's values (an overlay) of the nodes at `paths` and their descendants `depth` levels down (default 1:
   * what their listings hold); for time, a 422 says why there is none. */
  values(graph: GraphRef, measure: CostMeasure, paths: readonly string[], depth?: number): Promise<ValuesAnswer>;
  /** A listing of the union of `graph`'s tree and `other`'s (`path` in `graph`), each node with how it compares. */
  diff(graph: GraphRef, other: GraphRef, path: string, depth?: number): Promise<DiffNode>;
  /** The same listing with measured time (time=1): each node's time and `delta.time_us` where both runs are timed,
   * and `time_missing` where one run has no profile (a 422 says why where neither has). */
  diffTimes(graph: GraphRef, other: GraphRef, path: string, depth?: number): Promise<DiffNode>;
}

type Fetch = (url: string) => Promise<Response>;

export function createApi(fetchImpl: Fetch = (url) => fetch(url)): Api {
  async function getJson<T>(route: string, params: Record<string, string | readonly string[]> = {}): Promise<T> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) {
      for (const item of typeof value === "string" ? [value] : value) search.append(name, item); // (a list: repeated)
    }
    const query = search.toString();
    const url = `./${route}${query ? `?${query}` : ""}`;
    let response: Response;
    try {
      response = await fetchImpl(url);
    } catch {
      throw new ApiError("Could not reach the TensorBoard server. Is it still running?", 0);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      body = undefined;
    }
    if (!response.ok) {
      const message =
        body && typeof body === "object" && typeof (body as { error?: unknown }).error === "string"
          ? (body as { error: string }).error
          : `The server answered ${response.status} ${response.statusText} for ${route}.`;
      throw new ApiError(message, response.status);
    }
    if (body === undefined) {
      throw new ApiError(`The server's answer for ${route} is not valid JSON.`, response.status);
    }
    return body as T;
  }

  return {
    async graphs(first = false) {
      return getJson<GraphsAnswer>("graphs", first ? { first: "1" } : {});
    },
    async hierarchy(graph, path, depth = 1) {
      const params = { run: graph.run, tag: graph.tag, path, depth: String(depth) };
      return (await getJson<{ node: HierarchyNode }>("hierarchy", params)).node;
    },
    async node(graph, path) {
      const params = { run: graph.run, tag: graph.tag, path };
      return (await getJson<{ node: NodeDetails }>("node", params)).node;
    },
    async search(graph, query, regex, limit = 50) {
      const params = { run: graph.run, tag: graph.tag, q: query, regex: regex ? "1" : "0", limit: String(limit) };
      return getJson<SearchResult>("search", params);
    },
    async values(graph, measure, paths, depth = 1) {
      const params = { run: graph.run, tag: graph.tag, measure, path: paths, depth: String(depth) };
      return getJson<ValuesAnswer>("values", params);
    },
    async diff(graph, other, path, depth = 1) {
      const params = { run: graph.run, tag: graph.tag, run2: other.run, tag2: other.tag, path, depth: String(depth) };
      return (await getJson<{ node: DiffNode }>("diff", params)).node;
    },
    async diffTimes(graph, other, path, depth = 1) {
      const params = { run: graph.run, tag: graph.tag, run2: other.run, tag2: other.tag, path, depth: String(depth), time: "1" };
      return (await getJson<{ node: DiffNode }>("diff", params)).node;
    },
  };
}
