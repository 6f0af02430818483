import assert from "node:assert/strict";
import { test } from "node:test";
import { Explorer } from "../src/explorer";
import { HierarchyStore } from "../src/hierarchy-store";
import { findVisible } from "../src/visible-node";
import { FakeGraph, buildDemoGraph, fakeApi } from "./fake-graph";

function explorer() {
  const api = fakeApi([buildDemoGraph()]);
  return { api, explorer: new Explorer(new HierarchyStore(api, { run: "demo", tag: "model" })) };
}

test("reveal expands every ancestor of a path", async () => {
  const { explorer: e } = explorer();
  await e.start();
  await e.reveal("encoder/block_1/dense/BiasAdd/(BiasAdd)");
  assert.deepEqual([...e.expanded], ["encoder", "encoder/block_1", "encoder/block_1/dense", "encoder/block_1/dense/BiasAdd"]);
  assert.ok(findVisible(e.visibleTree(), "encoder/block_1/dense/BiasAdd/(BiasAdd)"));
});

test("reveal expands the chunk holding a path in a large group", async () => {
  const { explorer: e } = explorer();
  await e.start();
  await e.reveal("inputs/var_250");
  assert.deepEqual([...e.expanded], ["inputs", "inputs/[201-300]"]);
  assert.ok(findVisible(e.visibleTree(), "inputs/var_250"));
});

test("each group is fetched once, however often it is expanded", async () => {
  const { api, explorer: e } = explorer();
  await e.start();
  const node = { path: "encoder", kind: "module" as const, expandable: true };
  await Promise.all([e.expand(node), e.expand(node)]);
  e.collapse("encoder");
  await e.expand(node);
  await e.reveal("encoder/block_0");
  assert.deepEqual(api.calls, ["hierarchy ", "hierarchy encoder"]);
});

test("revealing a path that is not in the hierarchy fails with a message", async () => {
  const { explorer: e } = explorer();
  await e.start();
  await assert.rejects(e.reveal("encoder/nope"), /"encoder\/nope" is not in the graph's hierarchy/);
});

test("a 404 from the server reaches the caller as an ApiError", async () => {
  const api = fakeApi([buildDemoGraph()]);
  const e = new Explorer(new HierarchyStore(api, { run: "demo", tag: "missing" }));
  await assert.rejects(e.start(), { name: "ApiError", status: 404 });
});

/** A group whose 320 children are two runs of names (a_q0_z … a_q159_z, c_q0_z …): two groups by name, each
 * shown in parts of 100. */
function namedGraph(): FakeGraph {
  const graph = new FakeGraph("named").group("g", "module");
  for (const word of ["a", "c"]) for (let i = 0; i < 160; i++) graph.op(`g/${word}_q${i}_z`, "Relu");
  return graph;
}

function namedExplorer() {
  return new Explorer(new HierarchyStore(fakeApi([namedGraph()]), { run: "demo", tag: "named" }));
}

test("reveal and expandPath open the groups by name and the parts a child sits in", async () => {
  const e = namedExplorer();
  await e.start();
  await e.reveal("g/a_q120_z");
  assert.deepEqual([...e.expanded], ["g", "g/[a]", "g/[a]/[101-160]"]);
  assert.ok(findVisible(e.visibleTree(), "g/a_q120_z"));
  const other = namedExplorer();
  await other.start();
  await other.expandPath("g/[c]/[1-100]"); // (an address's expanded path: its real group and the groups around it)
  assert.deepEqual([...other.expanded], ["g", "g/[c]", "g/[c]/[1-100]"]);
  await assert.rejects(other.expandPath("g/[b]"), /not shown/);
});

test("revealing a child group opens what holds it, not the group itself (a restored selection)", async () => {
  const e = namedExplorer();
  await e.start();
  await e.reveal("g/[a]/[1-100]");
  assert.deepEqual([...e.expanded], ["g", "g/[a]"]);
  assert.ok(findVisible(e.visibleTree(), "g/[a]/[1-100]"));
});

test("the address's expanded groups are those open on screen: none inside a group closed since", async () => {
  const e = namedExplorer();
  await e.start();
  await e.reveal("g/c_q3_z");
  assert.deepEqual(e.shownExpanded(), ["g", "g/[c]", "g/[c]/[1-100]"]);
  e.collapse("g/[c]");
  assert.deepEqual(e.shownExpanded(), ["g"]);
  e.collapse("g");
  assert.deepEqual(e.shownExpanded(), []);
});
