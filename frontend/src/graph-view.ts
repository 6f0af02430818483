// The graph: an SVG of the scene's nested boxes and edges, zoomed and panned by transforming one <g>.
// Hooks other tools rely on: every node is a [data-path] element (with data-expanded / data-chunk), its
// outline carries data-shape, and every edge is an element with data-from / data-to.

import { select } from "d3-selection";
import { zoom, zoomIdentity, zoomTransform, type ZoomBehavior, type ZoomTransform } from "d3-zoom";
import { html, svg, syncChildren } from "./dom";
import { Colouring, isMeasure, type Paint } from "./colour-by";
import { DEEP_TONE, tintOf } from "./colour-scale";
import { formatMeasure } from "./number-format";
import { svgSnapshot } from "./export";
import { DETAIL_FONT_SIZE, NAME_FONT_SIZE, detailLine, estimateTextWidth, fitText, prefixSentence, repeatBadge, repeatMeaning, shapeOf } from "./labels";
import { GROUP_HEADER_HEIGHT, type PlacedEdge, type PlacedNode, type Point, type Scene } from "./layout";
import { repeatColour } from "./module-info";
import type { VisibleNode } from "./visible-node";

export interface GraphViewHandlers {
  onSelect(path: string): void;
  /** Expand a collapsed group, or collapse an expanded one. */
  onToggle(path: string): void;
}

const VIEW_MARGIN = 24;
/**
 * Scenes with more nodes than this draw only the nodes and edges near the view (within half a view on each
 * side), and draw more when a pan or zoom ends outside that area: what the browser styles, lays out and
 * paints then stays about one screenful, whatever the size of what is expanded.
 */
export const DRAW_ALL_UP_TO = 100;
/** Around the view, this fraction of its size is drawn too (what a short pan brings in). */
const DRAWN_MARGIN = 0.5;
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
/** Below this zoom, node captions are not drawn at all. */
const FAR_SCALE = 0.3;
/**
 * Labels are drawn at least this large on screen (px): a name that would be smaller at the zoom is drawn at
 * this size instead, shortened to what fits its box (or left out: the box shows its colour and outline), and
 * a second line or a badge that would be smaller is hidden; all come back as the person zooms in.
 */
export const READABLE_LABEL_PX = 10;
/** The smallest size (px) a caption's second line and badges are shown at. */
const SMALLEST_LABEL_PX = 9;
/** A shortened name shows at least this many characters, else none. */
const SHORT_NAME_MIN_CHARS = 3;
const ARROW_ID = "mg-arrow";
/** The overview's longer side (px), and the most boxes it draws. */
const MINIMAP_SIZE = 150;
const MINIMAP_MAX_BOXES = 400;
const HATCH_ID = "mg-hatch";
const BADGE_FONT_SIZE = 10;
const BADGE_HEIGHT = 14;

/** The small labels on a node's top edge: "❄ frozen", "×12" (repeated structure). */
function badgesOf(node: VisibleNode): { text: string; kind: string }[] {
  const badges: { text: string; kind: string }[] = [];
  if (node.module?.frozen) badges.push({ text: "❄ frozen", kind: "frozen" });
  const repeat = repeatBadge(node);
  if (repeat) badges.push({ text: repeat, kind: "repeat" });
  return badges;
}

/** The badges in a <g> whose origin is their top-left corner, and their total width. */
function drawBadges(node: VisibleNode): { element: SVGGElement; width: number } | undefined {
  const badges = badgesOf(node);
  if (badges.length === 0) return undefined;
  const element = svg("g", { class: "mg-badges" });
  let x = 0;
  for (const { text, kind } of badges) {
    const width = Math.round(estimateTextWidth(text, BADGE_FONT_SIZE) + 10);
    element.append(
      svg(
        "g",
        { class: `mg-badge mg-badge-${kind}`, transform: `translate(${x},0)` },
        svg("rect", { width, height: BADGE_HEIGHT, rx: BADGE_HEIGHT / 2 }),
        svg("text", { x: width / 2, y: 10, "text-anchor": "middle" }, text),
      ),
    );
    x += width + 4;
  }
  return { element, width: x - 4 };
}

function badgesTransform(nodeWidth: number, badgesWidth: number): string {
  return `translate(${round(Math.max(4, nodeWidth - badgesWidth - 8))},${-BADGE_HEIGHT / 2})`;
}

