// What the boxes and tree rows are coloured by: the node's structure (its kind, the default), a cost measure on
// one scale for the whole graph (parameters, FLOPs, measured time), or the devices its ops are placed on.
// Pure functions over the visible tree; the graph, the tree and the legend read the same Colouring.

import type { CostMeasure, HierarchyNode } from "./types";
import { formatParamCount } from "./module-info";
import type { VisibleNode } from "./visible";

export type ColourBy = "structure" | "params" | "flops" | "time" | "device";

/** The measures with a number per node. */
export type Measure = Extract<ColourBy, CostMeasure>;

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

/** What a drawn node costs, as far as the answers say (a chunk: the sum over its members). */
export interface NodeCosts {
  /** Parameters of a module (unique variables; a chunk has none: its members may share variables). */
  params?: number;
  flops?: number;
  /** Measured time, microseconds per profiled step (answers asked for with time=1): what the profile timed. */
  timeUs?: number;
  /** The share of its ops the profile timed (a chunk: none; see timePartial). */
  timeCoverage?: number;
  /** Its time is that of only part of its ops (coverage under 1, or a chunk with members the profile missed). */
  timePartial?: boolean;
  /** The parts of its time and FLOPs its backward pass takes (a training step's gradient ops of its modules). */
  backwardTimeUs?: number;
  backwardFlops?: number;
  /** Device -> how many of its ops are placed there (an op: its own device, once). */
  devices?: Record<string, number>;
  /** The measures the server says are not known here. */
  unknown: CostMeasure[];
}

export function costsOf(node: HierarchyNode): NodeCosts {
  const costs: NodeCosts = { unknown: [...(node.cost_unknown ?? [])] };
  if (node.num_params !== undefined) costs.params = node.num_params;
  if (node.flops !== undefined) costs.flops = node.flops;
  if (node.time_us !== undefined) costs.timeUs = node.time_us;
  if (node.time_coverage !== undefined) {
    costs.timeCoverage = node.time_coverage;
    if (node.time_coverage < 1) costs.timePartial = true;
  }
  if (node.backward_time_us !== undefined) costs.backwardTimeUs = node.backward_time_us;
  if (node.backward_flops !== undefined) costs.backwardFlops = node.backward_flops;
  if (node.devices) costs.devices = { ...node.devices };
  return costs;
}

/**
 * The costs of a chunk (its members' ops are disjoint): FLOPs summed where every member's are known; time summed
 * over the members the profile timed, not known only where it timed none of them (then partial where it missed some).
 */
export function sumCosts(members: readonly NodeCosts[]): NodeCosts {
  const total: NodeCosts = { unknown: [] };
  if (members.some((member) => member.unknown.includes("flops"))) total.unknown.push("flops");
  else if (members.length > 0 && members.every((member) => member.flops !== undefined)) {
    total.flops = members.reduce((value, member) => value + member.flops!, 0);
  }
  const timed = members.filter((member) => member.timeUs !== undefined);
  if (timed.length > 0) {
    total.timeUs = timed.reduce((value, member) => value + member.timeUs!, 0);
    if (timed.length < members.length || timed.some((member) => member.timePartial)) total.timePartial = true;
  } else if (members.some((member) => member.unknown.includes("time"))) total.unknown.push("time");
  for (const measure of ["backwardTimeUs", "backwardFlops"] as const) {
    const parts = members.filter((member) => member[measure] !== undefined);
    if (parts.length > 0) total[measure] = parts.reduce((value, member) => value + member[measure]!, 0);
  }
  const devices: Record<string, number> = {};
  for (const member of members) {
    for (const [device, count] of Object.entries(member.devices ?? {})) devices[device] = (devices[device] ?? 0) + count;
  }
  if (Object.keys(devices).length > 0) total.devices = devices;
  return total;
}

/** A node's value for `measure`: a number, "unknown" (the server says so), or undefined (none: an op's params). */
export function valueOf(costs: NodeCosts | undefined, measure: Measure): number | "unknown" | undefined {
  if (!costs) return undefined;
  if (costs.unknown.includes(measure)) return "unknown";
  return measure === "params" ? costs.params : measure === "flops" ? costs.flops : costs.timeUs;
}

