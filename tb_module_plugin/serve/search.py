"""The `search` answer: nodes whose name or path holds a text (any case), or matches a regular expression.

Regular expressions run on RE2 (the `google-re2` binding), whose time is linear in the text whatever the pattern:
`(a+)+b` or `.*.*.*.*.*.*.*=` cannot keep a server thread busy. What RE2 does not do (backreferences, lookaround,
atomic groups, possessive repeats) is refused with a 400 that names it. For speed on 200,000-op graphs the names and
paths are searched as one text, a line each (RE2's `never_nl` keeps every match inside one line): the SearchIndex,
which settle builds in the background after a graph's first answer.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right

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
        needle = query.lower()
        found = sorted(_keyed((node, path) for node, path in _paths(hierarchy)
                              if needle in path.lower() or needle in node.name.lower()))
        found = [entry[-1] for entry in found]
    return schema.SearchResult(matches=[_match(n) for n in found[:limit]], truncated=len(found) > limit)


def _paths(hierarchy):
    """(node, path) of every node but the root, parents before children; the paths are their first
    tree.MAX_KEPT_PATH characters, made in one pass: whole, the paths of deep scopes grow with the square of the depth
    (and asking each node for its own walks up the tree)."""
    root, limit = hierarchy.root, tree.MAX_KEPT_PATH  # (what a node keeps: the paths made here are kept)
    cut = {}  # id -> the path's first `limit` characters, of the nodes whose path is longer
    for node in hierarchy.all_nodes:
        if node is root:
            continue
        path = node._path  # the whole path, where the node keeps it (tree.TreeNode.path)
        if path is None:
            above = node.parent._path
            if above is None:
                above = cut[id(node.parent)]
            path = f"{above}/{node.name[:limit]}" if above else node.name
            if len(path) <= limit and len(above) < limit:  # (whole: kept, for the next search)
                node._path = path
        if len(path) > limit:
            path = cut[id(node)] = path[:limit]
        yield node, path


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
    pattern = query.encode("utf-8", "surrogatepass")
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
    index = hierarchy.search_index
    if index is None:
        with hierarchy.search_lock:
            index = hierarchy.search_index
            if index is None:
                index = hierarchy.search_index = SearchIndex(hierarchy)
    return index


class SearchIndex:
    """Every node's name and path (their first tree.MAX_KEPT_PATH characters) as one UTF-8 text, a line each, the
    nodes in the answer's order (_keyed), so that a search stops at the `limit + 1`-th node it finds; names with a
    line break of their own are searched one by one. Paths are made here, not kept on the nodes."""

    def __init__(self, hierarchy):
        keyed = _keyed(_paths(hierarchy))
        keyed.sort()  # (the answer's order; the count keeps equal keys from comparing nodes)
        self.nodes = [entry[-1] for entry in keyed]
        # The text written line by line into one buffer: a list of its 2.6 million lines (a million-op graph's)
        # took 190 MB more while it was made, and left the server that much bigger.
        text, starts, owners, self.alone = bytearray(), array("q"), array("i"), []
        for rank, (_, _, path, _, node) in enumerate(keyed):
            for line in (node.name[:tree.MAX_KEPT_PATH], path):
                data = line.encode("utf-8", "surrogatepass")
                if b"\n" in data:
                    self.alone.append((rank, data))
                else:
                    if starts:
                        text += b"\n"  # (no line break after the last line: no empty line to match `^$` there)
                    starts.append(len(text))
                    text += data
                    owners.append(rank)
        del keyed
        self.owners = owners
        self.starts = starts
        self.text = bytes(text)

    def matching(self, lines_pattern, alone_pattern, wanted: int) -> list:
        """The first `wanted` nodes, in the answer's order, whose name or path matches (RE2 gives one match a
        matching line; a node's two lines are next to each other)."""
        ranks = []
        starts, owners = self.starts, self.owners
        for match in lines_pattern.finditer(self.text):
            rank = owners[bisect_right(starts, match.start()) - 1]
            if not ranks or ranks[-1] != rank:
                ranks.append(rank)
                if len(ranks) >= wanted:
                    break
        if self.alone:
            ranks += [rank for rank, data in self.alone if alone_pattern.search(data) is not None]
            ranks = sorted(set(ranks))
        return [self.nodes[rank] for rank in ranks[:wanted]]


def _match(node) -> schema.SearchMatch:
    out = schema.SearchMatch(path=node.path, name=node.name, kind=node.kind)
    if node.children is None:
        out["op"] = node.type
    return out
