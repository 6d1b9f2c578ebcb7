"""The shot cache (issue 21): a second question about the same file does not detect again, a changed file is never
served stale shots, settings are part of the key, the cache is bounded (LRU), clearable and safe for concurrent
writers; `linvt-hf shots` says how long detection took and whether it came from the cache."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import linvt_hf
from linvt_hf.cli import main
from linvt_hf.processing import shot_cache as cache_module
from linvt_hf.processing.shot_cache import ShotCache, shot_cache_dir
from linvt_hf.processing.shots import ShotDetector, detect_shots

sys.path.insert(0, str(Path(__file__).parent))
from video_factory import make_video  # noqa: E402


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shot cache on (the suite turns it off, see conftest.py), in a temporary folder."""
    monkeypatch.delenv(cache_module.DISABLE_ENV_VAR, raising=False)
    monkeypatch.setenv(cache_module.CACHE_ENV_VAR, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def detections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the detector's runs (every call that does not come from the cache)."""
    calls: list[str] = []
    original = ShotDetector._detect

    def counted(self, video, detector, weights_path):
        calls.append(detector)
        return original(self, video, detector, weights_path)

    monkeypatch.setattr(ShotDetector, "_detect", counted)
    return calls


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("clip") / "clip.mp4", 40, size=(24, 32), cuts=(15, 28), code_bits=4)


def test_second_question_does_not_detect_again(clip, cache_dir, detections):
    first = detect_shots(clip, "histogram", return_probabilities=True)
    second = detect_shots(str(clip), "histogram", return_probabilities=True)
    assert detections == ["histogram"]  # the second came from the cache
    assert not first.from_cache and second.from_cache
    assert second.shots == first.shots == [(0, 15), (15, 28), (28, 40)]
    np.testing.assert_array_equal(second.probabilities, first.probabilities)
    assert (second.num_frames, second.fps, second.threshold) == (first.num_frames, first.fps, first.threshold)
    assert detect_shots(clip.read_bytes(), "histogram") == first.shots  # the same content given as bytes
    assert detections == ["histogram"]
    assert len(ShotCache(cache_dir).entries()) == 1


