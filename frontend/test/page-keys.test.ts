import assert from "node:assert/strict";
import { test } from "node:test";
import { KEY_HELP, pageActionOf } from "../src/page-keys";

const key = (k: string, mods: Partial<Record<"ctrlKey" | "metaKey" | "altKey", boolean>> = {}) => ({
  key: k,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  ...mods,
});

test("/ searches, Esc clears, f fits, ? helps", () => {
  assert.equal(pageActionOf(key("/")), "search");
  assert.equal(pageActionOf(key("Escape")), "clear");
  assert.equal(pageActionOf(key("f")), "fit");
  assert.equal(pageActionOf(key("F")), "fit");
  assert.equal(pageActionOf(key("?")), "help");
});

test("other keys, and the page's keys with Ctrl, Alt or Cmd, are left to the browser", () => {
  for (const k of ["a", "Enter", " ", "ArrowDown", "Tab"]) assert.equal(pageActionOf(key(k)), undefined, k);
  assert.equal(pageActionOf(key("f", { ctrlKey: true })), undefined);
  assert.equal(pageActionOf(key("/", { metaKey: true })), undefined);
  assert.equal(pageActionOf(key("?", { altKey: true })), undefined);
});

test("the help lists every page-wide key", () => {
  const listed = KEY_HELP[0]!.keys.flatMap(([names]) => names);
  for (const name of ["/", "Esc", "f", "?"]) assert.ok(listed.includes(name), name);
});
