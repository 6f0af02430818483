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
import { forgetOrders } from "../src/layout-dagre";
import { chooseMethod, computeLayout, findChains, layoutWith } from "../src/layout-engine";
import { buildVisibleTree } from "../src/visible";
import { findVisible } from "../src/visible-node";
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

test("a chain with skip connections is laid out as one column, the skips in lanes beside it", () => {
  // a → b → c → d → e, with a → d and b → e (residual connections) and c → e.
  const ids = ["a", "b", "c", "d", "e"];
  const request: LayoutRequest = {
    nodes: ids.map((id, i) => ({ id, width: 100 + i * 10, height: 40 })),
    edges: [
      { from: "c", to: "d" },
      { from: "a", to: "b" },
      { from: "b", to: "c" },
      { from: "d", to: "e" },
      { from: "a", to: "d" },
      { from: "b", to: "e" },
      { from: "c", to: "e" },
    ],
  };
  assert.equal(chooseMethod(request), "column");
  const layout = computeLayout(request);
  const xs = ids.map((id) => layout.nodes[id]!.x);
  assert.ok(xs.every((x) => x === xs[0]), "one axis");
  for (let i = 1; i < ids.length; i++) assert.ok(layout.nodes[ids[i]!]!.y - layout.nodes[ids[i - 1]!]!.y >= 40 + 18);
  assert.equal(layout.edges.length, 7);
  const widest = 140;
  const lanes = layout.edges.filter((edge) => edge.points.length > 2);
  assert.equal(lanes.length, 3, "the three skips use lanes");
  for (const edge of lanes) assert.ok(edge.points[1]!.x > widest, `${edge.from}→${edge.to} clears the nodes`);
  // a→d and b→e overlap (b..d): different lanes; c→e starts where a→d ends: it may share a→d's lane.
  const laneX = (from: string, to: string) => layout.edges.find((e) => e.from === from && e.to === to)!.points[1]!.x;
  assert.notEqual(laneX("a", "d"), laneX("b", "e"));
  assert.ok(layout.width >= Math.max(...lanes.map((edge) => edge.points[1]!.x)));
  // Every edge starts at its producer's bottom and ends at its consumer's top.
  for (const edge of layout.edges) {
    assert.equal(edge.points[0]!.y, layout.nodes[edge.from]!.y + 20);
    assert.equal(edge.points.at(-1)!.y, layout.nodes[edge.to]!.y - 20);
  }
});

test("only a single path through every child makes a column; branches and loose nodes go to dagre", () => {
  const node = (id: string) => ({ id, width: 100, height: 40 });
  const chain = { nodes: ["a", "b", "c"].map(node), edges: [{ from: "a", to: "b" }, { from: "b", to: "c" }] };
  assert.equal(chooseMethod(chain), "column");
  assert.equal(chooseMethod({ ...chain, nodes: [...chain.nodes, node("loose")] }), "dagre");
  const branch = { nodes: chain.nodes, edges: [{ from: "a", to: "b" }, { from: "a", to: "c" }] };
  assert.equal(chooseMethod(branch), "dagre");
  const cycle = { nodes: chain.nodes, edges: [...chain.edges, { from: "c", to: "a" }] };
  assert.equal(chooseMethod(cycle), "dagre");
  assert.equal(chooseMethod({ nodes: chain.nodes, edges: [] }), "grid");
  // The same children in the same order whatever the order of the edges.
  const reversed = computeLayout({ ...chain, edges: [...chain.edges].reverse() });
  assert.deepEqual(reversed.nodes, computeLayout(chain).nodes);
});

test("a column looks like dagre's layout of the same chain", () => {
  const request: LayoutRequest = {
    nodes: Array.from({ length: 6 }, (_, i) => ({ id: `n${i}`, width: 120, height: 44 })),
    edges: Array.from({ length: 5 }, (_, i) => ({ from: `n${i}`, to: `n${i + 1}` })),
  };
  const column = layoutWith(request, "column");
  const dagre = layoutWith(request, "dagre");
  assert.deepEqual([column.width, column.height], [dagre.width, dagre.height]);
  for (const { id } of request.nodes) {
    assert.ok(Math.abs(column.nodes[id]!.y - dagre.nodes[id]!.y) < 1, id);
    assert.ok(Math.abs(column.nodes[id]!.x - dagre.nodes[id]!.x) < 1, id);
  }
});

test("a grid of unconnected children: rows of up to 12, then about twice as wide as tall", () => {
  const row = computeLayout({ nodes: Array.from({ length: 5 }, (_, i) => ({ id: `n${i}`, width: 100, height: 40 })), edges: [] });
  assert.equal(new Set(Object.values(row.nodes).map((p) => p.y)).size, 1);
  assert.equal(row.width, 5 * 100 + 4 * 18);
  const grid = computeLayout({ nodes: Array.from({ length: 50 }, (_, i) => ({ id: `n${i}`, width: 100, height: 40 })), edges: [] });
  const columns = new Set(Object.values(grid.nodes).map((p) => p.x)).size;
  const rows = new Set(Object.values(grid.nodes).map((p) => p.y)).size;
  assert.equal(columns, 10);
  assert.equal(rows, 5);
  // No two nodes overlap.
  const boxes = Object.values(grid.nodes);
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++)
      assert.ok(Math.abs(boxes[i]!.x - boxes[j]!.x) >= 100 || Math.abs(boxes[i]!.y - boxes[j]!.y) >= 40);
});

