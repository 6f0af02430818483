// The page's house rules, read from the sources themselves: imports between src/ files form no circle (type-only
// imports included: a circle of types is still two rooms that cannot be read apart), and no source file of the
// page (.ts or .css) is over MAX_LINES lines.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";

const MAX_LINES = 400;
// Built into test-build/, so the sources are one folder up from there.
const SRC = new URL("../src/", import.meta.url).pathname;

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : /\.(ts|css)$/.test(entry.name) ? [path] : [];
  });
}

/** The src/ files `file` imports (static, type-only, re-exports, dynamic and CSS @import), as paths under src/. */
export function importsOf(file: string, text: string, known: ReadonlySet<string>): string[] {
  const specifiers = [
    ...text.matchAll(/\b(?:import|export)\b[^;"']*?\bfrom\s*["']([^"']+)["']/g),
    ...text.matchAll(/\bimport\s*\(?\s*["']([^"']+)["']/g),
    ...text.matchAll(/@import\s+(?:url\()?\s*["']([^"']+)["']/g),
  ].map((match) => match[1]!);
  const folder = file.slice(0, file.lastIndexOf("/") + 1);
  return specifiers
    .filter((spec) => spec.startsWith("."))
    .map((spec) => relative(SRC, join(folder, spec)))
    .flatMap((path) => [path, `${path}.ts`, path.replace(/\.js$/, ".ts")].filter((candidate) => known.has(candidate)).slice(0, 1));
}

/** A circle of imports among `graph`'s files, as the files around it (first one repeated at the end), or undefined. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(file, "done");
    return undefined;
  };
  for (const file of [...graph.keys()].sort()) {
    if (state.has(file)) continue;
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

const files = sourceFiles(SRC);
const known = new Set(files.map((file) => relative(SRC, file)));

test("the sources are found (the test reads the real src/ folder)", () => {
  assert.ok(known.has("index.ts") && known.has("app.ts"), [...known].join(", "));
  assert.ok(files.some((file) => file.endsWith(".css")));
});

test("the page's imports form no circle", () => {
  const graph = new Map(files.map((file) => [relative(SRC, file), importsOf(file, readFileSync(file, "utf8"), known)]));
  // The parser sees the imports that hold the page together: the entry point reaches the app.
  assert.ok(graph.get("index.ts")!.includes("app.ts"), JSON.stringify(graph.get("index.ts")));
  const cycle = findCycle(graph);
  assert.equal(cycle, undefined, `import circle: ${cycle?.join(" -> ")}`);
});

test("the cycle finder finds a circle through type-only imports", () => {
  const text = 'import type { A } from "./b";\nimport { c } from "./c";\n';
  const here = new Set(["a.ts", "b.ts", "c.ts"]);
  const a = importsOf(join(SRC, "a.ts"), text, here);
  assert.deepEqual(a.sort(), ["b.ts", "c.ts"]);
  const graph = new Map([["a.ts", a], ["b.ts", ["c.ts"]], ["c.ts", ["a.ts"]]]);
  assert.deepEqual(findCycle(graph), ["a.ts", "b.ts", "c.ts", "a.ts"]);
  assert.equal(findCycle(new Map([["a.ts", ["b.ts"]], ["b.ts", []]])), undefined);
});

test(`no source file of the page is over ${MAX_LINES} lines`, () => {
  // (types.ts is written by tools/schema_codegen.py from tb_module_plugin/schema.py, whose length tests/test_house.py bounds)
  const over = files
    .filter((file) => relative(SRC, file) !== "types.ts")
    .map((file) => ({ file: relative(SRC, file), lines: readFileSync(file, "utf8").split("\n").length - 1 }))
    .filter(({ lines }) => lines > MAX_LINES)
    .map(({ file, lines }) => `${file}: ${lines}`);
  assert.deepEqual(over, []);
});

test("what floats over the graph has its frame (border, background, shadow) in one rule, .mg-float", () => {
  const css = files.filter((file) => file.endsWith(".css")).map((file) => readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "")).join("\n");
  // (the frame's tell: the float palette's border or shadow; its background alone also fills a legend's swatch)
  const framing = [...css.matchAll(/([^{}]+)\{([^{}]*)\}/g)]
    .filter((rule) => /(border|box-shadow)\s*:[^;]*var\(--mg-float-(border|shadow)\)/.test(rule[2]!))
    .map((rule) => rule[1]!.trim());
  assert.deepEqual(framing, [".mg-float"]);
  // (each floating panel's element is made with the shared class beside its own)
  const classes = files.filter((file) => file.endsWith(".ts")).flatMap((file) => [...readFileSync(file, "utf8").matchAll(/class: "([^"]+)"/g)].map((m) => m[1]!.split(" ")));
  for (const panel of ["mg-legend", "mg-diff-legend", "mg-minimap"]) {
    const made = classes.filter((names) => names[0] === panel);
    assert.ok(made.length > 0 && made.every((names) => names.includes("mg-float")), `${panel}: ${JSON.stringify(made)}`);
  }
});