const SI = [
  { at: 1e12, suffix: "T" },
  { at: 1e9, suffix: "G" },
  { at: 1e6, suffix: "M" },
  { at: 1e3, suffix: "K" },
];

/** 25636712 → "25.6M", 7764381168 → "7.76G" (three significant digits). */
export function formatSi(value: number): string {
  for (const { at, suffix } of SI) if (Math.abs(value) >= at) return `${trim(value / at)}${suffix}`;
  return trim(value);
}

function trim(value: number): string {
  if (value === 0) return "0";
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return String(Number(value.toFixed(digits)));
}

/** 0.4 → "0.4 µs", 1234 → "1.23 ms", 2.5e6 → "2.5 s". */
export function formatTime(us: number): string {
  if (us >= 1e6) return `${trim(us / 1e6)} s`;
  if (us >= 1e3) return `${trim(us / 1e3)} ms`;
  return `${trim(us)} µs`;
}

/** A measure's amount without its unit, as the legend's ticks show it: "25.6M" (FLOPs), "2.6M" (params), "1.23 ms". */
export function formatAmount(measure: Measure, value: number): string {
  if (measure === "time") return formatTime(value);
  return measure === "flops" ? formatSi(value) : formatParamCount(value);
}

/**
 * A tick of the legend's scale, in whole units (a fraction of a FLOP, a parameter or a microsecond is no amount
 * a person counts): "<1" below one, whole numbers up to 999 ("11", not "11.3"), then as formatAmount ("25.6M").
 */
export function formatTick(measure: Measure, value: number): string {
  if (value === 0) return "0"; // (the scale's first tick: nothing, not "<1")
  if (value < 1) return measure === "time" ? "<1 µs" : "<1";
  if (value < 1000) return measure === "time" ? `${Math.round(value)} µs` : String(Math.round(value));
  return formatAmount(measure, value);
}

/** A measure's value as a person reads it: "26M params" (as the boxes' captions), "7.76 GFLOPs", "1.23 ms". */
export function formatMeasure(measure: Measure, value: number): string {
  if (measure === "time") return formatTime(value);
  if (measure === "flops") {
    const text = formatSi(value);
    return /[A-Z]$/.test(text) ? `${text.slice(0, -1)} ${text.slice(-1)}FLOPs` : `${text} FLOPs`;
  }
  return `${formatParamCount(value)} ${value === 1 ? "param" : "params"}`;
}

/** A share as a percentage: 0.1234 → "12.3%", 0.00004 → "<0.01%". */
export function formatShare(share: number): string {
  if (share > 0 && share < 0.0001) return "<0.01%";
  return `${trim(share * 100)}%`;
}

/** The scale spans this many factors of ten below the whole graph's value (lighter below that). */
export const SCALE_DECADES = 4;

/** The colour ramp of the cost scale, light to deep (shares of the whole graph from 10^-SCALE_DECADES to 1). */
export const COST_RAMP: readonly string[] = ["#fff7d1", "#fed976", "#fd9d43", "#e8502a", "#b3141d"];
/** Tones above this are deep enough for white text. */
export const DEEP_TONE = 0.62;

/** Where a value sits on the scale: 0 (at most 10^-SCALE_DECADES of the whole, or 0) to 1 (the whole). */
export function toneOf(value: number, whole: number): number {
  if (!(value > 0) || !(whole > 0)) return 0;
  const decades = Math.log10(value / whole) + SCALE_DECADES;
  return Math.max(0, Math.min(1, decades / SCALE_DECADES));
}

function hexToRgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** The ramp's colour at `tone` (0..1), as #rrggbb. */
export function rampColour(tone: number, ramp: readonly string[] = COST_RAMP): string {
  const position = Math.max(0, Math.min(1, tone)) * (ramp.length - 1);
  const index = Math.min(ramp.length - 2, Math.floor(position));
  const [a, b] = [hexToRgb(ramp[index]!), hexToRgb(ramp[index + 1]!)];
  const f = position - index;
  const mix = a.map((channel, i) => Math.round(channel + (b[i]! - channel) * f));
  return `#${mix.map((channel) => channel.toString(16).padStart(2, "0")).join("")}`;
}

