// The legend ([data-legend], over the graph's lower left corner): coloured by structure, what the kinds of boxes,
// the edges and the marks mean (collapsible); coloured by a cost, the scale with the values its tones stand for;
// by device, the devices' colours; the colour of what is not known, or why there is nothing to show.

import { UNKNOWN_REASONS, type LegendModel } from "./colour-by";
import { COST_RAMP, SCALE_DECADES, shortDevice } from "./colour-scale";
import { DIVERGING_RAMP, signedMeasure } from "./diff-scale";
import type { Measure } from "./costs";
import { formatMeasure, formatShare, formatTime, scaleTicks } from "./number-format";
import { html, svg } from "./dom";
import { DETAIL_FONT_SIZE, NAME_FONT_SIZE, estimateTextWidth, formatNumber } from "./labels";

function present(parts: (HTMLElement | false)[]): HTMLElement[] {
  return parts.filter((part): part is HTMLElement => part !== false);
}

const TITLES: Record<Measure, string> = { params: "Parameters", flops: "FLOPs", time: "Time per step" };

/** What the diverging scale's colours mean. */
const DIVERGING_WORDS = "blue: less in B, red: more in B, neutral: no difference";

/** What the unpainted boxes of the device colours are. */
const UNPLACED = "its ops name no device in the graph: TensorFlow places them when it runs them";

/** The kinds of boxes, as graph-view draws them (data-shape), with what each is. The legend's swatches take the
 * same colours through data-legend-shape: [data-shape] is the drawn nodes' hook alone. */
const KINDS: readonly { shape: string; label: string; what: string }[] = [
  { shape: "module", label: "Module", what: "a tf.Module or Keras layer: a scope that owns variables, or holds modules" },
  { shape: "scope", label: "Scope", what: "a name scope inside a module (the op helpers' scopes, a loss)" },
  { shape: "op", label: "Op", what: "one operation of the graph" },
  { shape: "variable", label: "Variable", what: "a variable the function reads (a captured resource)" },
  { shape: "inputs", label: "Inputs", what: "the function's arguments" },
  { shape: "outputs", label: "Outputs", what: "what the function returns" },
  { shape: "functions", label: "Other functions", what: "functions recorded beside the traced one, and eager ops" },
  { shape: "control_flow", label: "Control flow", what: "a tf.cond or tf.while_loop body" },
  { shape: "series", label: "Series", what: "numbered sibling ops folded into one (AddN, AddN_1, …)" },
  { shape: "fold", label: "Repeats", what: "consecutive modules of the same structure, folded into one: open it to see each" },
  { shape: "prefix", label: "By name", what: "children whose names start alike (conv2_…), shown together: not a scope" },
  { shape: "chunk", label: "Part", what: "a long list of children, a hundred at a time" },
];

const EDGES: readonly { className: string; width: number; label: string }[] = [
  { className: "mg-edge", width: 1, label: "tensors flow along it (thicker: more of them)" },
  { className: "mg-edge mg-control", width: 1, label: "a control dependency: runs after, passes no tensor" },
];

/** What the repeat badge means, in the legend and in an exported drawing's. */
const REPEAT_MEANING =
  "sibling modules of the same structure share a colour; a count marks the few, differently named ones and folds " +
  "(\"same ops\": a trace, which records no parameter shapes to compare)";

/**
 * The legend as SVG, for an exported drawing (an HTML legend cannot go into a PNG drawn through an image): rows
 * of swatches and words, styled by the page's classes (export.ts writes the computed style onto the copy).
 * Its origin is its top-left corner.
 */
