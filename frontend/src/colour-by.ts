// What the boxes and tree rows are coloured by: the node's structure (its kind, the default), a cost measure on
// one scale for the whole graph (parameters, FLOPs, measured time), or the devices its ops are placed on; while
// two graphs are compared, a measure's difference on a diverging scale (diff-scale.ts).
// Pure functions over the visible tree; the graph, the tree and the legend read the same Colouring.

import { costsOf, valueOf, type Measure, type NodeCosts } from "./costs";
import { DEVICE_PALETTE, rampColour, toneOf } from "./colour-scale";
import { diffMarkOf } from "./diff-marks";
import { deltaOf, divergingColour, divergingTone, signedMeasure } from "./diff-scale";
import type { DiffNode, HierarchyNode } from "./types";
import type { VisibleNode } from "./visible-node";

export type ColourBy = "structure" | "params" | "flops" | "time" | "device";

/** The values of `select[name="colour-by"]`, in its order, with what the person reads. */
export const COLOUR_BY_CHOICES: readonly { value: ColourBy; label: string }[] = [
  { value: "structure", label: "Structure" },
  { value: "params", label: "Parameters" },
  { value: "flops", label: "FLOPs" },
  { value: "time", label: "Time per step" },
  { value: "device", label: "Device" },
];

export function isColourBy(value: string): value is ColourBy {
  return COLOUR_BY_CHOICES.some((choice) => choice.value === value);
}

export function isMeasure(by: ColourBy): by is Measure {
  return by === "params" || by === "flops" || by === "time";
}
/** How one node is painted. */
export type Paint =
  /** On the cost scale (`text`: the value as shown, where not the measure's plain amount: a signed difference). */
  | { kind: "tone"; value: number; tone: number; colour: string; text?: string }
  /** The server says the measure is not known for it. */
  | { kind: "unknown" }
  /** Its ops' devices, with the share of its ops on each (one entry: all on one device). */
  | { kind: "devices"; parts: { device: string; share: number; colour: string }[] };

/** Why a measure is not known, and how to have it. */
export const UNKNOWN_REASONS: Record<Measure | "device", string> = {
  params:
    "This record holds no variable shapes (a trace records none): record the model with " +
    "tb_module_plugin.summary.module_graph, or its graph with tf.summary.graph.",
  flops:
    "The graph records no shapes for these ops (a trace records almost none, a batch dimension left as None has " +
    "no size): record with tb_module_plugin.summary.module_graph, or tf.summary.graph of a concrete function.",
  time: "The run's profiles time none of these ops.",
  device: "No op here records a device (traces record the graph before placement; ops placed with tf.device do).",
};

/** What the legend shows for the measure or the devices. */
export type LegendModel =
  /** Coloured by structure: what the kinds, edges and marks mean. */
  | { kind: "structure" }
  | {
      kind: "scale";
      measure: Measure;
      /** The whole graph's value: the top of the scale. */
      whole: number;
      /** Some drawn node's value is not known. */
      unknown: boolean;
      /** Time: every op event of the profiled step, and the part in modules. */
      step?: { stepUs: number; graphUs: number; moduleUs: number };
    }
  | { kind: "devices"; devices: { device: string; ops: number; colour: string }[]; unknown: boolean }
  /** Comparing: the measure's difference, B minus A, from -largest (blue) through 0 to +largest (red). */
  | { kind: "diverging"; measure: Measure; largest: number; unknown: boolean }
  /** Nothing to colour by: the measure is not known for the graph, or still being worked out. */
  | { kind: "message"; measure: ColourBy; text: string; pending?: boolean };

/** What the legend says when every value of the measure is known and zero. */
const NOTHING_TO_SCALE: Record<Measure, string> = {
  params: "No module of this graph holds parameters.",
  flops: "No op of this graph does floating-point arithmetic that is counted.",
  time: "The profiled step's ops of this graph take no measurable time.",
};

/** What the legend says while comparing when no drawn difference of the measure is known, or none is not zero. */
const NO_DIFFERENCE: Record<Measure, string> = {
  params: "The two graphs' parameters do not differ, or one side records none.",
  flops: "The two graphs' FLOPs do not differ, or are not counted on both sides (yet).",
  time: "The two graphs' measured times do not differ, or neither run times these nodes.",
};

/**
 * One colouring of a graph: what `by` gives each node, on one scale for the whole graph (the root's value:
 * every node's share of it sets its tone; devices get colours in the order of the root's devices).
 */
export class Colouring {
  private readonly deviceColours = new Map<string, string>();
  /** The top of the cost scale (undefined: nothing to scale). */
  readonly whole: number | undefined;
  /** Comparing: a node painted so far has no known difference (the legend says so). */
  private unknownSeen = false;

