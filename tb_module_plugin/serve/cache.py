"""Built hierarchies, kept between requests in a least-recently-used cache bounded in bytes.

Parsing a 200,000-op graph takes seconds, so it is done once per blob; requests that arrive for a
graph while it is being built wait for that build instead of starting their own.
"""

from __future__ import annotations

import collections
import copy
import ctypes
import functools
import gc
import threading

from ..readers.profiles import OpTimes

DEFAULT_MAX_BYTES = 1 << 30


class HierarchyCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, on_evict=None):
        self.max_bytes = max_bytes
        self._on_evict = on_evict or free_evicted  # called (outside the lock) with the values dropped
        self._entries: collections.OrderedDict = collections.OrderedDict()  # key -> (value, nbytes)
        self._building: dict = {}  # key -> lock held while one thread builds it
        self._lock = threading.Lock()
        self.total_bytes = 0

    def get(self, key, build, size_of):
        """The value for `key`, built by `build()` at most once at a time; `size_of(value)` estimates bytes."""
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key][0]
                build_lock = self._building.get(key)
                if build_lock is None:
                    build_lock = self._building[key] = threading.Lock()
                    build_lock.acquire()
                    break
            with build_lock:  # another request is building it: wait, then look again
                pass
        try:
            value = build()
            evicted = self._store(key, value, size_of(value))
            if evicted:
                self._on_evict(evicted)
            return value
        finally:
            with self._lock:
                del self._building[key]
            build_lock.release()

    def peek(self, key):
        """The value kept for `key`, or None; never builds, and leaves the recently-used order alone."""
        with self._lock:
            entry = self._entries.get(key)
        return None if entry is None else entry[0]

    def _store(self, key, value, nbytes: int) -> list:
        """Keep `value`; drop the least recently used beyond the bound. The values dropped."""
        evicted = []
        with self._lock:
            self._entries[key] = (value, nbytes)
            self.total_bytes += nbytes
            while self.total_bytes > self.max_bytes and len(self._entries) > 1:
                _, (dropped, dropped_bytes) = self._entries.popitem(last=False)
                self.total_bytes -= dropped_bytes
                evicted.append(dropped)
        return evicted

    def __len__(self) -> int:
        return len(self._entries)


def free_evicted(values: list) -> None:
    """Free the values the cache dropped (`values`, emptied here). A hierarchy is a web of reference cycles (nodes
    and their parents), which only the cycle collector frees, and a built tree is frozen out of its sight
    (sources._no_gc): so a hierarchy breaks its cycles once its last user lets go of it (free_when_dropped) and
    reference counting frees it, at a cost in proportion to its size. A run's profile times and the remembered
    errors (remembered_error) hold no cycle. Any other value takes a full collection: every live object of the
    process walked (a second per million, the kept trees included), then what is kept frozen again. Then the
    memory is given back."""
    collect = False
    for value in values:
        if hasattr(value, "free_when_dropped"):
            value.free_when_dropped()
        elif not isinstance(value, _ACYCLIC):
            collect = True
    value = None
    values.clear()
    if collect:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
    release_freed_memory()


_ACYCLIC = (OpTimes, BaseException)  # kinds of values reference counting frees alone


def remembered_error(error: BaseException) -> BaseException:
    """A copy of `error` to keep in the cache and raise again: without the traceback and context of where it was
    raised (their frames would keep the record it failed on, and every raise of the one kept would add a
    traceback of its own, and with it a reference cycle, to it). Raise a remembered_error of the kept one too."""
    return copy.copy(error)


def release_freed_memory() -> None:
    """Give memory freed by Python and protobuf back to the system (glibc keeps it otherwise, so a dropped parsed
    graph would still count in TensorBoard's resident memory). A no-op where there is no glibc."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.lru_cache(maxsize=None)
def _malloc_trim():
    """glibc's malloc_trim, or None where there is no glibc (loaded once: each load makes ctypes types, which
    only the cycle collector frees)."""
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
