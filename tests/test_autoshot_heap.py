"""AutoShot hands the heap pages its activations freed back to the system every RELEASE_EVERY_WINDOWS windows
(glibc's malloc_trim, linvt_hf.processing.autoshot.heap): without it, the float32 fast path's resident memory grew
with the number of windows run on a long video (benchmarks/RESULTS.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from test_shot_candidates import PositionSensitiveStub, chunks, scenes

from linvt_hf.processing.autoshot import heap
from linvt_hf.processing.autoshot.heap import RELEASE_EVERY_WINDOWS
from linvt_hf.processing.shot_candidates import WindowedAutoShot

# In a fresh process: a freed block above glibc's mmap threshold raises the threshold, so the next large blocks come
# from the heap; with a small block kept after each, freeing them leaves holes the heap's top cannot give back.
FRAGMENTED_HEAP = """
import json, torch
from linvt_hf.processing.autoshot.heap import release_freed_heap
def rss():
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS")) / 1024
first = torch.ones(6_000_000)
del first
blocks, kept = [], []
for _ in range(20):
    blocks.append(torch.ones(4_000_000))  # 16 MB
    kept.append(torch.ones(65_536))  # 256 KB, allocated after it
start = rss()
del blocks
freed = rss()
released = release_freed_heap()
print(json.dumps({"released": released, "start": start, "freed": freed, "after": rss()}))
"""


def test_freed_heap_pages_go_back_to_the_system() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/status")
    result = subprocess.run([sys.executable, "-c", FRAGMENTED_HEAP], capture_output=True, text=True, check=True)
    memory = json.loads(result.stdout.strip().splitlines()[-1])
    if not memory["released"]:
        pytest.skip("not glibc: malloc_trim is not there, and release_freed_heap does nothing")
    if memory["start"] - memory["freed"] > 50:
        pytest.skip("this allocator gave the freed blocks back by itself: nothing left to release")
    assert memory["freed"] - memory["after"] > 250, f"only {memory['freed'] - memory['after']:.0f} MB given back"


def count_releases(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(heap, "release_freed_heap", lambda: calls.append(1) or True)
    return calls


def test_the_fast_path_releases_every_few_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_releases(monkeypatch)
    frames = scenes(1500, {cut: 1 + cut // 50 % 2 for cut in range(60, 1500, 50)})  # a cut in every window
    windowed = WindowedAutoShot(PositionSensitiveStub().eval(), threshold=0.999).run(chunks(frames, 16))
    assert len(windowed.windows_run) == 30
    assert len(calls) == 30 // RELEASE_EVERY_WINDOWS


def test_full_autoshot_releases_every_few_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_releases(monkeypatch)
    frames = scenes(1000, {})  # 20 windows
    model = PositionSensitiveStub().eval()
    for batch_size, expected in ((8, 2), (1, 20 // RELEASE_EVERY_WINDOWS), (20, 1)):
        calls.clear()
        probabilities = model.predict_transitions_chunked(chunks(frames, 64), batch_size=batch_size)
        assert len(probabilities) == 1000 and len(calls) == expected, batch_size


def test_release_is_harmless_where_there_is_no_malloc_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_malloc_trim", lambda: None)
    assert heap.release_freed_heap() is False
    frames = scenes(120, {60: 1})
    model = PositionSensitiveStub().eval()
    np.testing.assert_array_equal(model.predict_transitions(frames), model.predict_transitions(frames))
