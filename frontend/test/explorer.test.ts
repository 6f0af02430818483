import assert from "node:assert/strict";
import { test } from "node:test";
import { Explorer } from "../src/explorer";
import { HierarchyStore } from "../src/hierarchy-store";
import { findVisible } from "../src/visible";
import { buildDemoGraph, fakeApi } from "./fake-graph";

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
