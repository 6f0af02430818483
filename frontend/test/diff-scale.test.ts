// Colour by a measure while comparing: the difference on a diverging scale (blue less, red more, neutral none).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Colouring } from "../src/colour-by";
import { DIVERGING_RAMP, divergingColour, divergingTone, signedMeasure, sumDeltas } from "../src/diff-scale";
import { formatMeasure } from "../src/number-format";
import type { DiffNode } from "../src/types";

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];

test("a difference's tone: signed, none at 0, growing with its size, ±1 at the largest", () => {
  assert.equal(divergingTone(0, 100), 0);
  assert.equal(divergingTone(100, 100), 1);
  assert.equal(divergingTone(-100, 100), -1);
  const tones = [0.01, 0.1, 1, 10, 100].map((value) => divergingTone(value, 100));
  for (let i = 1; i < tones.length; i++) assert.ok(tones[i]! >= tones[i - 1]!, tones.join(" "));
  assert.ok(tones[0]! > 0, "a tiny difference is no difference's colour");
  assert.equal(divergingTone(-7, 100), -divergingTone(7, 100));
});

test("less is blue, more is red, none is the neutral middle", () => {
  const [r, , b] = rgb(divergingColour(-1));
  assert.ok(b > r, divergingColour(-1));
  const [r2, , b2] = rgb(divergingColour(1));
  assert.ok(r2 > b2, divergingColour(1));
  assert.equal(divergingColour(0), DIVERGING_RAMP[(DIVERGING_RAMP.length - 1) / 2]);
  const [x, y, z] = rgb(divergingColour(0));
  assert.ok(Math.max(x, y, z) - Math.min(x, y, z) < 8, "the middle is a grey");
});

test("differences read with their sign", () => {
  assert.equal(signedMeasure("params", 9), "+9 params");
  assert.equal(signedMeasure("params", -1200), `−${formatMeasure("params", 1200)}`);
  assert.ok(signedMeasure("flops", 0).startsWith("±0"));
});

test("a child group's difference sums its members', where all know it", () => {
  assert.deepEqual(sumDeltas([{ num_params: 3, flops: 5 }, { num_params: -1 }]), { num_params: 2 });
  assert.equal(sumDeltas([{ flops: 1 }, undefined]), undefined);
});

test("comparing, colour by parameters paints each node's difference and the legend gives the scale", () => {
  const child = (name: string, delta: DiffNode["delta"]): DiffNode =>
    ({ path: name, name, kind: "module", num_ops: 1, diff: "changed", ...(delta ? { delta } : {}) }) as DiffNode;
  const root = { path: "", name: "", kind: "scope", num_ops: 3, diff: "changed", delta: { num_params: 40 },
    children: [child("a", { num_params: 50 }), child("b", { num_params: -10 }), child("c", undefined)] } as DiffNode;
  const colouring = new Colouring("params", root, undefined, true);
  assert.equal(colouring.whole, 50, "the largest difference at the top");
  const paint = (delta: DiffNode["delta"] | undefined) =>
    colouring.paint({ diff: { status: "changed", ...(delta ? { delta } : {}) } });
  const more = paint({ num_params: 50 });
  const less = paint({ num_params: -10 });
  const none = paint({ num_params: 0 });
  assert.ok(more?.kind === "tone" && less?.kind === "tone" && none?.kind === "tone");
  assert.equal(more.colour, divergingColour(1));
  assert.equal(more.text, "+50 params");
  assert.equal(less.colour, divergingColour(divergingTone(-10, 50)));
  assert.equal(less.text, "−10 params");
  assert.equal(none.colour, divergingColour(0));
  assert.deepEqual(paint(undefined), { kind: "unknown" });
  assert.deepEqual(colouring.legend([]), { kind: "diverging", measure: "params", largest: 50, unknown: true });
  // Not comparing, the same root colours by the values themselves.
  assert.equal(new Colouring("params", root, undefined, false).legend([]).kind, "message");
});
