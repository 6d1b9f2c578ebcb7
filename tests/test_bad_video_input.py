"""Video input that used to be misread, and memory that used to grow with the video.

Shot detection streams in bounded memory with unchanged results; the video processor decodes no larger than the
backbone needs; an [H, W, 3] array is one frame; a list of image paths is one video; float frames outside [0, 1] or
not finite are refused; sampling options of the wrong type or value are named; text files are not videos.
"""

from __future__ import annotations

import math
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from linvt_hf import FAMILIES
from linvt_hf.processing import shots as shots_module
from linvt_hf.processing.autoshot import weights as weights_module
from linvt_hf.processing.autoshot.network import (
    WINDOW_CONTEXT,
    WINDOW_STRIDE,
    AutoShot,
    iter_window_batches,
    iter_windows,
)
from linvt_hf.processing.chat import extract_visuals
from linvt_hf.processing.errors import VideoDecodeError
from linvt_hf.processing.inputs import is_frame_list
from linvt_hf.processing.sampling import sample_frame_indices
from linvt_hf.processing.shots import (
    detect_shots,
    histogram_distances,
    histogram_shot_ends,
    stream_histogram_distances,
)
from linvt_hf.processing.video_io import load_video, probe_video, stream_video
from linvt_hf.processing.video_processor import LinVTVideoProcessor, cover_size, make_video_list
from linvt_hf.testing import make_tiny_image_processor

sys.path.insert(0, str(Path(__file__).parent))
from video_factory import make_video  # noqa: E402

VIDEOS = Path(__file__).parent / "data" / "videos"
BUNNY = VIDEOS / "bigbuckbunny.mp4"
CARPHONE = VIDEOS / "carphone_pristine.mp4"


def _processor(backbone: str, **kwargs) -> LinVTVideoProcessor:
    options = {"num_frames": 4, "fps": None, "min_frames": 1, "shot_detector": "none", **kwargs}
    layout = FAMILIES[backbone].processor_class.frame_layout
    return LinVTVideoProcessor.from_image_processor(make_tiny_image_processor(backbone), layout, **options)


def _rgb(count: int, height: int = 12, width: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (count, height, width, 3), dtype=np.uint8)


# ------------------------------------------------------------------------------------------------------------
# 1. Shot detection: streamed, same results, memory flat in the video's length


def reference_histogram_distances(frames: np.ndarray, bins: int = 8) -> np.ndarray:
    """The histogram distances as computed before streaming: every frame's histogram at once."""
    num_frames = frames.shape[0]
    quantised = (frames >> (8 - int(np.log2(bins)))).astype(np.int64)
    cells = (quantised[..., 0] * bins + quantised[..., 1]) * bins + quantised[..., 2]
    offsets = np.arange(num_frames)[:, None] * bins**3
    counts = np.bincount((cells.reshape(num_frames, -1) + offsets).ravel(), minlength=num_frames * bins**3)
    histograms = counts.reshape(num_frames, bins**3) / cells[0].size
    distances = np.zeros(num_frames, dtype=np.float32)
    distances[:-1] = 0.5 * np.abs(np.diff(histograms, axis=0)).sum(axis=1)
    return distances


