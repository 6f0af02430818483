// Text contrast of the palette, read from the stylesheets themselves (styles/*.css): every colour variable the
// stylesheets use for text (a `color`, or the `fill` of SVG text) is checked against each background it is drawn
// on, in the light theme and the dark one (dark overrides only some variables: the rest keep the light value),
// to the 4.5:1 of WCAG AA that base.css sets as its own target.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

// Built into test-build/, so the sources are one folder up from there.
const STYLES = new URL("../src/styles/", import.meta.url).pathname;
const TARGET = 4.5;

interface Rule {
  selector: string;
  declarations: Map<string, string>;
}

function rules(): Rule[] {
  const found: Rule[] = [];
  for (const name of readdirSync(STYLES).filter((file) => file.endsWith(".css"))) {
    const css = readFileSync(join(STYLES, name), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
    for (const match of css.matchAll(/([^{}]+)\{([^{}]*)\}/g)) {
      const declarations = new Map<string, string>();
      for (const part of match[2]!.split(";")) {
        const colon = part.indexOf(":");
        if (colon > 0) declarations.set(part.slice(0, colon).trim(), part.slice(colon + 1).trim());
      }
      found.push({ selector: match[1]!.trim().replace(/\s+/g, " "), declarations });
    }
  }
  return found;
}

/** The variables of each theme: light as :root declares them, dark as light with :root[data-theme="dark"]'s. */
function palettes(all: Rule[]): { light: Map<string, string>; dark: Map<string, string> } {
  const block = (selector: string) => all.find((rule) => rule.selector === selector)?.declarations;
  const light = new Map([...block(":root")!].filter(([name]) => name.startsWith("--")));
  const dark = new Map([...light, ...[...block(':root[data-theme="dark"]')!].filter(([name]) => name.startsWith("--"))]);
  return { light, dark };
}

/** The variables of a value, outermost first (`var(--a, var(--b))`: --a, then its fallback --b). */
function variablesIn(value: string): string[] {
  return [...value.matchAll(/var\((--[\w-]+)/g)].map((match) => match[1]!);
}

/** The colours of text in the stylesheets (`color`, and `fill` in rules for SVG text): each a chain of variables. */
function textColours(all: Rule[]): string[][] {
  const found = new Map<string, string[]>();
  for (const { selector, declarations } of all) {
    const color = declarations.get("color");
    const fill = /(^|[\s>])text\b|\.mg-name\b|\.mg-detail\b/.test(selector) ? declarations.get("fill") : undefined;
    for (const value of [color, fill]) {
      const chain = value ? variablesIn(value) : [];
      if (chain.length) found.set(chain.join(","), chain);
    }
  }
  return [...found.values()];
}

/**
 * The variables of a chain that can be in effect in a palette: the first one it defines (its fallbacks then never
 * apply), and before it any per-node data colour (which, where a node has none, falls back to what follows).
 */
function inEffect(chain: string[], palette: Map<string, string>): string[] {
  const found: string[] = [];
  for (const name of chain) {
    found.push(name);
    if (palette.has(name)) break;
  }
  return found;
}

/** Every variable that can colour text in either theme. */
function textVariables(all: Rule[]): Set<string> {
  const { light, dark } = palettes(all);
  return new Set(textColours(all).flatMap((chain) => [...inEffect(chain, light), ...inEffect(chain, dark)]));
}

// Where each text colour is drawn: on which backgrounds (variables of the palette). A text variable the
// stylesheets use and this list does not place fails the test (say where it goes).
const PAGE = ["--mg-bg", "--mg-surface", "--mg-popup-bg", "--mg-float-bg"];
const TREE_ROW = ["--mg-bg", "--mg-hover-bg", "--mg-selected-bg"];
const NODE_FILLS = [
  "--mg-outline-fill", "--mg-module-fill", "--mg-scope-fill", "--mg-op-fill", "--mg-variable-fill",
  "--mg-series-fill", "--mg-inputs-fill", "--mg-outputs-fill", "--mg-function-fill", "--mg-eager-fill",
  "--mg-control-fill", "--mg-chunk-fill", "--mg-prefix-fill", "--mg-frozen-fill", "--mg-unpainted-fill", "--mg-bg",
  "--mg-diff-added-fill", "--mg-diff-removed-fill", "--mg-diff-changed-fill", "--mg-diff-renamed-fill",
];
// The comparison's status colours: a tree row's sign and the legend's words, on the page; the marks' signs on them.
const DIFF_COLOURS = ["--mg-diff-added", "--mg-diff-removed", "--mg-diff-changed", "--mg-diff-renamed"];
const DRAWN_ON: Record<string, string[]> = {
  "--mg-text": [...PAGE, ...TREE_ROW, "--mg-match-bg", "--mg-key-bg", "--mg-code-bg"],
  "--mg-text-secondary": [...PAGE, ...TREE_ROW, "--mg-match-bg"],
  "--mg-text-tertiary": [...PAGE, ...TREE_ROW, "--mg-match-bg"],
  "--mg-text-note": [...PAGE],
  "--mg-tree-label": TREE_ROW,
  "--mg-tree-cost": TREE_ROW,
  "--mg-frozen-text": TREE_ROW,
  "--mg-frozen-name": TREE_ROW,
  "--mg-module-stroke": TREE_ROW,
  "--mg-repeat-count": [...TREE_ROW, "--mg-float-bg"],
  "--mg-accent-default": [...TREE_ROW, "--mg-float-bg"],
  "--mg-alert-text": ["--mg-alert-bg"],
  "--mg-action": ["--mg-bg", "--mg-popup-bg"],
  "--mg-frozen-row-text": ["--mg-bg", "--mg-frozen-fill"],
  "--mg-mark-text": ["--mg-bg"],
  "--mg-unknown-text": ["--mg-unknown-fill", "--mg-float-bg"],
  "--mg-on-deep-text": ["--mg-frozen-badge-bg"],
  "--mg-frozen-badge-text": ["--mg-frozen-badge-bg"],
  "--mg-node-text": NODE_FILLS,
  "--mg-node-detail": NODE_FILLS,
  ...Object.fromEntries(DIFF_COLOURS.map((name) => [name, [...TREE_ROW, "--mg-surface", "--mg-float-bg"]])),
  "--mg-diff-on-mark": DIFF_COLOURS,
};
// Text on data colours (the cost ramp's tones, a repeated structure's accent), not on the palette: colour-scale
// chooses dark or light text by the tone.
const ON_DATA_COLOURS = new Set(["--mg-on-paint-text", "--mg-on-paint-detail", "--accent"]);

function rgb(colour: string): [number, number, number] {
  const hex = colour.trim().replace(/^#/, "");
  assert.match(hex, /^([0-9a-f]{3}|[0-9a-f]{6})$/i, `not an opaque #rgb colour: ${colour}`);
  const full = hex.length === 3 ? [...hex].map((c) => c + c).join("") : hex;
  return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16)) as [number, number, number];
}

function luminance(colour: string): number {
  const [r, g, b] = rgb(colour).map((channel) => {
    const c = channel / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

export function contrastRatio(a: string, b: string): number {
  const [high, low] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (high! + 0.05) / (low! + 0.05);
}

test("the contrast ratio is WCAG's", () => {
  assert.equal(contrastRatio("#000", "#fff"), 21);
  assert.equal(contrastRatio("#777", "#777"), 1);
  assert.ok(Math.abs(contrastRatio("#757575", "#fff") - 4.6) < 0.02);
});

test("every text colour variable is placed on its backgrounds", () => {
  const used = textVariables(rules());
  assert.ok(used.has("--mg-tree-label") && used.has("--mg-node-text"), [...used].join(" "));
  const unplaced = [...used].filter((name) => !(name in DRAWN_ON) && !ON_DATA_COLOURS.has(name));
  assert.deepEqual(unplaced, [], "text colours the test does not know the backgrounds of");
});

for (const theme of ["light", "dark"] as const) {
  test(`every text colour reads at ${TARGET}:1 or more on its backgrounds (${theme})`, () => {
    const all = rules();
    const palette = palettes(all)[theme];
    const value = (name: string) => {
      const found = palette.get(name);
      assert.ok(found, `${name} is not defined in the ${theme} palette`);
      return found;
    };
    const low: string[] = [];
    const chains = textColours(all).map((chain) => inEffect(chain, palette));
    const undefinedColours = chains.filter((chain) => !chain.some((name) => palette.has(name) || ON_DATA_COLOURS.has(name)));
    assert.deepEqual(undefinedColours, [], "text colours with no value");
    for (const text of new Set(chains.flat())) {
      // (a variable this theme leaves undefined gives way to its fallback)
      if (ON_DATA_COLOURS.has(text) || !palette.has(text)) continue;
      for (const background of DRAWN_ON[text] ?? []) {
        const ratio = contrastRatio(value(text), value(background));
        if (ratio < TARGET) low.push(`${text} ${value(text)} on ${background} ${value(background)}: ${ratio.toFixed(2)}`);
      }
    }
    assert.deepEqual(low, []);
  });
}
