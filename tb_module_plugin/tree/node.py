"""What every node of the tree holds, a group or an op: its name, parent, depth and its path made when asked."""

MAX_KEPT_PATH = 1000  # a group keeps its path up to this length; longer ones are made again when asked for (and
# a search reads this much of each name and path: search.py keeps the groups' paths it makes within it)


class TreeNode:
    """The fields groups and ops share, set by each (an op gets its name and parent when build/builder.py places it,
    its depth and top-level ancestor when the tree is finished)."""

    __slots__ = ("name", "parent", "depth", "top", "structure", "number")
    # number: its place in Hierarchy.all_nodes, set by hierarchy.finalize (every stage that keeps a value per node
    # in that order reads it: a dict of a million nodes to their places took 80 MB)
    # (`_path` is a group's slot: an op keeps none, its class says None)

    @property
    def path(self) -> str:
        """`a/b/c`; made when first asked for (after the build: a first answer needs a handful of the 200,000), and
        kept by groups up to MAX_KEPT_PATH characters: kept, the paths of 12,000 nested one-letter scopes took
        144 MB. An op's is its parent's and its name, made when asked for."""
        path = self._path
        if path is None:
            if self.children is None:  # an op: made again each time (a million ops' paths kept took 110 MB)
                above = self.parent.path
                return f"{above}/{self.name}" if above else self.name
            chain = []  # this node and its ancestors without a path yet (no recursion: scopes nest deep)
            node = self
            while node._path is None:
                chain.append(node)
                node = node.parent
            path = node._path
            chain.reverse()
            for i, node in enumerate(chain):
                if len(path) + 1 + len(node.name) > MAX_KEPT_PATH:  # the rest joined once, kept by none
                    rest = "/".join([n.name for n in chain[i:]])
                    return f"{path}/{rest}" if path else rest
                path = node._path = f"{path}/{node.name}" if path else node.name
        return path
