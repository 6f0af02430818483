"""Who goes first on one graph: the answers being made from it, ahead of the work after its first answer
(serve.settle). The two share one interpreter: beside settle's, an expansion of 10 ms CPU took 0.25 s."""

from __future__ import annotations

import contextlib
import threading
import time

ANSWERS_FIRST_SECONDS = 2.0  # the longest the work after a first answer waits for the answers being made (then goes on)
# How long after an answer the work waits for the next: the page asks in bursts (a group's listing, then a deeper
# one, its details), and a request that comes while that work holds the interpreter waits for it at every read and
# write of its own (a block of a million-op graph, 1 ms of CPU, took 0.1 s beside it).
NEXT_ANSWER_SECONDS = 0.05


class Turns:
    """A graph's answers being made now, whether one has been made, and whether the cache let the graph go (the
    work after its first answer then stops)."""

    def __init__(self):
        self._answering = 0  # answers being made now (see answering)
        self._answered = False  # one has been made
        self._last_answered = 0.0  # when the last one was made (time.monotonic)
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
                self._last_answered = time.monotonic()
                self._changed.notify_all()

    def let_answers_go_first(self, first: bool = False) -> None:
        """Waits while answers are being made (`first`: until one has been made, too) and until NEXT_ANSWER_SECONDS
        have passed since the last, at most ANSWERS_FIRST_SECONDS in all; not at all once dropped."""
        deadline = time.monotonic() + ANSWERS_FIRST_SECONDS
        with self._changed:
            while not self.dropped:
                now = time.monotonic()
                if self._answering or first and not self._answered:
                    until = deadline
                else:
                    until = min(self._last_answered + NEXT_ANSWER_SECONDS, deadline)
                if until <= now:
                    return
                self._changed.wait(until - now)

    def drop(self) -> None:
        """The graph is let go: the work waiting stops waiting (and, reading `dropped`, stops)."""
        with self._changed:
            self.dropped = True
            self._changed.notify_all()
