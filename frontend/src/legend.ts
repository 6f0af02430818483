// The legend of the colours ([data-legend], over the graph's lower left corner): the cost scale with the values
// its tones stand for, the devices' colours, the colour of what is not known, or why there is nothing to show.

import {
  COST_RAMP,
  SCALE_DECADES,
  UNKNOWN_REASONS,
  formatAmount,
  formatMeasure,
  formatShare,
  formatTime,
  shortDevice,
  type LegendModel,
  type Measure,
} from "./colour-by";
import { html } from "./dom";
import { formatNumber } from "./labels";

function present(parts: (HTMLElement | false)[]): HTMLElement[] {
  return parts.filter((part): part is HTMLElement => part !== false);
}

const TITLES: Record<Measure, string> = { params: "Parameters", flops: "FLOPs", time: "Time per step" };

/** What the unpainted boxes of the device colours are. */
const UNPLACED = "its ops name no device in the graph: TensorFlow places them when it runs them";

export class Legend {
  readonly element = html("div", { class: "mg-legend", "data-legend": "", hidden: true, "aria-live": "polite" });

  show(model: LegendModel): void {
    this.element.hidden = model.kind === "none";
    this.element.dataset.legend = model.kind === "none" ? "" : model.kind === "message" ? model.measure : model.kind === "scale" ? model.measure : "device";
    switch (model.kind) {
      case "none":
        this.element.replaceChildren();
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

  private scale(model: Extract<LegendModel, { kind: "scale" }>): (HTMLElement | false)[] {
    const { measure, whole } = model;
    const bar = html("div", { class: "mg-legend-bar" });
    bar.style.background = `linear-gradient(to right, ${COST_RAMP.join(", ")})`;
    // One tick per factor of ten, from 10^-SCALE_DECADES of the whole (and below) to the whole.
    const ticks = html("div", { class: "mg-legend-ticks" });
    for (let k = SCALE_DECADES; k >= 0; k--) {
      const value = whole / 10 ** k;
      const text = formatAmount(measure, value);
      ticks.append(html("span", {}, k === SCALE_DECADES ? `≤${text}` : text));
    }
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