def reference_shot_ends(distances: np.ndarray, threshold: float, min_shot_length: int) -> list[int]:
    """The histogram detector's decision as computed before: the running median over all frames at once."""
    half = shots_module.HISTOGRAM_WINDOW // 2
    padded = np.pad(distances[:-1], half, mode="reflect" if len(distances) - 1 > half else "edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    median = np.median(windows, axis=1)
    mad = np.median(np.abs(windows - median[:, None]), axis=1)
    adaptive = np.maximum(threshold, median + shots_module.HISTOGRAM_MAD_FACTOR * 1.4826 * mad)
    candidates = np.flatnonzero(distances[:-1] > adaptive)
    accepted: list[int] = []
    for frame in candidates[np.argsort(-distances[candidates], kind="stable")]:
        if all(abs(int(frame) - other) >= min_shot_length for other in accepted):
            accepted.append(int(frame))
    return sorted(accepted)


@torch.inference_mode()
def reference_autoshot(model: AutoShot, frames: np.ndarray, batch_size: int) -> np.ndarray:
    """AutoShot's probabilities as computed before streaming: the whole padded video windowed at once."""
    probabilities = []
    for windows in iter_windows(torch.from_numpy(np.ascontiguousarray(frames)), batch_size):
        logits = model(windows)
        probabilities.append(torch.sigmoid(logits[:, WINDOW_CONTEXT : WINDOW_CONTEXT + WINDOW_STRIDE]).flatten())
    return torch.cat(probabilities)[: len(frames)].numpy()


class PositionSensitiveAutoShot(AutoShot):
    """AutoShot's windowing with a cheap stand-in network whose logit depends on every pixel of a frame and on the
    frame's place in its window, so that any shifted, repeated or missing frame changes the result."""

    def forward(self, frames: torch.Tensor, return_many_hot: bool = False) -> torch.Tensor:
        weights = torch.arange(1, frames[0, 0].numel() + 1, dtype=torch.float64).reshape(frames.shape[2:])
        per_frame = (frames.to(torch.float64) * weights).sum(dim=(2, 3, 4))
        position = torch.arange(frames.shape[1], dtype=torch.float64)
        return (torch.sin(per_frame * 1e-4 + position) * 3).float()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks and median blocks much shorter than the videos, so that every boundary is crossed."""
    monkeypatch.setattr(shots_module, "SHOT_CHUNK_FRAMES", 7)
    monkeypatch.setattr(shots_module, "_MEDIAN_BLOCK", 10)


@pytest.fixture
def stub_autoshot(monkeypatch: pytest.MonkeyPatch) -> AutoShot:
    model = PositionSensitiveAutoShot().eval()
    monkeypatch.setattr(shots_module, "_autoshot_weights_or_warn", lambda weights: Path("stub"))
    monkeypatch.setattr(shots_module, "_load_autoshot", lambda path, device: model)
    return model


@pytest.fixture(scope="module")
def cut_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("cuts") / "cuts.mp4", 160, size=(64, 96), cuts=(40, 97, 130))


@pytest.mark.parametrize("video", ["bunny", "cuts"])
def test_histogram_detection_is_unchanged_by_streaming(video, cut_clip, small_chunks):
    path = BUNNY if video == "bunny" else cut_clip
    frames = load_video(path, size=(27, 48)).frames
    detection = detect_shots(path, "histogram", return_probabilities=True)
    expected = reference_histogram_distances(frames)
    np.testing.assert_array_equal(detection.probabilities, expected)
    ends = reference_shot_ends(expected, shots_module.HISTOGRAM_THRESHOLD, shots_module.min_shot_length(25.0))
    assert detection.shots == shots_module.shots_from_shot_ends(ends, len(frames))
    assert detection.num_frames == len(frames)
    if video == "cuts":
        assert [start for start, _ in detection.shots] == [0, 40, 97, 130]


@pytest.mark.parametrize("chunk", [1, 3, 50, 1000])
def test_histogram_distances_do_not_depend_on_chunking(chunk):
    frames = _rgb(23, seed=1) // 64 * 64  # few colours: large, varied distances
    chunks = (frames[i : i + chunk] for i in range(0, len(frames), chunk))
    np.testing.assert_array_equal(stream_histogram_distances(chunks), reference_histogram_distances(frames))
    np.testing.assert_array_equal(histogram_distances(frames[:1]), [0.0])


def test_running_median_in_blocks_is_unchanged(monkeypatch):
    distances = np.random.default_rng(2).random(300).astype(np.float32) ** 4
    expected = reference_shot_ends(distances, 0.25, 8)
    monkeypatch.setattr(shots_module, "_MEDIAN_BLOCK", 13)
    assert histogram_shot_ends(distances, 0.25, min_shot_length=8) == expected
    assert expected  # the case decides something


@pytest.mark.parametrize("num_frames", [1, 24, 25, 50, 51, 99, 100, 101, 151, 333])
@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_autoshot_windows_from_chunks_are_the_whole_video_windows(num_frames, batch_size, chunk):
    frames = np.random.default_rng(num_frames).integers(0, 256, (num_frames, 3, 4, 3), dtype=np.uint8)
    expected = list(iter_windows(torch.from_numpy(frames), batch_size))
    chunks = (frames[i : i + chunk] for i in range(0, num_frames, chunk))
    batches = list(iter_window_batches(chunks, batch_size))
    assert len(batches) == len(expected)
    for batch, reference in zip(batches, expected):
        # Same values, shape and memory layout: the network sees exactly the same input.
        assert batch.shape == reference.shape and batch.stride() == reference.stride()
        assert torch.equal(batch, reference)


@pytest.mark.parametrize("video", ["bunny", "cuts"])
def test_autoshot_detection_is_unchanged_by_streaming(video, cut_clip, small_chunks, stub_autoshot):
    path = BUNNY if video == "bunny" else cut_clip
    frames = load_video(path, size=(27, 48)).frames
    detection = detect_shots(path, "autoshot_full", batch_size=2, return_probabilities=True)
    expected = reference_autoshot(stub_autoshot, frames, batch_size=2)
    np.testing.assert_array_equal(detection.probabilities, expected)
    assert detection.shots == shots_module.shots_from_scores(expected, shots_module.AUTOSHOT_THRESHOLD)
    assert len(detection.shots) > 1  # the stand-in's scores cross the threshold: the shots are a real check


@pytest.mark.slow  # the real network on CPU; the window test above is the fast, exact check
def test_autoshot_weights_give_the_same_probabilities_streamed(small_chunks):
    if weights_module.find_autoshot_weights() is None:
        pytest.skip("no AutoShot weights available")
    model = AutoShot.from_pretrained()
    frames = load_video(CARPHONE, size=(27, 48), num_frames=30).frames  # one window: kept short, it is slow on CPU
    streamed = model.predict_transitions_chunked(frames[i : i + 7] for i in range(0, 30, 7))
    np.testing.assert_array_equal(streamed, reference_autoshot(model, frames, batch_size=8))


def _peak_bytes(function) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def long_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    folder = tmp_path_factory.mktemp("long")
    return {n: make_video(folder / f"long{n}.mp4", n, size=(28, 48), preset="ultrafast") for n in (600, 2400)}


@pytest.mark.parametrize("detector", ["histogram", "autoshot", "autoshot_full"])
def test_shot_detection_memory_is_flat_in_the_video_length(detector, long_videos, stub_autoshot):
    peaks = {n: _peak_bytes(lambda path=path: detect_shots(path, detector)) for n, path in long_videos.items()}
    # Holding every frame costs at least a 48x27 RGB frame (3.9 KB) a frame; before streaming it was ~62 KB
    # (histogram) or ~8 KB (AutoShot, frames plus their padded copy). Now only the per-frame score (4 bytes) grows:
    # allow a quarter of a frame per extra frame for the phase of the chunks against the windows.
    growth = peaks[2400] - peaks[600]
    assert growth < 1800 * 1000, f"peak memory grew by {growth / 1e6:.1f} MB for 1800 more frames"


# ------------------------------------------------------------------------------------------------------------
# 2. The video processor decodes at the size the backbone needs


def test_cover_size_rule():
    assert cover_size(2160, 3840, (384, 384)) == (384, 683)  # shorter side at the target, aspect kept
    assert cover_size(2160, 3840, (728, 1316)) == (741, 1316)  # the binding side is the width here
    assert cover_size(100, 200, (384, 384)) == (100, 200)  # never enlarged
    assert cover_size(1000, 100, (500, 20)) == (500, 50)
    for height, width, target in [(1080, 1920, (56, 56)), (719, 1283, (336, 588)), (480, 640, (28, 84))]:
        covered = cover_size(height, width, target)
        assert covered[0] >= target[0] and covered[1] >= target[1]
        assert covered[0] <= height and covered[1] <= width
        assert abs(covered[0] / covered[1] - height / width) < 2 / min(covered)


@pytest.fixture(scope="module")
def big_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("big") / "big.mp4", 6, size=(1080, 1920), preset="ultrafast")


@pytest.mark.parametrize("backbone", ["llava_onevision", "qwen2_vl"])
def test_large_video_is_decoded_no_larger_than_needed(backbone, big_video):
    processor = _processor(backbone)
    target = processor.target_size(1080, 1920)
    sampled = processor.sample(str(big_video))
    assert sampled.frames.shape[1:3] == processor.decode_size(1080, 1920) == cover_size(1080, 1920, target)
    full_frame = 1080 * 1920 * 3
    assert _peak_bytes(lambda: processor(str(big_video))) < full_frame  # before: every sampled frame at full size
    out = processor(str(big_video))
    if backbone == "qwen2_vl":  # the same token grid as from full-size frames
        patch = processor.patch_size
        assert out["video_grid_thw"][0].tolist() == [2, target[0] // patch, target[1] // patch]
    else:
        assert out["pixel_values_videos"].shape == (4, 3, *target)


@pytest.mark.parametrize(
    "backbone, size",
    [
        ("internvl", None),
        ("qwen2_vl", None),
        ("qwen2_vl", {"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 1280}),
        ("qwen2_vl", {"shortest_edge": 56 * 56, "longest_edge": 448 * 448}),
    ],
)
def test_decode_size_keeps_the_final_size(backbone, size):
    processor = _processor(backbone, **({"size": size} if size else {}))
    covered = fallback = 0
    for height in range(60, 2200, 97):
        for width in range(60, 3900, 131):
            decode = processor.decode_size(height, width)
            target = processor.target_size(height, width)
            assert processor.target_size(*decode) == target, (height, width)  # same final size and token grid
            assert decode[0] <= height and decode[1] <= width  # never enlarged
            if decode == cover_size(height, width, target):
                covered += 1
            else:
                assert decode == target
                fallback += 1
    assert covered > fallback  # the cover size is the rule, the exact target the fallback
@pytest.mark.parametrize("backbone", ["internvl", "qwen2_vl"])
def test_pixels_decoded_small_stay_close_to_full_size_resizing(backbone):
    processor = _processor(backbone, do_normalize=False)
    full = load_video(BUNNY, num_frames=4).frames
    before = processor.frames_to_pixels(full)
    after = processor(str(BUNNY))["pixel_values_videos"]
    if backbone == "qwen2_vl":
        before, _ = processor.patchify(before)
    assert after.shape == before.shape
    assert np.abs(after - before).mean() < 2.5 / 255  # measured 1.2 to 1.5 levels on real footage


def test_max_side_and_frames_keep_their_behaviour():
    processor = _processor("internvl")
    frames = _rgb(4, 40, 70)
    assert processor.sample(frames).frames.shape[1:3] == (40, 70)  # frames given as images: processed as those
    assert processor.sample(str(BUNNY), max_side=100).frames.shape[1:3] == (56, 100)


# ------------------------------------------------------------------------------------------------------------
# 3. One image array is one frame


@pytest.mark.parametrize(
    "make, expected_gray",
    [
        (lambda f: f, False),
        (lambda f: f[..., 0], True),
        (lambda f: f[..., :1], True),
        (lambda f: torch.from_numpy(f), False),
        (lambda f: torch.from_numpy(f).permute(2, 0, 1), False),
        (lambda f: f.astype(np.float32) / 255, False),
    ],
    ids=["hw3", "hw", "hw1", "torch-hw3", "torch-3hw", "float-hw3"],
)
def test_one_image_is_one_frame(make, expected_gray):
    frame = _rgb(1, 12, 16)[0]
    decoded = load_video(make(frame))
    expected = np.repeat(frame[..., :1], 3, axis=-1) if expected_gray else frame
    assert decoded.frames.shape == (1, 12, 16, 3)
    np.testing.assert_array_equal(decoded.frames[0], expected)
    assert probe_video(make(frame)).total_frames == 1


def test_three_dimensional_array_without_channels_is_a_grayscale_video():
    gray = _rgb(5, 12, 16)[..., 0]
    assert load_video(gray).frames.shape == (5, 12, 16, 3)


@pytest.mark.parametrize("backbone", ["internvl", "qwen2_vl"])
def test_processor_reads_one_image_as_one_frame(backbone):
    frame = _rgb(1, 40, 70)[0]
    assert len(make_video_list(frame)) == 1 and len(make_video_list(frame[..., 0])) == 1
    out = _processor(backbone)(frame, return_metadata=True)
    assert out["video_frame_mask"].sum(1).tolist() == [1]
    assert out["video_frame_indices"].tolist() == [[0]]
    np.testing.assert_array_equal(out["pixel_values_videos"], _processor(backbone)(frame[None])["pixel_values_videos"])


# ------------------------------------------------------------------------------------------------------------
# 4. A list of image paths is one video


@pytest.fixture
def image_paths(tmp_path: Path) -> tuple[list[str], np.ndarray]:
    frames = _rgb(5, 24, 32, seed=3)
    paths = []
    for index, frame in enumerate(frames):
        path = tmp_path / f"frame{index}.png"
        Image.fromarray(frame).save(path)
        paths.append(str(path))
    return paths, frames


def test_list_of_image_paths_is_one_video(image_paths, monkeypatch):
    paths, frames = image_paths
    assert make_video_list(paths) == [paths]
    assert make_video_list([Path(p) for p in paths]) == [[Path(p) for p in paths]]
    assert make_video_list(["a.mp4", "b.MKV"]) == ["a.mp4", "b.MKV"]  # video paths: a batch of videos
    assert make_video_list([paths, paths]) == [paths, paths]
    np.testing.assert_array_equal(load_video(paths).frames, frames)
    from linvt_hf.processing import video_io

    read = []
    original = video_io._item_rgb
    monkeypatch.setattr(video_io, "_item_rgb", lambda item, index: read.append(index) or original(item, index))
    decoded = load_video(paths, num_frames=2)
    assert decoded.frame_indices.tolist() == [1, 3] and read == [1, 3]  # only the sampled images are read
    np.testing.assert_array_equal(decoded.frames, frames[[1, 3]])


def test_processor_and_chat_take_image_paths(image_paths):
    paths, frames = image_paths
    processor = _processor("internvl", num_frames=None)
    out = processor(paths)
    assert out["video_frame_mask"].sum(1).tolist() == [5]
    np.testing.assert_array_equal(out["pixel_values_videos"], processor(frames)["pixel_values_videos"])
    _, videos = extract_visuals([{"role": "user", "content": [{"type": "video", "video": paths}]}])
    assert processor(videos)["video_frame_mask"].sum(1).tolist() == [5]


def test_mixing_image_and_video_paths_is_refused(image_paths):
    paths, _ = image_paths
    with pytest.raises(ValueError, match=r"item 1 \('clip.mp4'\) is not a frame"):
        make_video_list([paths[0], "clip.mp4"])
    with pytest.raises(ValueError, match="not a frame"):
        is_frame_list([paths[0], {"path": "clip.mp4"}])
    assert make_video_list(["clip.mp4", [paths[0]]]) == ["clip.mp4", [paths[0]]]


def test_bad_image_paths_are_named(image_paths, tmp_path):
    paths, _ = image_paths
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        load_video([*paths, str(tmp_path / "missing.jpg")])
    fake = tmp_path / "fake.jpg"
    fake.write_text("not an image")
    with pytest.raises(ValueError, match=r"frame 5: .*fake.jpg.* not an image"):
        load_video([*paths, str(fake)])
    small = tmp_path / "small.png"
    Image.fromarray(_rgb(1, 8, 8)[0]).save(small)
    with pytest.raises(ValueError, match="same shape.*frame 5"):
        load_video([*paths, str(small)])


# ------------------------------------------------------------------------------------------------------------
# 5. Floating-point frames: [0, 1] and finite, never clipped


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda f: f.astype(np.float32), r"values in \[0, 255\], outside \[0, 1\]"),
        (lambda f: torch.from_numpy(f.astype(np.float32)), r"values in \[0, 255\]"),
        (lambda f: np.where(f > 128, np.nan, f / 255.0), "NaN"),
        (lambda f: np.where(f > 128, np.inf, f / 255.0), "infinite"),
        (lambda f: f / 255.0 - 0.5, r"\[-0.5, 0.5\]"),
        (lambda f: [x / 255.0 for x in f[:2]] + [f[2].astype(np.float64)], r"frame 2 .*outside \[0, 1\]"),
        (lambda f: [Image.fromarray(f[0]), np.full(f.shape[1:], np.nan)], "frame 1 hold NaN"),
    ],
    ids=["0-255", "torch-0-255", "nan", "inf", "negative", "list-item", "list-nan"],
)
def test_bad_float_frames_are_refused(make, match):
    frames = _rgb(3)
    frames[0, 0, 0] = (0, 255, 255)  # the full range occurs
    with pytest.raises(ValueError, match=match):
        load_video(make(frames))


def test_float_frames_in_unit_range_are_scaled():
    frames = _rgb(3)
    np.testing.assert_array_equal(load_video(frames / 255.0).frames, frames)
    np.testing.assert_array_equal(load_video([f / 255.0 for f in frames]).frames, frames)


# ------------------------------------------------------------------------------------------------------------
# 6. Sampling options: typed errors that name the argument and the value


BAD_OPTIONS = [
    ({"num_frames": 2.5}, TypeError, "num_frames.*2.5"),
    ({"num_frames": "8"}, TypeError, "num_frames.*'8'"),
    ({"num_frames": True}, TypeError, "num_frames"),
    ({"fps": math.nan}, ValueError, "fps.*nan"),
    ({"fps": math.inf}, ValueError, "fps.*inf"),
    ({"fps": "1"}, TypeError, "fps"),
    ({"min_frames": 0}, ValueError, "min_frames.*0"),
    ({"max_frames": 3.0}, TypeError, "max_frames.*3.0"),
    ({"start": math.nan}, ValueError, "start.*nan"),
    ({"end": math.inf}, ValueError, "end.*inf"),
    ({"start": "1"}, TypeError, "start"),
]


@pytest.mark.parametrize("options, error, match", BAD_OPTIONS + [({"max_side": "8"}, TypeError, "max_side.*'8'")])
def test_load_video_names_bad_options(options, error, match):
    with pytest.raises(error, match=match):
        load_video(BUNNY, **options)
    with pytest.raises(error, match=match):
        load_video(_rgb(4), fps_hint=10, **options)


@pytest.mark.parametrize("options, error, match", BAD_OPTIONS)
def test_sample_frame_indices_names_bad_options(options, error, match):
    with pytest.raises(error, match=match):
        sample_frame_indices(100, video_fps=25, **options)


@pytest.mark.parametrize(
    "options, error, match",
    [option for option in BAD_OPTIONS if set(option[0]) <= {"num_frames", "fps", "min_frames", "max_frames"}]
    + [({"max_side": 0}, ValueError, "max_side.*0"), ({"max_side": 1.5}, TypeError, "max_side.*1.5")],
)
def test_processor_names_bad_defaults_and_call_options(options, error, match):
    with pytest.raises(error, match=match):
        _processor("internvl", **options)
    processor = _processor("internvl")
    with pytest.raises(error, match=match):
        processor(_rgb(4), **options)


@pytest.mark.parametrize(
    "options, error, match",
    BAD_OPTIONS + [({"fps_hint": math.nan}, ValueError, "fps_hint.*nan"), ({"shots": [(0.5, 3)]}, TypeError, "shots")],
)
def test_spec_dicts_name_bad_options(options, error, match):
    processor = _processor("internvl")
    spec = {"video": _rgb(4), "fps_hint": 10.0, **options}
    with pytest.raises(error, match=match):
        processor(spec)
    with pytest.raises(error, match="message 0, content item 0"):
        extract_visuals([{"role": "user", "content": [{"type": "video", **spec}]}])


def test_good_numeric_types_are_accepted():
    indices = sample_frame_indices(np.int64(100), num_frames=np.int64(4), fps=None, start=np.float32(0), video_fps=25)
    assert indices.tolist() == [12, 37, 62, 87]
    assert len(load_video(_rgb(6), num_frames=np.int32(3), fps_hint=np.float64(5))) == 3


# ------------------------------------------------------------------------------------------------------------
# 7. Files that hold no video


@pytest.mark.parametrize("name", ["notes.txt", "readme.nfo"])
def test_text_file_is_not_a_video(tmp_path, name):
    path = tmp_path / name
    path.write_text("".join(f"line {i}: some words of plain text, as in a README\n" for i in range(200)))
    for read in (load_video, probe_video, lambda p: detect_shots(p, "histogram"), lambda p: next(stream_video(p))):
        with pytest.raises(VideoDecodeError, match=rf"{name}.*no video stream"):
            read(path)
    with pytest.raises(VideoDecodeError, match=name):
        _processor("internvl")(str(path))


def test_binary_file_read_as_text_art_is_not_a_video(tmp_path):
    path = tmp_path / "weights.bin"  # FFmpeg's "bin" demuxer takes any .bin file for text art
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(VideoDecodeError, match=r"weights.bin.*no video stream"):
        load_video(path)


def test_short_text_file_names_the_file(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_bytes(b"hi\n")
    with pytest.raises(VideoDecodeError, match=r"tiny.txt.*not a readable video"):
        load_video(path)


# ------------------------------------------------------------------------------------------------------------
# 3 and 4 through the pipeline


@pytest.fixture(scope="module")
def qa():
    from transformers import pipeline

    import linvt_hf  # noqa: F401  (registers the task)
    from linvt_hf.testing.tiny_models import make_tiny

    model, processor = make_tiny("qwen2_vl")
    return pipeline("video-question-answering", model=model, processor=processor)


def test_pipeline_reads_one_image_as_one_frame(qa):
    frame = _rgb(1, 64, 96)[0]
    result = qa(video=frame, question="What is this?", return_selection=True, max_new_tokens=2)
    assert len(result) == 1
    assert result[0]["selection"][0]["step_frame_indices"] == [[0, 0]]  # one frame, paired with itself


def test_pipeline_reads_image_paths_as_one_video(qa, tmp_path):
    paths = []
    for index, frame in enumerate(_rgb(4, 64, 96, seed=5)):
        paths.append(str(tmp_path / f"f{index}.jpg"))
        Image.fromarray(frame).save(paths[-1])
    result = qa(video=paths, question="What happens?", return_selection=True, max_new_tokens=2)
    assert len(result) == 1 and len(result[0]["selection"]) == 1  # one answer about one video, not four
    assert result[0]["selection"][0]["step_frame_indices"] == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="not a frame"):
        qa(video=[paths[0], str(BUNNY)], question="What happens?", max_new_tokens=2)
