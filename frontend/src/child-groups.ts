// Child groups: how a loaded group's long lists of children are shown (prefix groups, folds of alike modules,
// chunks), made once per listing, and which child groups hold a given child.

import { repeatOf } from "./module-info";
import { childPath } from "./paths";
import type { HierarchyNode, RepeatMark } from "./types";
import type { ShowingKind } from "./visible-node";

/** Lists longer than this are shown in chunks of CHUNK_SIZE (what names and repeats leave that long). */
export const CHUNK_THRESHOLD = 150;
export const CHUNK_SIZE = 100;
/** Lists longer than this are shown in prefix groups, where the names share `_`-separated prefixes. */
export const PREFIX_MIN_ITEMS = 16;
/** At least this many consecutive sibling modules of one structure fold into one node. */
export const FOLD_MIN = 3;

/** Some of a group's children shown together (see ShowingKind), in the order the server gave them. */
export interface ChildGroup {
  kind: ShowingKind;
  path: string;
  label: string;
  /** A prefix group: the prefix its members' names share, "_" included ("conv2_"). */
  prefix?: string;
  /** A fold: the repeat mark its members share. */
  repeat?: RepeatMark;
  /** Every child of the real group it holds, nested child groups' too, in order. */
  members: HierarchyNode[];
  /** What it shows when opened: children and nested child groups, in order. */
  items: ChildItem[];
}

export type ChildItem = HierarchyNode | ChildGroup;

export function isChildGroup(item: ChildItem): item is ChildGroup {
  return "members" in item;
}

const arrangements = new WeakMap<HierarchyNode, ChildItem[]>();

/**
 * How a loaded group's children are shown: where the list is long and names share prefixes (`conv2_block1_1_conv`),
 * nested prefix groups; runs of FOLD_MIN or more consecutive modules of one structure (the server's repeat
 * marks), folds; what is still longer than CHUNK_THRESHOLD, chunks. Made once per listing.
 */
export function arrangeChildren(group: HierarchyNode): ChildItem[] {
  let items = arrangements.get(group);
  if (!items) {
    items = arrange(group.children ?? [], group.path, group.name, "");
    arrangements.set(group, items);
  }
  return items;
}

function arrange(children: readonly HierarchyNode[], path: string, label: string, prefix: string): ChildItem[] {
  let items: ChildItem[] = children.length > PREFIX_MIN_ITEMS ? prefixGroups(children, path, prefix) : [...children];
  items = foldRepeats(items, path);
  return items.length > CHUNK_THRESHOLD ? chunksOf(items, path, label) : items;
}

/** The `_`-separated word after `prefix` that `name` is grouped by, or undefined (`dense_1`: a number follows). */
export function prefixWord(name: string, prefix: string): string | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  const cut = rest.indexOf("_");
  if (cut <= 0) return undefined;
  const after = rest.slice(cut + 1);
  return after === "" || /^\d+$/.test(after) ? undefined : rest.slice(0, cut);
}

/**
 * Consecutive children whose names continue `prefix` with the same word become one prefix group, when that at
 * least halves the list (else names carry no such structure: `dense, dropout, dense_1...`); a list that is one
 * such run is grouped by the word after it (conv2's children by block).
 */
function prefixGroups(children: readonly HierarchyNode[], path: string, prefix: string): ChildItem[] {
  const runs: { word: string | undefined; members: HierarchyNode[] }[] = [];
  for (const child of children) {
    const word = prefixWord(child.name, prefix);
    const last = runs[runs.length - 1];
    if (last && word !== undefined && last.word === word) last.members.push(child);
    else runs.push({ word, members: [child] });
  }
  const only = runs[0];
  if (runs.length === 1 && only?.word !== undefined) return prefixGroups(children, path, `${prefix}${only.word}_`);
  // A word that comes back after other names is left ungrouped: one word, one group (and one path).
  const runsOf = new Map<string, number>();
  for (const { word } of runs) if (word !== undefined) runsOf.set(word, (runsOf.get(word) ?? 0) + 1);
  const grouped = (run: (typeof runs)[number]) => run.word !== undefined && run.members.length > 1 && runsOf.get(run.word) === 1;
  const count = runs.reduce((sum, run) => sum + (grouped(run) ? 1 : run.members.length), 0);
  if (count > children.length / 2 || !runs.some(grouped)) return [...children];
  return runs.flatMap((run): ChildItem[] => {
    const { word, members } = run;
    if (word === undefined || !grouped(run)) return members;
    const groupPrefix = `${prefix}${word}_`;
    const groupPath = childPath(path, `[${prefix}${word}]`);
    return [{ kind: "prefix", path: groupPath, label: word, prefix: groupPrefix, members,
      items: arrange(members, groupPath, word, groupPrefix) }];
  });
}

/** Runs of FOLD_MIN or more consecutive modules with one repeat mark become a fold. */
function foldRepeats(items: readonly ChildItem[], path: string): ChildItem[] {
  const out: ChildItem[] = [];
  for (let start = 0; start < items.length; ) {
    const first = items[start]!;
    const key = !isChildGroup(first) ? repeatOf(first)?.key : undefined;
    let end = start + 1;
    while (key !== undefined && end < items.length) {
      const next = items[end]!;
      if (isChildGroup(next) || repeatOf(next)?.key !== key) break;
      end++;
    }
    if (key === undefined || end - start < FOLD_MIN) {
      out.push(first);
      start++;
      continue;
    }
    const members = items.slice(start, end) as HierarchyNode[];
    const head = members[0]!;
    const last = members[members.length - 1]!;
    const foldPath = childPath(path, `[${head.name}…${last.name}]`);
    const label = `${head.name} … ${last.name}`;
    out.push({ kind: "fold", path: foldPath, label, repeat: { ...repeatOf(head)!, count: members.length }, members,
      items: members.length > CHUNK_THRESHOLD ? chunksOf(members, foldPath, label) : members });
    start = end;
  }
  return out;
}

function chunksOf(items: readonly ChildItem[], path: string, label: string): ChildGroup[] {
  const chunks: ChildGroup[] = [];
  for (let start = 0; start < items.length; start += CHUNK_SIZE) {
    const slice = items.slice(start, start + CHUNK_SIZE);
    const range = `[${start + 1}-${start + slice.length}]`;
    chunks.push({ kind: "chunk", path: childPath(path, range), label: `${label} ${range}`, items: slice,
      members: slice.flatMap((item) => (isChildGroup(item) ? item.members : [item])) });
  }
  return chunks;
}

/**
 * The child groups of `group` that hold the child at `path`, outermost first ([] when it is shown directly); with
 * `isGroup`, `path` is a child group's own and the chain ends with it ([] when there is none). A child group's path
 * names the groups it is nested in by name (`g/[conv2]/[conv2_block1]`) but not the parts or folds it sits in.
 */
export function childGroupsHolding(group: HierarchyNode, path: string, isGroup = false): ChildGroup[] {
  const holds = (item: ChildGroup) => (isGroup ? item.path === path : item.members.some((m) => m.path === path));
  const search = (items: readonly ChildItem[]): ChildGroup[] | undefined => {
    for (const item of items) {
      if (!isChildGroup(item)) continue;
      if (holds(item)) return [item, ...(isGroup ? [] : (search(item.items) ?? []))];
      if (isGroup) {
        const below = search(item.items);
        if (below) return [item, ...below];
      }
    }
    return undefined;
  };
  return search(arrangeChildren(group)) ?? [];
}
