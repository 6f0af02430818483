// The graph: an SVG of the scene's nested boxes and edges, zoomed and panned by transforming one <g>.
// Hooks other tools rely on: every node is a [data-path] element (with data-expanded / data-chunk), its
// outline carries data-shape, and every edge is an element with data-from / data-to.
// This room draws the scene (all of it, or what is near the view when it is large) and wires the parts: the
// camera (graph-camera.ts), the painter of nodes (graph-paint.ts), the edges (graph-edges.ts), the overview
// (graph-minimap.ts), and the SVG export.

import type { Colouring } from "./colour-by";
import { html, setAttributeIfChanged, svg, syncChildren } from "./dom";
import { svgSnapshot } from "./export";
import { Camera, VIEW_MARGIN } from "./graph-camera";
import { arrowMarker, drawEdges } from "./graph-edges";
import { contains, drawingBounds, edgeOverlaps, keptPaths, overlaps, round, type Area, type Box } from "./graph-geometry";
import { Minimap } from "./graph-minimap";
import { BADGE_FONT_SIZE, NodePainter, READABLE_LABEL_PX, SMALLEST_LABEL_PX, hatchPattern, type DrawnNode } from "./graph-paint";
import { DETAIL_FONT_SIZE, NAME_FONT_SIZE, estimateTextWidth } from "./labels";
import type { PlacedEdge, PlacedNode, Scene } from "./layout";

export interface GraphViewHandlers {
  onSelect(path: string): void;
  /** Expand a collapsed group, or collapse an expanded one. */
  onToggle(path: string): void;
}

/**
 * Scenes with more nodes than this draw only the nodes and edges near the view (within half a view on each
 * side), and draw more when a pan or zoom ends outside that area: what the browser styles, lays out and
 * paints then stays about one screenful, whatever the size of what is expanded.
 */
export const DRAW_ALL_UP_TO = 100;
/** Around the view, this fraction of its size is drawn too (what a short pan brings in). */
const DRAWN_MARGIN = 0.5;
/** Below this zoom, node captions are not drawn at all. */
const FAR_SCALE = 0.3;

function pathSelector(attribute: string, path: string): string {
  return `[${attribute}="${CSS.escape(path)}"]`;
}

export class GraphView {
  readonly element: HTMLDivElement;
  private readonly svgElement: SVGSVGElement;
  private readonly viewport: SVGGElement;
  private readonly message: HTMLDivElement;
  private readonly camera: Camera;
  private readonly painter: NodePainter;
  private readonly minimap: Minimap;
  private scene: Scene | undefined;
  /** Elements of the nodes drawn by the last render, by path. */
  private drawn = new Map<string, DrawnNode>();
  private selected: string | undefined;
  /** The part of the scene drawn (when only what is near the view is drawn), else undefined. */
  private drawnArea: Area | undefined;
  /** Set while render() places the view: the transform changes then draw nothing until render draws once. */
  private placing = false;
  /** Set while a snapshot is taken: every node is drawn, its labels at natural size. */
  private drawEverything = false;