  constructor(
    readonly by: ColourBy,
    /** The root listing (with its children) as the server gave it. */
    private readonly root: HierarchyNode | undefined,
    /** A sentence instead of the colours (no profile, the profile does not read). */
    private readonly message?: string,
    /** Two graphs are compared: a measure colours by its difference (the root is the union tree's). */
    readonly comparing = false,
  ) {
    const rootCosts = root ? costsOf(root) : undefined;
    if (comparing && isMeasure(by) && root) {
      // (the top of the diverging scale: the largest difference at the top, the root's or a top-level node's)
      const deltas = [root, ...(root.children ?? [])].map((node) => deltaOf({ diff: diffMarkOf(node as DiffNode) }, by));
      const top = Math.max(0, ...deltas.filter((value): value is number => value !== undefined).map(Math.abs));
      this.whole = top > 0 ? top : undefined;
    } else if (isMeasure(by) && root && rootCosts) {
      const own = valueOf(rootCosts, by);
      // A root is no module: its parameters are those of its largest top-level module.
      const children = (root.children ?? []).map((child) => valueOf(costsOf(child), by));
      const numbers = [own, ...children].filter((value): value is number => typeof value === "number");
      // All zero (a step of ops none of which is counted) is no scale: nothing is painted, the legend says why.
      const top = Math.max(0, ...numbers);
      this.whole = top > 0 ? top : undefined;
    }
    if (by === "device") {
      const devices = Object.entries(rootCosts?.devices ?? {}).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
      devices.forEach(([device], i) => this.deviceColours.set(device, DEVICE_PALETTE[i % DEVICE_PALETTE.length]!));
    }
  }

  /** How `node` is painted, or undefined for the default look (structure; no value for the measure). */
  paint(node: Pick<VisibleNode, "costs" | "diff">): Paint | undefined {
    const by = this.by;
    if (by === "structure" || this.message !== undefined) return undefined;
    if (this.comparing && isMeasure(by)) {
      const delta = deltaOf(node, by);
      if (delta === undefined) {
        this.unknownSeen = true;
        return { kind: "unknown" };
      }
      const tone = divergingTone(delta, this.whole ?? 0);
      return { kind: "tone", value: delta, tone: Math.abs(tone), colour: divergingColour(tone), text: signedMeasure(by, delta) };
    }
    if (by === "device") {
      const devices = Object.entries(node.costs?.devices ?? {});
      const total = devices.reduce((sum, [, count]) => sum + count, 0);
      if (total === 0) return undefined;
      devices.sort(([a], [b]) => this.deviceIndex(a) - this.deviceIndex(b));
      return { kind: "devices", parts: devices.map(([device, count]) => ({ device, share: count / total, colour: this.colourOfDevice(device) })) };
    }
    const value = valueOf(node.costs, by);
    if (value === "unknown") return { kind: "unknown" };
    if (value === undefined) return undefined;
    // (No scale: every known value is 0, the lightest tone.)
    const tone = this.whole === undefined ? 0 : toneOf(value, this.whole);
    return { kind: "tone", value, tone, colour: rampColour(tone) };
  }

  colourOfDevice(device: string): string {
    let colour = this.deviceColours.get(device);
    if (!colour) {
      colour = DEVICE_PALETTE[this.deviceColours.size % DEVICE_PALETTE.length]!;
      this.deviceColours.set(device, colour);
    }
    return colour;
  }

  private deviceIndex(device: string): number {
    this.colourOfDevice(device);
    return [...this.deviceColours.keys()].indexOf(device);
  }

  /** The legend for the nodes drawn (`drawn`: their costs). */
  legend(drawn: readonly (NodeCosts | undefined)[]): LegendModel {
    const by = this.by;
    if (by === "structure") return { kind: "structure" };
    if (this.message !== undefined) return { kind: "message", measure: by, text: this.message };
    const root = this.root;
    if (by === "device") {
      const devices = [...this.deviceColours.keys()];
      if (devices.length === 0) {
        if (this.pending()) return { kind: "message", measure: by, text: "Counting the graph's devices…", pending: true };
        return { kind: "message", measure: by, text: UNKNOWN_REASONS.device };
      }
      const rootDevices = root?.devices ?? {};
      return {
        kind: "devices",
        devices: devices.map((device) => ({ device, ops: rootDevices[device] ?? 0, colour: this.colourOfDevice(device) })),
        unknown: drawn.some((costs) => !costs?.devices),
      };
    }
    if (this.comparing) {
      if (this.whole === undefined) return { kind: "message", measure: by, text: NO_DIFFERENCE[by] };
      return { kind: "diverging", measure: by, largest: this.whole, unknown: this.unknownSeen };
    }
    if (this.whole === undefined) {
      if (this.pending()) return { kind: "message", measure: by, text: "Counting the graph's FLOPs…", pending: true };
      const anyUnknown = [root, ...(root?.children ?? [])].some((node) => node?.cost_unknown?.includes(by));
      const text = anyUnknown ? UNKNOWN_REASONS[by] : NOTHING_TO_SCALE[by];
      return { kind: "message", measure: by, text };
    }
    const model: LegendModel = {
      kind: "scale",
      measure: by,
      whole: this.whole,
      unknown: drawn.some((costs) => valueOf(costs, by) === "unknown"),
    };
    if (by === "time" && root?.step_time_us !== undefined && root.time_us !== undefined) {
      model.step = { stepUs: root.step_time_us, graphUs: root.time_us, moduleUs: root.module_time_us ?? 0 };
    }
    return model;
  }

  /**
   * Whether what the colours need is still being worked out by the server: a big graph's FLOPs and devices come
   * after its first answer (the page asks again).
   */
  pending(): boolean {
    // (comparing: the union tree's listings are not A's, whose values a poll would fetch)
    if (this.comparing || (this.by !== "flops" && this.by !== "device") || this.message !== undefined || !this.root) return false;
    return this.root.flops === undefined && !this.root.cost_unknown?.includes("flops");
  }
}
