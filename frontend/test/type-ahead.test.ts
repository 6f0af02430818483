import assert from "node:assert/strict";
import { test } from "node:test";
import { TYPE_AHEAD_PAUSE_MS, extendQuery, typeAheadMatch } from "../src/type-ahead";

const names = ["Inputs", "encoder", "embedding", "dense", "Dense_1", "outputs"];

test("one character moves to the next row it starts, wrapping round, in any case", () => {
  assert.equal(typeAheadMatch(names, 0, "e"), 1);
  assert.equal(typeAheadMatch(names, 1, "e"), 2);
  assert.equal(typeAheadMatch(names, 2, "e"), 1);
  assert.equal(typeAheadMatch(names, 2, "d"), 3);
  assert.equal(typeAheadMatch(names, 3, "D"), 4);
  assert.equal(typeAheadMatch(names, 5, "i"), 0);
});

test("a longer query keeps the current row while it still matches", () => {
  assert.equal(typeAheadMatch(names, 1, "en"), 1);
  assert.equal(typeAheadMatch(names, 1, "em"), 2);
  assert.equal(typeAheadMatch(names, 3, "dense_"), 4);
});

test("nothing matches: no move", () => {
  assert.equal(typeAheadMatch(names, 0, "z"), undefined);
  assert.equal(typeAheadMatch(names, 0, "enx"), undefined);
  assert.equal(typeAheadMatch([], 0, "e"), undefined);
});

test("a repeated character steps through the rows it starts", () => {
  assert.equal(typeAheadMatch(names, 1, "ee"), 2);
  assert.equal(typeAheadMatch(names, 2, "eee"), 1);
  // ...unless a name starts with the repeat itself.
  assert.equal(typeAheadMatch(["b", "bbox", "bias"], 0, "bb"), 1);
});

test("characters typed quickly make one query; after a pause a new one starts", () => {
  const first = extendQuery(undefined, "E", 1000);
  assert.deepEqual(first, { text: "e", at: 1000 });
  const second = extendQuery(first, "n", 1000 + TYPE_AHEAD_PAUSE_MS - 1);
  assert.equal(second.text, "en");
  assert.equal(extendQuery(second, "d", second.at + TYPE_AHEAD_PAUSE_MS + 1).text, "d");
});
