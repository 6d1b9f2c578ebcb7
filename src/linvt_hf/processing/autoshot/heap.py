"""Giving freed heap memory back to the operating system between AutoShot's forward passes (glibc only).

Why: glibc serves a block above its mmap threshold with its own mapping, returned to the system when freed, but it
raises that threshold to the size of the largest such block freed so far (up to 32 MiB). After the first window,
AutoShot's activations (tens of MB a tensor in float32) therefore come from the heap, between the small arrays a
detection keeps for the whole video (scores, context predictions, chunks of frames); the pages freed between
those cannot be returned by the heap's top, and the process's resident memory grows with the number of windows
run, not with what is held (measured on one hour of video: the float32 fast path 0.73 -> 1.34 GiB from the first
quarter of the run to the last; bfloat16, whose tensors are half as large, stays flat; benchmarks/RESULTS.md).
`malloc_trim(0)` hands every free page of every arena back, without changing the allocator's settings for the rest
of the process (`mallopt(M_MMAP_THRESHOLD)` would fix the threshold for good, for the user's code too). The next
forward pass then touches fresh pages again, so it is asked once every RELEASE_EVERY_WINDOWS windows
(benchmarks/bench_heap_release.py: on an hour of video in float32, asking after every window cost about 5%, every 8
windows nothing beyond the runs' spread, and both kept memory flat; benchmarks/RESULTS.md).

There is no public Python or torch API for this: glibc's `malloc_trim` is called through ctypes. Elsewhere (macOS,
musl, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

RELEASE_EVERY_WINDOWS = 8


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        library = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    trim = getattr(library, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


def release_freed_heap() -> bool:
    """Return the process's free heap pages to the operating system (glibc's `malloc_trim(0)`).

    Returns:
        True where glibc's allocator is in use and was asked, False where there is nothing to call.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class HeapReleaser:
    """Counts the AutoShot windows run and calls `release_freed_heap` once every `every` of them (default
    RELEASE_EVERY_WINDOWS, read when built; 0: never)."""

    def __init__(self, every: int | None = None) -> None:
        self.every = RELEASE_EVERY_WINDOWS if every is None else every
        if self.every < 0:
            raise ValueError(f"every must be >= 0 windows (0: never), got {self.every}")
        self._since = 0

    def windows_run(self, count: int) -> None:
        """`count` more windows went through the network (their activations are freed)."""
        self._since += count
        if self.every and self._since >= self.every:
            release_freed_heap()
            self._since = 0
