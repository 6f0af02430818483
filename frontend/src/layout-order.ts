// Order the edges do not give: a training step's `backward` group (role "backward", the gradient ops of its
// module) is fed by the forward layers it differentiates, often by the first of them only, so a layered layout
// puts it among them. It is the pass after them: invisible edges from the ends of the forward part of the group
// to it place it below every forward child. Decided by the node's role, which the server gives, never its name.

import type { GroupLayout, LayoutRequest } from "./layout";

/** Roles of children drawn after the rest of their group. */
export const LAST_ROLES: ReadonlySet<string> = new Set(["backward"]);

/**
 * The request with ordering edges added (each from a forward child no other forward child follows to each
 * backward child), and the keys (`from\nto`) of those edges, which are not drawn. Forward children are those not
 * downstream of a backward one, so that no edge added closes a cycle. The request itself when nothing is added.
 */
export function withLastRolesLast(request: LayoutRequest): { request: LayoutRequest; added: Set<string> } {
  const added = new Set<string>();
  const last = request.nodes.filter((node) => node.role !== undefined && LAST_ROLES.has(node.role)).map((n) => n.id);
  if (last.length === 0 || last.length === request.nodes.length) return { request, added };
  const successors = new Map<string, string[]>(request.nodes.map((node) => [node.id, []]));
  for (const { from, to } of request.edges) if (from !== to) successors.get(from)?.push(to);
  // Everything downstream of a backward child (itself included) is not forward.
  const after = new Set<string>();
  const todo = [...last];
  for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
    if (after.has(id)) continue;
    after.add(id);
    for (const to of successors.get(id) ?? []) if (successors.has(to)) todo.push(to);
  }
  const ends = request.nodes
    .map((node) => node.id)
    .filter((id) => !after.has(id) && !(successors.get(id) ?? []).some((to) => successors.has(to) && !after.has(to)));
  const existing = new Set(request.edges.map(({ from, to }) => `${from}\n${to}`));
  const edges = [...request.edges];
  for (const to of last) {
    for (const from of ends) {
      const key = `${from}\n${to}`;
      if (existing.has(key)) continue;
      edges.push({ from, to });
      added.add(key);
    }
  }
  return added.size === 0 ? { request, added } : { request: { ...request, edges }, added };
}

/** The layout without the routes of the ordering edges (they order, they are not drawn). */
export function withoutEdges(layout: GroupLayout, keys: ReadonlySet<string>): GroupLayout {
  if (keys.size === 0) return layout;
  return { ...layout, edges: layout.edges.filter(({ from, to }) => !keys.has(`${from}\n${to}`)) };
}
