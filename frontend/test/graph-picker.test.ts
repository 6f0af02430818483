import assert from "node:assert/strict";
import { test } from "node:test";
import { graphToOpen, matchingRuns, optionText } from "../src/graph-picker";
import type { GraphEntry } from "../src/types";

function entry(run: string, tag: string, extra: Partial<GraphEntry> = {}): GraphEntry {
  return { run, tag, source: "trace", profiled: false, ...extra };
}

const EMPTY = entry("a_empty", "empty_trace", { reads: false, error: "This trace holds no graph." });

test("the graph to open is the server's choice, else the first not known to fail, else the first", () => {
  const good = entry("b_model", "model", { reads: true, has_module: true });
  assert.equal(graphToOpen({ graphs: [EMPTY, entry("b_flat", "f"), good], first: { run: "b_model", tag: "model" } }), good);
  assert.equal(graphToOpen({ graphs: [EMPTY, good] })?.run, "b_model");
  assert.equal(graphToOpen({ graphs: [EMPTY] }), EMPTY);
  assert.equal(graphToOpen({ graphs: [] }), undefined);
  // A choice the listing does not hold (the logdir changed in between) falls back.
  assert.equal(graphToOpen({ graphs: [EMPTY, good], first: { run: "gone", tag: "x" } }), good);
});

test("the run filter matches part of a name in any case and keeps the order", () => {
  const runs = ["conv/A", "dense/b", "eval/a", "resnet"];
  assert.deepEqual(matchingRuns(runs, "A"), ["conv/A", "eval/a"]);
  assert.deepEqual(matchingRuns(runs, "  "), runs);
  assert.deepEqual(matchingRuns(runs, "nope"), []);
});

test("a graph that does not read says so in its option, and why in its title", () => {
  assert.deepEqual(optionText("empty_trace", [EMPTY]), {
    text: "empty_trace — does not read",
    title: "empty_trace does not read: This trace holds no graph.",
  });
  assert.deepEqual(optionText("model", [entry("r", "model")]), { text: "model", title: "recorded as trace" });
  // A run: marked when none of its graphs reads; one that partly reads says how many do not.
  assert.equal(optionText("a_empty", [EMPTY, { ...EMPTY, tag: "other" }]).text, "a_empty — does not read");
  assert.deepEqual(optionText("mixed", [EMPTY, entry("mixed", "ok", { reads: true })]), {
    text: "mixed",
    title: "1 of its 2 graphs do not read",
  });
});