test("laying out the same children again with other sizes reuses dagre's order: the same layout as anew", () => {
  // A branchy graph (dagre's): diamonds, long edges, a cycle and a pair of opposite edges (once one is
  // reversed, both run from the same node to the same node).
  const ids = ["in", "a", "b", "c", "d", "e", "out"];
  const edges = [
    ["in", "a"], ["in", "b"], ["a", "c"], ["b", "c"], ["c", "d"], ["c", "e"], ["d", "out"], ["e", "out"],
    ["in", "out"], ["e", "a"], ["out", "in"], ["in", "d"],
  ].map(([from, to]) => ({ from: from!, to: to! }));
  const request = (grown: string, width: number): LayoutRequest => ({
    nodes: ids.map((id) => ({ id, width: id === grown ? width : 100, height: id === grown ? 200 : 40 })),
    edges,
  });
  assert.equal(chooseMethod(request("c", 300)), "dagre");
  forgetOrders();
  computeLayout(request("a", 100));
  const reused = computeLayout(request("c", 300));
  forgetOrders();
  const fresh = computeLayout(request("c", 300));
  assert.deepEqual(reused, fresh);
});

/** ResNet-like blocks: x → a → b → c → add and x → shortcut → add, each block's add feeding the next. */
function residualBlocks(blocks: number): LayoutRequest {
  const nodes: LayoutRequest["nodes"] = [];
  const edges: LayoutRequest["edges"] = [];
  let input = "stem";
  nodes.push({ id: input, width: 120, height: 44 });
  for (let i = 0; i < blocks; i++) {
    const ids = ["a", "b", "c", "shortcut", "add"].map((name) => `block${i}/${name}`);
    for (const id of ids) nodes.push({ id, width: 100 + (id.length % 5) * 10, height: 44 });
    const [a, b, c, shortcut, add] = ids as [string, string, string, string, string];
    edges.push({ from: input, to: a }, { from: a, to: b }, { from: b, to: c }, { from: c, to: add });
    edges.push({ from: input, to: shortcut }, { from: shortcut, to: add });
    input = add;
  }
  return { nodes, edges };
}

test("large branchy groups: dagre over contracted chains, members stacked in place", () => {
  const request = residualBlocks(10);
  assert.equal(request.nodes.length, 51);
  assert.equal(chooseMethod(request), "chains");
  assert.equal(chooseMethod(residualBlocks(3)), "dagre", "small groups keep dagre's own layout");
  const layout = computeLayout(request);
  const size = new Map(request.nodes.map((node) => [node.id, node]));
  const boxes = request.nodes.map((node) => ({ ...node, ...layout.nodes[node.id]! }));
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [p, q] = [boxes[i]!, boxes[j]!];
      const apart = Math.abs(p.x - q.x) >= (p.width + q.width) / 2 || Math.abs(p.y - q.y) >= (p.height + q.height) / 2;
      assert.ok(apart, `${p.id} overlaps ${q.id}`);
    }
  }
  // A chain's members share an axis and go down in order.
  assert.equal(layout.nodes["block3/a"]!.x, layout.nodes["block3/c"]!.x);
  assert.ok(layout.nodes["block3/a"]!.y < layout.nodes["block3/b"]!.y && layout.nodes["block3/b"]!.y < layout.nodes["block3/c"]!.y);
  assert.ok(layout.nodes["block3/add"]!.y > layout.nodes["block3/shortcut"]!.y);
  assert.equal(layout.edges.length, request.edges.length);
  for (const edge of layout.edges) {
    const [first, last] = [edge.points[0]!, edge.points.at(-1)!];
    assert.ok(Math.abs(first.y - (layout.nodes[edge.from]!.y + size.get(edge.from)!.height / 2)) < 0.01, `${edge.from} bottom`);
    assert.ok(Math.abs(last.y - (layout.nodes[edge.to]!.y - size.get(edge.to)!.height / 2)) < 0.01, `${edge.to} top`);
  }
  const all = Object.values(layout.nodes);
  assert.ok(all.every((p) => p.x >= 0 && p.y >= 0 && p.x <= layout.width && p.y <= layout.height));
});

test("chains: runs of single links, not closed loops", () => {
  assert.deepEqual(
    findChains(["a", "b", "c", "d"], [{ from: "a", to: "b" }, { from: "b", to: "c" }, { from: "a", to: "d" }]),
    [["a"], ["b", "c"], ["d"]],
  );
  assert.equal(findChains(["a", "b"], [{ from: "a", to: "b" }, { from: "b", to: "a" }]), undefined, "a ring");
  assert.equal(findChains(["a", "b", "c"], [{ from: "a", to: "c" }, { from: "b", to: "c" }]), undefined, "no chain");
});
