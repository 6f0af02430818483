// The graph's camera: zoom and pan (d3-zoom on the pane, one transform on the viewport <g>), the pane's size,
// and placing the view: fit the whole graph or frame a group, keep a node in view, follow the pane's resizes.

import { select } from "d3-selection";
import { zoom, zoomIdentity, zoomTransform, type ZoomBehavior, type ZoomTransform } from "d3-zoom";
import { contains, drawingBounds, enclosingGroups, union, type Area, type Box } from "./graph-geometry";
import { overviewColumn } from "./graph-minimap";
import { READABLE_LABEL_PX } from "./graph-paint";
import { NAME_FONT_SIZE } from "./labels";
import { GROUP_HEADER_HEIGHT, type PlacedNode, type Point, type Scene } from "./layout";

export const VIEW_MARGIN = 24;
/** Below this zoom, names are too small to read. */
const READABLE_SCALE = 0.6;
/**
 * Fit enlarges a small graph up to this zoom: names (12 px) then read at 18 px, a heading's size beside the
 * page's 13 px text. Larger, a graph of three boxes would fill the pane with a few oversized words and stop
 * looking like a diagram. A graph too large for the pane at 1x is shrunk just enough to fit (down to 0.02x).
 */
const FIT_MAX_SCALE = 1.5;
/** How much of an enclosing group's header a revealed node keeps in view with it: enough for the caption's start. */
const CAPTION_IN_VIEW_WIDTH = 200;

/** What the camera asks of the view it moves. */
export interface CameraSubject {
  /** The scene shown (undefined: none yet). */
  scene(): Scene | undefined;
  /** The selected node's path (fit frames it when it is an expanded group). */
  selected(): string | undefined;
  /** The viewport got a new transform (a gesture ended, or the view was placed). */
  onCommit(): void;
}

export class Camera {
  private readonly zoomBehavior: ZoomBehavior<HTMLDivElement, unknown>;
  /** The transform the viewport <g> is drawn with. */
  private committed: ZoomTransform = zoomIdentity;
  private gestureRunning = false;
  /** The pane's size, kept by a ResizeObserver (reading it from the layout would force the browser to lay out
   * a freshly drawn graph at once, inside our task). */
  private paneSize: { width: number; height: number } | undefined;
  /** The view shows the scene as fit() placed it, and nobody moved it since: a resize fits it again. */
  private fitted = false;
  /** The view shows this expanded group as fit() framed it (a second fit shows the whole graph). */
  private framed: string | undefined;
  /** Pixels at the bottom of the pane that something drawn over the graph covers (the legend): fit leaves them free. */
  private bottomInset = 0;

