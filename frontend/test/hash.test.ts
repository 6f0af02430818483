import assert from "node:assert/strict";
import { test } from "node:test";
import { TAB_ID, formatGraphHash, formatTensorBoardHash, parseGraphHash, parseTensorBoardHash } from "../src/hash";

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

test("the view's expanded groups and selection survive a round trip, in both addresses", () => {
  const view = { run: "r 1", tag: "t&x", expanded: ["model", "model/encoder", "model/[1-100]"], selected: "model/encoder/block_0" };
  assert.deepEqual(parseGraphHash(formatGraphHash(view)), view);
  const theirs = formatTensorBoardHash(view);
  assert.ok(theirs.startsWith(`#${TAB_ID}&run=r%201&tag=t%26x&expanded=model&`), theirs);
  assert.deepEqual(parseTensorBoardHash(theirs), view);
});

test("TensorBoard's address names this tab's view only when it shows this tab", () => {
  assert.deepEqual(parseTensorBoardHash(`#${TAB_ID}`), {});
  assert.deepEqual(parseTensorBoardHash(`#${TAB_ID}&run=a&tag=b`), { run: "a", tag: "b" });
  assert.equal(parseTensorBoardHash("#scalars&run=a"), undefined);
  assert.equal(parseTensorBoardHash(`#${TAB_ID}_other&run=a`), undefined);
  assert.equal(parseTensorBoardHash(""), undefined);
});

test("the comparison survives a round trip in both addresses, and a half-named one is none", () => {
  const view = { run: "v 1", tag: "model", compare_run: "nested/v2", compare_tag: "m&x", selected: "model/head" };
  assert.deepEqual(parseGraphHash(formatGraphHash(view)), view);
  assert.deepEqual(parseTensorBoardHash(formatTensorBoardHash(view)), view);
  assert.ok(formatGraphHash(view).includes("compare_run=nested%2Fv2&compare_tag=m%26x"), formatGraphHash(view));
  assert.deepEqual(parseGraphHash("#run=a&tag=b&compare_run=c"), { run: "a", tag: "b" });
  assert.ok(!formatGraphHash({ run: "a", tag: "b" }).includes("compare"));
});
