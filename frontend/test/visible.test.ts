import assert from "node:assert/strict";
import { test } from "node:test";
import type { HierarchyEdge, HierarchyNode } from "../src/types";
import {
  arrangeChildren,
  childGroupsHolding,
  CHUNK_SIZE,
  isChildGroup,
  prefixWord,
  type ChildGroup,
  type ChildItem,
} from "../src/child-groups";
import { ancestorPaths } from "../src/paths";
import { aggregateEdges, buildVisibleTree, repeatsTold } from "../src/visible";
import { findVisible } from "../src/visible-node";
import { buildDemoGraph } from "./fake-graph";
import { detailLine, displayName, formatCount, repeatBadge } from "../src/labels";

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

function chunks(g: HierarchyNode): ChildGroup[] | undefined {
  const items = arrangeChildren(g);
  return items.every(isChildGroup) && items.every((item) => item.kind === "chunk") ? items : undefined;
}

test("groups up to the threshold are not chunked", () => {
  const children = Array.from({ length: 150 }, (_, i) => op(`g/op_${i}`));
  assert.deepEqual(arrangeChildren(group("g", children)), children);
});

test("larger groups are cut into chunks of 100 in the given order", () => {
  const children = Array.from({ length: 251 }, (_, i) => op(`g/op_${i}`));
  const parts = chunks(group("g", children))!;
  assert.deepEqual(
    parts.map((chunk) => [chunk.path, chunk.label, chunk.members.length]),
    [
      ["g/[1-100]", "g [1-100]", 100],
      ["g/[101-200]", "g [101-200]", 100],
      ["g/[201-251]", "g [201-251]", 51],
    ],
  );
  assert.equal(parts[1]!.members[0]!.path, "g/op_100");
  assert.deepEqual(childGroupsHolding(group("g", children), "g/op_200").map((c) => c.path), ["g/[201-251]"]);
});

test("chunks of the root have paths without a leading slash", () => {
  const children = Array.from({ length: 151 }, (_, i) => op(`op_${i}`));
  const root = { ...group("", children), name: "model" };
  assert.deepEqual(
    chunks(root)!.map((chunk) => [chunk.path, chunk.label]),
    [
      ["[1-100]", "model [1-100]"],
      ["[101-151]", "model [101-151]"],
    ],
  );
});

/** Keras ResNet50's layer names, in its order: conv1_*, pool1_*, conv2..conv5 of 3, 4, 6, 3 blocks, the head. */
function resnetNames(): string[] {
  const names = ["input_layer", "conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu", "pool1_pad", "pool1_pool"];
  [3, 4, 6, 3].forEach((blocks, stage) => {
    for (let b = 1; b <= blocks; b++) {
      const block = `conv${stage + 2}_block${b}`;
      if (b === 1) names.push(`${block}_0_conv`, `${block}_0_bn`);
      for (const part of ["1", "2", "3"]) names.push(`${block}_${part}_conv`, `${block}_${part}_bn`, `${block}_${part}_relu`);
      names.push(`${block}_add`, `${block}_out`);
    }
  });
  return [...names, "avg_pool", "predictions"];
}

function shape(items: readonly ChildItem[]): unknown[] {
  return items.map((item) => (isChildGroup(item) ? [item.kind, item.path, item.label, shape(item.items)] : item.name));
}

test("a long list whose names share _-separated prefixes is shown as nested prefix groups", () => {
  const names = resnetNames();
  const model = group("resnet50", names.map((name) => group(`resnet50/${name}`, [])));
  const items = arrangeChildren(model);
  assert.deepEqual(
    items.map((item) => (isChildGroup(item) ? [item.kind, item.path, item.label] : item.name)),
    [
      "input_layer",
      ["prefix", "resnet50/[conv1]", "conv1"],
      ["prefix", "resnet50/[pool1]", "pool1"],
      ["prefix", "resnet50/[conv2]", "conv2"],
      ["prefix", "resnet50/[conv3]", "conv3"],
      ["prefix", "resnet50/[conv4]", "conv4"],
      ["prefix", "resnet50/[conv5]", "conv5"],
      "avg_pool",
      "predictions",
    ],
  );
  const conv4 = items[5] as ChildGroup;
  assert.equal(conv4.prefix, "conv4_");
  assert.deepEqual(
    conv4.items.map((item) => (isChildGroup(item) ? [item.path, item.label, item.members.length] : item.name)),
    [1, 2, 3, 4, 5, 6].map((b) => [`resnet50/[conv4]/[conv4_block${b}]`, `block${b}`, b === 1 ? 13 : 11]),
  );
  // every layer is in exactly one place, in the graph's order
  const flat = (list: readonly ChildItem[]): string[] => list.flatMap((item) => (isChildGroup(item) ? flat(item.items) : [item.name]));
  assert.deepEqual(flat(items), names);
  assert.deepEqual(
    childGroupsHolding(model, "resnet50/conv3_block2_1_bn").map((g) => g.path),
    ["resnet50/[conv3]", "resnet50/[conv3]/[conv3_block2]"],
  );
});

test("names without shared structure stay a flat list (or chunks): numbered names, interleaved layers", () => {
  assert.equal(prefixWord("dense_1", ""), undefined);
  assert.equal(prefixWord("conv2_block1_out", "conv2_"), "block1");
  assert.equal(prefixWord("_hidden_x", ""), undefined);
  const interleaved = Array.from({ length: 40 }, (_, i) => group(`m/${i % 2 ? "dropout" : "dense"}_${Math.floor(i / 2) + 1}_x`, []));
  assert.deepEqual(shape(arrangeChildren(group("m", interleaved))), interleaved.map((g) => g.name));
});