def test_a_changed_byte_in_the_middle_is_never_served_stale_shots(clip, tmp_path, cache_dir, detections):
    video = tmp_path / "edited.mp4"
    video.write_bytes(clip.read_bytes())
    detect_shots(video, "histogram")
    status = video.stat()
    data = bytearray(video.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size; the modification time is put back below
    video.write_bytes(bytes(data))
    os.utime(video, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert video.stat().st_size == status.st_size and video.stat().st_mtime_ns == status.st_mtime_ns
    detect_shots(video, "histogram")
    assert detections == ["histogram", "histogram"]


def test_settings_are_part_of_the_key(clip, cache_dir, detections, tmp_path):
    detect_shots(clip, "histogram")
    detect_shots(clip, "histogram", threshold=0.5)
    detect_shots(clip, "histogram", threshold=0.5)
    detect_shots(clip, "histogram", cache=False)
    assert len(detections) == 3
    own = [tmp_path / "a.pth", tmp_path / "b.pth"]
    own[0].write_bytes(b"weights a")
    own[1].write_bytes(b"weights b")
    settings = [ShotDetector("autoshot", weights=path, custom_weights=True)._settings("autoshot", path) for path in own]
    assert settings[0]["weights_sha256"] != settings[1]["weights_sha256"]
    assert {k: v for k, v in settings[0].items() if k != "weights_sha256"} == {
        k: v for k, v in settings[1].items() if k != "weights_sha256"
    }


def test_cache_is_bounded_least_recently_used_first(tmp_path):
    cache = ShotCache(tmp_path, max_bytes=10**9)
    fields = {"shots": [(0, 5)], "probabilities": np.zeros(5000, np.float32), "num_frames": 5}
    for index, key in enumerate("abc"):
        cache.put(key, fields)
        os.utime(tmp_path / f"{key}.npz", ns=(index * 10**9, index * 10**9))  # a, b, c: oldest to newest
    assert cache.get("a") is not None  # a is now the most recently used
    size = (tmp_path / "a.npz").stat().st_size
    cache.max_bytes = 3 * size
    cache.put("d", fields)
    assert sorted(path.stem for path in cache.entries()) == ["a", "c", "d"]  # b, the least recently used, went


def test_clear_and_location(tmp_path, monkeypatch, clip, cache_dir):
    assert shot_cache_dir() == cache_dir
    monkeypatch.delenv(cache_module.CACHE_ENV_VAR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert shot_cache_dir() == tmp_path / "xdg" / "linvt-hf" / "shots"
    monkeypatch.setenv(cache_module.CACHE_ENV_VAR, str(cache_dir))
    detect_shots(clip, "histogram")
    (cache_dir / "notes.txt").write_text("not an entry")
    assert linvt_hf.clear_shot_cache() == 1
    assert ShotCache().entries() == [] and (cache_dir / "notes.txt").exists()  # only the cache's own files


def test_damaged_entry_is_a_miss(clip, cache_dir, detections):
    detect_shots(clip, "histogram")
    (entry,) = ShotCache().entries()
    entry.write_bytes(entry.read_bytes()[:40])
    assert detect_shots(clip, "histogram", return_probabilities=True).from_cache is False
    assert len(detections) == 2


def test_concurrent_writers_never_leave_a_partial_entry(tmp_path):
    cache = ShotCache(tmp_path)
    fields = {"shots": [(0, 3), (3, 9)], "probabilities": np.arange(9000, dtype=np.float32), "detector": "x"}
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(15):
                cache.put("same", fields)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    def read() -> None:
        for _ in range(60):
            got = cache.get("same")
            if got is not None and (got["shots"] != fields["shots"] or len(got["probabilities"]) != 9000):
                errors.append(AssertionError(f"partial entry read: {got['shots']}"))

    threads = [threading.Thread(target=write) for _ in range(4)] + [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert [path.name for path in tmp_path.iterdir()] == ["same.npz"]  # no temporary file left behind
    np.testing.assert_array_equal(cache.get("same")["probabilities"], fields["probabilities"])


def test_cli_prints_time_and_cache_and_clears(clip, cache_dir, capsys):
    assert main(["shots", str(clip), "--detector", "histogram"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "0 15 0.000 0.600"
    assert "3 shots in 40 frames, detected with histogram in" in captured.err
    assert main(["shots", str(clip), "--detector", "histogram", "--no-progress"]) == 0
    assert "from the shot cache in" in capsys.readouterr().err
    assert main(["shots", "--clear-cache"]) == 0
    assert "1 entries removed" in capsys.readouterr().err
    assert ShotCache().entries() == []


def test_cli_progress_bar_when_asked(clip, cache_dir, capsys):
    assert main(["shots", str(clip), "--detector", "histogram", "--progress", "--no-cache"]) == 0
    err = capsys.readouterr().err
    assert "decoding clip.mp4" in err and "40/40" in err
    assert main(["shots", str(clip), "--detector", "histogram", "--no-cache"]) == 0  # stderr is not a terminal here
    assert "decoding" not in capsys.readouterr().err


def test_the_precision_that_ran_is_part_of_the_key(monkeypatch, tmp_path):
    from linvt_hf.processing.autoshot import network

    weights = tmp_path / "own.pth"
    weights.write_bytes(b"own weights")

    def settings(precision: str) -> dict:
        detector = ShotDetector("autoshot", weights=weights, custom_weights=True, precision=precision)
        return detector._settings("autoshot", weights)

    monkeypatch.setattr(network, "_cpu_flags", lambda: frozenset({"avx512_bf16"}))
    assert settings("auto")["precision"] == settings("bfloat16")["precision"] == "bfloat16"
    assert settings("float32")["precision"] == "float32"
    monkeypatch.setattr(network, "_cpu_flags", lambda: frozenset())
    assert settings("auto")["precision"] == "float32"  # "auto" on a CPU without native bfloat16: another key
    with pytest.raises(ValueError, match="precision must be one of"):
        ShotDetector("autoshot", precision="half")
