// Type-ahead in the module tree, as in the WAI-ARIA tree pattern: characters typed in quick succession make one
// query, and focus moves to the next visible row whose name starts with it.

/** Characters typed within this long of the one before extend the query; after a pause a new query starts. */
export const TYPE_AHEAD_PAUSE_MS = 700;

export interface TypedQuery {
  text: string;
  /** When its last character was typed (ms). */
  at: number;
}

/** The query once `char` is typed at `now`, after `previous`. */
export function extendQuery(previous: TypedQuery | undefined, char: string, now: number): TypedQuery {
  const fresh = previous === undefined || now - previous.at > TYPE_AHEAD_PAUSE_MS;
  return { text: (fresh ? "" : previous.text) + char.toLowerCase(), at: now };
}

function firstFrom(names: readonly string[], start: number, prefix: string): number | undefined {
  for (let step = 0; step < names.length; step++) {
    const index = (start + step) % names.length;
    if (names[index]!.toLowerCase().startsWith(prefix)) return index;
  }
  return undefined;
}

/**
 * The row to move to from row `current` for `query` (case-insensitive, wrapping round): a one-character query
 * looks from the next row on, so typing it again steps through the rows it starts; a longer one from the current
 * row, which stays while it still matches. A repeated character (`bbb`) that no name starts with steps through
 * the rows starting with that character instead.
 */
export function typeAheadMatch(names: readonly string[], current: number, query: string): number | undefined {
  if (names.length === 0 || query === "") return undefined;
  const text = query.toLowerCase();
  const from = Math.max(current, 0);
  const match = firstFrom(names, text.length === 1 ? from + 1 : from, text);
  if (match !== undefined) return match;
  const first = text[0]!;
  if (text.length > 1 && [...text].every((char) => char === first)) return firstFrom(names, from + 1, first);
  return undefined;
}
