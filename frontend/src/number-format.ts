// Numbers as a person reads them: SI amounts, times, a measure's value with its unit, shares.

import type { Measure } from "./costs";
import { formatParamCount } from "./module-info";

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
 * A tick of the legend's scale: whole numbers up to 999 ("11", not "11.3"), then as formatAmount ("25.6M"). Below
 * one, a time to one significant digit ("0.2 µs": the profile times ops that short); a count "<1" (a fraction of a
 * FLOP or a parameter is no amount a person counts).
 */
export function formatTick(measure: Measure, value: number): string {
  if (value === 0) return "0"; // (the scale's first tick: nothing, not "<1")
  if (value < 1) return measure === "time" ? `${Number(value.toPrecision(1))} µs` : "<1";
  if (value < 1000) return measure === "time" ? `${Math.round(value)} µs` : String(Math.round(value));
  return formatAmount(measure, value);
}

/**
 * The legend's ticks, one per factor of ten from `whole / 10^decades` up to `whole`, smallest first, no two
 * alike: a tick that would read as the next one ("<1" of a count, twice) is left blank, the next one says it.
 */
export function scaleTicks(measure: Measure, whole: number, decades: number): string[] {
  const ticks: string[] = [];
  for (let k = decades; k >= 0; k--) ticks.push(formatTick(measure, whole / 10 ** k));
  return ticks.map((text, i) => (text === ticks[i + 1] ? "" : text));
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
