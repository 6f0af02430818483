// Paths of the hierarchy and of the page's child groups (whose segments `[...]` no TensorFlow name holds).

export function childPath(parentPath: string, name: string): string {
  return parentPath === "" ? name : `${parentPath}/${name}`;
}

/** Paths of the ancestors of `path`, from the root's child down to its parent ("a/b/c" → ["a", "a/b"]). */
export function ancestorPaths(path: string): string[] {
  const segments = path.split("/");
  const result: string[] = [];
  for (let i = 1; i < segments.length; i++) result.push(segments.slice(0, i).join("/"));
  return result;
}

/** A child group's path (`g/[conv2]`, `g/[1-100]`): the part before its first `[...]` segment is the real group. */
export function isChildGroupPath(path: string): boolean {
  return path.split("/").some((segment) => segment.startsWith("[") && segment.endsWith("]"));
}

/** The real group a child group's path belongs to (`g/[conv2]/[conv2_block1]` → `g`). */
export function realGroupOf(path: string): string {
  const segments = path.split("/");
  const first = segments.findIndex((segment) => segment.startsWith("[") && segment.endsWith("]"));
  return first < 0 ? path : segments.slice(0, first).join("/");
}
