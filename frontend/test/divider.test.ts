import assert from "node:assert/strict";
import { test } from "node:test";
import { MIN_GRAPH_WIDTH, MIN_TREE_WIDTH, clampTreeWidth, parseStoredWidth } from "../src/divider";

test("the tree's width stays between its minimum and what leaves the graph its room", () => {
  assert.equal(clampTreeWidth(400, 1200), 400);
  assert.equal(clampTreeWidth(10, 1200), MIN_TREE_WIDTH);
  assert.equal(clampTreeWidth(5000, 1200), 1200 - MIN_GRAPH_WIDTH);
  assert.equal(clampTreeWidth(Number.POSITIVE_INFINITY, 1200), 1200 - MIN_GRAPH_WIDTH);
  assert.equal(clampTreeWidth(300.6, 1200), 301);
});

test("in a room too small for both, the tree keeps its minimum", () => {
  assert.equal(clampTreeWidth(300, MIN_TREE_WIDTH + MIN_GRAPH_WIDTH - 50), MIN_TREE_WIDTH);
  assert.equal(clampTreeWidth(300, 0), MIN_TREE_WIDTH);
});

test("a remembered width reads back; anything else is no width", () => {
  assert.equal(parseStoredWidth("420"), 420);
  assert.equal(parseStoredWidth(" 333.5 "), 333.5);
  for (const text of [null, undefined, "", "wide", "-20", "0", "12px", "NaN", "Infinity", "1e3"]) {
    assert.equal(parseStoredWidth(text), undefined, String(text));
  }
});
