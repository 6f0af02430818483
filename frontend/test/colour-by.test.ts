import assert from "node:assert/strict";
import { test } from "node:test";
import { Colouring, UNKNOWN_REASONS } from "../src/colour-by";
import { COST_RAMP, rampColour, SCALE_DECADES, shortDevice, tintOf, toneOf } from "../src/colour-scale";
import { costView, flopsLowerBound, flopsUnknownReason, HEAVIEST_CHILDREN } from "../src/cost-view";
import { costsOf, sumCosts, valueOf } from "../src/costs";
import { formatAmount, formatMeasure, formatShare, formatTick, formatTime, scaleTicks } from "../src/number-format";
import type { HierarchyNode } from "../src/types";

function group(path: string, fields: Partial<HierarchyNode> = {}): HierarchyNode {
  const name = path.split("/").pop()!;
  return { path, name, kind: "module", num_ops: 3, num_children: 0, has_children: true, ...fields };
}

test("the scale is logarithmic over SCALE_DECADES factors of ten below the whole", () => {
  assert.equal(toneOf(1000, 1000), 1);
  assert.equal(toneOf(100, 1000), 1 - 1 / SCALE_DECADES);
  assert.equal(toneOf(1000 / 10 ** SCALE_DECADES, 1000), 0);
  assert.equal(toneOf(1e-9, 1000), 0); // below the scale: its lightest tone
  assert.equal(toneOf(0, 1000), 0);
  assert.equal(toneOf(5, 0), 0);
  assert.equal(rampColour(0), COST_RAMP[0]);
  assert.equal(rampColour(1), COST_RAMP[COST_RAMP.length - 1]);
});

test("values read as people write them", () => {
  assert.equal(formatMeasure("flops", 7_764_381_168), "7.76 GFLOPs");
  assert.equal(formatMeasure("flops", 12), "12 FLOPs");
  assert.equal(formatMeasure("params", 25_636_712), "26M params"); // as the boxes' captions say it
  assert.equal(formatMeasure("params", 1), "1 param");
  assert.equal(formatMeasure("time", 1234), "1.23 ms");
  assert.equal(formatTime(0.4), "0.4 µs");
  assert.equal(formatTime(2.5e6), "2.5 s");
  assert.equal(formatAmount("flops", 776_000_000), "776M");
  assert.equal(tintOf("#b3141d", "#ffffff", 0), "#ffffff");
  assert.equal(tintOf("#b3141d", "#ffffff", 1), "#b3141d");
  assert.equal(tintOf("#000000", "#ffffff", 0.5), "#808080");
  // The legend's ticks: whole units.
  assert.equal(formatTick("flops", 0.0113), "<1");
  assert.equal(formatTick("flops", 11.3), "11");
  assert.equal(formatTick("params", 1.13), "1");
  assert.equal(formatTick("flops", 25_600_000), "25.6M");
  assert.equal(formatTick("time", 0.4), "0.4 µs");
  assert.equal(formatTick("flops", 0), "0");
  assert.equal(formatTick("time", 0), "0");
  assert.equal(formatTick("time", 1234), "1.23 ms");
  assert.equal(formatShare(0.1234), "12.3%");
  assert.equal(formatShare(0.00004), "<0.01%");
  assert.equal(shortDevice("/device:GPU:1"), "GPU:1");
  assert.equal(shortDevice("/job:worker/replica:0/task:1/device:GPU:0"), "worker/1 GPU:0");
});

test("the legend's ticks never read alike: times below 1 µs to one digit, a count's fractions once as <1", () => {
  assert.deepEqual(scaleTicks("time", 50, SCALE_DECADES), ["0.005 µs", "0.05 µs", "0.5 µs", "5 µs", "50 µs"]);
  assert.deepEqual(scaleTicks("flops", 50, SCALE_DECADES), ["", "", "<1", "5", "50"]);
  assert.deepEqual(scaleTicks("params", 2e6, SCALE_DECADES), ["200", "2k", "20k", "200k", "2M"]);
  for (const measure of ["time", "flops", "params"] as const) {
    for (let exponent = -3; exponent <= 12; exponent += 0.25) {
      const whole = 10 ** exponent;
      const ticks = scaleTicks(measure, whole, SCALE_DECADES);
      assert.equal(ticks.length, SCALE_DECADES + 1);
      const said = ticks.filter((tick) => tick !== "");
      assert.equal(new Set(said).size, said.length, `${measure} ${whole}: ${ticks.join(" | ")}`);
      assert.equal(ticks[SCALE_DECADES], formatTick(measure, whole)); // (the whole is always said)
    }
  }
});

