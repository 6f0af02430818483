// Colour by a measure while comparing: its difference (B minus A, the `diff` route's `delta`) on a diverging scale,
// blue where B has less, red where it has more, neutral at no difference; tones on a logarithmic scale of the
// largest difference drawn at the top (the root's or a top-level node's). Pure: no DOM.

import { rampColour, toneOf } from "./colour-scale";
import type { Measure } from "./costs";
import type { DiffMark } from "./diff-marks";
import { formatMeasure } from "./number-format";
import type { DiffDelta } from "./types";

/** Blue (less in B) through a neutral grey-white (no difference) to red (more in B): ColorBrewer's RdBu, which
 * reads for the common colour blindnesses. */
export const DIVERGING_RAMP: readonly string[] = ["#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b"];

/** The least tone of a difference that is not zero: it never looks like no difference at all. */
const LEAST_TONE = 0.2;

const FIELDS: Record<Measure, keyof DiffDelta> = { params: "num_params", flops: "flops", time: "time_us" };

/** The difference of `measure` a node shows (B minus A), where both sides know it. */
export function deltaOf(node: { diff?: DiffMark }, measure: Measure): number | undefined {
  return node.diff?.delta?.[FIELDS[measure]];
}

/** The differences of several nodes shown as one (a chunk, a prefix group, a fold): their sum, per measure known
 * for all of them. */
export function sumDeltas(deltas: readonly (DiffDelta | undefined)[]): DiffDelta | undefined {
  const sum: DiffDelta = {};
  for (const field of Object.values(FIELDS)) {
    if (deltas.length > 0 && deltas.every((delta) => delta?.[field] !== undefined)) {
      sum[field] = deltas.reduce((total, delta) => total + delta![field]!, 0);
    }
  }
  return Object.keys(sum).length > 0 ? sum : undefined;
}

/** Where a difference sits: -1 (the largest decrease) through 0 (none) to 1 (the largest increase). */
export function divergingTone(delta: number, largest: number): number {
  if (delta === 0 || !(largest > 0)) return 0;
  const tone = LEAST_TONE + (1 - LEAST_TONE) * toneOf(Math.abs(delta), largest);
  return delta > 0 ? tone : -tone;
}

/** The scale's colour at `tone` (-1..1). */
export function divergingColour(tone: number): string {
  return rampColour((Math.max(-1, Math.min(1, tone)) + 1) / 2, DIVERGING_RAMP);
}

/** A difference with its sign: "+1.2K params", "−3 µs", "±0 FLOPs". */
export function signedMeasure(measure: Measure, value: number): string {
  const sign = value > 0 ? "+" : value < 0 ? "−" : "±";
  return `${sign}${formatMeasure(measure, Math.abs(value))}`;
}
