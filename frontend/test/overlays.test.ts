import assert from "node:assert/strict";
import { test } from "node:test";
import { createApi } from "../src/api";
import { HierarchyStore, VALUE_PATHS_PER_REQUEST } from "../src/hierarchy-store";
import { Overlays } from "../src/overlays";
import { GraphSession } from "../src/session";
import type { HierarchyNode } from "../src/types";
import { buildDemoGraph, fakeApi } from "./fake-graph";

const GRAPH = { run: "demo", tag: "model" };

function walk(node: HierarchyNode | undefined): HierarchyNode[] {
  return node ? [node, ...(node.children ?? []).flatMap(walk)] : [];
}

test("a values request repeats `path` for each node asked", async () => {
  const urls: string[] = [];
  const api = createApi(async (url) => {
    urls.push(url);
    return new Response(JSON.stringify({ measure: "time", values: {}, pending: false }));
  });
  await api.values({ run: "r", tag: "t" }, "time", ["", "a/b"], 1);
  assert.deepEqual(urls, ["./values?run=r&tag=t&measure=time&path=&path=a%2Fb&depth=1"]);
});

test("an overlay sets its measure's fields and says where the measure is not known", () => {
  const overlays = new Overlays();
  const listing: HierarchyNode = {
    path: "m", name: "m", kind: "module", num_ops: 2, num_params: 3, cost_unknown: ["flops"],
    children: [{ path: "m/x", name: "x", kind: "op", num_ops: 1 }],
  };
  overlays.set("time", { m: { time_us: 4 }, "m/x": { unknown: ["time"] } });
  const applied = overlays.apply(listing);
  assert.equal(applied.time_us, 4);
  assert.equal(applied.num_params, 3);
  assert.deepEqual(applied.cost_unknown, ["flops"]);
  assert.deepEqual(applied.children?.[0]?.cost_unknown, ["time"]);
  assert.equal(listing.time_us, undefined); // (the listing as fetched stays as it was)
  overlays.set("flops", { m: { flops: 8 } });
  assert.equal(overlays.apply(listing).cost_unknown, undefined);
});

test("colouring by time fetches the time overlay of every loaded listing and no listing again", async () => {
  const api = fakeApi([buildDemoGraph()]);
  const session = new GraphSession(api, GRAPH);
  await session.explorer.start();
  await session.store.load("encoder");
  const loaded = api.calls.filter((call) => call.startsWith("hierarchy")).map((call) => call.slice("hierarchy ".length));
  assert.ok(loaded.length >= 2, api.calls.join("\n"));
  api.calls.length = 0;
  await session.loadTimes(true, (request) => request);
  assert.deepEqual(api.calls, [`values time ${loaded.join(",")}`]);
  assert.equal(session.store.time, true);
  const graph = buildDemoGraph();
  for (const path of loaded) {
    for (const node of walk(session.store.get(path))) {
      const truth = graph.values("time", [node.path], 0).values[node.path]!;
      assert.equal(node.time_us, truth.time_us, node.path);
      assert.equal(node.cost_unknown?.includes("time") ?? false, truth.unknown !== undefined, node.path);
    }
  }
  // A listing loaded later while time is on fetches its overlay with it.
  api.calls.length = 0;
  const block = await session.store.load("encoder/block_0");
  assert.deepEqual(api.calls, ["hierarchy encoder/block_0", "values time encoder/block_0"]);
  assert.equal(block.time_us, graph.values("time", ["encoder/block_0"], 0).values["encoder/block_0"]!.time_us);
  assert.ok(block.children?.every((child) => child.time_us !== undefined || child.cost_unknown?.includes("time")));
});

test("a run without a profile says why, asking nothing", async () => {
  const api = fakeApi([buildDemoGraph()]);
  const session = new GraphSession(api, GRAPH);
  await session.explorer.start();
  api.calls.length = 0;
  await session.loadTimes(false, (request) => request);
  assert.deepEqual(api.calls, []);
  assert.match(session.timeMessage ?? "", /no profile/);
  assert.equal(session.store.time, false);
});

test("FLOPs still being counted are asked for as an overlay until given, no listing fetched again", async () => {
  const api = fakeApi([buildDemoGraph()]);
  const store = new HierarchyStore(api, GRAPH);
  await store.load("");
  const before = store.get("");
  api.pending.flops = 2;
  api.calls.length = 0;
  assert.equal(await store.loadOverlay("flops"), true);
  assert.equal(store.get(""), before); // (pending: nothing changed)
  assert.equal(await store.loadOverlay("flops"), true);
  assert.equal(await store.loadOverlay("flops"), false);
  assert.deepEqual(api.calls, ["values flops ", "values flops ", "values flops "]);
  assert.equal(store.get("")?.flops, buildDemoGraph().values("flops", [""], 0).values[""]!.flops);
});

test("many loaded listings are asked for in batches", async () => {
  const api = fakeApi([buildDemoGraph("model", 2 * VALUE_PATHS_PER_REQUEST)]);
  const store = new HierarchyStore(api, GRAPH);
  const blocks = [...Array(VALUE_PATHS_PER_REQUEST + 1).keys()].map((b) => `encoder/block_${b}`);
  await Promise.all(blocks.map((path) => store.load(path)));
  api.calls.length = 0;
  await store.loadOverlay("time", true);
  assert.equal(api.calls.length, 2);
  assert.ok(blocks.every((path) => store.get(path)?.time_us !== undefined));
});
