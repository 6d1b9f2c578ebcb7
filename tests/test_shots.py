"""detect_shots, the histogram fallback, frame-range helpers and the `linvt-hf shots` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from linvt_hf.cli import main
from linvt_hf.processing.autoshot import weights as weights_module
from linvt_hf.processing.shots import (
    ShotDetection,
    ShotDetector,
    detect_shots,
    histogram_distances,
    histogram_shot_ends,
    min_shot_length,
    shot_ids,
    shots_from_scores,
    shots_from_shot_ends,
)

sys.path.insert(0, str(Path(__file__).parent))
from video_factory import make_video  # noqa: E402

CUTS = (24, 50, 75)
NUM_FRAMES = 100
EXPECTED_SHOTS = [(0, 24), (24, 50), (50, 75), (75, 100)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("shots") / "cuts.mp4", NUM_FRAMES, size=(96, 160), cuts=CUTS)


@pytest.fixture
def no_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the AutoShot weights lookup find nothing."""
    monkeypatch.setattr(weights_module, "find_autoshot_weights", lambda path=None: None)


@pytest.fixture(scope="module")
def autoshot_available() -> None:
    if weights_module.find_autoshot_weights() is None:
        pytest.skip("no AutoShot weights available")


def assert_covers(shots: list[tuple[int, int]], num_frames: int) -> None:
    assert shots[0][0] == 0 and shots[-1][1] == num_frames
    assert all(start < end for start, end in shots)
    assert all(previous[1] == following[0] for previous, following in zip(shots, shots[1:]))


# ------------------------------------------------------------------------------------------------------------
# Detectors


def test_autoshot_finds_the_cuts(clip: Path, autoshot_available: None) -> None:
    detection = detect_shots(clip, return_probabilities=True)
    assert isinstance(detection, ShotDetection)
    assert detection.shots == EXPECTED_SHOTS
    assert detection.detector == "autoshot" and detection.threshold == pytest.approx(0.296)
    assert detection.probabilities.shape == (NUM_FRAMES,) and detection.num_frames == NUM_FRAMES
    assert detection.fps == pytest.approx(25.0)
    assert detection.times()[1] == pytest.approx((24 / 25, 50 / 25))


def test_histogram_finds_the_cuts(clip: Path) -> None:
    assert detect_shots(clip, "histogram") == EXPECTED_SHOTS


def test_histogram_on_real_footage_with_cuts() -> None:
    videos = Path(__file__).parent / "data" / "videos"
    from linvt_hf.processing.video_io import load_video

    bunny = load_video(videos / "bigbuckbunny.mp4", size=(27, 48)).frames
    carphone = load_video(videos / "carphone_pristine.mp4", size=(27, 48)).frames
    frames = np.concatenate([bunny, carphone, bunny[:40]])
    assert detect_shots(frames, "histogram") == [(0, 132), (132, 252), (252, 292)]


def test_histogram_finds_cuts_between_dark_scenes_and_short_shots(tmp_path: Path) -> None:
    """Dark backgrounds (every channel below 64) and 6-frame shots at 8 fps: the generated data set's videos."""
    from linvt_hf.data.synthetic import BACKGROUNDS, write_mp4

    lengths = (6, 7, 6, 9)
    frames = np.concatenate(
        [np.broadcast_to(np.array(BACKGROUNDS[b], np.uint8), (n, 40, 64, 3)) for b, n in zip((0, 2, 3, 5), lengths)]
    ).copy()
    frames[:, 10:20, 20:30] = 230  # a bright object that stays
    write_mp4(frames, tmp_path / "dark.mp4", fps=8)
    assert detect_shots(tmp_path / "dark.mp4", "histogram") == [(0, 6), (6, 13), (13, 19), (19, 28)]


@pytest.mark.parametrize(("fps", "frames"), [(None, 8), (0.0, 8), (8.0, 3), (24.0, 8), (29.97, 10), (3.0, 2)])
def test_minimum_shot_length_is_a_third_of_a_second(fps: float | None, frames: int) -> None:
    assert min_shot_length(fps) == frames


