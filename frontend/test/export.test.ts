import assert from "node:assert/strict";
import { test } from "node:test";
import { withoutControls } from "../src/export";

test("control characters become U+FFFD, one for one; text, tabs, line feeds and pairs stay", () => {
  const escape = "\u001b]0;title\u0007 and \u001b[2J";
  assert.equal(withoutControls(escape), "\ufffd]0;title\ufffd and \ufffd[2J");
  assert.equal(withoutControls("a\u0000b\u007fc\u009bd\u202ee"), "a\ufffdb\ufffdc\ufffdd\ufffde");
  assert.equal(withoutControls("tab\there\nline 模型 🙂 é"), "tab\there\nline 模型 🙂 é");
  assert.equal(withoutControls("lone \ud800 and \udc00 end \ud83d"), "lone \ufffd and \ufffd end \ufffd");
});
