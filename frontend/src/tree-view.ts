// The module tree beside the graph (role="tree"), drawn from the same visible tree as the graph, so that
// expanding, collapsing and selecting stay in step. Items carry data-tree-path (never data-path).

import { Colouring, isMeasure } from "./colour-by";
import { shortDevice } from "./colour-scale";
import { formatMeasure } from "./number-format";
import { html, syncChildren } from "./dom";
import { diffTitle, treeDiffMark } from "./diff-view";
import { captionKind, formatCount, repeatBadge, repeatMeaning } from "./labels";
import { paramsLabel, repeatColour } from "./module-info";
import { extendQuery, typeAheadMatch, type TypedQuery } from "./type-ahead";
import type { VisibleNode } from "./visible-node";

export interface TreeViewHandlers {
  onSelect(path: string): void;
  onToggle(path: string): void;
}

function treePathSelector(path: string): string {
  return `[data-tree-path="${CSS.escape(path)}"]`;
}

export class TreeView {
  readonly element: HTMLElement;
  private readonly tree: HTMLUListElement;
  /** Items drawn by the last render, by path. */
  private drawn = new Map<string, HTMLLIElement>();
  /** An item to scroll to once it is drawn. */
  private pendingScroll: string | undefined;
  private colouring = new Colouring("structure", undefined);
  /** What each drawn item's colour swatch and value were last set from. */
  private readonly paintKeys = new WeakMap<HTMLLIElement, string>();
  /** What was typed for type-ahead, and when. */
  private typed: TypedQuery | undefined;

  constructor(private readonly handlers: TreeViewHandlers) {
    this.tree = html("ul", { class: "mg-tree", role: "tree", "aria-label": "Modules" });
    this.element = html("nav", { class: "mg-tree-pane", "aria-label": "Module tree" }, this.tree);

    this.tree.addEventListener("click", (event) => {
      const item = this.itemOf(event.target);
      if (!item) return;
      const path = item.dataset.treePath!;
      if ((event.target as Element).closest(".mg-twisty")) handlers.onToggle(path);
      else handlers.onSelect(path);
      item.focus({ preventScroll: true });
    });
    this.tree.addEventListener("dblclick", (event) => {
      const item = this.itemOf(event.target);
      if (item && !(event.target as Element).closest(".mg-twisty")) handlers.onToggle(item.dataset.treePath!);
    });
    this.tree.addEventListener("keydown", (event) => this.onKey(event));
  }

  private itemOf(target: EventTarget | null): HTMLLIElement | null {
    return target instanceof Element ? target.closest<HTMLLIElement>("li[data-tree-path]") : null;
  }

  /** Draws the tree, keeping the items drawn before whose expanded state did not change. */
  render(root: VisibleNode, selected: string | undefined): void {
    const focused = this.itemOf(document.activeElement)?.dataset.treePath;
    const previous = this.drawn;
    this.drawn = new Map();
    syncChildren(this.tree, root.children.map((child) => this.drawItem(child, 1, previous)), () => true);
    this.setSelected(selected);
    if (focused !== undefined && document.activeElement !== this.item(focused)) this.focusItem(focused);
    if (this.pendingScroll !== undefined && this.drawn.has(this.pendingScroll)) this.scrollTo(this.pendingScroll);
  }

  clear(): void {
    this.pendingScroll = undefined;
    this.drawn.clear();
    this.tree.replaceChildren();
  }

  private drawItem(node: VisibleNode, level: number, previous: ReadonlyMap<string, HTMLLIElement>): HTMLLIElement {
    const expanded = node.expandable ? String(node.expanded) : null;
    const old = previous.get(node.path);
    const item = old && old.getAttribute("aria-expanded") === expanded ? old : this.createItem(node, level);
    this.drawn.set(node.path, item);
    this.paintItem(item, node);
    if (node.expanded) {
      const group = item.querySelector<HTMLUListElement>(":scope > ul") ?? item.appendChild(html("ul", { role: "group" }));
      const children = node.children.map((child) => this.drawItem(child, level + 1, previous));
      syncChildren(group, children, () => true);
    }
    return item;
  }

