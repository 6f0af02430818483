// Colour scales: the cost ramp (tones on a logarithmic scale of shares of the whole graph), tints, and the
// categorical colours of devices.

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
