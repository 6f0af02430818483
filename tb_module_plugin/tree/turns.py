"""Who goes first on one graph: the answers being made from it, ahead of the work after its first answer
(serve.settle). The two share one interpreter: beside settle's, an expansion of 10 ms CPU took 0.25 s."""

from __future__ import annotations

import contextlib
import threading

ANSWERS_FIRST_SECONDS = 2.0  # the longest the work after a first answer waits for the answers being made (then goes on)


class Turns:
    """A graph's answers being made now, whether one has been made, and whether the cache let the graph go (the
    work after its first answer then stops)."""

    def __init__(self):
        self._answering = 0  # answers being made now (see answering)
        self._answered = False  # one has been made
        self.dropped = False  # the cache let the graph go (Hierarchy.free_when_dropped)
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def answering(self):
        """Marks an answer being made: the work waiting in let_answers_go_first waits for it."""
        with self._changed:
            self._answering += 1
        try:
            yield
        finally:
            with self._changed:
                self._answering -= 1
                self._answered = True
                self._changed.notify_all()

    def let_answers_go_first(self, first: bool = False) -> None:
        """Waits while answers are being made (`first`: until one has been made, too), at most
        ANSWERS_FIRST_SECONDS; not at all once dropped."""
        with self._changed:
            self._changed.wait_for(lambda: self.dropped or not self._answering and (self._answered or not first),
                                   ANSWERS_FIRST_SECONDS)

    def drop(self) -> None:
        """The graph is let go: the work waiting stops waiting (and, reading `dropped`, stops)."""
        with self._changed:
            self.dropped = True
            self._changed.notify_all()
