"""The shot detectors' decoder thread (`linvt_hf.processing.prefetch`): order, bounded memory, errors, stopping."""

from __future__ import annotations

import itertools
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np
import pytest

from linvt_hf.processing import shots as shots_module
from linvt_hf.processing.errors import VideoDecodeError
from linvt_hf.processing.prefetch import PREFETCH_DEPTH, prefetched
from linvt_hf.processing.shots import ShotDetector

sys.path.insert(0, str(Path(__file__).parent))
from video_factory import make_video  # noqa: E402


def prefetch_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "linvt-prefetch"]


def wait_until(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def test_every_item_in_order():
    assert list(prefetched(range(1000), depth=3)) == list(range(1000))
    assert list(prefetched([])) == []
    assert not prefetch_threads()


@pytest.mark.parametrize("depth", [1, 4])
def test_the_thread_runs_at_most_depth_items_ahead(depth):
    made = []
    items = prefetched((made.append(index) or index for index in range(200)), depth=depth)
    for taken, item in enumerate(items, start=1):
        assert item == taken - 1
        if taken % 25 == 0:
            # Let the thread fill the queue: it must then wait, `depth` queued plus one made and waiting to be put.
            time.sleep(0.05)
            assert len(made) <= taken + depth + 1
    assert len(made) == 200


def test_an_error_of_the_source_reaches_the_caller_after_the_items_before_it():
    error = VideoDecodeError("clip.mp4", "the stream is corrupt")

    def source():
        yield from range(3)
        raise error

    received = []
    with pytest.raises(VideoDecodeError) as raised:
        for item in prefetched(source(), depth=2):
            received.append(item)
    assert received == [0, 1, 2]
    assert raised.value is error
    assert "in source" in "".join(traceback.format_tb(raised.value.__traceback__))  # where it was raised
    assert wait_until(lambda: not prefetch_threads())


def test_stopping_early_closes_the_source_in_its_thread_and_joins_it():
    closed_in = []

    def source():
        try:
            yield from itertools.count()  # endless: the thread is blocked on a full queue when the caller stops
        finally:
            closed_in.append(threading.current_thread().name)

    items = prefetched(source(), depth=2)
    assert [next(items), next(items)] == [0, 1]
    time.sleep(0.05)
    items.close()
    assert closed_in == ["linvt-prefetch"]  # the source's cleanup ran, in the thread that iterated it
    assert not prefetch_threads()  # joined before close() returned


def test_an_error_of_the_caller_stops_the_thread():
    def source():
        yield from itertools.count()

    with pytest.raises(RuntimeError, match="caller"):
        for item in prefetched(source(), depth=1):
            if item == 3:
                raise RuntimeError("caller stops")
    assert wait_until(lambda: not prefetch_threads())


def test_no_thread_until_the_first_item():
    items = prefetched(range(5))
    assert not prefetch_threads()
    del items
    assert not prefetch_threads()


@pytest.mark.parametrize("depth", [0, -1, True, 1.5, "2"])
def test_bad_depth(depth):
    with pytest.raises(ValueError, match="depth must be an int >= 1"):
        prefetched(range(3), depth=depth)


def test_default_depth_is_bounded():
    assert 1 <= PREFETCH_DEPTH <= 32


def test_a_detector_that_fails_leaves_no_thread(tmp_path, monkeypatch):
    path = make_video(tmp_path / "clip.mp4", num_frames=600)
    seen = []

    def failing(chunks):
        for chunk in chunks:
            seen.append(len(chunk))
            raise RuntimeError("detector failed")

    monkeypatch.setattr(shots_module, "stream_histogram_distances", failing)
    with pytest.raises(RuntimeError, match="detector failed"):
        ShotDetector("histogram", cache=False, decode_ahead=2)(path)
    assert seen == [shots_module.SHOT_CHUNK_FRAMES]
    assert not prefetch_threads()


def test_the_detection_is_the_same_as_decoding_in_turn(tmp_path):
    from linvt_hf.processing.frame_scan import FrameScan

    path = make_video(tmp_path / "clip.mp4", num_frames=300, cuts=(90, 200))
    frames = np.concatenate([chunk.frames for chunk in FrameScan(path, size=(27, 48), chunk_size=128)])
    whole = shots_module.stream_histogram_distances([frames])
    detections = [ShotDetector("histogram", cache=False, decode_ahead=ahead)(path) for ahead in (0, 1, PREFETCH_DEPTH)]
    for detection in detections:
        np.testing.assert_array_equal(detection.probabilities, whole)
        assert detection.num_frames == len(frames)
        assert detection.shots == detections[0].shots
    assert not prefetch_threads()


def test_decode_ahead_does_not_change_the_cache_key(tmp_path):
    weights = tmp_path / "own.pth"
    weights.write_bytes(b"weights")
    detectors = [
        ShotDetector("autoshot", weights=weights, custom_weights=True, decode_ahead=ahead)
        for ahead in (0, 2, PREFETCH_DEPTH)
    ]
    keys = [detector._settings("autoshot", weights) for detector in detectors]
    assert keys[0] == keys[1] == keys[2]


@pytest.mark.parametrize("ahead", [-1, 1.5, True, None])
def test_bad_decode_ahead(ahead):
    with pytest.raises(ValueError, match="decode_ahead must be an int >= 0"):
        ShotDetector("histogram", decode_ahead=ahead)
