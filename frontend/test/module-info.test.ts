import assert from "node:assert/strict";
import { test } from "node:test";
import { detailLine } from "../src/labels";
import { collapsedSize } from "../src/layout";
import {
  REPEAT_PALETTE,
  formatParamCount,
  formatShape,
  moduleInfoOf,
  paramsLabel,
  repeatColour,
  repeatOf,
  repeatSentence,
  shortClassName,
} from "../src/module-info";
import type { HierarchyNode, RecordedVariable } from "../src/types";
import { buildVisibleTree } from "../src/visible";

function module(name: string, fields: Partial<HierarchyNode> = {}): HierarchyNode {
  return { path: `sequential/${name}`, name, kind: "module", num_ops: 7, num_children: 6, has_children: true, ...fields };
}

const frozenDense = module("dense", {
  class_name: "keras.src.layers.core.dense.Dense",
  attribute_path: "layers[0]",
  num_params: 44,
  num_trainable_params: 0,
  frozen: true,
  variables: [
    { name: "sequential/dense/kernel", shape: [10, 4], dtype: "float32", trainable: false, shared: false },
    { name: "sequential/dense/bias", shape: [4], dtype: "float32", trainable: false, shared: false },
  ],
  repeat: { key: "dense", count: 2, shapes_compared: true },
});

test("class names are shown by their last segment", () => {
  assert.equal(shortClassName("keras.src.layers.core.dense.Dense"), "Dense");
  assert.equal(shortClassName("__main__.demo_module_class.<locals>.DemoModule"), "DemoModule");
  assert.equal(shortClassName("Dense"), "Dense");
});

test("shapes from the API read as [10,4], unknown dimensions as ?", () => {
  assert.equal(formatShape([10, 4]), "[10,4]");
  assert.equal(formatShape([]), "[]");
  assert.equal(formatShape([null, 3]), "[?,3]");
  assert.equal(formatShape("[1,10]"), "[1,10]");
  assert.equal(formatShape(undefined), "");
});

test("parameter counts are short, estimates marked with ~", () => {
  assert.equal(formatParamCount(0), "0");
  assert.equal(formatParamCount(44), "44");
  assert.equal(formatParamCount(999), "999");
  assert.equal(formatParamCount(1000), "1k");
  assert.equal(formatParamCount(2560), "2.6k");
  assert.equal(formatParamCount(44_000), "44k");
  assert.equal(formatParamCount(999_999), "1M");
  assert.equal(formatParamCount(1_234_567, true), "~1.2M");
  assert.equal(formatParamCount(66_347_960), "66M");
  assert.equal(formatParamCount(1_500_000_000), "1.5B");
  assert.equal(paramsLabel({ numParams: 1, paramsEstimated: false, frozen: false }), "1 param");
  assert.equal(paramsLabel({ numParams: 1_234_567, paramsEstimated: true, frozen: false }), "~1.2M params");
  assert.equal(paramsLabel({ paramsEstimated: false, frozen: false }), undefined);
  assert.equal(paramsLabel(undefined), undefined);
});

test("a recorded module's facts: class, attribute path, parameters, frozen, variables", () => {
  const info = moduleInfoOf(frozenDense)!;
  assert.deepEqual(info, {
    className: "keras.src.layers.core.dense.Dense",
    shortClass: "Dense",
    attributePath: "layers[0]",
    numParams: 44,
    numTrainableParams: 0,
    paramsEstimated: false,
    frozen: true,
    variables: [
      { name: "sequential/dense/kernel", shape: "[10,4]", dtype: "float32", trainable: false, shared: false },
      { name: "sequential/dense/bias", shape: "[4]", dtype: "float32", trainable: false, shared: false },
    ],
  });
});