  private createItem(node: VisibleNode, level: number): HTMLLIElement {
    const frozen = node.module?.frozen === true;
    const params = paramsLabel(node.module);
    const badge = repeatBadge(node);
    const repeat = badge !== undefined && html("span", { class: "mg-tree-repeat", title: repeatMeaning(node) ?? "" }, badge);
    if (repeat && node.repeat) repeat.style.setProperty("--accent", repeatColour(node.repeat.key));
    // The full name (a row cut short ends with an ellipsis), then the path when the name is not its last part.
    const title = [node.path.slice(node.path.lastIndexOf("/") + 1) === node.label ? node.path : `${node.label}\n${node.path}`];
    if (node.module?.className) title.push(node.module.className);
    if (node.diff) title.push(diffTitle(node));
    return html(
      "li",
      {
        role: "treeitem",
        "data-tree-path": node.path,
        "aria-level": level,
        "aria-selected": "false",
        "aria-expanded": node.expandable ? String(node.expanded) : undefined,
        "data-diff": node.diff?.status,
        tabindex: -1,
        class: `mg-tree-item mg-shape-${node.role ?? node.kind}${frozen ? " mg-frozen" : ""}`,
      },
      html(
        "div",
        { class: "mg-tree-row", style: `padding-left: ${(level - 1) * 14 + 4}px`, title: title.join("\n") },
        html("span", { class: "mg-twisty", "aria-hidden": "true" }, node.expandable ? (node.expanded ? "▾" : "▸") : ""),
        html("span", { class: "mg-tree-swatch", "aria-hidden": "true", hidden: true }),
        treeDiffMark(node),
        html("span", { class: "mg-tree-name" }, node.label),
        frozen && html("span", { class: "mg-tree-frozen", title: "frozen: no trainable parameters" }, "❄"),
        html(
          "span",
          { class: "mg-tree-info" },
          repeat,
          html("span", { class: "mg-tree-kind" }, node.kind === "op" ? (node.op ?? "op") : captionKind(node)),
          params !== undefined && html("span", { class: "mg-tree-params" }, params),
          node.kind !== "op" &&
            (node.numOps > 0 || !node.module?.shortClass) &&
            html("span", { class: "mg-tree-ops" }, formatCount(node.numOps, "op")),
        ),
        // (the value of the measure coloured by: a column of its own that never shrinks, so it always reads whole)
        html("span", { class: "mg-tree-cost" }),
      ),
    );
  }

  /** Colours the rows' swatches by `colouring` and shows each row's value of its measure. */
  setColouring(colouring: Colouring, root: VisibleNode | undefined): void {
    this.colouring = colouring;
    if (!root) return;
    const visit = (node: VisibleNode) => {
      const item = this.drawn.get(node.path);
      if (item) this.paintItem(item, node);
      node.children.forEach(visit);
    };
    root.children.forEach(visit);
  }

  private paintItem(item: HTMLLIElement, node: VisibleNode): void {
    const { by } = this.colouring;
    const paint = this.colouring.paint(node);
    const key = `${by} ${JSON.stringify(paint ?? null)}`;
    if (this.paintKeys.get(item) === key) return;
    this.paintKeys.set(item, key);
    const row = item.querySelector<HTMLElement>(":scope > .mg-tree-row")!;
    const swatch = row.querySelector<HTMLElement>(".mg-tree-swatch")!;
    const cost = row.querySelector<HTMLElement>(".mg-tree-cost")!;
    swatch.className = "mg-tree-swatch";
    swatch.style.removeProperty("background");
    swatch.hidden = by === "structure";
    swatch.title = "";
    cost.textContent = "";
    row.classList.toggle("mg-tree-coloured", by !== "structure");
    if (!paint) return;
    if (paint.kind === "unknown") {
      swatch.classList.add("mg-swatch-unknown");
      swatch.title = "not known";
      cost.textContent = "?";
      return;
    }
    if (paint.kind === "tone") {
      swatch.style.background = paint.colour;
      if (isMeasure(by)) cost.textContent = paint.text ?? formatMeasure(by, paint.value);
      return;
    }
    const stops = paint.parts.flatMap((part, i, parts) => {
      const from = parts.slice(0, i).reduce((sum, p) => sum + p.share, 0);
      return [`${part.colour} ${(from * 100).toFixed(1)}%`, `${part.colour} ${((from + part.share) * 100).toFixed(1)}%`];
    });
    swatch.style.background = paint.parts.length === 1 ? paint.parts[0]!.colour : `linear-gradient(to right, ${stops.join(", ")})`;
    swatch.title = paint.parts.map((part) => `${shortDevice(part.device)}: ${Math.round(part.share * 100)}%`).join("\n");
    cost.textContent = paint.parts.length === 1 ? shortDevice(paint.parts[0]!.device) : "mixed";
  }

