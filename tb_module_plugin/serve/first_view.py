"""Which graph the tab opens first, and what the `graphs` listing says of each graph's readability.

Without an address the page opens the first graph (in listing order) that reads and has a module, else the first
that reads. Whether a graph reads is known only by parsing it, so the `graphs` route, asked with first=1, parses the
graphs in listing order until one reads and has a module (each parse is cached: opening the chosen graph afterwards
costs nothing), but no more than a few parses and seconds: a first view never parses a whole big logdir. A graph
that does not read becomes an entry that says so and why, rather than a request of the page answered with a 422
(which the browser logs as an error).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Optional

from .. import schema
from ..errors import GraphError

MAX_PARSES = 8  # graphs one choice may parse (those parsed before cost nothing and are not counted)
SECONDS = 3.0  # no parse starts after this long (one already started finishes)


@dataclasses.dataclass(frozen=True)
class Readability:
    reads: bool
    has_module: bool = False
    error: str = ""  # why it does not read

    @classmethod
    def of(cls, built) -> "Readability":
        """Of what building a record gave: a tree.Hierarchy, or the errors.GraphError that says why there is none."""
        if isinstance(built, GraphError):
            return cls(False, error=str(built))
        return cls(True, has_module=built.has_module())

    def entry_fields(self) -> dict:
        """The fields it adds to the graph's schema.GraphEntry."""
        return {"reads": True, "has_module": self.has_module} if self.reads else {"reads": False, "error": self.error}


@dataclasses.dataclass
class FirstChoice:
    record: Optional[object]  # the sources.GraphRecord to open first, or None when none of those looked at reads
    readability: dict  # GraphRecord -> Readability of each graph looked at


def choose_first_graph(records: list, read: Callable, is_parsed: Callable, max_parses: int = MAX_PARSES,
                       seconds: float = SECONDS, clock: Callable = time.monotonic) -> FirstChoice:
    """The graph to open first among `records` (in their order): the first that reads and has a module, else the
    first that reads, of those looked at before `max_parses` parses or `seconds` are spent.

    `read(record)`: its Readability, parsing it if need be (None: the record went away meanwhile);
    `is_parsed(record)`: whether reading it needs no parse (built or failed before).
    """
    start = clock()
    parses = 0
    first_readable = None
    looked_at = {}
    for record in records:
        if not is_parsed(record):
            if parses >= max_parses or clock() - start >= seconds:
                break
            parses += 1
        readability = read(record)
        if readability is None:
            continue
        looked_at[record] = readability
        if readability.reads:
            if readability.has_module:
                return FirstChoice(record, looked_at)
            if first_readable is None:
                first_readable = record
    return FirstChoice(first_readable, looked_at)


def graphs_answer(records: list, profiled_runs: set, readability: dict, first=None) -> schema.GraphsAnswer:
    """The `graphs` answer: every record, with its readability where known (`readability`: record ->
    Readability), and the graph to open first when one was chosen."""
    entries = []
    for record in records:
        entry = record.to_json(record.run in profiled_runs)
        known = readability.get(record)
        if known is not None:
            entry.update(known.entry_fields())
        entries.append(entry)
    answer = schema.GraphsAnswer(graphs=entries)
    if first is not None:
        answer["first"] = schema.FirstGraph(run=first.run, tag=first.tag)
    return answer
