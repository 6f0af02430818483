// The graph's edges: smooth paths through the layout's points, drawn as one group per container (kept while
// what it shows is unchanged), under the nodes, each with data-from / data-to and an arrowhead.

import { svg } from "./dom";
import { round } from "./graph-geometry";
import type { PlacedEdge, Point } from "./layout";

const ARROW_ID = "mg-arrow";

/** The arrowhead the edges end with, for the drawing's <defs>. */
export function arrowMarker(): SVGMarkerElement {
  return svg(
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
  );
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

/** What each drawn edge group shows, so that an unchanged one is kept. */
const drawnEdgesKey = new WeakMap<Element, string>();

/**
 * Makes `container` hold `edges` (coordinates relative to `originX`, `originY`) in one group before its first
 * node element (`isNode`); a group that already shows the same edges is kept as it is.
 */
export function drawEdges(
  container: SVGGElement,
  edges: readonly PlacedEdge[],
  originX: number,
  originY: number,
  isNode: (element: Element) => boolean,
): void {
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
