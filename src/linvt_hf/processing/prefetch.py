"""Decoding ahead in a background thread while the caller computes: `prefetched(source)`.

What for: a shot detector alternates between decoding (FFmpeg, which runs without Python's global lock) and
AutoShot's windows (torch, likewise). In turn, a video takes the sum of the two; with the decoder a few chunks ahead
in its own thread, nearer their maximum where the machine has cores to spare for both. `ShotDetector(decode_ahead=N)`
uses it; it is off by default because on 2 CPU cores, which decoding and torch already keep busy, it does not pay
(3-8% slower end to end; the same on one core): benchmarks/bench_decode_overlap.py and benchmarks/RESULTS.md.

Contract of `prefetched`:

- the source's items arrive in order, each exactly once; at most `depth` of them wait in the queue (plus one being
  made and the one the caller holds), so memory stays bounded whatever the video's length;
- an exception the source raises is raised to the caller (the same object, with its traceback) after the items made
  before it, as iterating the source directly would;
- when the caller stops early (`break`, an exception of its own, `close()`, garbage collection), the thread stops
  once the item it is making is made, closes the source in its own thread (so the source's `finally` blocks run: files
  are closed) and is joined before the caller goes on: nothing is left running.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

Item = TypeVar("Item")

# Items made ahead of the caller when no depth is given: for the shot detectors' 128-frame chunks of 48x27 frames
# (0.5 MB each), 4 MB, enough to ride out a slow AutoShot window.
PREFETCH_DEPTH = 8
# How often a producer blocked on a full queue checks whether the caller has stopped (seconds).
_POLL_SECONDS = 0.05
_ITEM, _END, _ERROR = "item", "end", "error"


def prefetched(source: Iterable[Item], depth: int | None = None) -> Iterator[Item]:
    """The items of `source`, made by a background thread that runs at most `depth` items ahead (module docstring).

    The thread starts at the first `next()`; `source` is iterated (and closed, when stopped early) only there.

    Args:
        source: any iterable; a generator's `close()` is called in the thread when the caller stops early.
        depth: items made ahead at most, >= 1 (None: PREFETCH_DEPTH, read at the call).

    Raises:
        ValueError: `depth` < 1 (at once, not at the first item).
    """
    depth = PREFETCH_DEPTH if depth is None else depth
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be an int >= 1, got {depth!r}")
    return _consume(source, depth)


def _consume(source: Iterable[Item], depth: int) -> Iterator[Item]:
    ready: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    thread = threading.Thread(target=_produce, args=(source, ready, stop), name="linvt-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = ready.get()
            if kind == _ITEM:
                yield value
            elif kind == _END:
                return
            else:
                raise value
    finally:
        stop.set()
        _drain(ready)  # frees the queued items now and unblocks a producer waiting to put one
        thread.join()


def _produce(source: Iterable[Any], ready: queue.Queue, stop: threading.Event) -> None:
    iterator = None
    try:
        iterator = iter(source)
        while not stop.is_set():
            try:
                item = next(iterator)
            except StopIteration:
                _put(ready, (_END, None), stop)
                return
            if not _put(ready, (_ITEM, item), stop):
                return
    except BaseException as error:  # raised to the caller, in the caller's thread
        _put(ready, (_ERROR, error), stop)
    finally:
        close = getattr(iterator, "close", None)
        if stop.is_set() and close is not None:
            close()  # the caller stopped early: run the source's cleanup here, where it ran


def _put(ready: queue.Queue, entry: tuple[str, Any], stop: threading.Event) -> bool:
    """Put `entry` once there is room; False (not put) when the caller stopped meanwhile."""
    while not stop.is_set():
        try:
            ready.put(entry, timeout=_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _drain(ready: queue.Queue) -> None:
    while True:
        try:
            ready.get_nowait()
        except queue.Empty:
            return