  item(path: string): HTMLLIElement | null {
    return this.tree.querySelector<HTMLLIElement>(treePathSelector(path));
  }

  setSelected(path: string | undefined): void {
    for (const item of this.tree.querySelectorAll('[aria-selected="true"]')) item.setAttribute("aria-selected", "false");
    for (const item of this.tree.querySelectorAll('[tabindex="0"]')) item.setAttribute("tabindex", "-1");
    const current = (path !== undefined && this.item(path)) || this.tree.querySelector("li");
    if (!current) return;
    current.setAttribute("tabindex", "0");
    if (path !== undefined && current.dataset.treePath === path) current.setAttribute("aria-selected", "true");
  }

  /** Scrolls the item into view, now or, when it is not drawn yet, after the next render. */
  scrollTo(path: string): void {
    const item = this.item(path);
    this.pendingScroll = item ? undefined : path;
    item?.querySelector(".mg-tree-row")?.scrollIntoView({ block: "nearest" });
  }

  focusItem(path: string): void {
    this.item(path)?.focus({ preventScroll: true });
  }

  /** A character typed for type-ahead: not a page-wide key (/ and ?, see page-keys.ts), not with a modifier. */
  private static isTypeAhead(event: KeyboardEvent): boolean {
    return event.key.length === 1 && event.key.trim() !== "" && !"/?".includes(event.key) &&
      !event.ctrlKey && !event.metaKey && !event.altKey;
  }

  /** Keyboard use of the tree, as in the WAI-ARIA tree pattern; selection follows focus. */
  private onKey(event: KeyboardEvent): void {
    const item = this.itemOf(event.target);
    if (!item) return;
    const path = item.dataset.treePath!;
    const expanded = item.getAttribute("aria-expanded");
    const visibleItems = [...this.tree.querySelectorAll<HTMLLIElement>("li[data-tree-path]")];
    const index = visibleItems.indexOf(item);
    const move = (target: HTMLLIElement | null | undefined) => {
      if (!target) return;
      this.handlers.onSelect(target.dataset.treePath!);
      target.focus();
    };
    switch (event.key) {
      case "Enter":
        this.handlers.onSelect(path);
        if (expanded !== null) this.handlers.onToggle(path);
        break;
      case " ":
        this.handlers.onSelect(path);
        break;
      case "ArrowDown":
        move(visibleItems[index + 1]);
        break;
      case "ArrowUp":
        move(visibleItems[index - 1]);
        break;
      case "Home":
        move(visibleItems[0]);
        break;
      case "End":
        move(visibleItems[visibleItems.length - 1]);
        break;
      case "ArrowRight":
        if (expanded === "false") this.handlers.onToggle(path);
        else if (expanded === "true") move(item.querySelector<HTMLLIElement>("li[data-tree-path]"));
        break;
      case "ArrowLeft":
        if (expanded === "true") this.handlers.onToggle(path);
        else move(item.parentElement?.closest<HTMLLIElement>("li[data-tree-path]"));
        break;
      default: {
        if (!TreeView.isTypeAhead(event)) return;
        this.typed = extendQuery(this.typed, event.key, event.timeStamp);
        const names = visibleItems.map((row) => row.querySelector(":scope > .mg-tree-row > .mg-tree-name")?.textContent ?? "");
        const match = typeAheadMatch(names, index, this.typed.text);
        if (match !== undefined && match !== index) move(visibleItems[match]);
      }
    }
    event.preventDefault();
  }
}
