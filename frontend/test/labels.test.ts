import assert from "node:assert/strict";
import { test } from "node:test";
import { unexpandedText } from "../src/labels";

test("ops left unexpanded are counted as ops: While and If loops are no calls", () => {
  assert.equal(unexpandedText(1), "1 op left unexpanded (budget)");
  assert.equal(unexpandedText(1500), "1,500 ops left unexpanded (budget)");
});