test("a chunk sums its members' FLOPs and time, never their parameters; FLOPs unknown if one member's are", () => {
  const known = sumCosts([
    { flops: 10, timeUs: 1.5, params: 4, devices: { "/device:CPU:0": 2 }, unknown: [] },
    { flops: 5, timeUs: 0.5, params: 4, devices: { "/device:CPU:0": 1, "/device:GPU:0": 3 }, unknown: [] },
  ]);
  assert.deepEqual(known, { flops: 15, timeUs: 2, devices: { "/device:CPU:0": 3, "/device:GPU:0": 3 }, unknown: [] });
  const partly = sumCosts([{ flops: 10, unknown: [] }, { unknown: ["flops"] }]);
  assert.equal(valueOf(partly, "flops"), "unknown");
});

test("a chunk's time is what the profile timed in its members, partial where it missed some, unknown where it timed none", () => {
  const members = [
    { timeUs: 3, timeCoverage: 1, backwardTimeUs: 2, unknown: [] },
    { timeUs: 1, timeCoverage: 1, unknown: [] },
    { unknown: ["time" as const] },
  ];
  const chunk = sumCosts(members);
  assert.equal(valueOf(chunk, "time"), 4);
  assert.equal(chunk.timePartial, true);
  assert.equal(chunk.backwardTimeUs, 2);
  assert.equal(sumCosts(members.slice(0, 2)).timePartial, undefined);
  assert.equal(sumCosts([{ timeUs: 2, timeCoverage: 0.5, timePartial: true, unknown: [] }]).timePartial, true);
  assert.equal(valueOf(sumCosts([{ unknown: ["time"] }, { unknown: ["time"] }]), "time"), "unknown");
});

test("only a module's details split its costs into forward and backward parts", () => {
  const fields = { time_us: 100, backward_time_us: 60, flops: 12, backward_flops: 8 };
  const root = group("", { kind: "scope", ...fields });
  const tape = group("model/conv/backward", { kind: "scope", role: "backward", ...fields });
  for (const node of [root, tape]) {
    const view = costView(node, root, root, undefined, "time");
    assert.deepEqual(view.rows.map((row) => row.backward), [undefined, undefined], node.path);
  }
  const module = costView(group("model/conv", fields), root, root, undefined, "time");
  assert.deepEqual(module.rows.map((row) => row.backward), [8, 60]);
});

test("the details' time row says how much of the node the profile timed and its backward part", () => {
  const node = group("model/conv", { time_us: 100, time_coverage: 0.75, backward_time_us: 60, backward_flops: 8, flops: 12 });
  const root = group("", { kind: "scope", time_us: 1000, flops: 12, children: [node] });
  const view = costView(node, root, root, undefined, "time");
  const time = view.rows.find((row) => row.measure === "time")!;
  assert.equal(time.coverage, 0.75);
  assert.equal(time.backward, 60);
  assert.equal(view.rows.find((row) => row.measure === "flops")!.backward, 8);
  const whole = costView(group("model/dense", { time_us: 10, time_coverage: 1 }), root, root, undefined, "time");
  assert.equal(whole.rows.find((row) => row.measure === "time")!.coverage, undefined);
});

test("a module's backward pass the profile did not time says so; a module without one says nothing of it", () => {
  const root = group("", { kind: "scope", time_us: 1000 });
  const rowOf = (fields: Partial<HierarchyNode>) => costView(group("model/conv", fields), root, root, undefined, "time").rows.find((row) => row.measure === "time")!;
  const untimed = rowOf({ time_us: 40, backward_untimed: true });
  assert.equal(untimed.backward, undefined);
  assert.equal(untimed.backwardUntimed, true);
  const none = rowOf({ time_us: 40 });
  assert.equal(none.backward, undefined);
  assert.equal(none.backwardUntimed, undefined);
  assert.equal(rowOf({ time_us: 40, backward_time_us: 10 }).backwardUntimed, undefined);
  // (a scope's rest is no forward pass: no backward part said of it, timed or not)
  const scope = costView(group("model/s", { kind: "scope", time_us: 40, backward_untimed: true }), root, root, undefined, "time");
  assert.equal(scope.rows.find((row) => row.measure === "time")!.backwardUntimed, undefined);
});