export function legendDrawing(model: LegendModel): { element: SVGGElement; width: number; height: number } {
  const element = svg("g", { class: "mg-export-legend" });
  const ROW = 18;
  let y = 0;
  let width = 0;
  const text = (x: number, words: string, className = "mg-detail") => {
    element.append(svg("text", { class: className, x, y: y + 12 }, words));
    width = Math.max(width, x + estimateTextWidth(words, className === "mg-name" ? NAME_FONT_SIZE : DETAIL_FONT_SIZE));
  };
  const heading = (words: string) => {
    text(0, words, "mg-name");
    y += ROW + 2;
  };
  const row = (mark: SVGElement | undefined, words: string) => {
    if (mark) element.append(mark);
    text(28, words);
    y += ROW;
  };
  const box = (attributes: Record<string, string | number>) => svg("rect", { x: 0, y: y + 2, width: 22, height: 12, ...attributes });
  switch (model.kind) {
    case "structure":
      heading("Legend");
      for (const { shape, label, what } of KINDS) row(box({ class: "mg-outline", "data-legend-shape": shape, rx: shape === "op" ? 6 : 2 }), `${label}: ${what}`);
      for (const { className, label } of EDGES) row(svg("line", { class: className, x1: 0, y1: y + 8, x2: 22, y2: y + 8 }), label);
      row(box({ class: "mg-outline", rx: 6 }), `3 alike: ${REPEAT_MEANING}`);
      break;
    case "message":
      heading(model.measure === "device" ? "Device" : TITLES[model.measure as Measure] ?? model.measure);
      row(undefined, model.text);
      break;
    case "scale": {
      heading(`${TITLES[model.measure]} · whole graph ${formatMeasure(model.measure, model.whole)}`);
      const id = "mg-export-ramp";
      const ramp = svg("linearGradient", { id, x1: 0, y1: 0, x2: 1, y2: 0 });
      COST_RAMP.forEach((colour, i) => ramp.append(svg("stop", { offset: i / (COST_RAMP.length - 1), "stop-color": colour })));
      const barWidth = 320;
      element.append(svg("defs", {}, ramp), svg("rect", { x: 0, y, width: barWidth, height: 10, fill: `url(#${id})` }));
      y += 12;
      scaleTicks(model.measure, model.whole, SCALE_DECADES).forEach((tick, i) => {
        const k = SCALE_DECADES - i;
        const x = (i / SCALE_DECADES) * (barWidth - 30);
        element.append(svg("text", { class: "mg-detail", x, y: y + 12 }, tick ? `${tick} (${formatShare(10 ** -k)})` : formatShare(10 ** -k)));
      });
      width = Math.max(width, barWidth + 40);
      y += ROW;
      if (model.unknown) row(box({ class: "mg-outline", "stroke-dasharray": "2 2" }), `not known: ${UNKNOWN_REASONS[model.measure]}`);
      break;
    }
    case "diverging":
      heading(`${TITLES[model.measure]}, B − A: ${DIVERGING_WORDS}`);
      row(undefined, `from ${signedMeasure(model.measure, -model.largest)} to ${signedMeasure(model.measure, model.largest)}`);
      break;
    case "devices":
      heading("Device");
      for (const { device, ops, colour } of model.devices) row(box({ fill: colour, stroke: "#5f6368" }), `${shortDevice(device)} · ${formatNumber(ops)} ops`);
      if (model.unknown) row(box({ class: "mg-outline" }), `no device recorded: ${UNPLACED}`);
      break;
  }
  return { element, width: Math.ceil(width), height: y };
}

export class Legend {
  readonly element = html("div", { class: "mg-legend mg-float", "data-legend": "", hidden: true, "aria-live": "polite" });
  /** What it shows (what an exported drawing's legend shows too). */
  model: LegendModel | undefined;

  show(model: LegendModel): void {
    this.model = model;
    this.element.hidden = false;
    const name = model.kind === "structure" ? "structure" : model.kind === "devices" ? "device" : model.measure;
    // (The structure legend stays as the person left it, open or closed, across redraws.)
    if (model.kind === "structure" && this.element.dataset.legend === "structure") return;
    this.element.dataset.legend = name;
    switch (model.kind) {
      case "structure":
        this.element.replaceChildren(this.structure());
        return;
      case "message":
        this.element.replaceChildren(
          html("h3", {}, model.measure === "device" ? "Device" : TITLES[model.measure as Measure] ?? model.measure),
          html("p", { class: model.pending ? "mg-legend-pending" : "mg-legend-message" }, model.text),
        );
        return;
      case "scale":
        this.element.replaceChildren(...present(this.scale(model)));
        return;
      case "diverging":
        this.element.replaceChildren(...present(this.diverging(model)));
        return;
      case "devices":
        this.element.replaceChildren(
          ...present([
          html("h3", {}, "Device"),
          html(
            "ul",
            { class: "mg-legend-devices" },
            ...model.devices.map(({ device, ops, colour }) => {
              const swatch = html("span", { class: "mg-legend-swatch" });
              swatch.style.background = colour;
              return html("li", { title: device }, swatch, shortDevice(device), html("span", { class: "mg-legend-note" }, ` ${formatNumber(ops)} ops`));
            }),
          ),
          model.devices.length > 1 && html("p", { class: "mg-legend-note" }, "A group on several devices is striped by its share of ops on each."),
          model.unknown && this.unknownRow("no device recorded", UNPLACED, "mg-swatch-none"),
          ]),
        );
        return;
    }
  }

