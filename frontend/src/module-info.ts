// What the page shows about a module object (issue 4) and about repeated structure (issue 3): class,
// parameters, frozen state, variables, repeat marks. Pure functions over the hierarchy API's fields.

import type { ModuleFacts, NodeKind, NodeValues, RepeatMark } from "./types";

/** What the page reads of a module from a node of either route: its facts, its values and its repeat mark. */
export type ModuleFields = ModuleFacts & NodeValues & { repeat?: RepeatMark };

/** A variable a module owns directly, as the details panel lists it. */
export interface ModuleVariable {
  name: string;
  shape: string;
  dtype: string;
  trainable: boolean;
  /** Another module holds it too (counted once, in the modules above both). */
  shared: boolean;
}

export interface ModuleInfo {
  /** The class as recorded ("keras.src.layers.core.dense.Dense", or "Dense" from the Keras callback). */
  className?: string;
  /** Its last segment ("Dense"). */
  shortClass?: string;
  /** Where the module hangs off its parent ("blocks[2].up"); "" for the recorded module itself. */
  attributePath?: string;
  /** Other attribute paths that reach the same object. */
  aliases?: string[];
  numParams?: number;
  numTrainableParams?: number;
  /** Parameter counts estimated from the shapes of the variables the scope reads (no module record). */
  paramsEstimated: boolean;
  /** Has parameters of which none is trainable, or a Keras layer with trainable = false. */
  frozen: boolean;
  /** The variables it owns directly (module records only). */
  variables?: ModuleVariable[];
}

/** "keras.src.layers.core.dense.Dense" → "Dense"; "__main__.f.<locals>.DemoModule" → "DemoModule". */
export function shortClassName(qualified: string): string {
  const last = qualified.split(".").filter((part) => part !== "").pop();
  return last ?? qualified;
}

/** A shape as the API gives it (a list of dimensions, null for unknown, or already a string) as text. */
export function formatShape(shape: unknown): string {
  if (typeof shape === "string") return shape;
  if (Array.isArray(shape)) return `[${shape.map((dim) => (typeof dim === "number" ? String(dim) : "?")).join(",")}]`;
  return shape === null || shape === undefined ? "" : String(shape);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function moduleVariables(raw: unknown): ModuleVariable[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const variables: ModuleVariable[] = [];
  for (const entry of raw) {
    if (!entry || typeof entry !== "object") continue;
    const { name, shape, dtype, trainable, shared } = entry as Record<string, unknown>;
    if (typeof trainable !== "boolean") continue;
    variables.push({
      name: typeof name === "string" ? name : "",
      shape: formatShape(shape),
      dtype: typeof dtype === "string" ? dtype : "",
      trainable,
      shared: shared === true,
    });
  }
  return variables;
}

/** A hierarchy node or node details: their module fields. */
type ModuleSource = ModuleFields & { kind: NodeKind | "chunk" };

/** The module facts of a node, or undefined when it carries none (scopes, ops, plain trace modules). */
export function moduleInfoOf(node: ModuleSource): ModuleInfo | undefined {
  if (node.kind === "op") return undefined;
  const info: ModuleInfo = { paramsEstimated: node.params_estimated === true, frozen: false };
  let any = false;
  if (typeof node.class_name === "string" && node.class_name !== "") {
    info.className = node.class_name;
    info.shortClass = shortClassName(node.class_name);
    any = true;
  }
  if (typeof node.attribute_path === "string") {
    info.attributePath = node.attribute_path;
    any = true;
  }
  if (Array.isArray(node.aliases)) {
    const aliases = node.aliases.filter((alias: unknown): alias is string => typeof alias === "string");
    if (aliases.length) info.aliases = aliases;
  }
  if (isCount(node.num_params)) {
    info.numParams = node.num_params;
    any = true;
  }
  if (isCount(node.num_trainable_params)) {
    info.numTrainableParams = node.num_trainable_params;
    any = true;
  }
  const variables = moduleVariables(node.variables);
  if (variables) {
    info.variables = variables;
    any = true;
  }
  if (node.frozen === true || node.trainable === false) {
    info.frozen = true;
    any = true;
  }
  return any ? info : undefined;
}

/** "44", "2.6k", "44k", "1.2M", "12M", "1.5B"; with a leading "~" for an estimate. */
export function formatParamCount(count: number, estimated = false): string {
  const prefix = estimated ? "~" : "";
  const units: [number, string][] = [
    [1e3, "k"],
    [1e6, "M"],
    [1e9, "B"],
  ];
  let text = String(Math.round(count));
  for (let i = units.length - 1; i >= 0; i--) {
    const [size, unit] = units[i]!;
    if (count < size) continue;
    const value = count / size;
    let number = value < 10 ? value.toFixed(1) : String(Math.round(value));
    if (number.endsWith(".0")) number = number.slice(0, -2);
    // 999,999 would round to "1000k": that is "1M".
    text = number === "1000" && i + 1 < units.length ? `1${units[i + 1]![1]}` : `${number}${unit}`;
    break;
  }
  return prefix + text;
}

/** "44 params", "1 param", "~1.2M params"; undefined when the node has no parameter count. */
export function paramsLabel(info: ModuleInfo | undefined): string | undefined {
  if (info?.numParams === undefined) return undefined;
  return `${formatParamCount(info.numParams, info.paramsEstimated)} ${info.numParams === 1 ? "param" : "params"}`;
}

/**
 * Accent colours of repeated structure: distinct hues dark enough for white badge text (contrast at
 * least 4.5:1) and visible as outlines on white and on the module fill.
 */
export const REPEAT_PALETTE = [
  "#c5221f", // red
  "#b06000", // amber
  "#188038", // green
  "#007b83", // teal
  "#8430ce", // purple
  "#c2185b", // pink
  "#3949ab", // indigo
  "#795548", // brown
] as const;

/** The accent colour of a repeat key: the same key always gets the same colour (FNV-1a hash). */
export function repeatColour(key: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return REPEAT_PALETTE[(hash >>> 0) % REPEAT_PALETTE.length]!;
}

/** A valid repeat mark, or undefined. */
export function repeatOf(node: { repeat?: RepeatMark }): RepeatMark | undefined {
  const repeat = node.repeat;
  if (!repeat || typeof repeat.key !== "string" || !isCount(repeat.count) || repeat.count < 2) return undefined;
  return { key: repeat.key, count: repeat.count, shapes_compared: repeat.shapes_compared !== false };
}

/** What was compared to call modules alike: said where the graph could not show their parameters' shapes. */
export function comparedClause(repeat: RepeatMark): string {
  return repeat.shapes_compared ? "" : " (by class and ops: this graph records no parameter shapes)";
}

/** "one of 12 modules with the same structure as block_00". */
export function repeatSentence(repeat: RepeatMark): string {
  return `one of ${repeat.count} modules with the same structure as ${repeat.key}${comparedClause(repeat)}`;
}

/** A fold's: "48 consecutive modules of the same structure, block_0 … block_47". */
export function foldSentence(label: string, repeat: RepeatMark): string {
  return `${repeat.count} consecutive modules of the same structure${comparedClause(repeat)}, ${label}`;
}
