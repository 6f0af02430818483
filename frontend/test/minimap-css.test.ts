// The overview's offset and border, which the camera reserves a column for (overviewColumn), are the stylesheet's:
// read from styles/graph.css itself, so a change to one side alone fails here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { MINIMAP_BORDER, MINIMAP_OFFSET, overviewColumn, overviewOf } from "../src/graph-minimap";

// Built into test-build/, so the sources are one folder up from there.
const GRAPH_CSS = new URL("../src/styles/graph.css", import.meta.url).pathname;

/** The declarations of the rule whose selector is exactly `selector` (the stylesheet's comments left out). */
function declarations(selector: string): Map<string, string> {
  const css = readFileSync(GRAPH_CSS, "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
  const found = [...css.matchAll(/([^{}]+)\{([^{}]*)\}/g)].filter((match) => match[1]!.trim() === selector);
  assert.equal(found.length, 1, `one ${selector} rule in graph.css`);
  const out = new Map<string, string>();
  for (const part of found[0]![2]!.split(";")) {
    const colon = part.indexOf(":");
    if (colon > 0) out.set(part.slice(0, colon).trim(), part.slice(colon + 1).trim());
  }
  return out;
}

/** A length in px (`10px`), or the px width of a `border` shorthand (`1px solid ...`). */
function px(value: string | undefined): number {
  const match = /^(-?[\d.]+)px\b/.exec(value ?? "");
  assert.ok(match, `a length in px: ${value}`);
  return Number(match[1]);
}

test("the overview's offset and border are graph.css's", () => {
  const minimap = declarations(".mg-minimap");
  assert.equal(minimap.get("position"), "absolute");
  assert.equal(px(minimap.get("top")), MINIMAP_OFFSET);
  assert.equal(px(minimap.get("right")), MINIMAP_OFFSET);
  // The overview wears .mg-float's frame (Minimap's class list); its own rule sets no border of its own.
  assert.ok(![...minimap.keys()].some((name) => name.startsWith("border") && name !== "border-radius"));
  assert.equal(px(declarations(".mg-float").get("border")), MINIMAP_BORDER);
  const box = { x: 0, y: 0, width: 800, height: 300 };
  assert.equal(overviewColumn(box), overviewOf(box).width + 2 * MINIMAP_BORDER + MINIMAP_OFFSET);
});
