"""Built hierarchies, kept between requests in a least-recently-used cache bounded in bytes.

Parsing a 200,000-op graph takes seconds, so it is done once per blob; requests that arrive for a
graph while it is being built wait for that build instead of starting their own.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import threading

DEFAULT_MAX_BYTES = 1 << 30


class HierarchyCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES, on_evict=None):
        self.max_bytes = max_bytes
        self._on_evict = on_evict or free_evicted  # called (outside the lock) after values were dropped
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
            if self._store(key, value, size_of(value)):
                self._on_evict()
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

    def _store(self, key, value, nbytes: int) -> bool:
        """Keep `value`; drop the least recently used beyond the bound. Whether any was dropped."""
        evicted_any = False
        with self._lock:
            self._entries[key] = (value, nbytes)
            self.total_bytes += nbytes
            while self.total_bytes > self.max_bytes and len(self._entries) > 1:
                _, (_, evicted) = self._entries.popitem(last=False)
                self.total_bytes -= evicted
                evicted_any = True
        return evicted_any

    def __len__(self) -> int:
        return len(self._entries)


def free_evicted() -> None:
    """A hierarchy is a web of reference cycles (nodes and their parents): dropped from the
    cache, only the cycle collector frees it, and a built tree is frozen out of its sight (sources._no_gc). Collect
    now (about a second per million live objects, only when the bound is reached), freeze what is kept again,
    then give the memory back."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    release_freed_memory()


def release_freed_memory() -> None:
    """Give memory freed by Python and protobuf back to the system (glibc keeps it otherwise, so a dropped parsed
    graph would still count in TensorBoard's resident memory). A no-op where there is no glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
