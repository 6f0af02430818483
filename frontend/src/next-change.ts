// "Next change" while comparing: the node of the union tree that differs (status not same) after the selected one
// in tree order (a parent before its children, children in their listing's order), or before it going back;
// after the last it starts again at the first. Only groups whose counts say something below differs are opened
// (their listings fetched); an added or removed group is one change, not one per node inside it.

import { changesBelow } from "./diff-marks";
import { isChildGroupPath, realGroupOf } from "./paths";
import type { DiffNode } from "./types";

/** The listing (the `diff` route's, depth 1) of the group at `path`. */
export type DiffListingLoader = (path: string) => Promise<DiffNode>;

function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

function differs(node: DiffNode): boolean {
  return node.diff !== undefined && node.diff !== "same";
}

/** The first (last, `back`) node that differs within `node`'s subtree, `node` included, in tree order. */
async function firstWithin(load: DiffListingLoader, node: DiffNode, back: boolean): Promise<string | undefined> {
  if (!back && differs(node)) return node.path;
  if (changesBelow(node)) {
    const children = (await load(node.path)).children ?? [];
    for (const child of back ? [...children].reverse() : children) {
      const found = await firstWithin(load, child, back);
      if (found !== undefined) return found;
    }
  }
  return back && differs(node) ? node.path : undefined;
}

/** The first (last) node that differs among `children` in tree order. */
async function firstAmong(load: DiffListingLoader, children: readonly DiffNode[], back: boolean): Promise<string | undefined> {
  for (const child of back ? [...children].reverse() : children) {
    const found = await firstWithin(load, child, back);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The path of the change after `from` (`back`: before it) in tree order, wrapping around; from nothing, the first
 * (last) change. Undefined when nothing differs. A child group (`g/[…]`) counts as its real group.
 */
export async function findChange(load: DiffListingLoader, from: string | undefined, back: boolean): Promise<string | undefined> {
  const root = await load("");
  let current = from === undefined ? "" : isChildGroupPath(from) ? realGroupOf(from) : from;
  if (current !== "" && !back) {
    // (its own subtree first: what lies below it comes right after it)
    const parent = await load(parentOf(current));
    const entry = parent.children?.find((child) => child.path === current);
    if (entry && changesBelow(entry)) {
      const found = await firstAmong(load, (await load(current)).children ?? [], false);
      if (found !== undefined) return found;
    }
  }
  while (current !== "") {
    const parentPath = parentOf(current);
    const siblings = (await load(parentPath)).children ?? [];
    const at = siblings.findIndex((child) => child.path === current);
    if (at < 0) break; // (not in the union tree: start over from the ends)
    const found = await firstAmong(load, back ? siblings.slice(0, at) : siblings.slice(at + 1), back);
    if (found !== undefined) return found;
    if (back && parentPath !== "") {
      const grand = await load(parentOf(parentPath));
      const parentEntry = grand.children?.find((child) => child.path === parentPath);
      if (parentEntry && differs(parentEntry)) return parentPath;
    }
    current = parentPath;
  }
  return firstAmong(load, root.children ?? [], back);
}
