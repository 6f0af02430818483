"""The `search` answer: nodes whose name or path holds a text (any case), or matches a regular expression.

Regular expressions run on RE2 (the `google-re2` binding), whose time is linear in the text whatever the pattern:
`(a+)+b` or `.*.*.*.*.*.*.*=` cannot keep a server thread busy. What RE2 does not do (backreferences, lookaround,
atomic groups, possessive repeats) is refused with a 400 that names it. For speed on 200,000-op graphs the names and
paths are searched as one text, a line each (RE2's `never_nl` keeps every match inside one line), kept compressed
in pieces: the SearchIndex, which settle builds in the background after a graph's first answer.
"""

from __future__ import annotations

import re
import zlib
from array import array

import re2

from .. import schema
from ..errors import BadRequest
from ..tree import node as tree

MAX_SEARCH_LIMIT = 500
MAX_REGEX_LENGTH = 200


class BadQuery(BadRequest):
    """A search that cannot run (an invalid or unsupported regular expression); the message is meant for the
    user."""


def search(hierarchy, query: str, regex: bool, limit: int) -> schema.SearchResult:
    """`{"matches": [...], "truncated": bool}`: groups before ops, shallower first, then by path."""
    if regex:
        patterns = compile_query(query)  # (before the index: a refusal costs nothing)
        found = index_of(hierarchy).matching(*patterns, limit + 1)  # (already in the answer's order)
    else:
        # Through the index (made once, or by settle: a scan of a million nodes costs as much as making it, and
        # kept every group's path), where it can answer a plain search; else a scan.
        index = index_of(hierarchy)
        patterns = index.literal(query)
        if patterns is not None:
            found = index.matching(*patterns, limit + 1)
        else:
            needle = query.lower()
            found = sorted(_keyed((node, path) for node, path in _paths(hierarchy)
                                  if needle in path.lower() or needle in node.name.lower()))
            found = [entry[-1] for entry in found]
    return schema.SearchResult(matches=[_match(n) for n in found[:limit]], truncated=len(found) > limit)


def _paths(hierarchy):
    """(node, path) of every node but the root, parents before children; the paths are their first
    tree.MAX_KEPT_PATH characters, made in one pass: whole, the paths of deep scopes grow with the square of the depth
    (and asking each node for its own walks up the tree). Groups keep theirs, ops none (see tree.TreeNode.path)."""
    root, limit = hierarchy.root, tree.MAX_KEPT_PATH  # (what a node keeps: the paths made here are kept)
    cut = {}  # id -> the path's first `limit` characters, of the groups whose path is longer
    for node in hierarchy.all_nodes:
        if node is root:
            continue
        path = node._path  # the whole path, where the node keeps it (tree.TreeNode.path)
        if path is None:
            above = node.parent._path
            if above is None:
                above = cut[id(node.parent)]
            path = f"{above}/{node.name[:limit]}" if above else node.name
            if node.children is not None and len(path) <= limit and len(above) < limit:  # (whole: kept)
                node._path = path
        if len(path) > limit and node.children is not None:
            path = cut[id(node)] = path[:limit]
        yield node, path[:limit]


def _keyed(pairs) -> list:
    """Each (node, path)'s key in the answer's order, groups before ops, shallower first, then by path:
    (is an op, depth, path, rank, node)."""
    return [(node.children is None, node.depth, path, rank, node) for rank, (node, path) in enumerate(pairs)]


def compile_query(query: str) -> tuple:
    """The user's regular expression as two RE2 patterns, any case: one for the index's text of one name or path
    a line (each match from a line's start to the first place the expression matches in it: one match a line,
    never across a line break), one for a single name or path. BadQuery names what is wrong with it."""
    if len(query) > MAX_REGEX_LENGTH:
        raise BadQuery(f"The search is longer than {MAX_REGEX_LENGTH} characters; shorten it.")
    return _patterns(query.encode("utf-8", "surrogatepass"))


def _patterns(pattern: bytes) -> tuple:
    alone = _compile(pattern, lines=False)  # refused here if invalid: a valid expression can be wrapped safely
    return _compile(b"(?m)^.*?(?:" + pattern + b")", lines=True), alone


def _compile(pattern: bytes, lines: bool):
    options = re2.Options()
    options.case_sensitive = False
    options.never_nl = lines
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except re2.error as e:
        raise BadQuery(_refusal(_message(e))) from None


def _message(error) -> str:
    text = error.args[0] if error.args else ""
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


# What RE2 refuses, by the start of its error text: the construct, in words.
_UNSUPPORTED = [
    (re.compile(r"invalid escape sequence: \\[1-9]"), "a backreference ({})"),
    (re.compile(r"invalid perl operator: \(\?[=!]"), "a lookahead ({}...)"),
    (re.compile(r"invalid perl operator: \(\?<[=!]"), "a lookbehind ({}...)"),
    (re.compile(r"invalid perl operator: \(\?>"), "an atomic group ({}...)"),
    (re.compile(r"invalid perl operator: \(\?P"), "a named backreference ((?P=...))"),  # (?P<name> is fine
    (re.compile(r"bad repetition operator: [*+?}]\+"), "a possessive repeat ({})"),
    (re.compile(r"invalid repetition size"), "a repeat count over 1000 ({})"),
]