test("the whole graph is the largest of the root and its children; nodes get their tone, unknown ones say so", () => {
  const root = group("", {
    kind: "scope",
    flops: 1000,
    children: [group("model", { flops: 1000, num_params: 50 }), group("loss", { flops: 10 }), group("inputs", { cost_unknown: ["flops"] })],
  });
  const byFlops = new Colouring("flops", root);
  assert.equal(byFlops.whole, 1000);
  assert.deepEqual(byFlops.paint({ costs: costsOf(root.children![1]!) }), {
    kind: "tone",
    value: 10,
    tone: toneOf(10, 1000),
    colour: rampColour(toneOf(10, 1000)),
  });
  assert.deepEqual(byFlops.paint({ costs: costsOf(root.children![2]!) }), { kind: "unknown" });
  const legend = byFlops.legend(root.children!.map(costsOf));
  assert.equal(legend.kind, "scale");
  assert.ok(legend.kind === "scale" && legend.unknown && legend.whole === 1000);
  // A root is no module: the scale of parameters tops out at its largest module's.
  assert.equal(new Colouring("params", root).whole, 50);
  assert.equal(new Colouring("structure", root).paint({ costs: costsOf(root) }), undefined);
});

test("where every known value is 0 there is no scale: the legend says why, zeros keep their value", () => {
  const root = group("", { kind: "scope", cost_unknown: ["flops"], children: [group("inputs", { flops: 0 }), group("step", { cost_unknown: ["flops"] })] });
  const colouring = new Colouring("flops", root);
  assert.equal(colouring.whole, undefined);
  const legend = colouring.legend(root.children!.map(costsOf));
  assert.ok(legend.kind === "message" && /records no shapes/.test(legend.text), JSON.stringify(legend));
  assert.deepEqual(colouring.paint({ costs: costsOf(root.children![0]!) }), { kind: "tone", value: 0, tone: 0, colour: COST_RAMP[0] });
});

test("a big graph's FLOPs and devices are pending until the server has counted them", () => {
  const uncounted = group("", { kind: "scope", children: [group("m")] });
  assert.equal(new Colouring("flops", uncounted).pending(), true);
  assert.equal(new Colouring("device", uncounted).pending(), true);
  assert.equal(new Colouring("params", uncounted).pending(), false);
  const legend = new Colouring("flops", uncounted).legend([]);
  assert.ok(legend.kind === "message" && legend.pending);
  assert.equal(new Colouring("flops", group("", { flops: 3 })).pending(), false);
});

test("devices get one colour each, most ops first; a node on several is painted by its shares", () => {
  const root = group("", { kind: "scope", devices: { "/device:GPU:0": 6, "/device:CPU:0": 2 } });
  const colouring = new Colouring("device", root);
  const paint = colouring.paint({ costs: { devices: { "/device:CPU:0": 1, "/device:GPU:0": 3 }, unknown: [] } });
  assert.ok(paint?.kind === "devices");
  assert.deepEqual(
    paint.parts.map((part) => [part.device, part.share]),
    [
      ["/device:GPU:0", 0.75],
      ["/device:CPU:0", 0.25],
    ],
  );
  assert.notEqual(colouring.colourOfDevice("/device:GPU:0"), colouring.colourOfDevice("/device:CPU:0"));
  assert.equal(colouring.paint({ costs: { unknown: [] } }), undefined); // placed nowhere: left unpainted
  const legend = colouring.legend([{ unknown: [] }]);
  assert.ok(legend.kind === "devices" && legend.unknown);
  assert.deepEqual(
    legend.devices.map((d) => [d.device, d.ops]),
    [
      ["/device:GPU:0", 6],
      ["/device:CPU:0", 2],
    ],
  );
});

