// Nested layout: every expanded group's children are laid out on their own (by the worker, with dagre),
// and the main thread nests those layouts into one scene. Collapsed nodes have a fixed size; an expanded
// node is as large as its own layout plus a header and padding.

import { DETAIL_FONT_SIZE, NAME_FONT_SIZE, detailLine, estimateTextWidth } from "./labels";
import type { HierarchyEdge } from "./types";
import type { VisibleNode } from "./visible-node";

export interface Point {
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
}

/** What the worker lays out: one group's children and the edges between them. */
export interface LayoutRequest {
  /** (role: the plugin's own groups', which some place among their siblings: see layout-order) */
  nodes: { id: string; width: number; height: number; role?: string }[];
  edges: { from: string; to: string }[];
}

/** A group's children laid out in the group's own coordinates (node centres, as dagre gives them). */
export interface GroupLayout {
  width: number;
  height: number;
  nodes: Record<string, Point>;
  edges: { from: string; to: string; points: Point[] }[];
}

export const GROUP_HEADER_HEIGHT = 30;
export const GROUP_PADDING = 14;
const OP_HEIGHT = 34;
const GROUP_HEIGHT = 44;

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

export function collapsedSize(node: VisibleNode): Size {
  const textWidth = Math.max(
    estimateTextWidth(node.label, NAME_FONT_SIZE),
    estimateTextWidth(detailLine(node), DETAIL_FONT_SIZE),
  );
  if (node.kind === "op") return { width: Math.round(clamp(textWidth + 24, 64, 190)), height: OP_HEIGHT };
  return { width: Math.round(clamp(textWidth + 28, 100, 230)), height: GROUP_HEIGHT };
}

export function expandedSize(node: VisibleNode, layout: GroupLayout): Size {
  const headerWidth =
    estimateTextWidth(`▾ ${node.label}`, NAME_FONT_SIZE) + estimateTextWidth(detailLine(node), DETAIL_FONT_SIZE) + 40;
  return {
    width: Math.round(Math.max(layout.width + 2 * GROUP_PADDING, headerWidth, 120)),
    height: Math.round(GROUP_HEADER_HEIGHT + Math.max(layout.height, 20) + GROUP_PADDING),
  };
}

export function layoutRequestFor(group: VisibleNode, sizeOf: (child: VisibleNode) => Size): LayoutRequest {
  return {
    nodes: group.children.map((child) => ({ id: child.path, ...sizeOf(child), ...(child.role ? { role: child.role } : {}) })),
    edges: group.edges.map((edge) => ({ from: edge.from, to: edge.to })),
  };
}

export type LayoutRunner = (request: LayoutRequest) => Promise<GroupLayout>;

/**
 * Lays out every expanded group below `root` (children before parents, since a parent needs their sizes),
 * reusing `cache` for groups whose request is unchanged: after an expand or collapse only that group and
 * its ancestors are laid out again. Returns the layout of each expanded group by path.
 */
export async function layoutVisibleTree(
  root: VisibleNode,
  cache: Map<string, GroupLayout>,
  run: LayoutRunner,
): Promise<Map<string, GroupLayout>> {
  const layouts = new Map<string, GroupLayout>();

  async function layoutGroup(group: VisibleNode): Promise<GroupLayout> {
    await Promise.all(group.children.filter((child) => child.expanded).map(layoutGroup));
    const request = layoutRequestFor(group, (child) =>
      child.expanded ? expandedSize(child, layouts.get(child.path)!) : collapsedSize(child),
    );
    const key = JSON.stringify(request);
    let layout = cache.get(key);
    if (!layout) {
      layout = await run(request);
      cache.set(key, layout);
    }
    layouts.set(group.path, layout);
    return layout;
  }

  await layoutGroup(root);
  return layouts;
}

/** A drawn node, in scene coordinates (its top-left corner). */
export interface PlacedNode {
  node: VisibleNode;
  x: number;
  y: number;
  width: number;
  height: number;
  /** Children and edges drawn inside it while it is expanded. */
  children: PlacedNode[];
  edges: PlacedEdge[];
}

export interface PlacedEdge {
  edge: HierarchyEdge;
  points: Point[];
}

export interface Scene {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  width: number;
  height: number;
  byPath: Map<string, PlacedNode>;
}

/** Nests the per-group layouts into one scene; the root's content starts at (0, 0). */
export function composeScene(root: VisibleNode, layouts: ReadonlyMap<string, GroupLayout>): Scene {
  const byPath = new Map<string, PlacedNode>();

  function placeContent(group: VisibleNode, originX: number, originY: number): [PlacedNode[], PlacedEdge[]] {
    const layout = layouts.get(group.path);
    if (!layout) throw new Error(`No layout for group "${group.path}"`);
    const nodes = group.children.map((child) => {
      const centre = layout.nodes[child.path]!;
      const childLayout = child.expanded ? layouts.get(child.path) : undefined;
      const size = childLayout ? expandedSize(child, childLayout) : collapsedSize(child);
      const placed: PlacedNode = {
        node: child,
        x: originX + centre.x - size.width / 2,
        y: originY + centre.y - size.height / 2,
        width: size.width,
        height: size.height,
        children: [],
        edges: [],
      };
      byPath.set(child.path, placed);
      if (childLayout) {
        [placed.children, placed.edges] = placeContent(child, placed.x + GROUP_PADDING, placed.y + GROUP_HEADER_HEIGHT);
      }
      return placed;
    });
    const edgeByEnds = new Map(group.edges.map((edge) => [JSON.stringify([edge.from, edge.to]), edge]));
    const edges = layout.edges.flatMap((routed) => {
      const edge = edgeByEnds.get(JSON.stringify([routed.from, routed.to]));
      if (!edge) return [];
      return [{ edge, points: routed.points.map((p) => ({ x: originX + p.x, y: originY + p.y })) }];
    });
    return [nodes, edges];
  }

  const [nodes, edges] = placeContent(root, 0, 0);
  const rootLayout = layouts.get(root.path)!;
  return { nodes, edges, width: rootLayout.width, height: rootLayout.height, byPath };
}
