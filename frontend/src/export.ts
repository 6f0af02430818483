// The current view as a file: an SVG that looks like the screen (each element's computed style written onto it,
// since the page's stylesheet, its theme and colour-by classes do not travel with the file), and a PNG drawn from it.

import { svg } from "./dom";

/** The style properties that make the drawing look as it does (what the stylesheets, src/styles/, set on SVG elements). */
const DRAWN_PROPERTIES = [
  "fill",
  "fill-opacity",
  "stroke",
  "stroke-width",
  "stroke-dasharray",
  "stroke-opacity",
  "opacity",
  "font-family",
  "font-size",
  "font-weight",
  "display",
  "visibility",
] as const;

/** What XML 1.0 cannot hold, or a viewer would obey rather than show: C0 controls (tab, line feeds kept), DEL, C1
 * controls, bidirectional overrides and lone surrogates. Names come from logdirs anyone may have written. */
const CONTROLS =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` with each control character replaced by U+FFFD (one character, so labels keep their widths). */
export function withoutControls(text: string): string {
  return text.replace(CONTROLS, "\ufffd");
}

/** The PNG's pixels per CSS pixel: sharp on high-density screens and in documents. */
export const PNG_SCALE = 2;
/** What a browser's canvas holds at most (Chromium: 16,384 pixels a side, 268 million in all), with room. */
const CANVAS_MAX_SIDE = 16_000;
const CANVAS_MAX_PIXELS = 200_000_000;

/** The PNG's scale for a drawing of `width` x `height`: PNG_SCALE where the canvas holds it, else less. */
export function pngScale(width: number, height: number): number {
  return Math.min(PNG_SCALE, CANVAS_MAX_SIDE / width, CANVAS_MAX_SIDE / height, Math.sqrt(CANVAS_MAX_PIXELS / (width * height)));
}

/**
 * `drawing` as it is styled on screen, as a standalone SVG document of `width` x `height` on `background`, its
 * viewport <g> (.mg-viewport) drawn with `transform`.
 */
export function svgSnapshot(drawing: SVGSVGElement, width: number, height: number, background: string, transform: string): string {
  const copy = drawing.cloneNode(true) as SVGSVGElement;
  const viewport = copy.querySelector(".mg-viewport"); // (before the classes are taken off)
  const originals = [drawing, ...drawing.querySelectorAll("*")];
  const copies = [copy, ...copy.querySelectorAll("*")];
  originals.forEach((original, i) => {
    const target = copies[i] as SVGElement | HTMLElement;
    const computed = getComputedStyle(original);
    const style = DRAWN_PROPERTIES.map((property) => `${property}:${computed.getPropertyValue(property)}`).join(";");
    target.setAttribute("style", style);
    target.removeAttribute("class");
    target.removeAttribute("tabindex");
  });
  copy.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  copy.setAttribute("width", String(Math.round(width)));
  copy.setAttribute("height", String(Math.round(height)));
  copy.setAttribute("viewBox", `0 0 ${Math.round(width)} ${Math.round(height)}`);
  copy.style.removeProperty("transform"); // (a zoom gesture's, while it runs)
  viewport?.setAttribute("transform", transform);
  copy.insertBefore(svg("rect", { width: "100%", height: "100%", fill: background }), copy.firstChild);
  cleanControls(copy);
  return new XMLSerializer().serializeToString(copy);
}

/** Every text and attribute below `root` without control characters: the serialised SVG would not parse (the PNG
 * is drawn from it, so it failed too). */
function cleanControls(root: Element): void {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let node: Node | null = root; node; node = walker.nextNode()) {
    if (node.nodeType === Node.TEXT_NODE) {
      const text = node as Text;
      const clean = withoutControls(text.data);
      if (clean !== text.data) text.data = clean;
      continue;
    }
    for (const attribute of [...(node as Element).attributes]) {
      const clean = withoutControls(attribute.value);
      if (clean !== attribute.value) attribute.value = clean;
    }
  }
}

/** The SVG document drawn into a PNG at pngScale. */
export async function pngOf(svgText: string, width: number, height: number): Promise<Blob> {
  const image = new Image();
  image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svgText)}`;
  await image.decode();
  const canvas = document.createElement("canvas");
  const scale = pngScale(width, height);
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const context = canvas.getContext("2d");
  if (!context) throw new Error("This browser cannot draw the PNG (no 2D canvas).");
  context.scale(scale, scale);
  context.drawImage(image, 0, 0, width, height);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("The PNG could not be made."))), "image/png"),
  );
}

/** A file name for the view of `run` / `tag`: "nested_model_train-train_step.svg". */
export function exportFileName(run: string, tag: string, extension: "svg" | "png"): string {
  const part = (text: string) => text.replace(/[^\w.-]+/g, "_").replace(/^_+|_+$/g, "") || "graph";
  return `${part(run)}-${part(tag)}.${extension}`;
}

/** Hands `blob` to the browser as a download named `name`. */
export function download(blob: Blob, name: string): void {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