def _refusal(message: str) -> str:
    what = message.rpartition(": ")[2]
    for pattern, words in _UNSUPPORTED:
        if pattern.match(message):
            return (f"This regular expression uses {words.format(what)}, which the search's engine (RE2, whose time "
                    f"is linear in the text) does not support; write it without.")
    return f"The search is not a valid regular expression: {message}."


def index_of(hierarchy) -> "SearchIndex":
    """The hierarchy's search index, built the first time (settle builds it in the background)."""
    return hierarchy.kept("search_index", lambda: SearchIndex(hierarchy))


class SearchIndex:
    """Every node's name and path (their first tree.MAX_KEPT_PATH characters) as a UTF-8 text, a line each (a node's
    name, then its path), the nodes in the answer's order, so that a search stops at the `limit + 1`-th node it
    finds; names with a line break of their own are searched one by one. A match's node is found by counting the
    line breaks before it (RE2 reads the text that far anyway): no table of where each of 2.6 million lines starts.
    Paths are made here, not kept on the nodes (a million ops' paths took 110 MB). The text is kept compressed, in
    `pieces` of whole lines, (the number of the first line, zlib's bytes of the lines): paths repeat their
    parents', so a million nodes' 84 MB take 4 MB, and a search that reads all of it inflates it in 0.2 s, beside
    RE2's 0.3 s (a match never crosses a line break, so none is lost between pieces). `owners`: each line's node,
    once a line is searched alone (else None: lines 2 * rank and 2 * rank + 1 are the node's); `alone`: (rank,
    UTF-8 line) of the names and paths holding a line break of their own; `lines`: how many the text holds."""

    def __init__(self, hierarchy):
        limit = tree.MAX_KEPT_PATH
        order = _order(hierarchy.root, limit)
        whole = order is not None
        writer = _Writer()
        if order is None:  # (a name holding "/", a path longer than what is searched of it: ordered by the paths)
            keyed = _keyed(_paths(hierarchy))
            keyed.sort()  # (the answer's order; the count keeps equal keys from comparing nodes)
            self.nodes = [entry[-1] for entry in keyed]
            for start in range(0, len(keyed), _PIECE):
                piece = keyed[start:start + _PIECE]
                writer.write_pairs([entry[-1].name[:limit] for entry in piece], [entry[2] for entry in piece])
            del keyed
        else:
            groups, paths, ops, aboves, ends = order
            del order  # (its lists go as they are written)
            for start in range(0, len(groups), _PIECE):
                writer.write_pairs([group.name for group in groups[start:start + _PIECE]], paths[start:start + _PIECE])
            del paths
            # Each group's ops joined in one go, a few thousand ops written at a time: their paths made only here.
            lines, first, written = [], 0, 0
            for above, end in zip(aboves, ends):
                lines.append("\n".join([f"{op.name}\n{above}{op.name}" for op in ops[first:end]]))
                first = end
                if end - written >= _PIECE or end == len(ops):
                    piece_ops = ops[written:end]
                    writer.write("\n".join(lines), len(piece_ops),
                                 lambda: ([op.name for op in piece_ops], [op.path for op in piece_ops]))
                    lines, written = [], end
            groups += ops
            self.nodes = groups
        self.pieces, self.owners, self.alone, self.lines, ascii_text = writer.finished()
        # Whole names (the order's condition) and ASCII: a plain search is then RE2's, any case (see literal).
        self.plain = whole and ascii_text and all(data.isascii() for _, data in self.alone)

    def literal(self, query: str):
        """The patterns (compile_query's) that find `query` as a plain search does, a part of a name or path in
        any case, where this index can: an ASCII text of whole names and an ASCII query, whose cases RE2 and
        str.lower agree on; else None."""
        if not self.plain or not query.isascii():
            return None
        try:
            return _patterns("".join(c if c.isalnum() else f"\\x{ord(c):02x}" for c in query).encode("ascii"))
        except BadQuery:  # (a query too long for RE2's memory: scanned)
            return None

    def matching(self, lines_pattern, alone_pattern, wanted: int) -> list:
        """The first `wanted` nodes, in the answer's order, whose name or path matches (RE2 gives one match a
        matching line, from its start; a node's two lines are next to each other)."""
        ranks = []
        owners = self.owners
        for line, data in self.pieces:
            text = zlib.decompress(data)
            at = 0
            for match in lines_pattern.finditer(text):
                start = match.start()
                line += text.count(b"\n", at, start)
                at = start
                rank = line >> 1 if owners is None else owners[line]
                if not ranks or ranks[-1] != rank:
                    ranks.append(rank)
                    if len(ranks) >= wanted:
                        break
            del text
            if len(ranks) >= wanted:
                break
        if self.alone:
            ranks += [rank for rank, data in self.alone if alone_pattern.search(data) is not None]
            ranks = sorted(set(ranks))
        return [self.nodes[rank] for rank in ranks[:wanted]]


