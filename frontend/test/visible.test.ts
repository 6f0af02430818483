import assert from "node:assert/strict";
import { test } from "node:test";
import type { HierarchyEdge, HierarchyNode } from "../src/types";
import {
  CHUNK_SIZE,
  aggregateEdges,
  ancestorPaths,
  buildVisibleTree,
  chunkHolding,
  findVisible,
  splitIntoChunks,
} from "../src/visible";
import { buildDemoGraph } from "./fake-graph";

function edge(from: string, to: string, count = 1, extra: Partial<HierarchyEdge> = {}): HierarchyEdge {
  return { from, to, count, dtypes: ["float32"], shapes: ["[8]"], control: false, ...extra };
}

function op(path: string): HierarchyNode {
  return { path, name: path.split("/").pop()!, kind: "op", op: "AddV2", num_ops: 1 };
}

function group(path: string, children: HierarchyNode[], edges: HierarchyEdge[] = []): HierarchyNode {
  return { path, name: path.split("/").pop() || "root", kind: "module", num_ops: children.length, children, edges };
}

test("ancestors of a path are its prefixes, the root excluded", () => {
  assert.deepEqual(ancestorPaths("a/b/c"), ["a", "a/b"]);
  assert.deepEqual(ancestorPaths("a"), []);
  assert.deepEqual(ancestorPaths("a/(b)/c"), ["a", "a/(b)"]);
});

test("groups up to the threshold are not chunked", () => {
  const children = Array.from({ length: 150 }, (_, i) => op(`g/op_${i}`));
  assert.equal(splitIntoChunks(group("g", children)), undefined);
});

test("larger groups are cut into chunks of 100 in the given order", () => {
  const children = Array.from({ length: 251 }, (_, i) => op(`g/op_${i}`));
  const chunks = splitIntoChunks(group("g", children))!;
  assert.deepEqual(
    chunks.map((chunk) => [chunk.path, chunk.label, chunk.members.length]),
    [
      ["g/[1-100]", "g [1-100]", 100],
      ["g/[101-200]", "g [101-200]", 100],
      ["g/[201-251]", "g [201-251]", 51],
    ],
  );
  assert.equal(chunks[1]!.members[0]!.path, "g/op_100");
  assert.equal(chunkHolding(group("g", children), "g/op_200")!.path, "g/[201-251]");
});

test("chunks of the root have paths without a leading slash", () => {
  const children = Array.from({ length: 151 }, (_, i) => op(`op_${i}`));
  const root = { ...group("", children), name: "model" };
  assert.deepEqual(
    splitIntoChunks(root)!.map((chunk) => [chunk.path, chunk.label]),
    [
      ["[1-100]", "model [1-100]"],
      ["[101-151]", "model [101-151]"],
    ],
  );
});

test("edge aggregation merges parallel edges and drops inner ones", () => {
  const chunkOf: Record<string, string> = { a: "A", b: "A", c: "B", d: "B" };
  const merged = aggregateEdges(
    [
      edge("a", "b", 5),
      edge("a", "c", 2, { dtypes: ["float32"], shapes: ["[8]"] }),
      edge("b", "d", 3, { dtypes: ["int32"], shapes: ["[]"] }),
      edge("d", "a", 1, { control: true, dtypes: [], shapes: [] }),
      edge("a", "zzz", 1),
    ],
    (path) => chunkOf[path],
  );
  assert.deepEqual(merged, [
    { from: "A", to: "B", count: 5, dtypes: ["float32", "int32"], shapes: ["[8]", "[]"], control: false },
    { from: "B", to: "A", count: 1, dtypes: [], shapes: [], control: true },
  ]);
});

test("control is true only when every merged edge is control", () => {
  const merged = aggregateEdges(
    [edge("a", "c", 1, { control: true }), edge("b", "c", 1, { control: false })],
    (path) => (path === "c" ? "C" : "AB"),
  );
  assert.equal(merged[0]!.control, false);
});

test("the visible tree starts with the root's children, collapsed", () => {
  const graph = buildDemoGraph();
  const root = graph.hierarchy("", 1);
  const visible = buildVisibleTree(root, new Set(), () => undefined);
  assert.deepEqual(
    visible.children.map((node) => [node.path, node.kind, node.expandable, node.expanded]),
    [
      ["inputs", "scope", true, false],
      ["encoder", "module", true, false],
      ["AddN[0-3]", "scope", true, false],
      ["gate", "scope", true, false],
      ["wide", "module", true, false],
      ["<script>alert(1)<", "scope", true, false],
      ["<img src=x onerror=alert(1)>", "op", false, false],
      ["outputs", "scope", true, false],
    ],
  );
  assert.ok(visible.edges.some((e) => e.from === "encoder" && e.to === "AddN[0-3]"));
});

test("an expanded group shows its children only once its listing is loaded", () => {
  const graph = buildDemoGraph();
  const listings = new Map([["", graph.hierarchy("", 1)]]);
  const expanded = new Set(["encoder"]);
  let visible = buildVisibleTree(listings.get("")!, expanded, (path) => listings.get(path));
  assert.equal(findVisible(visible, "encoder")!.expanded, false);

  listings.set("encoder", graph.hierarchy("encoder", 1));
  visible = buildVisibleTree(listings.get("")!, expanded, (path) => listings.get(path));
  const encoder = findVisible(visible, "encoder")!;
  assert.equal(encoder.expanded, true);
  assert.deepEqual(
    encoder.children.map((child) => child.path),
    ["encoder/block_0", "encoder/block_1", "encoder/block_2"],
  );
  assert.deepEqual(
    encoder.edges.map((e) => [e.from, e.to]),
    [
      ["encoder/block_0", "encoder/block_1"],
      ["encoder/block_1", "encoder/block_2"],
    ],
  );
});

test("a large group shows chunks with aggregated edges, and an expanded chunk its members", () => {
  const graph = buildDemoGraph();
  const listings = new Map([
    ["", graph.hierarchy("", 1)],
    ["wide", graph.hierarchy("wide", 1)],
  ]);
  const expanded = new Set(["wide", "wide/[101-200]"]);
  const visible = buildVisibleTree(listings.get("")!, expanded, (path) => listings.get(path));
  const wide = findVisible(visible, "wide")!;
  assert.deepEqual(
    wide.children.map((chunk) => [chunk.path, chunk.label, chunk.kind, chunk.numOps, chunk.expanded]),
    [
      ["wide/[1-100]", "wide [1-100]", "chunk", 100, false],
      ["wide/[101-200]", "wide [101-200]", "chunk", 100, true],
      ["wide/[201-240]", "wide [201-240]", "chunk", 40, false],
    ],
  );
  assert.deepEqual(
    wide.edges.map((e) => [e.from, e.to, e.count]),
    [
      ["wide/[1-100]", "wide/[101-200]", 1],
      ["wide/[101-200]", "wide/[201-240]", 1],
    ],
  );
  const chunk = findVisible(visible, "wide/[101-200]")!;
  assert.equal(chunk.children.length, CHUNK_SIZE);
  assert.equal(chunk.children[0]!.path, "wide/add_100");
  assert.equal(chunk.edges.length, 99, "the chain's edges inside the chunk");
});
