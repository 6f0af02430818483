// The divider between the module tree and the graph: a focusable role="separator" that sets the tree pane's
// width, dragged with the pointer or moved with the arrow keys, kept within bounds and remembered across reloads
// (localStorage, under STORAGE_KEY).

import { html } from "./dom";

/** Narrower, a row shows little more than its twisty and the start of its name. */
export const MIN_TREE_WIDTH = 160;
/** The graph keeps at least this much of the room beside the tree. */
export const MIN_GRAPH_WIDTH = 240;
export const DEFAULT_TREE_WIDTH = 280;
const KEY_STEP = 16;
const BIG_KEY_STEP = 64;
const STORAGE_KEY = "tb_module_plugin.treeWidth";

/** `width` within bounds when the tree and the graph share `room` pixels. */
export function clampTreeWidth(width: number, room: number): number {
  const max = Math.max(MIN_TREE_WIDTH, room - MIN_GRAPH_WIDTH);
  return Math.round(Math.min(max, Math.max(MIN_TREE_WIDTH, width)));
}

/** A width read back from storage, or undefined for anything that is not one. */
export function parseStoredWidth(text: string | null | undefined): number | undefined {
  if (text === null || text === undefined || !/^\d+(\.\d+)?$/.test(text.trim())) return undefined;
  const width = Number(text);
  return Number.isFinite(width) && width > 0 ? width : undefined;
}

function storedWidth(): number | undefined {
  try {
    return parseStoredWidth(localStorage.getItem(STORAGE_KEY));
  } catch {
    return undefined; // (storage refused: the default it is)
  }
}

function storeWidth(width: number): void {
  try {
    localStorage.setItem(STORAGE_KEY, String(width));
  } catch {
    // (storage refused: the width holds until the page is left)
  }
}

export class PaneDivider {
  readonly element: HTMLDivElement;
  /** The width asked for (dragged, typed or remembered); what is shown is it clamped to the room there is. */
  private wanted: number;
  /** The width the pane has now (its style's, without its border). */
  private shown = DEFAULT_TREE_WIDTH;
  private drag: { pointerId: number; startX: number; startWidth: number } | undefined;

  /** `pane`: the tree pane it sizes; `room`: the pixels the tree and the graph share now. */
  constructor(
    private readonly pane: HTMLElement,
    private readonly room: () => number,
  ) {
    this.wanted = storedWidth() ?? DEFAULT_TREE_WIDTH;
    if (!pane.id) pane.id = "mg-tree-pane";
    this.element = html("div", {
      class: "mg-divider",
      role: "separator",
      tabindex: 0,
      "aria-orientation": "vertical",
      "aria-controls": pane.id,
      "aria-label": "Width of the module tree",
      "aria-valuemin": MIN_TREE_WIDTH,
      title: "Drag (or ← →) to resize the tree; double-click for the default width",
    });
    // (nothing is laid out yet, so nothing to measure the room by)
    this.apply(this.wanted, 0);

    this.element.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      // (no text selection while dragging; focus, which that also withholds, is given here)
      event.preventDefault();
      this.element.focus({ preventScroll: true });
      this.element.setPointerCapture(event.pointerId);
      this.drag = { pointerId: event.pointerId, startX: event.clientX, startWidth: this.shown };
      this.element.classList.add("mg-dragging");
    });
    this.element.addEventListener("pointermove", (event) => {
      const drag = this.drag;
      if (!drag || event.pointerId !== drag.pointerId) return;
      this.wanted = this.apply(drag.startWidth + event.clientX - drag.startX);
    });
    const endDrag = (event: PointerEvent) => {
      if (!this.drag || event.pointerId !== this.drag.pointerId) return;
      this.drag = undefined;
      this.element.classList.remove("mg-dragging");
      storeWidth(this.wanted);
    };
    this.element.addEventListener("pointerup", endDrag);
    this.element.addEventListener("pointercancel", endDrag);
    this.element.addEventListener("mousedown", (event) => event.preventDefault());
    this.element.addEventListener("dblclick", () => this.setWidth(DEFAULT_TREE_WIDTH));
    this.element.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? BIG_KEY_STEP : KEY_STEP;
      const width = this.shown;
      if (event.key === "ArrowLeft") this.setWidth(width - step);
      else if (event.key === "ArrowRight") this.setWidth(width + step);
      else if (event.key === "Home") this.setWidth(MIN_TREE_WIDTH);
      else if (event.key === "End") this.setWidth(Number.POSITIVE_INFINITY);
      else return;
      event.preventDefault();
    });
    // A narrower window leaves the graph its room; a wider one gives the tree back the width asked for.
    window.addEventListener("resize", () => this.apply(this.wanted));
  }

  /** Shows the remembered width within the room there is now (once the page is laid out). */
  refresh(): void {
    this.apply(this.wanted);
  }

  private setWidth(width: number): void {
    this.wanted = this.apply(width);
    storeWidth(this.wanted);
  }

  /** Sets the pane to `width` within bounds when the tree and the graph share `room`; returns the width set. */
  private apply(width: number, room = this.room()): number {
    // (without room to measure, before the page is laid out, only the lower bound applies)
    const clamped = room > 0 ? clampTreeWidth(width, room) : Math.round(Math.max(MIN_TREE_WIDTH, Math.min(width, 10_000)));
    this.shown = clamped;
    this.pane.style.width = `${clamped}px`;
    this.element.setAttribute("aria-valuenow", String(clamped));
    if (room > 0) this.element.setAttribute("aria-valuemax", String(clampTreeWidth(Number.POSITIVE_INFINITY, room)));
    return clamped;
  }
}