  private structure(): HTMLElement {
    const shape = (kind: string) =>
      svg(
        "svg",
        { class: "mg-legend-shape", width: 22, height: 14, "aria-hidden": "true" },
        svg("rect", { class: "mg-outline", "data-legend-shape": kind, x: 1, y: 1, width: 20, height: 12, rx: kind === "op" ? 6 : 2 }),
      );
    const edge = (className: string, width: number) =>
      svg(
        "svg",
        { class: "mg-legend-shape", width: 22, height: 14, "aria-hidden": "true" },
        svg("line", { class: className, x1: 1, y1: 7, x2: 21, y2: 7, "stroke-width": width }),
      );
    const row = (mark: Element, label: string, what: string) =>
      html("li", {}, mark, html("span", { class: "mg-legend-label" }, label), html("span", { class: "mg-legend-note" }, ` ${what}`));
    const badge = html("span", { class: "mg-legend-badge" }, "3 alike");
    const frozen = html("span", { class: "mg-legend-swatch mg-swatch-frozen" });
    return html(
      "details",
      { class: "mg-legend-structure" },
      html("summary", {}, "Legend"),
      html("ul", { class: "mg-legend-kinds" }, ...KINDS.map(({ shape: kind, label, what }) => row(shape(kind), label, what))),
      html(
        "ul",
        { class: "mg-legend-kinds" },
        ...EDGES.map(({ className, width, label }) => row(edge(className, width), "", label)),
        row(badge, "", REPEAT_MEANING),
        row(frozen, "Frozen", "a module whose parameters are not trainable"),
      ),
    );
  }

  private scale(model: Extract<LegendModel, { kind: "scale" }>): (HTMLElement | false)[] {
    const { measure, whole } = model;
    const bar = html("div", { class: "mg-legend-bar" });
    bar.style.background = `linear-gradient(to right, ${COST_RAMP.join(", ")})`;
    // One tick per factor of ten, from 10^-SCALE_DECADES of the whole (and below) to the whole.
    const ticks = html("div", { class: "mg-legend-ticks" });
    scaleTicks(measure, whole, SCALE_DECADES).forEach((text, i) => {
      ticks.append(html("span", {}, i === 0 && text && !text.startsWith("<") ? `≤${text}` : text));
    });
    const shares = html("div", { class: "mg-legend-ticks mg-legend-note" });
    for (let k = SCALE_DECADES; k >= 0; k--) shares.append(html("span", {}, formatShare(10 ** -k)));
    const step = model.step;
    return [
      html("h3", {}, TITLES[measure], html("span", { class: "mg-legend-note" }, ` · whole graph ${formatMeasure(measure, whole)}`)),
      bar,
      ticks,
      shares,
      !!step && this.stepLines(step),
      model.unknown && this.unknownRow("not known", UNKNOWN_REASONS[measure]),
    ];
  }

  /** Comparing: the measure's difference from the largest decrease (blue) through none to the largest increase (red). */
  private diverging(model: Extract<LegendModel, { kind: "diverging" }>): (HTMLElement | false)[] {
    const { measure, largest } = model;
    const bar = html("div", { class: "mg-legend-bar" });
    bar.style.background = `linear-gradient(to right, ${DIVERGING_RAMP.join(", ")})`;
    const ticks = html(
      "div",
      { class: "mg-legend-ticks" },
      html("span", {}, signedMeasure(measure, -largest)),
      html("span", {}, "0"),
      html("span", {}, signedMeasure(measure, largest)),
    );
    return [
      html("h3", {}, `${TITLES[measure]}: difference, B − A`),
      bar,
      ticks,
      html("p", { class: "mg-legend-note" }, DIVERGING_WORDS),
      model.unknown && this.unknownRow("not known", "a side does not know it, or it is only in one graph and not counted"),
    ];
  }

  /** The profiled step: this graph's ops in modules, outside modules, and the op time of the step it leaves out. */
  private stepLines(step: { stepUs: number; graphUs: number; moduleUs: number }): HTMLElement {
    const share = (us: number) => (step.stepUs > 0 ? ` (${formatShare(us / step.stepUs)})` : "");
    const outside = Math.max(0, step.graphUs - step.moduleUs);
    const other = Math.max(0, step.stepUs - step.graphUs);
    return html(
      "dl",
      { class: "mg-legend-step" },
      html("dt", {}, "Profiled step"),
      html("dd", {}, `${formatTime(step.stepUs)} of op time`),
      html("dt", {}, "In modules"),
      html("dd", {}, `${formatTime(step.moduleUs)}${share(step.moduleUs)}`),
      html("dt", {}, "Outside any module"),
      html("dd", {}, `${formatTime(outside)}${share(outside)}`),
      other > 0 && html("dt", {}, "Not in this graph"),
      other > 0 && html("dd", {}, `${formatTime(other)}${share(other)}`),
    );
  }

  private unknownRow(label: string, reason: string, swatch = "mg-swatch-unknown"): HTMLElement {
    return html("p", { class: "mg-legend-unknown", title: reason }, html("span", { class: `mg-legend-swatch ${swatch}` }), label, html("span", { class: "mg-legend-note" }, ` (${reason})`));
  }
}