test("a shared variable and the other paths of a module object are kept", () => {
  const info = moduleInfoOf({
    kind: "module",
    class_name: "tensorflow_probability.python.bijectors.shift.Shift",
    attribute_path: "chain._bijectors[0]",
    aliases: ["chain._bijectors_trackable[0]", 7 as unknown as string],
    variables: [{ name: "flow/shift:0", shape: [3], dtype: "float32", trainable: true, shared: true }],
  })!;
  assert.deepEqual(info.aliases, ["chain._bijectors_trackable[0]"]);
  assert.deepEqual(info.variables, [{ name: "flow/shift:0", shape: "[3]", dtype: "float32", trainable: true, shared: true }]);
});

test("Keras callback layers: trainable false is frozen; estimates are marked; plain nodes have no facts", () => {
  const layer = moduleInfoOf({ kind: "module", class_name: "Dense", trainable: false })!;
  assert.equal(layer.frozen, true);
  assert.equal(layer.shortClass, "Dense");
  assert.equal(moduleInfoOf({ kind: "module", class_name: "Dense", trainable: true })!.frozen, false);
  const estimated = moduleInfoOf({ kind: "module", num_params: 1_234_567, params_estimated: true })!;
  assert.equal(estimated.paramsEstimated, true);
  assert.equal(estimated.numParams, 1_234_567);
  assert.equal(moduleInfoOf({ kind: "scope" }), undefined);
  assert.equal(moduleInfoOf({ kind: "op", class_name: "X" }), undefined);
  // A variable whose record is damaged (no trainable flag) is left out, not shown as frozen.
  const damaged = moduleInfoOf({ kind: "module", variables: [{ name: "v" } as unknown as RecordedVariable] });
  assert.deepEqual(damaged?.variables, []);
});

test("the caption says class, parameters and ops", () => {
  const root: HierarchyNode = {
    path: "",
    name: "model",
    kind: "scope",
    num_ops: 30,
    children: [
      frozenDense,
      module("dense_1", { class_name: "keras.src.layers.core.dense.Dense", num_params: 44, repeat: { key: "dense", count: 2, shapes_compared: true } }),
      module("block", { num_params: 1_234_567, params_estimated: true, num_ops: 300 }),
      { path: "dense_2", name: "dense_2", kind: "module", num_ops: 0, num_children: 0, class_name: "Dense", trainable: false },
      { path: "scope", name: "scope", kind: "scope", num_ops: 3, num_children: 3, has_children: true },
    ],
    edges: [],
  };
  const visible = buildVisibleTree(root, new Set(), () => undefined);
  assert.deepEqual(visible.children.map(detailLine), [
    "Dense · 44 params · 7 ops",
    "Dense · 44 params · 7 ops",
    "module · ~1.2M params · 300 ops",
    "Dense",
    "scope · 3 ops",
  ]);
  const [dense, dense1, , layer] = visible.children;
  assert.equal(dense!.module!.frozen, true);
  assert.deepEqual(dense!.repeat, { key: "dense", count: 2, shapes_compared: true });
  assert.deepEqual(dense1!.repeat, dense!.repeat);
  assert.equal(layer!.module!.frozen, true);
  assert.equal(visible.children[4]!.module, undefined);
  // Boxes are wide enough for the longer caption.
  assert.ok(collapsedSize(dense!).width >= "Dense · 44 params · 7 ops".length * 6);
});

test("repeat marks: a colour per key, the same every time, from the palette", () => {
  assert.equal(repeatColour("block_00"), repeatColour("block_00"));
  assert.ok((REPEAT_PALETTE as readonly string[]).includes(repeatColour("conv2_block1")));
  const colours = new Set(["block_00", "conv2_block1", "dense", "stage_1", "layer_a", "head", "x", "encoder"].map(repeatColour));
  assert.ok(colours.size >= 4, `too few colours: ${[...colours]}`);
  assert.deepEqual(repeatOf({ repeat: { key: "dense", count: 2, shapes_compared: true } }), { key: "dense", count: 2, shapes_compared: true });
  assert.equal(repeatOf({}), undefined);
  assert.equal(repeatOf({ repeat: { key: "dense", count: 1, shapes_compared: true } }), undefined);
  assert.equal(repeatSentence({ key: "block_00", count: 48, shapes_compared: true }), "one of 48 modules with the same structure as block_00");
});