  constructor(
    /** The HTML pane d3-zoom listens on (it never moves, so pointer positions stay right). */
    private readonly pane: HTMLDivElement,
    /** The SVG moved as a whole during a gesture. */
    private readonly drawing: SVGSVGElement,
    /** The <g> that gets the committed transform. */
    private readonly viewport: SVGGElement,
    private readonly subject: CameraSubject,
  ) {
    // Zoom and pan transform the one viewport <g>. While a gesture runs, the SVG element is moved as a
    // whole by a CSS transform, which the browser composites without laying out or repainting the
    // graph; the <g> gets the final transform when the gesture ends. d3-zoom listens on the pane (an
    // HTML element that never moves), so pointer positions stay right while the SVG is moved.
    this.zoomBehavior = zoom<HTMLDivElement, unknown>()
      .scaleExtent([0.02, 4])
      // d3-zoom's own extent reads the pane's clientWidth: a forced layout of a freshly drawn graph.
      .extent(() => {
        const { width, height } = this.viewSize();
        return [
          [0, 0],
          [width, height],
        ];
      })
      .on("start", () => {
        this.gestureRunning = true;
      })
      .on("zoom", (event: { transform: ZoomTransform; sourceEvent: Event | null }) => {
        if (event.sourceEvent) [this.fitted, this.framed] = [false, undefined];
        if (this.gestureRunning) this.previewTransform(event.transform);
        else this.commitTransform(event.transform);
      })
      .on("end", (event: { transform: ZoomTransform }) => {
        this.gestureRunning = false;
        this.commitTransform(event.transform);
      });
    // Double-click expands and collapses nodes here, so it must not zoom.
    select(pane).call(this.zoomBehavior).on("dblclick.zoom", null);

    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver((entries) => {
        const box = entries[entries.length - 1]!.contentRect;
        const old = this.paneSize;
        this.paneSize = { width: box.width, height: box.height };
        if (old && (old.width !== box.width || old.height !== box.height)) this.onResize(old);
      }).observe(pane);
    }
  }

  /** The zoom the viewport is drawn at. */
  get scale(): number {
    return this.committed.k;
  }

  /** Centres the view on a scene point (the overview's click), keeping the zoom. */
  centreOn(point: Point): void {
    select(this.pane).call(this.zoomBehavior.translateTo, point.x, point.y);
    this.fitted = false;
  }

  /** Moves the drawn graph from the committed transform to `target` with a CSS transform of the SVG. */
  private previewTransform(target: ZoomTransform): void {
    const scale = target.k / this.committed.k;
    const x = target.x - scale * this.committed.x;
    const y = target.y - scale * this.committed.y;
    this.drawing.style.transform = `translate(${x}px,${y}px) scale(${scale})`;
  }

  private commitTransform(transform: ZoomTransform): void {
    this.committed = transform;
    this.drawing.style.transform = "";
    this.viewport.setAttribute("transform", transform.toString());
    this.subject.onCommit();
  }

  /** The scene area in view, grown by `margin` views on each side. */
  areaInView(margin: number): Area {
    return this.areaAt(this.committed, margin);
  }

  private areaAt(t: ZoomTransform, margin: number): Area {
    const { width, height } = this.viewSize();
    const x0 = -t.x / t.k;
    const y0 = -t.y / t.k;
    const w = width / t.k;
    const h = height / t.k;
    return { x0: x0 - margin * w, y0: y0 - margin * h, x1: x0 + w + margin * w, y1: y0 + h + margin * h };
  }

  /** Leaves `pixels` at the bottom of the pane free when fitting and revealing (the legend covers them). */
  setBottomInset(pixels: number): void {
    if (pixels === this.bottomInset) return;
    this.bottomInset = pixels;
    if (this.fitted) this.refit();
  }

  /**
   * Fit, as the person asks for it: where the whole graph would be drawn too small to read its names and the
   * selected node is an expanded group, that group at a readable zoom (the overview shows where it is); asked
   * again, or otherwise, the whole graph.
   */
  fit(): void {
    const group = this.framableGroup();
    if (group && this.framed !== group.node.path) this.frame(group);
    else this.fitWhole();
  }

  /** The selected expanded group, when the whole graph fitted would draw names smaller than READABLE_LABEL_PX. */
  private framableGroup(): PlacedNode | undefined {
    const scene = this.subject.scene();
    const selected = this.subject.selected();
    const placed = selected === undefined ? undefined : scene?.byPath.get(selected);
    if (!scene || !placed?.node.expanded) return undefined;
    return NAME_FONT_SIZE * this.fitScale(drawingBounds(scene)) < READABLE_LABEL_PX ? placed : undefined;
  }

  /** Shows an expanded group as large as fits, at a readable zoom at least (its top-left part if it is larger). */
  private frame(group: PlacedNode): void {
    this.zoomToBox(group, FIT_MAX_SCALE, READABLE_LABEL_PX / NAME_FONT_SIZE);
    this.fitted = true;
    this.framed = group.node.path;
  }

  /** Zooms so that the whole scene fits, a small one enlarged up to FIT_MAX_SCALE. */
  fitWhole(): void {
    const scene = this.subject.scene();
    if (!scene) return;
    this.zoomToBox(drawingBounds(scene), FIT_MAX_SCALE, 0.02);
    this.fitted = true;
  }

  /** Fits again as the last fit did (the pane or what covers it changed size). */
  private refit(): void {
    const group = this.framed === undefined ? undefined : this.subject.scene()?.byPath.get(this.framed);
    if (group?.node.expanded) this.frame(group);
    else this.fitWhole();
  }

  /** The pane changed size (window resized, panes moved): fit again, or keep the same point in the middle. */
  private onResize(old: { width: number; height: number }): void {
    if (!this.subject.scene() || this.paneSize!.width < 1 || this.paneSize!.height < 1) return;
    if (this.fitted) {
      this.refit();
      return;
    }
    const t = zoomTransform(this.pane);
    const moved = t.translate((this.paneSize!.width - old.width) / 2 / t.k, (this.paneSize!.height - old.height) / 2 / t.k);
    select(this.pane).call(this.zoomBehavior.transform, moved);
  }

  /**
   * Pans (and zooms out if needed) so that the node at `path` is in view; does nothing if it already is.
   * `readable` (a search result, a link followed) also zooms in to natural size when the view is zoomed far out,
   * and keeps the headers of the groups around the node in view with it, innermost first, as far as they fit.
   */
  ensureVisible(path: string, readable = false): void {
    const scene = this.subject.scene();
    const placed = scene?.byPath.get(path);
    if (!scene || !placed) return;
    const t = zoomTransform(this.pane);
    // (a node under the overview, which shows while the scene is not all in view, is not in view)
    const inset = this.showsAll(t, scene) ? 0 : overviewColumn(drawingBounds(scene));
    const { width: viewWidth, height: viewHeight } = this.freeSize(inset);
    const zoomIn = readable && t.k < READABLE_SCALE;
    const [maxScale, minScale] = zoomIn ? [1, READABLE_SCALE] : [t.k, Math.min(t.k, READABLE_SCALE)];
    const wanted = readable ? this.withHeaders(scene, placed, minScale, inset) : placed;
    const left = t.applyX(wanted.x);
    const top = t.applyY(wanted.y);
    const right = t.applyX(wanted.x + wanted.width);
    const bottom = t.applyY(wanted.y + wanted.height);
    if (!zoomIn && left >= 0 && top >= 0 && right <= viewWidth && bottom <= viewHeight) return;
    this.zoomToBox(wanted, maxScale, minScale);
  }

  /**
   * `placed`'s box grown to take in the headers of the groups around it, innermost first, while the whole still
   * fits the view at `scale`: each group's caption (its top-left part), or else its top edge above the node.
   */
  private withHeaders(scene: Scene, placed: PlacedNode, scale: number, rightInset: number): Box {
    const { width, height } = this.freeSize(rightInset);
    const fits = (box: Box) =>
      box.width * scale <= width - 2 * VIEW_MARGIN && box.height * scale <= height - 2 * VIEW_MARGIN;
    let box: Box = { x: placed.x, y: placed.y, width: placed.width, height: placed.height };
    for (const group of enclosingGroups(scene, placed)) {
      const caption = union(box, { x: group.x, y: group.y, width: Math.min(group.width, CAPTION_IN_VIEW_WIDTH), height: GROUP_HEADER_HEIGHT });
      if (fits(caption)) {
        box = caption;
        continue;
      }
      const edge = union(box, { x: box.x, y: group.y, width: box.width, height: GROUP_HEADER_HEIGHT });
      if (fits(edge)) box = edge;
      break;
    }
    return box;
  }

  private viewSize(): { width: number; height: number } {
    const box = this.paneSize ?? this.pane.getBoundingClientRect();
    return { width: Math.max(box.width, 1), height: Math.max(box.height, 1) };
  }

  /** The part of the pane that nothing covers, from its top: where fit and reveal place nodes. The inset takes
   * at most half the pane, so that a short pane still shows the graph; `rightInset`, the overview's column. */
  private freeSize(rightInset = 0): { width: number; height: number } {
    const { width, height } = this.viewSize();
    return { width: Math.max(width - Math.min(rightInset, width / 2), 1), height: Math.max(height - Math.min(this.bottomInset, height / 2), 1) };
  }

  /** The scale at which `box` just fits the free part of the pane. */
  private fitScale(box: Box, rightInset = 0): number {
    const { width, height } = this.freeSize(rightInset);
    return Math.min((width - 2 * VIEW_MARGIN) / Math.max(box.width, 1), (height - 2 * VIEW_MARGIN) / Math.max(box.height, 1));
  }

  /** Whether the view at `t` holds the whole scene (the overview is then hidden). */
  private showsAll(t: ZoomTransform, scene: Scene): boolean {
    const all = drawingBounds(scene);
    return contains(this.areaAt(t, 0), { x0: all.x, y0: all.y, x1: all.x + all.width, y1: all.y + all.height });
  }

  /**
   * Shows `box` at the largest scale up to `maxScale` at which it fits, but never below `minScale`: a box
   * too large to fit readably is shown from its top-left part (its header and first children) instead. Where
   * that leaves part of the scene out of view, the overview shows in the pane's top right: the box keeps left of it.
   */
  private zoomToBox(box: Box, maxScale: number, minScale: number) {
    [this.fitted, this.framed] = [false, undefined];
    const scene = this.subject.scene();
    let placed = this.placement(box, maxScale, minScale, 0);
    if (scene && !this.showsAll(placed, scene)) placed = this.placement(box, maxScale, minScale, overviewColumn(drawingBounds(scene)));
    select(this.pane).call(this.zoomBehavior.transform, placed);
  }

  private placement(box: Box, maxScale: number, minScale: number, rightInset: number): ZoomTransform {
    const { width, height } = this.freeSize(rightInset);
    const scale = Math.max(minScale, Math.min(maxScale, this.fitScale(box, rightInset)));
    const fitsAcross = scale * box.width <= width - 2 * VIEW_MARGIN;
    const fitsDown = scale * box.height <= height - 2 * VIEW_MARGIN;
    const x = fitsAcross ? width / 2 - scale * (box.x + box.width / 2) : VIEW_MARGIN - scale * box.x;
    const y = fitsDown ? height / 2 - scale * (box.y + box.height / 2) : VIEW_MARGIN - scale * box.y;
    return zoomIdentity.translate(x, y).scale(scale);
  }
}
