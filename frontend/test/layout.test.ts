import assert from "node:assert/strict";
import { test } from "node:test";
import {
  GROUP_HEADER_HEIGHT,
  GROUP_PADDING,
  collapsedSize,
  composeScene,
  expandedSize,
  layoutVisibleTree,
  type GroupLayout,
  type LayoutRequest,
} from "../src/layout";
import { computeLayout } from "../src/layout-engine";
import { buildVisibleTree, findVisible } from "../src/visible";
import { buildDemoGraph } from "./fake-graph";

function visibleDemo(expanded: string[]) {
  const graph = buildDemoGraph();
  const listings = new Map<string, ReturnType<typeof graph.hierarchy>>();
  for (const path of ["", ...expanded]) if (!path.includes("[")) listings.set(path, graph.hierarchy(path, 1));
  return buildVisibleTree(listings.get("")!, new Set(expanded), (path) => listings.get(path));
}

function countingRunner() {
  const requests: LayoutRequest[] = [];
  const run = async (request: LayoutRequest) => {
    requests.push(request);
    return computeLayout(request);
  };
  return { requests, run };
}

test("dagre lays children out top to bottom in dataflow order", () => {
  const layout = computeLayout({
    nodes: [
      { id: "c", width: 100, height: 40 },
      { id: "a", width: 100, height: 40 },
      { id: "b", width: 100, height: 40 },
    ],
    edges: [
      { from: "a", to: "b" },
      { from: "b", to: "c" },
    ],
  });
  assert.ok(layout.nodes.a!.y < layout.nodes.b!.y && layout.nodes.b!.y < layout.nodes.c!.y);
  assert.equal(layout.edges.length, 2);
  assert.ok(layout.edges.every((edge) => edge.points.length >= 2));
  assert.ok(layout.width >= 100 && layout.height >= 120);
});

test("many unconnected children are stacked into a grid, not one row", () => {
  const nodes = Array.from({ length: 100 }, (_, i) => ({ id: `n${i}`, width: 120, height: 34 }));
  const layout = computeLayout({ nodes, edges: [] });
  assert.ok(layout.width < 3000, `width ${layout.width}`);
  assert.ok(layout.height > 200, `height ${layout.height}`);
  assert.deepEqual(layout.edges, [], "no invisible grid edge is drawn");
});

test("many children fed by the same node are stacked into a grid below it", () => {
  const fans = Array.from({ length: 100 }, (_, i) => ({ id: `cast_${i}`, width: 120, height: 34 }));
  const layout = computeLayout({
    nodes: [{ id: "source", width: 120, height: 34 }, ...fans],
    edges: fans.map((fan) => ({ from: "source", to: fan.id })),
  });
  const oneRow = 100 * (120 + 18);
  assert.ok(layout.width < oneRow / 2, `width ${layout.width}`);
  assert.equal(layout.edges.length, 100, "the real edges, and only those, are routed");
  assert.ok(fans.every((fan) => layout.nodes[fan.id]!.y > layout.nodes.source!.y));
});

test("the scene nests an expanded group's children inside its box", async () => {
  const visible = visibleDemo(["encoder", "encoder/block_1"]);
  const { run } = countingRunner();
  const layouts = await layoutVisibleTree(visible, new Map(), run);
  const scene = composeScene(visible, layouts);

  const encoder = scene.byPath.get("encoder")!;
  const block = scene.byPath.get("encoder/block_1")!;
  const dense = scene.byPath.get("encoder/block_1/dense")!;
  const inside = (inner: typeof block, outer: typeof block) =>
    inner.x >= outer.x + GROUP_PADDING - 0.01 &&
    inner.y >= outer.y + GROUP_HEADER_HEIGHT - 0.01 &&
    inner.x + inner.width <= outer.x + outer.width + 0.01 &&
    inner.y + inner.height <= outer.y + outer.height + 0.01;
  assert.ok(inside(block, encoder), "block inside encoder");
  assert.ok(inside(dense, block), "dense inside block");
  assert.deepEqual(encoder.children.map((child) => child.node.path), [
    "encoder/block_0",
    "encoder/block_1",
    "encoder/block_2",
  ]);
  assert.deepEqual(encoder.edges.map((e) => [e.edge.from, e.edge.to]), [
    ["encoder/block_0", "encoder/block_1"],
    ["encoder/block_1", "encoder/block_2"],
  ]);
  // Edge points are in scene coordinates: they start at the producer and end at the consumer.
  const [first] = encoder.edges;
  const from = scene.byPath.get("encoder/block_0")!;
  const start = first!.points[0]!;
  assert.ok(start.y >= from.y && start.y <= from.y + from.height + 0.5);
  assert.equal(encoder.width, expandedSize(encoder.node, layouts.get("encoder")!).width);
  assert.equal(scene.byPath.get("inputs")!.width, collapsedSize(findVisible(visible, "inputs")!).width);
});

test("expanding a group lays out only that group and its ancestors again", async () => {
  const cache = new Map<string, GroupLayout>();
  const first = countingRunner();
  await layoutVisibleTree(visibleDemo(["encoder", "encoder/block_0"]), cache, first.run);
  assert.equal(first.requests.length, 3, "root, encoder, block_0");

  const second = countingRunner();
  await layoutVisibleTree(visibleDemo(["encoder", "encoder/block_0", "encoder/block_0/dense"]), cache, second.run);
  const laidOut = second.requests.map((request) => request.nodes.map((node) => node.id)[0]);
  assert.deepEqual(laidOut, ["encoder/block_0/dense/ReadVariableOp", "encoder/block_0/dense", "encoder/block_0", "inputs"]);

  const third = countingRunner();
  await layoutVisibleTree(visibleDemo(["encoder", "encoder/block_0"]), cache, third.run);
  assert.equal(third.requests.length, 0, "collapsing back reuses the cached layouts");
});

test("chunks take part in the layout like groups", async () => {
  const visible = visibleDemo(["wide", "wide/[1-100]"]);
  const layouts = await layoutVisibleTree(visible, new Map(), countingRunner().run);
  const scene = composeScene(visible, layouts);
  const chunk = scene.byPath.get("wide/[1-100]")!;
  assert.equal(chunk.node.kind, "chunk");
  assert.equal(chunk.children.length, 100);
  assert.ok(scene.byPath.has("wide/add_0"));
  assert.ok(!scene.byPath.has("wide/add_100"), "a collapsed chunk's members are not drawn");
});