def test_missing_weights_fall_back_to_histogram_with_a_warning(clip: Path, no_weights: None) -> None:
    with pytest.warns(UserWarning, match="AutoShot weights not found.*histogram"):
        detection = detect_shots(clip, "autoshot", return_probabilities=True)
    assert detection.detector == "histogram"
    assert detection.shots == EXPECTED_SHOTS


def test_explicit_missing_weights_are_an_error(clip: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        detect_shots(clip, weights=tmp_path / "nowhere.pth")


def test_detector_none_is_one_shot(clip: Path) -> None:
    assert detect_shots(clip, "none") == [(0, NUM_FRAMES)]
    detection = detect_shots(np.zeros((7, 10, 10, 3), np.uint8), "none", return_probabilities=True)
    assert detection.shots == [(0, 7)] and detection.probabilities is None and detection.fps is None


def test_accepts_frames_bytes_and_file_objects(clip: Path) -> None:
    from linvt_hf.processing.video_io import load_video

    small = load_video(clip, size=(27, 48)).frames
    large = load_video(clip, size=(54, 96)).frames  # resized to 48x27 by detect_shots
    assert detect_shots(small, "histogram") == EXPECTED_SHOTS
    assert detect_shots(large, "histogram") == EXPECTED_SHOTS
    assert detect_shots(clip.read_bytes(), "histogram") == EXPECTED_SHOTS
    with open(clip, "rb") as handle:
        assert detect_shots(handle, "histogram") == EXPECTED_SHOTS


def test_static_video_is_one_shot() -> None:
    frames = np.full((60, 27, 48, 3), 90, dtype=np.uint8)
    frames[:, 10:15, :, :] = np.arange(60, dtype=np.uint8)[:, None, None, None]  # slow drift, no cut
    assert detect_shots(frames, "histogram") == [(0, 60)]


def test_reusable_detector(clip: Path) -> None:
    detector = ShotDetector("histogram", threshold=0.5)
    first, second = detector(clip), detector(clip)
    assert first.shots == second.shots == EXPECTED_SHOTS
    assert first.threshold == 0.5


# ------------------------------------------------------------------------------------------------------------
# Bad input


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    for detector in ("autoshot", "histogram", "none"):
        with pytest.raises(FileNotFoundError):
            detect_shots(tmp_path / "missing.mp4", detector)


def test_unknown_detector_is_named() -> None:
    with pytest.raises(ValueError, match="'transnet'"):
        detect_shots(np.zeros((3, 27, 48, 3), np.uint8), "transnet")


@pytest.mark.parametrize(
    "arguments", [{"threshold": 1.5}, {"threshold": -0.1}, {"batch_size": 0}, {"batch_size": 2.0}, {"batch_size": True}]
)
def test_bad_options_are_value_errors(arguments: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(arguments))):
        detect_shots(np.zeros((3, 27, 48, 3), np.uint8), "histogram", **arguments)


def test_full_autoshot_batches_by_device_unless_told() -> None:
    assert ShotDetector("autoshot_full").windows_per_batch() == 1  # single windows run faster on a CPU
    assert ShotDetector("autoshot_full", device="cpu").windows_per_batch() == 1
    assert ShotDetector("autoshot_full", device="cuda").windows_per_batch() == 4  # no GPU needed to ask
    assert ShotDetector("autoshot_full", batch_size=3).windows_per_batch() == 3


def test_undecodable_bytes_are_value_errors() -> None:
    with pytest.raises(ValueError):
        detect_shots(b"this is not a video", "histogram")


# ------------------------------------------------------------------------------------------------------------
# Frame-range helpers


def test_runs_of_high_scores_give_one_cut_after_their_middle() -> None:
    scores = np.zeros(20)
    scores[[4, 10, 11, 12, 19]] = 0.9  # a hard cut, a 3-frame transition, and the last frame
    assert shots_from_scores(scores, 0.5) == [(0, 5), (5, 12), (12, 20)]
    assert shots_from_scores(np.zeros(5), 0.5) == [(0, 5)]
    assert shots_from_scores(np.full(4, 0.9), 0.5) == [(0, 2), (2, 4)]


