// "Next change" walks the changed nodes of a comparison's union tree in tree order, fetching only the listings of
// groups with changes below; checked against a walk of the whole fake tree.
import assert from "node:assert/strict";
import { test } from "node:test";
import { findChange } from "../src/next-change";
import type { DiffNode, DiffStatus } from "../src/types";
import { buildDemoGraph, fakeApi } from "./fake-graph";

const STATUSES: Record<string, DiffStatus> = {
  encoder: "changed",
  "encoder/block_1": "changed",
  "encoder/block_1/dense": "renamed",
  "encoder/block_1/relu": "changed",
  "encoder/block_2": "added",
  "encoder/block_2/dense": "added",
  gate: "removed",
  "gate/then": "removed",
  wide: "changed",
  "wide/add_7": "changed",
  "wide/add_200": "changed",
};

function setUp() {
  const graph = buildDemoGraph();
  for (const [path, status] of Object.entries(STATUSES)) graph.diffStatus.set(path, status);
  const api = fakeApi([graph]);
  const ref = { run: "demo", tag: "model" };
  const load = (path: string) => api.diff(ref, ref, path, 1);
  // The truth: the whole tree at once, in order, parents first; nothing inside an added or removed node.
  const expected: string[] = [];
  const walk = (node: DiffNode) => {
    for (const child of node.children ?? []) {
      if (child.diff !== "same") expected.push(child.path);
      if (child.diff !== "added" && child.diff !== "removed") walk(child);
    }
  };
  walk(graph.diff("", 99));
  return { api, load, expected };
}

test("n walks every change in tree order, then starts again; N walks them back", async () => {
  const { load, expected } = setUp();
  assert.ok(expected.length >= 6, expected.join(" "));
  const forward: string[] = [];
  let at: string | undefined;
  for (let i = 0; i < expected.length; i++) forward.push((at = await findChange(load, at, false))!);
  assert.deepEqual(forward, expected);
  assert.equal(await findChange(load, at, false), expected[0], "after the last, the first");
  const backward: string[] = [];
  at = undefined;
  for (let i = 0; i < expected.length; i++) backward.push((at = await findChange(load, at, true))!);
  assert.deepEqual(backward, [...expected].reverse());
});

test("from a node that did not change, the next change after it in tree order", async () => {
  const { load, expected } = setUp();
  assert.equal(await findChange(load, "encoder/block_0", false), "encoder/block_1");
  assert.equal(await findChange(load, "encoder/block_0", true), "encoder");
  assert.equal(await findChange(load, "AddN[0-3]", false), "gate");
  assert.equal(await findChange(load, "inputs/var_3", true), expected.at(-1), "before the first, the last");
});

test("only groups with changes below are fetched: not an added or removed group, not one alike in both", async () => {
  const { api, load, expected } = setUp();
  let at: string | undefined;
  for (let i = 0; i < expected.length; i++) at = await findChange(load, at, false);
  const fetched = new Set(api.calls.filter((call) => call.startsWith("diff ")).map((call) => call.slice(5)));
  for (const path of ["inputs", "encoder/block_0", "encoder/block_2", "gate", "AddN[0-3]"]) assert.ok(!fetched.has(path), path);
  for (const path of ["", "encoder", "encoder/block_1", "wide"]) assert.ok(fetched.has(path), path);
});

test("nothing changed: no change to go to", async () => {
  const graph = buildDemoGraph();
  const api = fakeApi([graph]);
  const ref = { run: "demo", tag: "model" };
  assert.equal(await findChange((path) => api.diff(ref, ref, path, 1), undefined, false), undefined);
});

test("an added node named like A's node beside it has a path of its own, and the walk stops there", async () => {
  const node = (path: string, diff: DiffNode["diff"], extra: Partial<DiffNode> = {}): DiffNode =>
    ({ path, name: path.split("/").pop()!, kind: "module", num_ops: 1, diff, ...extra }) as DiffNode;
  const alike = { counts: { same: 3 } }; // (a renamed block: alike inside)
  const listings: Record<string, DiffNode> = {
    "": node("", "changed", { counts: { changed: 1, added: 1, renamed: 2 }, children: [node("stack", "changed", { counts: { added: 1, renamed: 2 } })] }),
    stack: node("stack", "changed", {
      counts: { added: 1, renamed: 2 },
      children: [node("stack/blk_5", "same"), node("stack/blk_6", "renamed", alike), node("stack/blk_6~b", "added", { name: "blk_6", path_b: "stack/blk_6" }), node("stack/blk_7", "renamed", alike)],
    }),
  };
  const load = async (path: string) => listings[path]!;
  assert.equal(await findChange(load, "stack/blk_6", false), "stack/blk_6~b");
  assert.equal(await findChange(load, "stack/blk_6~b", false), "stack/blk_7");
  assert.equal(await findChange(load, "stack/blk_7", true), "stack/blk_6~b");
});
