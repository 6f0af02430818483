import assert from "node:assert/strict";
import { test } from "node:test";
import { formatGraphHash, parseGraphHash } from "../src/hash";

test("reads run and tag from the hash", () => {
  assert.deepEqual(parseGraphHash("#run=demo&tag=model"), { run: "demo", tag: "model" });
});

test("a missing or empty hash names nothing", () => {
  assert.deepEqual(parseGraphHash(""), {});
  assert.deepEqual(parseGraphHash("#"), {});
  assert.deepEqual(parseGraphHash("#tag=only"), { tag: "only" });
});

test("names with reserved characters survive a round trip", () => {
  const graph = { run: "train/exp 1&2", tag: "outer/model=#1+x%" };
  const hash = formatGraphHash(graph);
  assert.equal(hash, "#run=train%2Fexp%201%262&tag=outer%2Fmodel%3D%231%2Bx%25");
  assert.deepEqual(parseGraphHash(hash), graph);
});
