// The overview in the graph pane's corner ([data-minimap], shown while part of the scene is out of view): the
// scene's boxes small, and a rectangle where the view is; a click or drag there centres the view on that point.

import { svg } from "./dom";
import { contains, drawingBounds, round, type Area, type Box } from "./graph-geometry";
import type { PlacedNode, Point, Scene } from "./layout";

/** The overview's longer side (px), and the most boxes it draws. */
const MINIMAP_SIZE = 150;
const MINIMAP_MAX_BOXES = 400;
/** The overview's distance from the pane's top and right edges, and its border: styles/graph.css's (.mg-minimap,
 * .mg-float), which test/minimap-css.test.ts holds them to. */
export const MINIMAP_OFFSET = 10;
export const MINIMAP_BORDER = 1;

/** The overview of a scene drawn within `box`: its scale (px per scene unit) and its size in px (borders aside). */
export function overviewOf(box: Box): { scale: number; width: number; height: number } {
  const scale = Math.min(MINIMAP_SIZE / Math.max(box.width, 1), MINIMAP_SIZE / Math.max(box.height, 1));
  return { scale, width: Math.ceil(box.width * scale) + 4, height: Math.ceil(box.height * scale) + 4 };
}

/** The pixels at the pane's right that the overview of a scene within `box` takes, with its offset from the edge. */
export function overviewColumn(box: Box): number {
  return overviewOf(box).width + 2 * MINIMAP_BORDER + MINIMAP_OFFSET;
}

export class Minimap {
  readonly element: SVGSVGElement;
  /** The scene box the overview shows, and its scale (overview px per scene unit). */
  private frame: { box: Box; scale: number } | undefined;

  constructor(
    /** The scene area in view now. */
    private readonly viewArea: () => Area,
    /** Centre the view on a scene point. */
    centreOn: (point: Point) => void,
  ) {
    this.element = svg("svg", { class: "mg-minimap mg-float", "data-minimap": "", "aria-hidden": "true" });
    this.element.style.display = "none";
    // A click or drag on the overview centres the view there (not a zoom or pan gesture of the pane).
    const centreAt = (event: PointerEvent) => {
      const at = this.pointAt(event);
      if (at) centreOn(at);
    };
    this.element.addEventListener("pointerdown", (event) => {
      event.stopPropagation();
      this.element.setPointerCapture(event.pointerId);
      centreAt(event);
    });
    this.element.addEventListener("pointermove", (event) => {
      if (this.element.hasPointerCapture(event.pointerId)) centreAt(event);
    });
    for (const type of ["mousedown", "wheel", "dblclick", "touchstart"]) this.element.addEventListener(type, (event) => event.stopPropagation());
  }

  clear(): void {
    this.element.replaceChildren();
    this.element.style.display = "none";
    this.frame = undefined;
  }

  /** The overview's boxes: every node of the scene large enough to see in it (its frame fixed by the scene). */
  draw(scene: Scene | undefined): void {
    this.element.replaceChildren();
    this.frame = undefined;
    if (!scene) return;
    const box = drawingBounds(scene);
    const { scale, width, height } = overviewOf(box);
    this.element.setAttribute("width", String(width));
    this.element.setAttribute("height", String(height));
    this.frame = { box, scale };
    const group = svg("g", { transform: `translate(2,2) scale(${scale}) translate(${-box.x},${-box.y})` });
    let count = 0;
    const visit = (nodes: readonly PlacedNode[]) => {
      for (const placed of nodes) {
        if (count >= MINIMAP_MAX_BOXES || placed.width * scale < 2) continue;
        count++;
        group.append(svg("rect", {
          class: placed.node.expanded ? "mg-minimap-group" : "mg-minimap-node",
          x: round(placed.x), y: round(placed.y), width: round(placed.width), height: round(placed.height),
        }));
        visit(placed.children);
      }
    };
    visit(scene.nodes);
    this.element.append(group, svg("rect", { class: "mg-minimap-view", "data-minimap-view": "" }));
    this.placeView();
  }

  /** Moves the overview's view rectangle to the view; the overview shows only while part of the scene is out of view. */
  placeView(): void {
    const frame = this.frame;
    const rect = this.element.querySelector<SVGRectElement>(".mg-minimap-view");
    if (!frame || !rect) return;
    const view = this.viewArea();
    const { box, scale } = frame;
    const all = { x0: box.x, y0: box.y, x1: box.x + box.width, y1: box.y + box.height };
    this.element.style.display = contains(view, all) ? "none" : "";
    const x0 = Math.max(view.x0, box.x);
    const y0 = Math.max(view.y0, box.y);
    const x1 = Math.min(view.x1, box.x + box.width);
    const y1 = Math.min(view.y1, box.y + box.height);
    rect.setAttribute("x", String(round(2 + (x0 - box.x) * scale)));
    rect.setAttribute("y", String(round(2 + (y0 - box.y) * scale)));
    rect.setAttribute("width", String(round(Math.max(2, (x1 - x0) * scale))));
    rect.setAttribute("height", String(round(Math.max(2, (y1 - y0) * scale))));
  }

  /** The scene point under a pointer on the overview. */
  private pointAt(event: PointerEvent): Point | undefined {
    const frame = this.frame;
    if (!frame) return undefined;
    const bounds = this.element.getBoundingClientRect();
    return {
      x: frame.box.x + (event.clientX - bounds.left - 2) / frame.scale,
      y: frame.box.y + (event.clientY - bounds.top - 2) / frame.scale,
    };
  }
}
