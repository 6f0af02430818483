// The page remembers the chosen graph in its own location.hash as "#run=R&tag=T".

import type { GraphRef } from "./api";

export function parseGraphHash(hash: string): Partial<GraphRef> {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const result: Partial<GraphRef> = {};
  const run = params.get("run");
  const tag = params.get("tag");
  if (run !== null) result.run = run;
  if (tag !== null) result.tag = tag;
  return result;
}

export function formatGraphHash(graph: GraphRef): string {
  return `#run=${encodeURIComponent(graph.run)}&tag=${encodeURIComponent(graph.tag)}`;
}