_PIECE = 8192  # nodes written to the index's text at a time
_PIECE_BYTES = 1 << 20  # the text's lines compressed together (at least; whole nodes' lines from one write)


class _Writer:
    """Writes a SearchIndex's text, the nodes next in the answer's order a piece at a time, compressed every
    _PIECE_BYTES; `finished` gives what the index keeps. (Lists rather than a tuple a node: the garbage collector
    walks every object of the server when many are made.)"""

    def __init__(self):
        self.lines = self.rank = 0
        self.owners = None  # see SearchIndex
        self.alone: list = []
        self.pieces: list = []  # see SearchIndex
        self.ascii = True
        self._waiting: list = []  # the UTF-8 lines (or runs of lines) not compressed yet
        self._waiting_bytes = 0
        self._first_line = 0  # of the first waiting

    def write_pairs(self, names: list, paths: list) -> None:
        self.write("\n".join([f"{name}\n{path}" for name, path in zip(names, paths)]), len(names),
                   lambda: (names, paths))

    def write(self, piece: str, count: int, pairs) -> None:
        """Adds `count` nodes' lines joined in `piece`, each node's name then its path; `pairs()` gives their names
        and paths (lists) where a name or path holds a line break of its own: those are written line by line."""
        if piece.count("\n") != 2 * count - 1:
            self._write_lines(*pairs())
        else:
            rank = self.rank
            self._put(piece.encode("utf-8", "surrogatepass"), 2 * count)
            if self.owners is not None:
                self.owners.extend(r for r in range(rank, rank + count) for _ in (0, 1))
            self.rank += count
        if self._waiting_bytes >= _PIECE_BYTES:
            self._compress()

    def _write_lines(self, names: list, paths: list) -> None:
        for rank, pair in enumerate(zip(names, paths), self.rank):
            for line in pair:
                data = line.encode("utf-8", "surrogatepass")
                if b"\n" in data:
                    self.alone.append((rank, data))
                    if self.owners is None:
                        self.owners = array("i", [i >> 1 for i in range(self.lines)])
                    continue
                self._put(data, 1)
                if self.owners is not None:
                    self.owners.append(rank)
        self.rank += len(names)

    def _put(self, data: bytes, lines: int) -> None:
        self._waiting.append(data)
        self._waiting_bytes += len(data) + 1
        self.lines += lines

    def _compress(self) -> None:
        if self._waiting:  # (no line: no piece, and nothing to match `^$`)
            text = b"\n".join(self._waiting)
            self.ascii = self.ascii and text.isascii()
            self.pieces.append((self._first_line, zlib.compress(text, 1)))
        self._waiting, self._waiting_bytes, self._first_line = [], 0, self.lines

    def finished(self) -> tuple:
        """(pieces, owners, alone, lines, whether the text is ASCII) of what was written."""
        self._compress()
        return tuple(self.pieces), self.owners, self.alone, self.lines, self.ascii


def _order(root, limit: int):
    """The answer's order of every node but the root (_keyed's: groups before ops, shallower first, then by path)
    without a key of each node's path, or None where the names do not allow it (one holds "/", or a path is longer
    than `limit`): the groups and their paths; the ops; each group holding ops, its path and "/", and where its ops
    end in that list (flat lists of nodes and strings: a tuple or list for each group costs the garbage collector
    more than the rest).

    Why it is the same order: a path is its parent's path, "/" and its name. Of two nodes of one depth with
    different parents, no parent's path + "/" starts the other's (names hold no "/": the same number of "/" in
    each), so they differ at a character both hold, which decides the paths' order too: the order of the parents'
    paths + "/" (not of their paths: "a!" < "a" + "/"); with one parent, the names'. So each level's groups are
    taken in that order of their paths + "/", each one's children sorted by name (the answer's order) and by name
    + "/" (the next level's order)."""
    groups, paths, ops, aboves, ends = [], [], [], [], []
    level, level_above = [root], [""]  # a level's groups in the order of their paths + "/", and those
    while level:
        below, below_above = [], []
        for parent, above in zip(level, level_above):
            children = parent.children
            if not children:
                continue
            names = "".join(children)
            if "/" in names or len(above) + max(map(len, children)) > limit:
                return None
            items = sorted(children.items())  # (names are unique among siblings: no node is compared)
            before = len(ops)
            ops += [child for _, child in items if child.children is None]
            if len(ops) > before:
                aboves.append(above)
                ends.append(len(ops))
            if len(ops) - before < len(items):
                inner = [(name + "/", child) for name, child in items if child.children is not None]
                groups += [child for _, child in inner]
                paths += [above + key[:-1] for key, _ in inner]
                inner.sort()
                below += [child for _, child in inner]
                below_above += [above + key for key, _ in inner]
        level, level_above = below, below_above
    return groups, paths, ops, aboves, ends


def _match(node) -> schema.SearchMatch:
    out = schema.SearchMatch(path=node.path, name=node.name, kind=node.kind)
    if node.children is None:
        out["op"] = node.type
    return out