test("the details' costs: shares of the parent and of the whole graph, the heaviest children by the chosen measure", () => {
  const children = Array.from({ length: HEAVIEST_CHILDREN + 2 }, (_, i) => group(`model/layer_${i}`, { flops: (i + 1) * 10, time_us: 100 - i }));
  const model = group("model", { flops: 400, num_params: 20, time_us: 500, children });
  const root = group("", { kind: "scope", flops: 800, time_us: 1000, children: [model, group("loss", { flops: 400 })] });
  const view = costView(model, root, root, model, "flops");
  const flops = view.rows.find((row) => row.measure === "flops")!;
  assert.equal(flops.ofParent, 0.5);
  assert.equal(flops.ofWhole, 0.5);
  assert.equal(view.rows.find((row) => row.measure === "params")!.ofWhole, 1); // (the largest module's)
  assert.equal(view.heaviest?.measure, "flops");
  assert.equal(view.heaviest.children.length, HEAVIEST_CHILDREN);
  assert.deepEqual(
    view.heaviest.children.slice(0, 2).map((c) => [c.name, c.value, c.share]),
    [
      [`layer_${HEAVIEST_CHILDREN + 1}`, (HEAVIEST_CHILDREN + 2) * 10, ((HEAVIEST_CHILDREN + 2) * 10) / 400],
      [`layer_${HEAVIEST_CHILDREN}`, (HEAVIEST_CHILDREN + 1) * 10, ((HEAVIEST_CHILDREN + 1) * 10) / 400],
    ],
  );
  assert.equal(costView(model, root, root, model, "time").heaviest?.children[0]?.name, "layer_0");
  const unknown = costView(group("m", { cost_unknown: ["flops", "time"] }), root, root, undefined, "flops");
  assert.deepEqual(unknown.unknown, ["flops", "time"]);
  assert.equal(unknown.heaviest, undefined);
});

test("a lower bound of FLOPs says 'at least' and why; known and unknown FLOPs are no lower bound", () => {
  const uncounted = group("m", { flops: 144, cost_unknown: ["flops"], flops_uncounted: ["Cumsum"] });
  assert.equal(flopsLowerBound(uncounted), "at least 144 FLOPs: Cumsum not counted (no FLOPs rule for this op type)");
  const looped = group("m", { flops: 2500, cost_unknown: ["flops"], flops_per_iteration: true });
  assert.match(flopsLowerBound(looped)!, /^at least 2\.5 KFLOPs: a loop counted once, per iteration/);
  const many = group("m", { flops: 1, cost_unknown: ["flops"], flops_uncounted: ["A", "B", "C", "D", "E", "F", "G"] });
  assert.match(flopsLowerBound(many)!, /A, B, C, D, E and 2 more not counted \(no FLOPs rule for these op types\)/);
  // A loop counted at its maximum_iterations is an upper bound; with a lower-bound reason beside it, neither.
  const capped = group("m", { flops: 2500, cost_unknown: ["flops"], flops_loop_bound: true });
  assert.match(flopsLowerBound(capped)!, /^at most 2\.5 KFLOPs: a loop counted at its maximum_iterations/);
  const both = group("m", { flops: 2500, cost_unknown: ["flops"], flops_loop_bound: true, flops_uncounted: ["Cumsum"] });
  assert.match(flopsLowerBound(both)!, /^about 2\.5 KFLOPs: Cumsum not counted .*; a loop counted at its maximum/);
  assert.equal(flopsLowerBound(group("m", { flops: 144 })), undefined);
  assert.equal(flopsLowerBound(group("m", { cost_unknown: ["flops"] })), undefined);
});

test("FLOPs not known name the ops whose shapes the graph does not record, where the server names them", () => {
  const named = flopsUnknownReason({ flops_shapes_missing: ["m/Exp", "m/Sum"] });
  assert.match(named, /: m\/Exp, m\/Sum\.$/);
  assert.ok(!named.includes("module_graph"));  // (not sent to record what was recorded)
  assert.equal(flopsUnknownReason({}), UNKNOWN_REASONS.flops);
});

test("calls left unexpanded are named as such, not as op types without a FLOPs rule", () => {
  const text = flopsLowerBound({ flops: 12, cost_unknown: ["flops"], flops_uncounted: ["If (not expanded)", "Cumsum"] });
  assert.ok(text?.includes("If not counted (an op whose functions were not expanded)"), text);
  assert.ok(text?.includes("Cumsum not counted (no FLOPs rule for this op type)"), text);
  assert.ok(!text?.includes("(not expanded) not counted"), text);
});
