// What the user has opened and selected in one graph, shared by the graph view and the tree:
// the set of expanded paths (groups and chunks) and the selected path.

import type { HierarchyStore } from "./hierarchy-store";
import { ancestorPaths, buildVisibleTree, chunkHolding, type VisibleNode } from "./visible";

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

  /** Expands a visible group or chunk, loading a group's children first. */
  async expand(node: Pick<VisibleNode, "path" | "kind" | "expandable">): Promise<void> {
    if (!node.expandable) return;
    if (node.kind !== "chunk") await this.store.load(node.path);
    this.expanded.add(node.path);
  }

  collapse(path: string): void {
    this.expanded.delete(path);
  }

  /**
   * Makes the node at `path` visible: expands each of its ancestors, and the chunk holding it or an
   * ancestor where a group is shown in chunks.
   */
  async reveal(path: string): Promise<void> {
    let parent = await this.store.load("");
    const ancestors = ancestorPaths(path);
    for (const step of [...ancestors, path]) {
      if (!(parent.children ?? []).some((child) => child.path === step)) {
        throw new Error(`"${step}" is not in the graph's hierarchy.`);
      }
      const chunk = chunkHolding(parent, step);
      if (chunk) this.expanded.add(chunk.path);
      if (step === path) break;
      parent = await this.store.load(step);
      this.expanded.add(step);
    }
  }
}
