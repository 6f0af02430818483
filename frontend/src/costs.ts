// What a node costs, as the answers say: parameters, FLOPs, measured time and devices, per node and summed over
// the members of a chunk. Plain data; the colours, formats and the details' view of costs live elsewhere.

import type { CostMeasure, HierarchyNode } from "./types";

/** The measures with a number per node. */
export type Measure = CostMeasure;

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
  /** It holds backward ops and the profile timed none of them (without it, no backwardTimeUs: no backward ops). */
  backwardUntimed?: boolean;
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
  if (node.backward_untimed) costs.backwardUntimed = true;
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