/** What a screen reader says for a node: its name and caption, and its marks. */
function ariaLabelOf(node: VisibleNode): string {
  const marks = [detailLine(node)];
  if (node.module?.frozen) marks.push("frozen");
  const repeat = repeatMeaning(node);
  if (repeat) marks.push(repeat);
  return `${node.label} (${marks.join(", ")})`;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** A smooth path through dagre's edge points: straight ends, quadratic curves through the bends. */
function edgePathData(points: readonly Point[]): string {
  if (points.length === 0) return "";
  const [first, ...rest] = points;
  let data = `M${round(first!.x)},${round(first!.y)}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const bend = rest[i]!;
    const next = rest[i + 1]!;
    data += `Q${round(bend.x)},${round(bend.y)} ${round((bend.x + next.x) / 2)},${round((bend.y + next.y) / 2)}`;
  }
  const last = rest[rest.length - 1];
  if (last) data += `L${round(last.x)},${round(last.y)}`;
  return data;
}

function setAttributeIfChanged(element: Element, name: string, value: string): void {
  if (element.getAttribute(name) !== value) element.setAttribute(name, value);
}

/** A node element kept between renders, with the parts of an expanded box that follow its size. */
interface DrawnNode {
  element: SVGGElement;
  expanded: boolean;
  /** The name as drawn at natural size, the box's size, and the zoom its name was last sized for. */
  label: { text: SVGTextElement; full: string; width: number; height: number; y: number; scale?: number };
  /** What its paint was last set from (see paintNode). */
  paintKey?: string;
  frame?: {
    outline: SVGRectElement;
    header: SVGRectElement;
    name: SVGTextElement;
    detail: SVGTextElement;
    /** The name as its header shows it at natural size (shortened to leave its caption room). */
    fittedName: string;
    hatch?: SVGRectElement;
    badges?: { element: SVGGElement; width: number };
  };
}

/** A box in scene coordinates, by its top-left corner and size. */
interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

function union(a: Box, b: Box): Box {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

/** What the scene's top-level nodes and edges cover (the layout's own size can hold empty margins). */
function drawingBounds(scene: Scene | undefined): Box {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  const take = (x: number, y: number, width = 0, height = 0) => {
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x + width);
    y1 = Math.max(y1, y + height);
  };
  for (const placed of scene?.nodes ?? []) take(placed.x, placed.y, placed.width + 6, placed.height + 6); // (+ a stack's offset)
  for (const edge of scene?.edges ?? []) for (const point of edge.points) take(point.x, point.y);
  return x0 <= x1 ? { x: x0, y: y0, width: x1 - x0, height: y1 - y0 } : { x: 0, y: 0, width: 0, height: 0 };
}

/** The expanded boxes around `target` (groups and chunks), innermost first. */
function enclosingGroups(scene: Scene, target: PlacedNode): PlacedNode[] {
  const find = (nodes: readonly PlacedNode[], around: PlacedNode[]): PlacedNode[] | undefined => {
    for (const placed of nodes) {
      if (placed === target) return around;
      // (only a box that holds the target can enclose it)
      const holds = contains(
        { x0: placed.x - 1, y0: placed.y - 1, x1: placed.x + placed.width + 1, y1: placed.y + placed.height + 1 },
        { x0: target.x, y0: target.y, x1: target.x + target.width, y1: target.y + target.height },
      );
      if (holds && placed.children.length > 0) {
        const found = find(placed.children, [placed, ...around]);
        if (found) return found;
      }
    }
    return undefined;
  };
  return find(scene.nodes, []) ?? [];
}

/** A rectangle in scene coordinates, by its edges. */
interface Area {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function overlaps(area: Area, x: number, y: number, width: number, height: number): boolean {
  return x <= area.x1 && y <= area.y1 && x + width >= area.x0 && y + height >= area.y0;
}

function contains(outer: Area, inner: Area): boolean {
  return inner.x0 >= outer.x0 && inner.y0 >= outer.y0 && inner.x1 <= outer.x1 && inner.y1 <= outer.y1;
}

function edgeOverlaps(area: Area, points: readonly Point[]): boolean {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const { x, y } of points) {
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  return points.length > 0 && overlaps(area, x0, y0, x1 - x0, y1 - y0);
}

/** `paths` (those in the scene) and every box around them: groups, and chunks (not path prefixes). */
function keptPaths(scene: Scene, paths: readonly (string | undefined)[]): Set<string> {
  const wanted = new Set(paths.filter((path): path is string => path !== undefined && scene.byPath.has(path)));
  const kept = new Set<string>();
  if (wanted.size === 0) return kept;
  const visit = (nodes: readonly PlacedNode[], around: readonly string[]) => {
    for (const placed of nodes) {
      const path = placed.node.path;
      if (wanted.has(path)) for (const p of [...around, path]) kept.add(p);
      if (placed.children.length > 0) visit(placed.children, [...around, path]);
    }
  };
  visit(scene.nodes, []);
  return kept;
}

/** What each drawn edge group shows, so that an unchanged one is kept. */
const drawnEdgesKey = new WeakMap<Element, string>();

function pathSelector(attribute: string, path: string): string {
  return `[${attribute}="${CSS.escape(path)}"]`;
}

export class GraphView {
  readonly element: HTMLDivElement;
  private readonly svgElement: SVGSVGElement;
  private readonly viewport: SVGGElement;
  private readonly message: HTMLDivElement;
  private readonly zoomBehavior: ZoomBehavior<HTMLDivElement, unknown>;
  private scene: Scene | undefined;
  /** The transform the viewport <g> is drawn with. */
  private committed: ZoomTransform = zoomIdentity;
  private gestureRunning = false;
  /** Elements of the nodes drawn by the last render, by path. */
  private drawn = new Map<string, DrawnNode>();
  /** The pane's size, kept by a ResizeObserver (reading it from the layout would force the browser to lay out
   * a freshly drawn graph at once, inside our task). */
  private paneSize: { width: number; height: number } | undefined;
  /** The view shows the scene as fit() placed it, and nobody moved it since: a resize fits it again. */
  private fitted = false;
  /** The view shows this expanded group as fit() framed it (a second fit shows the whole graph). */
  private framed: string | undefined;
  /** Pixels at the bottom of the pane that something drawn over the graph covers (the legend): fit leaves them free. */
  private bottomInset = 0;
  private selected: string | undefined;
  /** The part of the scene drawn (when only what is near the view is drawn), else undefined. */
  private drawnArea: Area | undefined;
  /** Set while render() places the view: the transform changes then draw nothing until render draws once. */
  private placing = false;
  /** Set while a snapshot is taken: every node is drawn, its labels at natural size. */
  private drawEverything = false;
  private colouring = new Colouring("structure", undefined);
  private readonly defs: SVGDefsElement;
  /** The overview in the pane's corner (a large graph zoomed in): the scene's boxes and where the view is. */
  private readonly minimap: SVGSVGElement;
  /** The scene box the overview shows, and its scale (overview px per scene unit). */
  private minimapFrame: { box: Box; scale: number } | undefined;
  /** Gradients of nodes whose ops are on several devices, by their stops. */
  private readonly deviceGradients = new Map<string, string>();

  constructor(handlers: GraphViewHandlers) {
    this.viewport = svg("g", { class: "mg-viewport" });
    this.defs = svg(
        "defs",
        {},
        svg(
          "marker",
          {
            id: ARROW_ID,
            viewBox: "0 0 10 10",
            refX: 9,
            refY: 5,
            markerWidth: 7,
            markerHeight: 7,
            markerUnits: "userSpaceOnUse",
            orient: "auto",
          },
          svg("path", { d: "M0,0L10,5L0,10z", class: "mg-arrow" }),
        ),
        // Diagonal lines over frozen modules.
        svg(
          "pattern",
          { id: HATCH_ID, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
          svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "mg-hatch-line" }),
        ),
      );
    this.svgElement = svg("svg", { class: "mg-graph", "aria-label": "Module graph" }, this.defs, this.viewport);
    this.message = html("div", { class: "mg-graph-message", hidden: true });
    this.minimap = svg("svg", { class: "mg-minimap", "data-minimap": "", "aria-hidden": "true" });
    this.minimap.style.display = "none";
    this.element = html("div", { class: "mg-graph-pane" }, this.svgElement, this.message, this.minimap);
    // A click or drag on the overview centres the view there (not a zoom or pan gesture of the pane).
    const centreAt = (event: PointerEvent) => {
      const at = this.minimapPoint(event);
      if (at) select(this.element).call(this.zoomBehavior.translateTo, at.x, at.y);
      this.fitted = false;
    };
    this.minimap.addEventListener("pointerdown", (event) => {
      event.stopPropagation();
      this.minimap.setPointerCapture(event.pointerId);
      centreAt(event);
    });
    this.minimap.addEventListener("pointermove", (event) => {
      if (this.minimap.hasPointerCapture(event.pointerId)) centreAt(event);
    });
    for (const type of ["mousedown", "wheel", "dblclick", "touchstart"]) this.minimap.addEventListener(type, (event) => event.stopPropagation());

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
    select(this.element).call(this.zoomBehavior).on("dblclick.zoom", null);

    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver((entries) => {
        const box = entries[entries.length - 1]!.contentRect;
        const old = this.paneSize;
        this.paneSize = { width: box.width, height: box.height };
        if (old && (old.width !== box.width || old.height !== box.height)) this.onResize(old);
      }).observe(this.element);
    }

    this.svgElement.addEventListener("click", (event) => {
      const node = this.nodeElementOf(event.target);
      if (!node) return;
      node.focus({ preventScroll: true });
      handlers.onSelect(node.dataset.path!);
    });
    this.svgElement.addEventListener("dblclick", (event) => {
      const node = this.nodeElementOf(event.target);
      if (node) handlers.onToggle(node.dataset.path!);
    });
    this.svgElement.addEventListener("keydown", (event) => {
      const node = this.nodeElementOf(event.target);
      if (!node || (event.key !== "Enter" && event.key !== " ")) return;
      event.preventDefault();
      handlers.onSelect(node.dataset.path!);
      if (event.key === "Enter") handlers.onToggle(node.dataset.path!);
    });
  }

  /** Moves the drawn graph from the committed transform to `target` with a CSS transform of the SVG. */
  private previewTransform(target: ZoomTransform): void {
    const scale = target.k / this.committed.k;
    const x = target.x - scale * this.committed.x;
    const y = target.y - scale * this.committed.y;
    this.svgElement.style.transform = `translate(${x}px,${y}px) scale(${scale})`;
  }

  private commitTransform(transform: ZoomTransform): void {
    this.committed = transform;
    this.svgElement.style.transform = "";
    this.viewport.setAttribute("transform", transform.toString());
    this.sizeLabels();
    this.placeMinimapView();
    // The view left the drawn part of a large scene: draw around it.
    if (!this.placing && this.drawnArea && !contains(this.drawnArea, this.areaInView(0))) this.draw();
  }

  /** The scene area in view, grown by `margin` views on each side. */
  private areaInView(margin: number): Area {
    const { width, height } = this.viewSize();
    const t = this.committed;
    const x0 = -t.x / t.k;
    const y0 = -t.y / t.k;
    const w = width / t.k;
    const h = height / t.k;
    return { x0: x0 - margin * w, y0: y0 - margin * h, x1: x0 + w + margin * w, y1: y0 + h + margin * h };
  }

  private nodeElementOf(target: EventTarget | null): SVGGElement | null {
    return target instanceof Element ? target.closest<SVGGElement>("g[data-path]") : null;
  }

  /** Shows a sentence instead of the graph (empty graph, failed load). */
  showMessage(text: string | undefined): void {
    this.message.hidden = text === undefined;
    this.message.textContent = text ?? "";
  }

  clear(): void {
    for (const id of this.deviceGradients.values()) this.defs.querySelector(`#${id}`)?.remove();
    this.deviceGradients.clear();
    this.scene = undefined;
    this.drawnArea = undefined;
    this.minimap.replaceChildren();
    this.minimap.style.display = "none";
    this.minimapFrame = undefined;
    this.drawn.clear();
    this.viewport.replaceChildren();
  }

  /**
   * Shows the scene, placed as asked (fit, or keeping a node in view), and draws it once. Elements of nodes
   * drawn before are kept and only moved (or resized, for expanded boxes): rebuilding thousands of elements,
   * and having the browser lay their text out again, is what would make expanding slow in a large graph.
   */
  render(
    scene: Scene,
    selected: string | undefined,
    placement: { fit?: boolean; keepInView?: string; readable?: boolean } = {},
  ): void {
    this.scene = scene;
    this.selected = selected;
    this.placing = true;
    try {
      if (placement.fit) this.fitWhole();
      if (placement.keepInView !== undefined) this.ensureVisible(placement.keepInView, placement.readable);
    } finally {
      this.placing = false;
    }
    this.draw();
    this.drawMinimap();
  }

  /** The overview's boxes: every node of the scene large enough to see in it (its frame fixed by the scene). */
  private drawMinimap(): void {
    const scene = this.scene;
    this.minimap.replaceChildren();
    this.minimapFrame = undefined;
    if (!scene) return;
    const box = drawingBounds(scene);
    const scale = Math.min(MINIMAP_SIZE / Math.max(box.width, 1), MINIMAP_SIZE / Math.max(box.height, 1));
    const [width, height] = [Math.ceil(box.width * scale) + 4, Math.ceil(box.height * scale) + 4];
    this.minimap.setAttribute("width", String(width));
    this.minimap.setAttribute("height", String(height));
    this.minimapFrame = { box, scale };
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
    this.minimap.append(group, svg("rect", { class: "mg-minimap-view", "data-minimap-view": "" }));
    this.placeMinimapView();
  }

  /** Moves the overview's view rectangle to the view; the overview shows only while part of the scene is out of view. */
  private placeMinimapView(): void {
    const frame = this.minimapFrame;
    const rect = this.minimap.querySelector<SVGRectElement>(".mg-minimap-view");
    if (!frame || !rect) return;
    const view = this.areaInView(0);
    const { box, scale } = frame;
    const all = { x0: box.x, y0: box.y, x1: box.x + box.width, y1: box.y + box.height };
    this.minimap.style.display = contains(view, all) ? "none" : "";
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
  private minimapPoint(event: PointerEvent): Point | undefined {
    const frame = this.minimapFrame;
    if (!frame) return undefined;
    const bounds = this.minimap.getBoundingClientRect();
    return {
      x: frame.box.x + (event.clientX - bounds.left - 2) / frame.scale,
      y: frame.box.y + (event.clientY - bounds.top - 2) / frame.scale,
    };
  }

  /** Draws the scene, or its part near the view when it is large. */
  private draw(): void {
    const scene = this.scene;
    if (!scene) return;
    const focused = this.nodeElementOf(document.activeElement)?.dataset.path;
    const area = scene.byPath.size > DRAW_ALL_UP_TO && !this.drawEverything ? this.areaInView(DRAWN_MARGIN) : undefined;
    // The selected and the focused node stay drawn wherever they are, with the boxes around them.
    const kept = area ? keptPaths(scene, [this.selected, focused]) : new Set<string>();
    const previous = this.drawn;
    this.drawn = new Map();
    this.drawnArea = area;
    this.drawContent(this.viewport, scene.nodes, scene.edges, 0, 0, previous, area, kept);
    this.sizeLabels();
    this.setSelected(this.selected);
    if (focused !== undefined && document.activeElement !== this.nodeElement(focused)) this.focusNode(focused);
  }

  /**
   * Makes `container` hold `edges` and the elements of `nodes` (after whatever else it holds); with an
   * `area`, only the nodes and edges that reach into it, and the `kept` ones.
   */
  private drawContent(
    container: SVGGElement,
    allNodes: readonly PlacedNode[],
    allEdges: readonly PlacedEdge[],
    originX: number,
    originY: number,
    previous: ReadonlyMap<string, DrawnNode>,
    area: Area | undefined,
    kept: ReadonlySet<string>,
  ): void {
    const nodes = area
      ? allNodes.filter((p) => kept.has(p.node.path) || overlaps(area, p.x, p.y, p.width, p.height))
      : allNodes;
    const edges = area ? allEdges.filter((edge) => edgeOverlaps(area, edge.points)) : allEdges;
    const nodeElements = nodes.map((placed) => this.drawNode(placed, originX, originY, previous, area, kept));
    const isNode = (element: Element) => element.classList.contains("mg-node");
    syncChildren(container, nodeElements, isNode);

    const edgePaths = edges.map(({ edge, points }) => ({
      edge,
      d: edgePathData(points.map((point) => ({ x: point.x - originX, y: point.y - originY }))),
    }));
    const edgesKey = JSON.stringify(edgePaths.map(({ edge, d }) => [edge.from, edge.to, edge.count, edge.control, d]));
    const oldEdges = [...container.children].find((child) => child.classList.contains("mg-edges"));
    if (oldEdges && drawnEdgesKey.get(oldEdges) === edgesKey) return;
    const edgeGroup = svg("g", { class: "mg-edges" });
    for (const { edge, d } of edgePaths) {
      edgeGroup.append(
        svg("path", {
          class: edge.control ? "mg-edge mg-control" : "mg-edge",
          "data-from": edge.from,
          "data-to": edge.to,
          d,
          "marker-end": `url(#${ARROW_ID})`,
          "stroke-width": round(Math.min(4, 1 + Math.log2(edge.count) * 0.5)),
        }),
      );
    }
    drawnEdgesKey.set(edgeGroup, edgesKey);
    // Edges go under the nodes: before the first node element.
    if (oldEdges) oldEdges.replaceWith(edgeGroup);
    else container.insertBefore(edgeGroup, [...container.children].find(isNode) ?? null);
  }

  /** One node; coordinates inside a <g> are relative to the enclosing node's top-left corner. */
  private drawNode(
    placed: PlacedNode,
    parentX: number,
    parentY: number,
    previous: ReadonlyMap<string, DrawnNode>,
    area: Area | undefined,
    kept: ReadonlySet<string>,
  ): SVGGElement {
    const { node } = placed;
    const old = previous.get(node.path);
    const drawn = old && old.expanded === node.expanded ? old : this.createNode(placed);
    this.drawn.set(node.path, drawn);
    this.paintNode(drawn, node);
    const { element } = drawn;
    setAttributeIfChanged(element, "transform", `translate(${round(placed.x - parentX)},${round(placed.y - parentY)})`);
    if (node.expanded) {
      this.sizeExpandedFrame(drawn, placed);
      this.drawContent(element, placed.children, placed.edges, placed.x, placed.y, previous, area, kept);
    }
    return element;
  }

  /** A new node element with its outline and caption (a collapsed node never changes size). */
  private createNode(placed: PlacedNode): DrawnNode {
    const { node, width, height } = placed;
    const classes = ["mg-node", `mg-kind-${node.kind}`, `mg-shape-${shapeOf(node)}`];
    if (node.expanded) classes.push("mg-expanded");
    const frozen = node.module?.frozen === true;
    const element = svg("g", {
      class: classes.join(" "),
      "data-path": node.path,
      "data-expanded": node.expanded ? "true" : undefined,
      "data-chunk": node.kind === "chunk" ? "true" : undefined,
      "data-frozen": frozen ? "true" : undefined,
      "data-repeat": node.repeat?.key,
      tabindex: 0,
      role: "button",
      "aria-label": ariaLabelOf(node),
    });
    if (node.repeat) element.style.setProperty("--accent", repeatColour(node.repeat.key));
    const title = [node.path === node.label ? node.path : `${node.label}\n${node.path}`];
    if (node.module?.className) title.push(node.module.className);
    if (frozen) title.push("frozen: no trainable parameters");
    const repeat = repeatMeaning(node);
    if (repeat) title.push(repeat);
    if (node.kind === "prefix") title.push(prefixSentence(node.prefix));
    element.append(svg("title", {}, title.join("\n")));
    const badges = drawBadges(node);

    if (node.expanded) {
      const frame: NonNullable<DrawnNode["frame"]> = {
        outline: svg("rect", { class: "mg-outline", "data-shape": shapeOf(node), rx: 6 }),
        header: svg("rect", { class: "mg-header", height: GROUP_HEADER_HEIGHT, rx: 6 }),
        name: svg("text", { class: "mg-name", x: 10, y: 19 }),
        detail: svg("text", { class: "mg-detail", y: 19, "text-anchor": "end" }),
        fittedName: "",
      };
      element.append(frame.outline, frame.header);
      if (frozen) {
        frame.hatch = svg("rect", { class: "mg-hatch", height: GROUP_HEADER_HEIGHT, rx: 6, fill: `url(#${HATCH_ID})` });
        element.append(frame.hatch);
      }
      element.append(frame.name, frame.detail);
      if (badges) {
        frame.badges = badges;
        element.append(badges.element);
      }
      return { element, expanded: true, frame, label: { text: frame.name, full: `▾ ${node.label}`, width, height: GROUP_HEADER_HEIGHT, y: 19 } };
    }

    const isOp = node.kind === "op";
    if (node.expandable) {
      // A second outline peeking out behind says "there is more inside".
      // A fold holds many of one kind: a deeper stack.
      if (node.kind === "fold") element.append(svg("rect", { class: "mg-stack", x: 6, y: 6, width, height, rx: 5 }));
      element.append(svg("rect", { class: "mg-stack", x: 3, y: 3, width, height, rx: 5 }));
    }
    element.append(
      svg("rect", { class: "mg-outline", "data-shape": shapeOf(node), width, height, rx: isOp ? height / 2 : 5 }),
    );
    if (frozen) element.append(svg("rect", { class: "mg-hatch", width, height, rx: 5, fill: `url(#${HATCH_ID})` }));
    const name = svg(
      "text",
      { class: "mg-name", x: width / 2, y: isOp ? 15 : 18, "text-anchor": "middle" },
      fitText(node.label, width - 16, NAME_FONT_SIZE),
    );
    element.append(
      name,
      svg(
        "text",
        { class: "mg-detail", x: width / 2, y: isOp ? 27 : 33, "text-anchor": "middle" },
        fitText(detailLine(node), width - 16, DETAIL_FONT_SIZE),
      ),
    );
    if (badges) {
      badges.element.setAttribute("transform", badgesTransform(width, badges.width));
      element.append(badges.element);
    }
    return {
      element,
      expanded: false,
      label: { text: name, full: node.label, width, height, y: isOp ? 15 : 18 },
    };
  }

  /**
   * Sizes the drawn nodes' names for the zoom: at their natural size where that reads (READABLE_LABEL_PX or
   * more on screen), else at READABLE_LABEL_PX, shortened to their box (or left out). The second lines and
   * badges that would be smaller are hidden by the view's classes. Each node is redone only when the zoom
   * changed since its name was last sized.
   */
  private sizeLabels(): void {
    // (Far out, names are too small to read and only cost painting time: none is drawn.)
    const k = this.drawEverything ? 1 : this.committed.k;
    this.svgElement.classList.toggle("mg-far", k < FAR_SCALE);
    const small = NAME_FONT_SIZE * k < READABLE_LABEL_PX;
    this.svgElement.classList.toggle("mg-small-names", small);
    this.svgElement.classList.toggle("mg-no-details", DETAIL_FONT_SIZE * k < SMALLEST_LABEL_PX);
    this.svgElement.classList.toggle("mg-no-badges", BADGE_FONT_SIZE * k < SMALLEST_LABEL_PX);
    for (const drawn of this.drawn.values()) this.sizeLabel(drawn, k, small);
  }

  private sizeLabel(drawn: DrawnNode, k: number, small: boolean): void {
    const { label } = drawn;
    const scale = small ? k : 1;
    if (label.scale === scale) return;
    label.scale = scale;
    const { text } = label;
    if (!small) {
      text.style.removeProperty("font-size");
      text.removeAttribute("visibility");
      setAttributeIfChanged(text, "y", String(label.y));
      text.textContent = drawn.frame ? drawn.frame.fittedName : fitText(label.full, label.width - 16, NAME_FONT_SIZE);
      return;
    }
    const fontSize = READABLE_LABEL_PX / k;
    const room = drawn.expanded ? label.width - 20 : label.width - 8;
    const fits = Math.floor(room / (fontSize * 0.62)) >= SHORT_NAME_MIN_CHARS && fontSize <= label.height - 4;
    if (!fits) {
      text.setAttribute("visibility", "hidden");
      return;
    }
    text.removeAttribute("visibility");
    text.style.fontSize = `${round(fontSize)}px`; // (the stylesheet's size would win over an attribute)
    // (a collapsed box's name alone, in its middle; a header's name on its line)
    const y = drawn.expanded ? Math.min(label.height - 3, label.height / 2 + fontSize * 0.36) : label.height / 2 + fontSize * 0.36;
    text.setAttribute("y", String(round(y)));
    text.textContent = fitText(label.full, room, fontSize);
  }

  /** Colours the nodes by `colouring` (the drawn ones now, the others as they are drawn). */
  setColouring(colouring: Colouring): void {
    this.colouring = colouring;
    this.svgElement.dataset.colourBy = colouring.by;
    const scene = this.scene;
    if (!scene) return;
    for (const [path, drawn] of this.drawn) {
      const placed = scene.byPath.get(path);
      if (!placed) continue;
      this.paintNode(drawn, placed.node);
      if (drawn.expanded) this.sizeExpandedFrame(drawn, placed);
    }
    this.sizeLabels();
  }

  /**
   * Sets a node's fill from the colouring (`--paint`), its data-cost (the value on the scale) and its
   * data-device (where most of its ops are placed); left alone when unchanged.
   */
  private paintNode(drawn: DrawnNode, node: VisibleNode): void {
    const paint = this.colouring.paint(node);
    const key = `${this.colouring.by} ${JSON.stringify(paint ?? null)}`;
    if (drawn.paintKey === key) return;
    drawn.paintKey = key;
    const { element } = drawn;
    element.classList.remove("mg-painted", "mg-deep", "mg-cost-unknown", "mg-unpainted");
    element.style.removeProperty("--paint");
    element.style.removeProperty("--tint");
    element.style.removeProperty("--tint-dark");
    element.removeAttribute("data-cost");
    element.removeAttribute("data-device");
    if (!paint) {
      if (this.colouring.by !== "structure") element.classList.add("mg-unpainted");
      return;
    }
    if (paint.kind === "unknown") {
      element.classList.add("mg-cost-unknown");
      return;
    }
    element.classList.add("mg-painted");
    if (paint.kind === "tone") {
      element.style.setProperty("--paint", paint.colour);
      // (an expanded group's frame: a tint of its colour for either theme, see style.css)
      element.style.setProperty("--tint", tintOf(paint.colour, "#ffffff", 0.14));
      // (on a dark page a well darker than the page: the scale's deepest red still stands out against it 3:1)
      element.style.setProperty("--tint-dark", tintOf(paint.colour, "#000000", 0.08));
      element.setAttribute("data-cost", String(paint.value));
      if (paint.tone > DEEP_TONE && !node.expanded) element.classList.add("mg-deep");
      return;
    }
    element.style.setProperty("--paint", this.devicesFill(paint));
    element.setAttribute("data-device", paint.parts.reduce((a, b) => (b.share > a.share ? b : a)).device);
  }

  /** One device's colour, or stripes of each device's colour as wide as its share of the ops. */
  private devicesFill(paint: Extract<Paint, { kind: "devices" }>): string {
    if (paint.parts.length === 1) return paint.parts[0]!.colour;
    const key = paint.parts.map((part) => `${part.colour}:${part.share.toFixed(3)}`).join(" ");
    let id = this.deviceGradients.get(key);
    if (!id) {
      id = `mg-devices-${this.deviceGradients.size}`;
      this.deviceGradients.set(key, id);
      const gradient = svg("linearGradient", { id, x1: 0, y1: 0, x2: 1, y2: 0 });
      let at = 0;
      for (const part of paint.parts) {
        gradient.append(svg("stop", { offset: at, "stop-color": part.colour }));
        at += part.share;
        gradient.append(svg("stop", { offset: Math.min(1, at), "stop-color": part.colour }));
      }
      this.defs.append(gradient);
    }
    return `url(#${id})`;
  }

  /** An expanded group's caption: coloured by a measure, its own value first (its fill is only a tint). */
  private headerDetail(node: VisibleNode): string {
    const paint = this.colouring.paint(node);
    const by = this.colouring.by;
    if (paint?.kind === "tone" && isMeasure(by)) return `${formatMeasure(by, paint.value)} · ${detailLine(node)}`;
    return detailLine(node);
  }

  /** Fits an expanded box's outline and header caption to its current size. */
  private sizeExpandedFrame(drawn: DrawnNode, placed: PlacedNode): void {
    const { frame } = drawn;
    if (!frame) return;
    const { node, width, height } = placed;
    // The name first: the caption gets what it leaves (at least a third of the header).
    const nameWidth = estimateTextWidth(`▾ ${node.label}`, NAME_FONT_SIZE);
    const detail = fitText(this.headerDetail(node), Math.max(width / 3, width - nameWidth - 30), DETAIL_FONT_SIZE);
    const name = fitText(`▾ ${node.label}`, width - estimateTextWidth(detail, DETAIL_FONT_SIZE) - 30, NAME_FONT_SIZE);
    setAttributeIfChanged(frame.outline, "width", String(width));
    setAttributeIfChanged(frame.outline, "height", String(height));
    setAttributeIfChanged(frame.header, "width", String(width));
    if (frame.hatch) setAttributeIfChanged(frame.hatch, "width", String(width));
    if (frame.badges) setAttributeIfChanged(frame.badges.element, "transform", badgesTransform(width, frame.badges.width));
    setAttributeIfChanged(frame.detail, "x", String(width - 10));
    if (frame.detail.textContent !== detail) frame.detail.textContent = detail;
    if (frame.fittedName !== name || drawn.label.width !== width) {
      frame.fittedName = name;
      drawn.label.width = width;
      drawn.label.scale = undefined; // (named again for the zoom by sizeLabels)
    }
  }

  nodeElement(path: string): SVGGElement | null {
    return this.viewport.querySelector<SVGGElement>(pathSelector("data-path", path));
  }

  setSelected(path: string | undefined): void {
    this.selected = path;
    for (const element of this.viewport.querySelectorAll(".mg-selected")) element.classList.remove("mg-selected");
    if (path === undefined) return;
    this.nodeElement(path)?.classList.add("mg-selected");
    const edges = this.viewport.querySelectorAll(`${pathSelector("data-from", path)},${pathSelector("data-to", path)}`);
    for (const edge of edges) edge.classList.add("mg-selected");
  }

  focusNode(path: string): void {
    this.nodeElement(path)?.focus({ preventScroll: true });
  }

  /**
   * The whole graph, or the expanded group at `path`, at natural size whatever the zoom, as a standalone SVG
   * document (for export): `title` on a line above it and `legend` (legend.ts legendDrawing) below it. Every
   * node is drawn for it (a large scene draws only what is near the view), with its labels at natural size; the
   * view is drawn as it was afterwards.
   */
  snapshot(title: string, legend?: { element: SVGGElement; width: number; height: number }, path?: string): { svg: string; width: number; height: number } {
    const scene = this.scene;
    const placed = path === undefined ? undefined : scene?.byPath.get(path);
    const box: Box = placed?.node.expanded
      ? { x: placed.x, y: placed.y, width: placed.width, height: placed.height }
      : drawingBounds(scene);
    const TITLE_HEIGHT = 28;
    const margin = VIEW_MARGIN;
    const titleText = svg("text", { class: "mg-name mg-export-title", x: margin, y: margin + 12 }, title);
    const legendGap = legend ? margin : 0;
    const width = Math.ceil(Math.max(box.width, estimateTextWidth(title, NAME_FONT_SIZE), legend?.width ?? 0) + 2 * margin);
    const height = Math.ceil(TITLE_HEIGHT + box.height + legendGap + (legend?.height ?? 0) + 2 * margin);
    // Drawn into the live SVG for the snapshot, so that the page's stylesheet styles them as it styles the graph.
    const extras = svg("g", {}, titleText);
    if (legend) {
      legend.element.setAttribute("transform", `translate(${margin},${margin + TITLE_HEIGHT + box.height + legendGap})`);
      extras.append(legend.element);
    }
    this.svgElement.append(extras);
    this.drawEverything = true;
    try {
      this.draw();
      const background = getComputedStyle(this.element.ownerDocument.body).backgroundColor;
      const transform = `translate(${round(margin - box.x)},${round(margin + TITLE_HEIGHT - box.y)})`;
      return { svg: svgSnapshot(this.svgElement, width, height, background, transform), width, height };
    } finally {
      extras.remove();
      this.drawEverything = false;
      this.draw();
    }
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
    const scene = this.scene;
    const placed = this.selected === undefined ? undefined : scene?.byPath.get(this.selected);
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
    if (!this.scene) return;
    this.zoomToBox(drawingBounds(this.scene), FIT_MAX_SCALE, 0.02);
    this.fitted = true;
  }

  /** Fits again as the last fit did (the pane or what covers it changed size). */
  private refit(): void {
    const group = this.framed === undefined ? undefined : this.scene?.byPath.get(this.framed);
    if (group?.node.expanded) this.frame(group);
    else this.fitWhole();
  }

  /** The pane changed size (window resized, panes moved): fit again, or keep the same point in the middle. */
  private onResize(old: { width: number; height: number }): void {
    if (!this.scene || this.paneSize!.width < 1 || this.paneSize!.height < 1) return;
    if (this.fitted) {
      this.refit();
      return;
    }
    const t = zoomTransform(this.element);
    const moved = t.translate((this.paneSize!.width - old.width) / 2 / t.k, (this.paneSize!.height - old.height) / 2 / t.k);
    select(this.element).call(this.zoomBehavior.transform, moved);
  }

  /**
   * Pans (and zooms out if needed) so that the node at `path` is in view; does nothing if it already is.
   * `readable` (a search result, a link followed) also zooms in to natural size when the view is zoomed far out,
   * and keeps the headers of the groups around the node in view with it, innermost first, as far as they fit.
   */
  ensureVisible(path: string, readable = false): void {
    const scene = this.scene;
    const placed = scene?.byPath.get(path);
    if (!scene || !placed) return;
    const { width: viewWidth, height: viewHeight } = this.freeSize();
    const t = zoomTransform(this.element);
    const zoomIn = readable && t.k < READABLE_SCALE;
    const [maxScale, minScale] = zoomIn ? [1, READABLE_SCALE] : [t.k, Math.min(t.k, READABLE_SCALE)];
    const wanted = readable ? this.withHeaders(scene, placed, minScale) : placed;
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
  private withHeaders(scene: Scene, placed: PlacedNode, scale: number): Box {
    const { width, height } = this.freeSize();
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
    const box = this.paneSize ?? this.element.getBoundingClientRect();
    return { width: Math.max(box.width, 1), height: Math.max(box.height, 1) };
  }

  /** The part of the pane that nothing covers, from its top: where fit and reveal place nodes. The inset takes
   * at most half the pane, so that a short pane still shows the graph. */
  private freeSize(): { width: number; height: number } {
    const { width, height } = this.viewSize();
    return { width, height: Math.max(height - Math.min(this.bottomInset, height / 2), 1) };
  }

  /** The scale at which `box` just fits the free part of the pane. */
  private fitScale(box: Box): number {
    const { width, height } = this.freeSize();
    return Math.min((width - 2 * VIEW_MARGIN) / Math.max(box.width, 1), (height - 2 * VIEW_MARGIN) / Math.max(box.height, 1));
  }

  /**
   * Shows `box` at the largest scale up to `maxScale` at which it fits, but never below `minScale`: a box
   * too large to fit readably is shown from its top-left part (its header and first children) instead.
   */
  private zoomToBox(box: Box, maxScale: number, minScale: number) {
    const { width, height } = this.freeSize();
    const scale = Math.max(minScale, Math.min(maxScale, this.fitScale(box)));
    [this.fitted, this.framed] = [false, undefined];
    const fitsAcross = scale * box.width <= width - 2 * VIEW_MARGIN;
    const fitsDown = scale * box.height <= height - 2 * VIEW_MARGIN;
    const x = fitsAcross ? width / 2 - scale * (box.x + box.width / 2) : VIEW_MARGIN - scale * box.x;
    const y = fitsDown ? height / 2 - scale * (box.y + box.height / 2) : VIEW_MARGIN - scale * box.y;
    select(this.element).call(this.zoomBehavior.transform, zoomIdentity.translate(x, y).scale(scale));
  }
}
