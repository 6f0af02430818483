"""What every node of the module tree has: its place (name, parent, depth) and its path.

A tree node is either a group (`hierarchy.Node`: a module, scope or synthetic group) or an op (`graph.Op`, a
leaf). An op is its own leaf rather than the payload of one: a 200,000-op graph then makes 200,000 objects
fewer while it is built.
"""

from __future__ import annotations


class TreeNode:
    """The fields groups and ops share, set by each (an op gets its name and parent when hierarchy.py places it,
    its depth and top-level ancestor when the tree is finished)."""

    __slots__ = ("name", "parent", "_path", "depth", "top", "structure")

    @property
    def path(self) -> str:
        """`a/b/c`; made when first asked for (after the build: a first answer needs a handful of the 200,000)."""
        path = self._path
        if path is None:
            chain = []  # this node and its ancestors without a path yet (no recursion: scopes nest deep)
            node = self
            while node._path is None:
                chain.append(node)
                node = node.parent
            path = node._path
            for node in reversed(chain):
                path = node._path = f"{path}/{node.name}" if path else node.name
        return path
