// Geometry of a placed scene, in scene coordinates: boxes and areas, what the drawing covers, which groups
// enclose a node, what reaches into an area (the drawing's culling) and what stays drawn wherever it is.

import type { PlacedNode, Point, Scene } from "./layout";

/** A coordinate to a tenth of a unit (what the drawing's attributes are written with). */
export function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/** A box in scene coordinates, by its top-left corner and size. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function union(a: Box, b: Box): Box {
  const x = Math.min(a.x, b.x);
  const y = Math.min(a.y, b.y);
  return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
}

/** What the scene's top-level nodes and edges cover (the layout's own size can hold empty margins). */
export function drawingBounds(scene: Scene | undefined): Box {
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
export function enclosingGroups(scene: Scene, target: PlacedNode): PlacedNode[] {
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
export interface Area {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export function overlaps(area: Area, x: number, y: number, width: number, height: number): boolean {
  return x <= area.x1 && y <= area.y1 && x + width >= area.x0 && y + height >= area.y0;
}

export function contains(outer: Area, inner: Area): boolean {
  return inner.x0 >= outer.x0 && inner.y0 >= outer.y0 && inner.x1 <= outer.x1 && inner.y1 <= outer.y1;
}

export function edgeOverlaps(area: Area, points: readonly Point[]): boolean {
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
export function keptPaths(scene: Scene, paths: readonly (string | undefined)[]): Set<string> {
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