  constructor(handlers: GraphViewHandlers) {
    this.viewport = svg("g", { class: "mg-viewport" });
    const defs = svg("defs", {}, arrowMarker(), hatchPattern());
    this.painter = new NodePainter(defs);
    this.svgElement = svg("svg", { class: "mg-graph", "aria-label": "Module graph" }, defs, this.viewport);
    this.message = html("div", { class: "mg-graph-message", hidden: true });
    this.minimap = new Minimap(() => this.camera.areaInView(0), (point) => this.camera.centreOn(point));
    this.element = html("div", { class: "mg-graph-pane" }, this.svgElement, this.message, this.minimap.element);
    this.camera = new Camera(this.element, this.svgElement, this.viewport, {
      scene: () => this.scene,
      selected: () => this.selected,
      onCommit: () => {
        this.sizeLabels();
        this.minimap.placeView();
        // The view left the drawn part of a large scene: draw around it.
        if (!this.placing && this.drawnArea && !contains(this.drawnArea, this.camera.areaInView(0))) this.draw();
      },
    });

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

  private nodeElementOf(target: EventTarget | null): SVGGElement | null {
    return target instanceof Element ? target.closest<SVGGElement>("g[data-path]") : null;
  }

  /** Shows a sentence instead of the graph (empty graph, failed load). */
  showMessage(text: string | undefined): void {
    this.message.hidden = text === undefined;
    this.message.textContent = text ?? "";
  }

  clear(): void {
    this.painter.clear();
    this.scene = undefined;
    this.drawnArea = undefined;
    this.minimap.clear();
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
    this.minimap.draw(scene);
  }

  /** Draws the scene, or its part near the view when it is large. */
  private draw(): void {
    const scene = this.scene;
    if (!scene) return;
    const focused = this.nodeElementOf(document.activeElement)?.dataset.path;
    const area = scene.byPath.size > DRAW_ALL_UP_TO && !this.drawEverything ? this.camera.areaInView(DRAWN_MARGIN) : undefined;
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
    drawEdges(container, edges, originX, originY, isNode);
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
    const drawn = old && old.expanded === node.expanded ? old : this.painter.createNode(placed);
    this.drawn.set(node.path, drawn);
    this.painter.paint(drawn, node);
    const { element } = drawn;
    setAttributeIfChanged(element, "transform", `translate(${round(placed.x - parentX)},${round(placed.y - parentY)})`);
    if (node.expanded) {
      this.painter.sizeExpandedFrame(drawn, placed);
      this.drawContent(element, placed.children, placed.edges, placed.x, placed.y, previous, area, kept);
    }
    return element;
  }

  /**
   * Sizes the drawn nodes' names for the zoom: at their natural size where that reads (READABLE_LABEL_PX or
   * more on screen), else at READABLE_LABEL_PX, shortened to their box (or left out). The second lines and
   * badges that would be smaller are hidden by the view's classes. Each node is redone only when the zoom
   * changed since its name was last sized.
   */
  private sizeLabels(): void {
    // (Far out, names are too small to read and only cost painting time: none is drawn.)
    const k = this.drawEverything ? 1 : this.camera.scale;
    this.svgElement.classList.toggle("mg-far", k < FAR_SCALE);
    const small = NAME_FONT_SIZE * k < READABLE_LABEL_PX;
    this.svgElement.classList.toggle("mg-small-names", small);
    this.svgElement.classList.toggle("mg-no-details", DETAIL_FONT_SIZE * k < SMALLEST_LABEL_PX);
    this.svgElement.classList.toggle("mg-no-badges", BADGE_FONT_SIZE * k < SMALLEST_LABEL_PX);
    for (const drawn of this.drawn.values()) this.painter.sizeLabel(drawn, k, small);
  }

  /** Colours the nodes by `colouring` (the drawn ones now, the others as they are drawn). */
  setColouring(colouring: Colouring): void {
    this.painter.colouring = colouring;
    this.svgElement.dataset.colourBy = colouring.by;
    const scene = this.scene;
    if (!scene) return;
    for (const [path, drawn] of this.drawn) {
      const placed = scene.byPath.get(path);
      if (!placed) continue;
      this.painter.paint(drawn, placed.node);
      if (drawn.expanded) this.painter.sizeExpandedFrame(drawn, placed);
    }
    this.sizeLabels();
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
    this.camera.setBottomInset(pixels);
  }

  /** Fit, as the person asks for it (see Camera.fit): the selected expanded group, or the whole graph. */
  fit(): void {
    this.camera.fit();
  }

  /** Zooms so that the whole scene fits. */
  fitWhole(): void {
    this.camera.fitWhole();
  }

  /** Pans (and zooms out if needed) so that the node at `path` is in view (see Camera.ensureVisible). */
  ensureVisible(path: string, readable = false): void {
    this.camera.ensureVisible(path, readable);
  }
}
