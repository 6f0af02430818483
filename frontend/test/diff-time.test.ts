// Colour by time while comparing: the time deltas come from the `diff` listings asked again with time=1, put in the
// time overlay by path (the structure not fetched again), and drawn on the diverging scale; one side without a
// profile makes the legend say why.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError, type Api } from "../src/api";
import { Colouring } from "../src/colour-by";
import { diffMarkOf } from "../src/diff-marks";
import { GraphSession } from "../src/session";
import type { DiffNode } from "../src/types";
import { buildDemoGraph, fakeApi } from "./fake-graph";

const A = { run: "demo", tag: "model" };
const B = { run: "demo", tag: "model" };

/** B as A made half as slow again: each timed node's delta is half its time. */
function deltaOf(node: DiffNode): number | undefined {
  return node.time_us === undefined ? undefined : node.time_us / 2;
}

function withTimes(node: DiffNode): DiffNode {
  const graph = buildDemoGraph();
  const timed = (n: DiffNode): DiffNode => {
    const time = graph.values("time", [n.path], 0).values[n.path]?.time_us;
    const out: DiffNode = { ...n, delta: { ...n.delta } };
    if (time !== undefined) {
      out.time_us = time;
      out.delta!.time_us = time / 2;
    }
    if (n.children) out.children = n.children.map(timed);
    return out;
  };
  return timed(node);
}

function comparing(diffTimes: Api["diffTimes"]) {
  const api = fakeApi([buildDemoGraph()]);
  api.diffTimes = async (graph, other, path, depth) => {
    api.calls.push(`diff time ${path}`);
    return diffTimes(graph, other, path, depth);
  };
  return { api, session: new GraphSession(api, A, B) };
}

function walk(node: DiffNode | undefined): DiffNode[] {
  return node ? [node, ...(node.children ?? []).flatMap(walk)] : [];
}

test("comparing, time comes from diff listings with time=1 as an overlay and colours by its delta", async () => {
  const { api, session } = comparing(async (_graph, _other, path, depth) =>
    withTimes(buildDemoGraph().diff(path, depth)),
  );
  await session.explorer.start();
  await session.store.load("encoder");
  const loaded = api.calls.filter((call) => call.startsWith("diff ")).map((call) => call.slice("diff ".length));
  assert.ok(loaded.length >= 2, api.calls.join("\n"));
  api.calls.length = 0;
  await session.loadTimes(false, (request) => request); // (comparing: the server says which side has no profile)
  assert.deepEqual(api.calls.sort(), loaded.map((path) => `diff time ${path}`).sort()); // (no structure again)
  assert.equal(session.timeMessage, undefined);
  const colouring = new Colouring("time", session.store.get(""), session.timeMessage, true);
  let timed = 0;
  for (const path of loaded) {
    for (const node of walk(session.store.get(path) as DiffNode)) {
      const expected = deltaOf(node);
      assert.equal(node.delta?.time_us, expected, node.path);
      const paint = colouring.paint({ costs: undefined, diff: diffMarkOf(node) });
      if (expected === undefined) assert.equal(paint?.kind, "unknown", node.path);
      else {
        timed++;
        assert.equal(paint?.kind === "tone" && paint.value, expected, node.path);
      }
    }
  }
  assert.ok(timed > 0);
  assert.equal(colouring.legend([]).kind, "diverging");
  // A listing loaded later fetches its time with it.
  api.calls.length = 0;
  const block = (await session.store.load("encoder/block_0")) as DiffNode;
  assert.deepEqual(api.calls, ["diff encoder/block_0", "diff time encoder/block_0"]);
  assert.equal(block.delta?.time_us, deltaOf(block));
});

test("comparing with one side unprofiled, the legend says why instead of colours", async () => {
  const why = "Run 'b' holds no profile to read time from.";
  const { session } = comparing(async (_graph, _other, path, depth) => ({ ...buildDemoGraph().diff(path, depth), time_missing: why }));
  await session.explorer.start();
  await session.loadTimes(false, (request) => request);
  assert.equal(session.timeMessage, why);
  const legend = new Colouring("time", session.store.get(""), session.timeMessage, true).legend([]);
  assert.deepEqual(legend, { kind: "message", measure: "time", text: why });
});

test("comparing with neither side profiled, the legend says the route's 422", async () => {
  const why = "Run 'demo' holds no profile to read time from.";
  const { session } = comparing(async () => {
    throw new ApiError(why, 422);
  });
  await session.explorer.start();
  await session.loadTimes(false, (request) => request);
  assert.equal(session.timeMessage, why);
  assert.equal(session.store.time, false);
});
