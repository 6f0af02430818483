// Painting the graph's nodes: a node's element (outline, stack, hatch, caption, badges, title), an expanded box's
// frame fitted to its size, its fill from the colouring, and its name sized for the zoom. The elements are kept
// between renders by the view; the painter only makes and updates them.

import { Colouring, isMeasure, type Paint } from "./colour-by";
import { DEEP_TONE, tintOf } from "./colour-scale";
import { diffBadge, diffTitle } from "./diff-view";
import { setAttributeIfChanged, svg } from "./dom";
import { round } from "./graph-geometry";
import {
  DETAIL_FONT_SIZE,
  NAME_FONT_SIZE,
  detailLine,
  estimateTextWidth,
  fitText,
  prefixSentence,
  repeatBadge,
  repeatMeaning,
  shapeOf,
} from "./labels";
import { GROUP_HEADER_HEIGHT, type PlacedNode } from "./layout";
import { repeatColour } from "./module-info";
import { formatMeasure } from "./number-format";
import type { VisibleNode } from "./visible-node";

/**
 * Labels are drawn at least this large on screen (px): a name that would be smaller at the zoom is drawn at
 * this size instead, shortened to what fits its box (or left out: the box shows its colour and outline), and
 * a second line or a badge that would be smaller is hidden; all come back as the person zooms in.
 */
export const READABLE_LABEL_PX = 10;
/** The smallest size (px) a caption's second line and badges are shown at. */
export const SMALLEST_LABEL_PX = 9;
/** A shortened name shows at least this many characters, else none. */
const SHORT_NAME_MIN_CHARS = 3;
const HATCH_ID = "mg-hatch";
export const BADGE_FONT_SIZE = 10;
const BADGE_HEIGHT = 14;

/** The diagonal lines drawn over frozen modules, for the drawing's <defs>. */
export function hatchPattern(): SVGPatternElement {
  return svg(
    "pattern",
    { id: HATCH_ID, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
    svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "mg-hatch-line" }),
  );
}

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


/** A node element kept between renders, with the parts of an expanded box that follow its size. */
export interface DrawnNode {
  element: SVGGElement;
  expanded: boolean;
  /** The name as drawn at natural size, the box's size, and the zoom its name was last sized for. */
  label: { text: SVGTextElement; full: string; width: number; height: number; y: number; scale?: number };
  /** What its paint was last set from (see NodePainter.paint). */
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

/**
 * Makes and updates node elements: one painter per drawing, holding the colouring and the device gradients it
 * added to the drawing's <defs>.
 */
export class NodePainter {
  colouring = new Colouring("structure", undefined);
  /** Gradients of nodes whose ops are on several devices, by their stops. */
  private readonly deviceGradients = new Map<string, string>();

  constructor(private readonly defs: SVGDefsElement) {}

  /** Forgets the device gradients (a new graph). */
  clear(): void {
    for (const id of this.deviceGradients.values()) this.defs.querySelector(`#${id}`)?.remove();
    this.deviceGradients.clear();
  }

  /** A new node element with its outline and caption (a collapsed node never changes size). */
  createNode(placed: PlacedNode): DrawnNode {
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
      "data-diff": node.diff?.status,
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
    if (node.diff) title.push(diffTitle(node));
    element.append(svg("title", {}, title.join("\n")));
    const badges = drawBadges(node);
    const diffMark = diffBadge(node);

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
      if (diffMark) element.append(diffMark);
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
    if (diffMark) element.append(diffMark);
    return {
      element,
      expanded: false,
      label: { text: name, full: node.label, width, height, y: isOp ? 15 : 18 },
    };
  }

  /** Sizes one node's name for zoom `k` (`small`: names at natural size would not read, see READABLE_LABEL_PX). */
  sizeLabel(drawn: DrawnNode, k: number, small: boolean): void {
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

  /**
   * Sets a node's fill from the colouring (`--paint`), its data-cost (the value on the scale) and its
   * data-device (where most of its ops are placed); left alone when unchanged.
   */
  paint(drawn: DrawnNode, node: VisibleNode): void {
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
      // (an expanded group's frame: a tint of its colour for either theme, see styles/graph.css)
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
    if (paint?.kind === "tone" && isMeasure(by)) return `${paint.text ?? formatMeasure(by, paint.value)} · ${detailLine(node)}`;
    return detailLine(node);
  }

  /** Fits an expanded box's outline and header caption to its current size. */
  sizeExpandedFrame(drawn: DrawnNode, placed: PlacedNode): void {
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
}
