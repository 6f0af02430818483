// What the user has opened and selected in one graph, shared by the graph view and the tree:
// the set of expanded paths (groups and the child groups that show them: chunks, prefix groups, folds) and the
// selected path.

import type { HierarchyStore } from "./hierarchy-store";
import { childGroupsHolding } from "./child-groups";
import { ancestorPaths, isChildGroupPath, realGroupOf } from "./paths";
import { buildVisibleTree } from "./visible";
import { forEachVisible, type VisibleNode } from "./visible-node";

export class Explorer {
  readonly expanded = new Set<string>();
  selected: string | undefined;

  constructor(readonly store: HierarchyStore) {}

  /** Loads what the first view needs: the root's children. */
  async start(): Promise<void> {
    await this.store.load("");
  }

  visibleTree(): VisibleNode {
    const root = this.store.get("");
    if (!root) throw new Error("The graph's root is not loaded yet");
    return buildVisibleTree(root, this.expanded, (path) => this.store.get(path));
  }

  /** Expands a visible group or child group, loading a group's children first. */
  async expand(node: Pick<VisibleNode, "path" | "expandable">): Promise<void> {
    if (!node.expandable) return;
    if (!isChildGroupPath(node.path)) await this.store.load(node.path);
    this.expanded.add(node.path);
  }

  /** Expands the group at `path` (a real one: its ancestors too) or the child group at `path`, and the child
   * groups holding it (an address's expanded paths). */
  async expandPath(path: string): Promise<void> {
    if (!isChildGroupPath(path)) {
      await this.reveal(path);
      await this.expand({ path, expandable: true });
      return;
    }
    const real = realGroupOf(path);
    if (real !== "") await this.expandPath(real);
    const group = await this.store.load(real);
    const chain = childGroupsHolding(group, path, true);
    if (chain.length === 0) throw new Error(`"${path}" is not shown in this graph.`);
    for (const holder of chain) this.expanded.add(holder.path);
  }

  /** The paths of the groups and child groups open on screen, outermost first (an address's `expanded`): not
   * those opened inside a group closed since. */
  shownExpanded(): string[] {
    const shown: string[] = [];
    forEachVisible(this.visibleTree(), (node) => {
      if (node.expanded) shown.push(node.path);
    });
    return shown;
  }

  collapse(path: string): void {
    this.expanded.delete(path);
  }

  /**
   * Makes the node at `path` visible: expands each of its ancestors, and the child groups (chunks, prefix
   * groups, folds) holding it or an ancestor.
   */
  async reveal(path: string): Promise<void> {
    if (isChildGroupPath(path)) {
      // a child group: open what it sits in (its real group, the child groups around it), not itself
      const real = realGroupOf(path);
      if (real !== "") await this.expandPath(real);
      const chain = childGroupsHolding(await this.store.load(real), path, true);
      if (chain.length === 0) throw new Error(`"${path}" is not shown in this graph.`);
      for (const holder of chain.slice(0, -1)) this.expanded.add(holder.path);
      return;
    }
    let parent = await this.store.load("");
    const ancestors = ancestorPaths(path);
    for (const step of [...ancestors, path]) {
      if (!(parent.children ?? []).some((child) => child.path === step)) {
        throw new Error(`"${step}" is not in the graph's hierarchy.`);
      }
      for (const holder of childGroupsHolding(parent, step)) this.expanded.add(holder.path);
      if (step === path) break;
      parent = await this.store.load(step);
      this.expanded.add(step);
    }
  }
}