/** `colour` mixed into `base` at `share` (0..1), as #rrggbb: an expanded group's tint of its colour. */
export function tintOf(colour: string, base: string, share: number): string {
  const [c, b] = [hexToRgb(colour), hexToRgb(base)];
  return `#${b.map((channel, i) => Math.round(channel + (c[i]! - channel) * share).toString(16).padStart(2, "0")).join("")}`;
}

/** Categorical colours of devices, in the order of the graph's devices (most ops first): the light tones of
 * Tableau 20, distinct from one another and light enough for the boxes' dark text. */
export const DEVICE_PALETTE: readonly string[] = [
  "#aec7e8",
  "#ffbb78",
  "#98df8a",
  "#ff9896",
  "#c5b0d5",
  "#c49c94",
  "#f7b6d2",
  "#dbdb8d",
  "#9edae5",
  "#c7c7c7",
];

/** "/device:GPU:1" (the server names a one-process program's devices so) → "GPU:1"; "/job:worker/replica:0/task:1/device:GPU:0" → "worker/1 GPU:0". */
export function shortDevice(device: string): string {
  const local = /^\/device:(.+)$/.exec(device);
  if (local) return local[1]!;
  const match = /^\/job:([^/]+)\/replica:(\d+)\/task:(\d+)\/device:(.+)$/.exec(device);
  if (!match) return device;
  const [, job, , task, name] = match;
  return `${job}/${task} ${name}`;
}

/** How one node is painted. */
export type Paint =
  /** On the cost scale. */
  | { kind: "tone"; value: number; tone: number; colour: string }
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
  /** Nothing to colour by: the measure is not known for the graph, or still being worked out. */
  | { kind: "message"; measure: ColourBy; text: string; pending?: boolean };

/**
 * One colouring of a graph: what `by` gives each node, on one scale for the whole graph (the root's value:
 * every node's share of it sets its tone; devices get colours in the order of the root's devices).
 */
/** What the legend says when every value of the measure is known and zero. */
const NOTHING_TO_SCALE: Record<Measure, string> = {
  params: "No module of this graph holds parameters.",
  flops: "No op of this graph does floating-point arithmetic that is counted.",
  time: "The profiled step's ops of this graph take no measurable time.",
};

export class Colouring {
  private readonly deviceColours = new Map<string, string>();
  /** The top of the cost scale (undefined: nothing to scale). */
  readonly whole: number | undefined;

