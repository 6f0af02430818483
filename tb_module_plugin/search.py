"""The `search` answer: nodes whose name or path holds a text (any case), or matches a regular expression.

Regular expressions run on RE2 (the `google-re2` binding), whose time is linear in the text whatever the pattern:
`(a+)+b` or `.*.*.*.*.*.*.*=` cannot keep a server thread busy. What RE2 does not do (backreferences, lookaround,
atomic groups, possessive repeats) is refused with a 400 that names it. For speed on 200,000-op graphs the names and
paths are searched as one text, a line each (RE2's `never_nl` keeps every match inside one line), built the first
time a graph is searched with a regular expression.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right

import re2

MAX_SEARCH_LIMIT = 500
MAX_REGEX_LENGTH = 200
MAX_REGEX_TEXT = 1000  # a regular expression is matched against the first this many characters of a name or path


class BadQuery(Exception):
    """A search that cannot run (an invalid or unsupported regular expression); the message is meant for the
    user."""


def search(hierarchy, query: str, regex: bool, limit: int) -> dict:
    """`{"matches": [...], "truncated": bool}`: groups before ops, shallower first, then by path."""
    nodes = _searched(hierarchy)
    if regex:
        found = _regex_matches(hierarchy, nodes, query)
    else:
        needle = query.lower()
        found = [n for n in nodes if needle in n.name.lower() or needle in n.path.lower()]
    found.sort(key=lambda n: (n.children is None, n.depth, n.path))
    return {"matches": [_match_json(n) for n in found[:limit]], "truncated": len(found) > limit}


def compile_query(query: str, lines: bool = True):
    """The user's regular expression as an RE2 pattern, any case (`lines`: for the text of one name or path a
    line, `^` and `$` at each line's ends, never across a line break), or BadQuery naming what is wrong with it."""
    if len(query) > MAX_REGEX_LENGTH:
        raise BadQuery(f"The search is longer than {MAX_REGEX_LENGTH} characters; shorten it.")
    options = re2.Options()
    options.case_sensitive = False
    options.never_nl = lines
    options.log_errors = False
    try:
        return re2.compile((b"(?m)" if lines else b"") + query.encode("utf-8", "surrogatepass"), options)
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


def _searched(hierarchy) -> list:
    root = hierarchy.root
    return [n for n in hierarchy.all_nodes if n is not root]


def _regex_matches(hierarchy, nodes: list, query: str) -> list:
    pattern = compile_query(query)
    texts = getattr(hierarchy, "search_texts", None)
    if texts is None:
        texts = hierarchy.search_texts = _Texts(nodes)
    return [nodes[i] for i in texts.matching(pattern, lambda: compile_query(query, lines=False))]


class _Texts:
    """Every searched node's name and path (their first MAX_REGEX_TEXT characters) as one UTF-8 text, a line
    each; names with a line break of their own are searched one by one."""

    def __init__(self, nodes: list):
        lines, owners, self.alone = [], array("q"), []
        for i, node in enumerate(nodes):
            for text in (node.name[:MAX_REGEX_TEXT], node.path[:MAX_REGEX_TEXT]):
                data = text.encode("utf-8", "surrogatepass")
                if b"\n" in data:
                    self.alone.append((i, data))
                else:
                    lines.append(data)
                    owners.append(i)
        self.owners = owners
        self.starts = array("q")
        offset = 0
        for data in lines:
            self.starts.append(offset)
            offset += len(data) + 1
        self.text = b"\n".join(lines) + b"\n"

    def matching(self, pattern, alone_pattern) -> list:
        """Indexes of the nodes whose name or path matches, in order: one RE2 search per matching line, each
        from the start of the line after the last match; `alone_pattern()` for the texts searched alone."""
        hits = set()
        text, starts, owners, end = self.text, self.starts, self.owners, len(self.text)
        position = 0
        while position < end:
            match = pattern.search(text, position)
            if match is None or match.start() >= end:  # (an empty match after the last line's end)
                break
            line = bisect_right(starts, match.start()) - 1
            hits.add(owners[line])
            position = starts[line + 1] if line + 1 < len(starts) else end
        if self.alone:
            alone = alone_pattern()
            hits.update(i for i, data in self.alone if alone.search(data) is not None)
        return sorted(hits)


def _match_json(node) -> dict:
    out = {"path": node.path, "name": node.name, "kind": node.kind}
    if node.children is None:
        out["op"] = node.type
    return out
