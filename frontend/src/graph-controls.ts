// The toolbar's controls of the graph: colour by, Fit, and the SVG / PNG downloads.

import { COLOUR_BY_CHOICES, isColourBy, type ColourBy } from "./colour-by";
import { html } from "./dom";

export interface GraphControlHandlers {
  fit(): void;
  exportAs(kind: "svg" | "png"): void;
  colourBy(by: ColourBy): void;
}

export class GraphControls {
  /** What goes into the toolbar, in its order. */
  readonly elements: HTMLElement[];
  private readonly fitButton: HTMLButtonElement;
  private readonly exportButtons: HTMLButtonElement[];

  constructor(handlers: GraphControlHandlers) {
    this.fitButton = html("button", { type: "button", title: "Fit the graph to the view" }, "Fit");
    this.fitButton.addEventListener("click", () => handlers.fit());
    this.exportButtons = (["svg", "png"] as const).map((kind) => {
      const button = html(
        "button",
        { type: "button", "data-export": kind, title: `Download the whole graph (or the selected expanded group) as ${kind.toUpperCase()}, with its legend`, disabled: true },
        kind.toUpperCase(),
      );
      button.addEventListener("click", () => handlers.exportAs(kind));
      return button;
    });
    const colourSelect = html(
      "select",
      { name: "colour-by", title: "What the boxes and the tree's rows are coloured by" },
      ...COLOUR_BY_CHOICES.map(({ value, label }) => html("option", { value }, label)),
    );
    colourSelect.addEventListener("change", () => {
      if (isColourBy(colourSelect.value)) handlers.colourBy(colourSelect.value);
    });
    const colourControl = html("label", { class: "mg-colour-by" }, "Colour by ", colourSelect);
    this.elements = [colourControl, this.fitButton, ...this.exportButtons];
  }

  /** Whether Fit (its key too) and the downloads work: there is a graph to show. */
  get enabled(): boolean {
    return !this.fitButton.disabled;
  }

  setEnabled(enabled: boolean): void {
    this.fitButton.disabled = !enabled;
    for (const button of this.exportButtons) button.disabled = !enabled;
  }
}