test("three or more consecutive modules of one structure fold into one node; two do not", () => {
  const mark = { key: "block_0", count: 48, shapes_compared: true };
  const blocks = Array.from({ length: 48 }, (_, i) => ({ ...group(`net/block_${i}`, []), repeat: mark }));
  const pair = ["a", "b"].map((name) => ({ ...group(`net/${name}`, []), repeat: { key: "a", count: 2, shapes_compared: true } }));
  const net = group("net", [group("net/stem", []), ...blocks, group("net/head", []), ...pair]);
  const items = arrangeChildren(net);
  assert.deepEqual(
    items.map((item) => (isChildGroup(item) ? [item.kind, item.path, item.label, item.repeat?.count, item.members.length] : item.name)),
    ["stem", ["fold", "net/[block_0…block_47]", "block_0 … block_47", 48, 48], "head", "a", "b"],
  );
  const visible = buildVisibleTree(net, new Set(["net/[block_0…block_47]"]), () => undefined);
  const fold = findVisible(visible, "net/[block_0…block_47]")!;
  assert.equal(fold.kind, "fold");
  assert.equal(fold.children.length, 48);
  assert.deepEqual(childGroupsHolding(net, "net/block_7").map((g) => g.path), ["net/[block_0…block_47]"]);
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

test("the plugin's own groups are named in words and a series by its ops and count; no caption repeats a role", () => {
  const root = buildDemoGraph().hierarchy("", 1);
  const visible = buildVisibleTree(root, new Set(), () => undefined);
  const byPath = new Map(visible.children.map((node) => [node.path, node]));
  assert.equal(byPath.get("inputs")!.label, "Inputs");
  assert.equal(byPath.get("outputs")!.label, "Outputs");
  const series = byPath.get("AddN[0-3]")!;
  assert.equal(series.label, "AddN ×4");
  assert.equal(detailLine(series), "4 ops");
  assert.equal(detailLine(byPath.get("inputs")!), formatCount(byPath.get("inputs")!.numOps, "op"));
  assert.equal(detailLine(byPath.get("gate")!), `control flow · ${byPath.get("gate")!.numOps} ops`);
  assert.equal(byPath.get("encoder")!.label, "encoder"); // (a module keeps its name)
  assert.equal(displayName({ name: "other_functions", role: "functions" }), "Other functions");
  assert.equal(displayName({ name: "ops_outside_scopes", role: "loose_ops" }), "Ops outside modules");
  assert.equal(displayName({ name: "AddN[0-121]", role: "series", num_children: 122 }), "AddN ×122");
});

test("a word that comes back after other names forms no group (one word, one path); a long fold shows in parts", () => {
  const names = [...["x1", "x2", "x3"].map((n) => `a_${n}`), ...Array.from({ length: 15 }, (_, i) => `b_y${i}`), "a_x9"];
  const g = group("g", names.map((name) => group(`g/${name}`, [])));
  const items = arrangeChildren(g);
  const paths = items.map((item) => (isChildGroup(item) ? item.path : item.name));
  assert.deepEqual(paths, ["a_x1", "a_x2", "a_x3", "g/[b]", "a_x9"]);
  const mark = { key: "m_0", count: 200, shapes_compared: true };
  const many = group("h", Array.from({ length: 200 }, (_, i) => ({ ...group(`h/m_${i}`, []), repeat: mark })));
  const [fold] = arrangeChildren(many) as ChildGroup[];
  assert.equal(fold!.kind, "fold");
  assert.deepEqual(fold!.items.map((item) => (item as ChildGroup).path), ["h/[m_0…m_199]/[1-100]", "h/[m_0…m_199]/[101-200]"]);
  assert.deepEqual(childGroupsHolding(many, "h/m_150").map((c) => c.path), ["h/[m_0…m_199]", "h/[m_0…m_199]/[101-200]"]);
  assert.deepEqual(childGroupsHolding(many, "h/[m_0…m_199]/[101-200]", true).map((c) => c.path), ["h/[m_0…m_199]", "h/[m_0…m_199]/[101-200]"]);
});

test("a repeat count is told for a few alike siblings whose names do not say it, not for numbered names or a crowd", () => {
  const member = (name: string, key: string, count: number) => ({ ...group(`g/${name}`, []), repeat: { key, count, shapes_compared: true } });
  const told = repeatsTold([
    member("encoder", "encoder", 2), member("decoder", "encoder", 2),
    member("block_0", "block_0", 3), member("block_1", "block_0", 3), member("block_2", "block_0", 3),
    // 53 alike under names that differ: a count on each of 53 boxes says nothing.
    ...Array.from({ length: 53 }, (_, i) => member(`${String.fromCharCode(97 + (i % 26))}${i}_bn`, "a0_bn", 53)),
    member("head", "x", 1),
  ]);
  assert.deepEqual([...told], ["encoder"]);
});

test("repeat badges are counts that say what was compared; a fold's is its size, an open fold's members have none", () => {
  const mark = (shapes_compared: boolean) => ({ key: "a", count: 3, shapes_compared });
  assert.equal(repeatBadge({ kind: "module", repeat: mark(true), repeatTold: true }), "3 alike");
  assert.equal(repeatBadge({ kind: "module", repeat: mark(false), repeatTold: true }), "3 same ops");
  assert.equal(repeatBadge({ kind: "module", repeat: mark(true) }), undefined); // (its name says it, or too many)
  assert.equal(repeatBadge({ kind: "fold", repeat: mark(false) }), "×3");
  assert.equal(repeatBadge({ kind: "module", repeat: mark(true), inFold: true }), undefined);
  assert.equal(repeatBadge({ kind: "module" }), undefined);
});
