"""LinVTVideoProcessor: sampling, shot/clip bookkeeping, and frame pixels identical to the backbone's images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from linvt_hf import FAMILIES
from linvt_hf.processing import video_processor as vp
from linvt_hf.processing.video_processor import (
    LinVTVideoProcessor,
    clip_ids_for,
    make_video_list,
    split_video_spec,
)
from linvt_hf.testing import BACKBONES, make_tiny_image_processor

VIDEOS = Path(__file__).parent / "data" / "videos"
BUNNY = str(VIDEOS / "bigbuckbunny.mp4")  # 132 frames, 25 fps, 1280x720
CARPHONE = str(VIDEOS / "carphone_pristine.mp4")  # 120 frames, 29.97 fps, 176x144


def _frames(num: int, height: int = 36, width: int = 48, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(num, height, width, 3), dtype=np.uint8)


def _processor(backbone: str, **kwargs) -> LinVTVideoProcessor:
    options = {"num_frames": 8, "fps": None, "min_frames": 1, "shot_detector": "none", **kwargs}
    layout = FAMILIES[backbone].processor_class.frame_layout
    return LinVTVideoProcessor.from_image_processor(make_tiny_image_processor(backbone), layout, **options)


def _steps(out) -> list[int]:
    """Time steps of each video (frames, or Qwen's temporal patches)."""
    return out["video_frame_mask"].sum(1).tolist()


# ------------------------------------------------------------------------------------------------ input forms


def test_make_video_list_forms():
    frames = _frames(3)
    pil_frames = [Image.fromarray(f) for f in frames]
    assert make_video_list(None) == []
    assert make_video_list(BUNNY) == [BUNNY]
    assert make_video_list(Path(BUNNY)) == [Path(BUNNY)]
    assert len(make_video_list(frames)) == 1
    assert len(make_video_list(torch.from_numpy(frames))) == 1
    assert len(make_video_list(np.stack([frames, frames]))) == 2
    assert make_video_list(pil_frames) == [pil_frames]
    assert len(make_video_list([list(frames)])) == 1  # a list of [H, W, 3] frames is one video
    nested = make_video_list([[BUNNY, frames], [{"path": CARPHONE}]])
    assert [type(v).__name__ for v in nested] == ["str", "ndarray", "dict"]
    with pytest.raises(ValueError, match="shape"):
        make_video_list(np.zeros((4,)))


def test_split_video_spec():
    assert split_video_spec({"type": "video", "path": BUNNY, "num_frames": 4}) == (BUNNY, {"num_frames": 4})
    with pytest.raises(ValueError, match="exactly one of"):
        split_video_spec({"type": "video"})
    with pytest.raises(ValueError, match="unknown video item option"):
        split_video_spec({"video": BUNNY, "frames": 4})


def test_clip_ids_renumbered_in_order():
    shots = [(0, 10), (10, 20), (20, 30), (30, 40)]
    ids = clip_ids_for(np.array([12, 15, 33, 38]), shots)
    np.testing.assert_array_equal(ids, [0, 0, 1, 1])
    np.testing.assert_array_equal(clip_ids_for(np.array([1, 2]), None), [0, 0])


# ------------------------------------------------------------------------------------------------ sampling


def test_num_frames_and_fps_sampling_on_real_video():
    processor = _processor("internvl")
    out = processor(BUNNY, return_metadata=True, return_tensors="pt")
    assert _steps(out) == [8]
    indices = out["video_frame_indices"][0]
    assert torch.all(indices[1:] > indices[:-1])
    # Constant 25 fps: frame i is shown at i / 25 s.
    torch.testing.assert_close(out["video_timestamps"][0], indices.float() / 25, atol=1e-4, rtol=0)

    by_rate = processor(BUNNY, num_frames=None, fps=1.0, min_frames=1, return_tensors="pt")
    assert _steps(by_rate) == [5]  # round(132 / 25 * 1)
    clamped = processor(BUNNY, num_frames=None, fps=1.0, min_frames=7, return_tensors="pt")
    assert _steps(clamped) == [7]


def test_array_without_frame_rate_is_timed_by_index():
    processor = _processor("llava_onevision", num_frames=None, fps=1.0, max_frames=4)
    out = processor(_frames(10), return_metadata=True, return_tensors="pt")
    # No frame rate: fps sampling is impossible, so every frame is kept, clamped to max_frames.
    assert _steps(out) == [4]
    torch.testing.assert_close(out["video_timestamps"][0], out["video_frame_indices"][0].float())
    hinted = processor({"video": _frames(10), "fps_hint": 5.0, "num_frames": 2}, return_metadata=True, return_tensors="pt")
    torch.testing.assert_close(hinted["video_timestamps"][0], hinted["video_frame_indices"][0].float() / 5)


def test_shot_detector_wiring(monkeypatch):
    calls = []

    def fake_detect_shots(video, detector):
        calls.append(detector)
        return [(0, 4), (4, 10)]

    monkeypatch.setattr(vp, "detect_shots", fake_detect_shots)
    processor = _processor("internvl", num_frames=4, shot_detector="histogram")
    out = processor(_frames(10), return_tensors="pt")
    assert calls == ["histogram"]
    assert out["video_clip_ids"][0].tolist() == [0, 0, 1, 1]
    processor(_frames(10), shot_detector="none")
    assert calls == ["histogram"]  # "none" never runs a detector
    with pytest.raises(ValueError, match="shot_detector"):
        processor(_frames(10), shot_detector="magic")


def test_real_histogram_detector_finds_the_cut(tmp_path):
    pytest.importorskip("linvt_hf.processing.shots")
    video_factory = pytest.importorskip("video_factory")
    path = tmp_path / "cut.mp4"
    video_factory.make_video(path, num_frames=40, size=(48, 64), fps=10, cuts=[20])
    out = _processor("internvl", num_frames=6, shot_detector="histogram")(str(path), return_metadata=True, return_tensors="pt")
    clips = out["video_clip_ids"][0]
    indices = out["video_frame_indices"][0]
    assert clips.tolist() == (indices >= 20).long().tolist()


# ------------------------------------------------------------------------------------------------ pixels


@pytest.mark.parametrize("backbone", ["internvl", "llava_onevision"])
def test_frames_are_the_backbone_image_pixels(backbone):
    image_processor = make_tiny_image_processor(backbone)
    frames = _frames(3, height=40, width=70)
    out = _processor(backbone)(frames, return_tensors="pt")
    expected = image_processor([Image.fromarray(f) for f in frames], return_tensors="pt")["pixel_values"]
    if backbone == "llava_onevision":
        expected = expected[:, 0]  # patch 0 is the whole image at the base resolution; the rest is anyres tiling
    size = image_processor.size
    assert out["pixel_values_videos"].shape == (3, 3, size["height"], size["width"])
    torch.testing.assert_close(out["pixel_values_videos"], expected)


@pytest.mark.parametrize("backbone", ["qwen2_vl", "qwen2_5_vl"])
def test_qwen_temporal_patch_of_a_still_frame_is_the_image_patches(backbone):
    image_processor = make_tiny_image_processor(backbone)
    frame = _frames(1, height=40, width=70)[0]
    out = _processor(backbone, num_frames=None)(np.stack([frame, frame]), return_tensors="pt")
    image = image_processor(Image.fromarray(frame), return_tensors="pt")
    torch.testing.assert_close(out["pixel_values_videos"], image["pixel_values"])
    assert out["video_grid_thw"].tolist() == image["image_grid_thw"].tolist()


def test_qwen_odd_frame_count_repeats_last_frame():
    out = _processor("qwen2_vl", num_frames=5)(BUNNY, return_metadata=True, return_tensors="pt")
    assert _steps(out) == [3]
    assert out["video_grid_thw"][0, 0].item() == 3
    pairs = out["video_temporal_patch_frame_indices"][0]
    assert pairs[-1, 0] == pairs[-1, 1]
    assert torch.all(pairs[:-1, 0] < pairs[:-1, 1])
    torch.testing.assert_close(out["video_frame_indices"][0], pairs[:, 0])
    # A temporal patch is timed at the mean of its frames.
    torch.testing.assert_close(out["video_timestamps"][0], pairs.float().mean(dim=1) / 25, atol=1e-4, rtol=0)
    grid_t, grid_h, grid_w = out["video_grid_thw"][0].tolist()
    assert out["pixel_values_videos"].shape == (grid_t * grid_h * grid_w, 3 * 2 * 14 * 14)


def test_qwen_pairs_never_straddle_a_shot():
    video = {"video": _frames(20), "shots": [(0, 7), (7, 20)], "num_frames": 7}
    out = _processor("qwen2_vl")(video, return_metadata=True, return_tensors="pt")
    pairs = out["video_temporal_patch_frame_indices"][0]
    shot_of = (pairs >= 7).long()
    assert torch.all(shot_of[:, 0] == shot_of[:, 1])
    assert out["video_clip_ids"][0].tolist() == shot_of[:, 0].tolist()


def test_batch_metadata_padding():
    processor = _processor("internvl")
    out = processor(
        [{"video": BUNNY, "num_frames": 3}, {"video": CARPHONE, "num_frames": 6}], return_metadata=True, return_tensors="pt"
    )
    assert _steps(out) == [3, 6]
    assert out["pixel_values_videos"].shape[0] == 9
    assert out["video_frame_mask"].tolist() == [[True] * 3 + [False] * 3, [True] * 6]
    assert out["video_frame_indices"][0, 3:].tolist() == [-1, -1, -1]
    assert out["video_timestamps"][0, 3:].tolist() == [0.0, 0.0, 0.0]
    assert out["video_clip_ids"].dtype == torch.int64 and out["video_timestamps"].dtype == torch.float32
    plain = processor([{"video": BUNNY, "num_frames": 3}, {"video": CARPHONE, "num_frames": 6}], return_tensors="pt")
    assert set(plain) == {"pixel_values_videos", "video_frame_mask", "video_clip_ids"}  # metadata only when asked


def test_sampling_defaults_of_every_video_option():
    """`start`, `end`, `shots` and `fps_hint` are processor defaults too (the other options always were); a video's
    spec wins over them."""
    processor = _processor("internvl", num_frames=4, start=2.0, end=4.0, shots=[(0, 80), (80, 132)])
    out = processor(BUNNY, return_metadata=True, return_tensors="pt")
    timestamps = out["video_timestamps"][0]
    assert bool((timestamps >= 2.0).all()) and bool((timestamps <= 4.0).all())
    assert out["video_clip_ids"][0].tolist() == (out["video_frame_indices"][0] >= 80).long().tolist()
    whole = processor({"video": BUNNY, "start": 0.0, "end": 5.28}, return_metadata=True)
    assert whole["video_timestamps"][0, 0] < 2.0
    reloaded = LinVTVideoProcessor.from_dict(processor.to_dict())
    assert (reloaded.start, reloaded.end, reloaded.shots) == (2.0, 4.0, [[0, 80], [80, 132]])
    hinted = _processor("internvl", num_frames=2, fps_hint=5.0)(_frames(10), return_metadata=True, return_tensors="pt")
    torch.testing.assert_close(hinted["video_timestamps"][0], hinted["video_frame_indices"][0].float() / 5)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        _processor("qwen2_vl")(str(VIDEOS / "missing.mp4"))


def test_dict_round_trip_and_copied_parameters():
    image_processor = make_tiny_image_processor("qwen2_vl")
    processor = _processor("qwen2_vl", max_side=320)
    assert processor.size == dict(image_processor.size)
    assert processor.image_mean == list(image_processor.image_mean)
    assert (processor.patch_size, processor.temporal_patch_size, processor.merge_size) == (14, 2, 2)
    reloaded = LinVTVideoProcessor.from_dict(processor.to_dict())
    assert reloaded.to_dict() == processor.to_dict()
    assert reloaded.to_dict()["video_processor_type"] == "LinVTVideoProcessor"


@pytest.mark.parametrize("backbone", BACKBONES)
def test_every_family_builds(backbone):
    out = _processor(backbone, num_frames=2)(_frames(4), return_tensors="pt")
    assert _steps(out) == [1 if backbone.startswith("qwen") else 2]


def test_explicit_num_frames_is_not_capped_by_the_default_max_frames():
    from linvt_hf.testing import make_tiny_linvt_processor

    processor = make_tiny_linvt_processor("internvl")
    frames = np.random.default_rng(0).integers(0, 255, size=(100, 32, 32, 3), dtype=np.uint8)
    assert processor.video_processor.max_frames < 80
    sampled = processor.video_processor.sample(frames, num_frames=80, shot_detector="none")
    assert len(sampled.frame_indices) == 80
