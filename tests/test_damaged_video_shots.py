"""Shot detection on damaged or unusual files (issue 21): a container that misreports its frame count, variable frame
rate, a stream that ends early, a corrupt stretch in the middle. The shots cover every decodable frame exactly once
(`[0, num_frames)` without gaps or overlaps) and what could not be read is named (`ShotDetection.unreadable`, and a
warning)."""

from __future__ import annotations

import struct
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from linvt_hf import FAMILIES
from linvt_hf.processing.frame_scan import FrameScan
from linvt_hf.processing.shots import detect_shots
from linvt_hf.processing.video_io import load_video, probe_video
from linvt_hf.processing.video_processor import LinVTVideoProcessor
from linvt_hf.testing import make_tiny_image_processor

sys.path.insert(0, str(Path(__file__).parent))
from video_factory import make_video, vfr_times  # noqa: E402

SIZE = (32, 48)  # with code_bits=16 the frames carry no index bar (it would change the histogram every frame)
CUTS = (20, 40)


def _detect(path: Path, decode_ahead: int = 0):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        detection = detect_shots(path, "histogram", return_probabilities=True, decode_ahead=decode_ahead)
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    starts = [start for start, _ in detection.shots]
    ends = [end for _, end in detection.shots]
    assert starts[0] == 0 and ends[-1] == detection.num_frames and starts[1:] == ends[:-1]  # exactly once each
    assert len(detection.probabilities) == detection.num_frames
    return detection, messages


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("damaged")


def test_stream_that_ends_early(folder):
    path = make_video(folder / "full.mp4", 60, size=SIZE, cuts=CUTS, faststart=True, code_bits=16)
    data = path.read_bytes()
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(data[: int(len(data) * 0.8)])  # the index (in front) still declares 60 frames
    assert probe_video(truncated).total_frames == 60
    detection, messages = _detect(truncated)
    assert 20 < detection.num_frames < 60
    assert detection.shots[:2] == [(0, 20), (20, detection.num_frames)]
    assert detection.unreadable == [(detection.num_frames, 60)]
    assert any(f"frames {detection.num_frames}-59 could not be decoded" in m and "truncated.mp4" in m for m in messages)
    # The processor samples inside these shots, so it answers from what the file holds (before: VideoDecodeError).
    processor = LinVTVideoProcessor.from_image_processor(
        make_tiny_image_processor("internvl"),
        FAMILIES["internvl"].processor_class.frame_layout,
        num_frames=8,
        fps=None,
        shot_detector="histogram",
    )
    with pytest.warns(UserWarning, match="could not be decoded"):
        out = processor(str(truncated), return_metadata=True)
    assert 0 <= out["video_frame_indices"].min() and out["video_frame_indices"].max() < detection.num_frames


@pytest.mark.parametrize("codec, name", [("mjpeg", "corrupt.avi"), ("libx264", "corrupt.mp4")])
def test_corrupt_stretch_in_the_middle(folder, codec, name):
    options = {"pix_fmt": "yuvj420p"} if codec == "mjpeg" else {"gop": 10}
    path = make_video(folder / ("clean_" + name), 60, size=SIZE, cuts=CUTS, codec=codec, code_bits=16, **options)
    data = bytearray(path.read_bytes())
    data[int(len(data) * 0.5) : int(len(data) * 0.6)] = bytes(int(len(data) * 0.6) - int(len(data) * 0.5))
    corrupt = folder / name
    corrupt.write_bytes(bytes(data))
    clean, clean_messages = _detect(path)
    assert clean.unreadable == [] and clean_messages == [] and clean.num_frames == 60
    detection, messages = _detect(corrupt)  # before: VideoDecodeError, no shots at all
    assert detection.unreadable, "the corrupt stretch is named"
    assert all(0 < start < end <= 60 for start, end in detection.unreadable)
    assert any("could not be decoded" in m and name in m for m in messages)
    assert detection.shots[0] == (0, 20)  # what could be read before the damage is unchanged
    ahead, ahead_messages = _detect(corrupt, decode_ahead=2)  # decoded in a background thread: the same report
    assert (ahead.shots, ahead.unreadable, ahead.notes) == (detection.shots, detection.unreadable, detection.notes)
    assert ahead_messages == messages
    if codec == "libx264":  # sampled decoding skips the refused packets too, and names the frames shown instead
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sampled = load_video(corrupt, num_frames=12)  # before: VideoDecodeError "decoding failed"
        assert len(sampled) == 12
        (message,) = [str(w.message) for w in caught if "packet(s) could not be decoded" in str(w.message)]
        assert name in message and "show the frame before" in message


def _mkv_with_duration_scaled(source: Path, target: Path, factor: float) -> Path:
    data = bytearray(source.read_bytes())
    at = data.find(b"\x44\x89\x88")  # Matroska Segment Info "Duration", an 8-byte float
    (duration,) = struct.unpack(">d", data[at + 3 : at + 11])
    data[at + 3 : at + 11] = struct.pack(">d", duration * factor)
    target.write_bytes(bytes(data))
    return target


@pytest.mark.parametrize("factor, declared", [(2.0, 120), (0.5, 30)])
def test_container_that_misreports_its_frame_count(folder, factor, declared):
    clean = make_video(folder / "clean.mkv", 60, size=SIZE, cuts=CUTS, code_bits=16)
    path = _mkv_with_duration_scaled(clean, folder / f"declares{declared}.mkv", factor)
    assert probe_video(path).total_frames == declared
    detection, messages = _detect(path)
    assert detection.num_frames == 60  # every frame the stream holds, whatever the container says
    assert detection.shots == [(0, 20), (20, 40), (40, 60)]  # the cut at 40 lies past a declared 30 frames
    if declared > 60:
        assert detection.unreadable == [(60, 120)]
        assert any("frames 60-119 could not be decoded" in m for m in messages)
    else:
        assert detection.unreadable == []
        assert any("declares 30 frames; the stream holds 60" in m for m in messages)


def test_variable_frame_rate(folder):
    path = make_video(folder / "vfr.mp4", 60, size=SIZE, cuts=CUTS, vfr=True, code_bits=16)
    detection, messages = _detect(path)
    assert messages == [] and detection.unreadable == []  # frames held on screen are not missing frames
    assert detection.num_frames == len(load_video(path, size=(27, 48)))
    # A shot starts at the first grid position showing its first frame (or a later one: frames shown for less than a
    # grid step share a position with their neighbour).
    shown = load_video(path, size=(27, 48)).timestamps
    expected = [int(np.argmax(shown >= vfr_times(60, 25.0)[cut] - 1e-6)) for cut in CUTS]
    assert [start for start, _ in detection.shots] == [0, *expected]
    scan = FrameScan(path, size=(27, 48), chunk_size=7)
    frames = np.concatenate([chunk.frames for chunk in scan])
    np.testing.assert_array_equal(frames, load_video(path, size=(27, 48)).frames)  # the sampler's frames exactly
    assert scan.report.decoded_frames == 60 and scan.report.skipped > 0