  constructor(
    readonly by: ColourBy,
    /** The root listing (with its children) as the server gave it. */
    private readonly root: HierarchyNode | undefined,
    /** A sentence instead of the colours (no profile, the profile does not read). */
    private readonly message?: string,
  ) {
    const rootCosts = root ? costsOf(root) : undefined;
    if (isMeasure(by) && root && rootCosts) {
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
  paint(node: Pick<VisibleNode, "costs">): Paint | undefined {
    const by = this.by;
    if (by === "structure" || this.message !== undefined) return undefined;
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
    if ((this.by !== "flops" && this.by !== "device") || this.message !== undefined || !this.root) return false;
    return this.root.flops === undefined && !this.root.cost_unknown?.includes("flops");
  }
}

/** A node's costs as the details panel shows them: each known measure with its shares, and its heaviest children. */
export interface CostView {
  rows: {
    measure: Measure;
    value: number;
    /** Share of its parent's value (where the parent has one). */
    ofParent?: number;
    /** Share of the whole graph's value (the top of the colour scale). */
    ofWhole?: number;
    /** Time: the share of its ops the profile timed, where under 1 ("partial": a chunk missing some). */
    coverage?: number | "partial";
    /** The part of the value its backward pass takes (a training step's module only: the rest is its forward pass). */
    backward?: number;
  }[];
  /** The measures the server says are not known for it. */
  unknown: Measure[];
  /** Its children with the most of `measure`, heaviest first (groups whose listing is loaded). */
  heaviest?: { measure: Measure; children: { path: string; name: string; value: number; share?: number }[] };
}

/** How many children the details panel lists as the most expensive. */
export const HEAVIEST_CHILDREN = 5;
const MEASURES: readonly Measure[] = ["params", "flops", "time"];

/**
 * The costs of `node` (from its listing in its parent, or its details), with `parent` and `root` the listings
 * of its parent and of the root, and `own` its own listing when loaded (its children); `preferred` is the
 * measure the page is coloured by, which the heaviest children are sorted by (else the first one known).
 */
export function costView(
  node: HierarchyNode,
  parent: HierarchyNode | undefined,
  root: HierarchyNode | undefined,
  own: HierarchyNode | undefined,
  preferred: ColourBy,
): CostView {
  const costs = costsOf(node);
  const view: CostView = { rows: [], unknown: MEASURES.filter((measure) => costs.unknown.includes(measure)) };
  for (const measure of MEASURES) {
    const value = valueOf(costs, measure);
    if (typeof value !== "number") continue;
    const row: CostView["rows"][number] = { measure, value };
    if (measure === "time" && costs.timePartial) row.coverage = costs.timeCoverage ?? "partial";
    // Forward and backward parts are a module's: the rest of any other node is not its forward pass (the root's
    // holds the loss and the optimizer's work; a backward group is all backward).
    const backward = measure === "time" ? costs.backwardTimeUs : measure === "flops" ? costs.backwardFlops : undefined;
    if (backward !== undefined && node.kind === "module") row.backward = backward;
    const parentValue = parent && parent.path !== node.path ? valueOf(costsOf(parent), measure) : undefined;
    if (typeof parentValue === "number" && parentValue > 0) row.ofParent = value / parentValue;
    const whole = new Colouring(measure, root).whole;
    if (whole !== undefined && whole > 0) row.ofWhole = value / whole;
    view.rows.push(row);
  }
  const children = own?.children ?? [];
  const measure = [preferred, ...MEASURES].find(
    (m): m is Measure => isMeasure(m as ColourBy) && children.some((child) => typeof valueOf(costsOf(child), m as Measure) === "number"),
  );
  if (measure) {
    const total = valueOf(costs, measure);
    const ranked = children
      .map((child) => ({ path: child.path, name: child.name, value: valueOf(costsOf(child), measure) }))
      .filter((child): child is { path: string; name: string; value: number } => typeof child.value === "number" && child.value > 0)
      .sort((a, b) => b.value - a.value || a.name.localeCompare(b.name))
      .slice(0, HEAVIEST_CHILDREN)
      .map((child) => (typeof total === "number" && total > 0 ? { ...child, share: child.value / total } : child));
    if (ranked.length > 0) view.heaviest = { measure, children: ranked };
  }
  return view;
}

/** The mark the server puts after an op type in flops_uncounted for ops whose functions it did not expand. */
const NOT_EXPANDED = " (not expanded)";

/**
 * A node's FLOPs where the server gives a count but names "flops" as not known: a lower bound, with why
 * ("at least 144 FLOPs: Cumsum not counted"), an upper one (a loop counted at its maximum_iterations: "at most"),
 * or some of both ("about"); undefined where its FLOPs are known or not counted at all.
 */
export function flopsLowerBound(
  node: Pick<HierarchyNode, "flops" | "cost_unknown" | "flops_uncounted" | "flops_per_iteration" | "flops_loop_bound">,
): string | undefined {
  if (node.flops === undefined || !node.cost_unknown?.includes("flops")) return undefined;
  const why: string[] = [];
  const uncounted = node.flops_uncounted ?? [];
  const calls = uncounted.filter((type) => type.endsWith(NOT_EXPANDED));
  const types = uncounted.filter((type) => !type.endsWith(NOT_EXPANDED));
  if (calls.length > 0) {
    const shown = calls.map((type) => type.slice(0, -NOT_EXPANDED.length)).join(", ");
    why.push(`${shown} not counted (${calls.length === 1 ? "an op" : "ops"} whose functions were not expanded)`);
  }
  if (types.length > 0) {
    const shown = types.slice(0, 5).join(", ") + (types.length > 5 ? ` and ${types.length - 5} more` : "");
    why.push(`${shown} not counted (no FLOPs rule for ${types.length === 1 ? "this op type" : "these op types"})`);
  }
  if (node.flops_per_iteration) why.push("a loop counted once, per iteration (the graph does not say its trip count)");
  const lower = why.length > 0;
  if (node.flops_loop_bound) {
    why.push("a loop counted at its maximum_iterations (a data-dependent condition may end it sooner)");
  }
  const bound = node.flops_loop_bound ? (lower ? "about" : "at most") : "at least";
  return `${bound} ${formatMeasure("flops", node.flops)}${why.length > 0 ? `: ${why.join("; ")}` : ""}`;
}