@pytest.mark.parametrize("seed", range(5))
def test_random_scores_give_ranges_without_gaps(seed: int) -> None:
    rng = np.random.default_rng(seed)
    num_frames = int(rng.integers(1, 300))
    shots = shots_from_scores(rng.random(num_frames), threshold=0.8)
    assert_covers(shots, num_frames)


def test_shots_from_shot_ends_ignores_out_of_range_and_duplicates() -> None:
    assert shots_from_shot_ends([9, 3, 3, -1, 9, 20], 10) == [(0, 4), (4, 10)]
    assert shots_from_shot_ends([], 1) == [(0, 1)]


def test_histogram_minimum_shot_length_keeps_the_stronger_cut() -> None:
    distances = np.zeros(40, dtype=np.float32)
    distances[[10, 13, 30]] = [0.6, 0.9, 0.7]
    assert histogram_shot_ends(distances, min_shot_length=8) == [13, 30]
    assert histogram_shot_ends(distances, min_shot_length=1) == [10, 13, 30]


def test_histogram_distances_are_total_variation() -> None:
    frames = np.zeros((3, 4, 4, 3), dtype=np.uint8)
    frames[1] = 255
    frames[2, :2] = 255
    np.testing.assert_allclose(histogram_distances(frames), [1.0, 0.5, 0.0])


def test_shot_ids() -> None:
    shots = [(0, 24), (24, 50), (50, 100)]
    assert shot_ids(shots, [0, 23, 24, 99]).tolist() == [0, 0, 1, 2]
    with pytest.raises(ValueError, match="100"):
        shot_ids(shots, [100])


# ------------------------------------------------------------------------------------------------------------
# Command line


def test_cli_prints_one_line_per_shot(clip: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["shots", str(clip), "--detector", "histogram"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["0 24 0.000 0.960", "24 50 0.960 2.000", "50 75 2.000 3.000", "75 100 3.000 4.000"]


def test_cli_decode_ahead(clip: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["shots", str(clip), "--detector", "histogram", "--no-cache", "--decode-ahead", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["0 24 0.000 0.960", "24 50 0.960 2.000", "50 75 2.000 3.000", "75 100 3.000 4.000"]
    assert main(["shots", str(clip), "--detector", "histogram", "--no-cache", "--decode-ahead", "-1"]) == 2
    assert "error: decode_ahead must be an int >= 0" in capsys.readouterr().err


def test_cli_json(clip: Path, capsys: pytest.CaptureFixture, autoshot_available: None) -> None:
    assert main(["shots", str(clip), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["detector"] == "autoshot" and summary["num_frames"] == NUM_FRAMES
    assert [(shot["start"], shot["end"]) for shot in summary["shots"]] == EXPECTED_SHOTS
    assert summary["shots"][1]["start_s"] == pytest.approx(0.96)
    assert summary["precision"] in ("float32", "bfloat16")


def test_cli_precision_is_passed_and_reported(clip: Path, capsys: pytest.CaptureFixture, autoshot_available) -> None:
    for precision in ("float32", "bfloat16"):
        assert main(["shots", str(clip), "--precision", precision, "--no-cache", "--json"]) == 0
        captured = capsys.readouterr()
        summary = json.loads(captured.out)
        assert summary["precision"] == precision and f"detected with autoshot ({precision}) in" in captured.err
        assert [(shot["start"], shot["end"]) for shot in summary["shots"]] == EXPECTED_SHOTS
    with pytest.raises(SystemExit):
        main(["shots", str(clip), "--precision", "half"])


def test_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["shots", str(tmp_path / "missing.mp4")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "missing.mp4" in error
    with pytest.raises(SystemExit):
        main(["shots", str(tmp_path / "missing.mp4"), "--detector", "transnet"])
