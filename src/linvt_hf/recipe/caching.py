"""What the recipe computes once and keeps while the same videos come back many times (stage 1, stage 2,
evaluation): each video's sampled frames and pixels, and its frame tokens while the vision path is frozen. Both are
context managers that leave the processor and the model as they were on exit."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..modeling import LinVTForConditionalGeneration
from ..processing import LinVTProcessorMixin


@contextmanager
def sampled_videos_kept(processor: LinVTProcessorMixin) -> Iterator[None]:
    """Within the block, each video file is decoded, cut into shots, sampled and normalised once:
    `processor.video_processor.sample` keeps its results by path and options, and `frames_to_pixels` its pixels by
    the kept frames. Stage 1 and 2 pass over the same files many times with the same options, and this work was
    about half of a stage-2 step; what is kept costs about 1 MB per video here. On exit the processor is as before
    (nothing of this is saved with it)."""
    video_processor = processor.video_processor
    sample, to_pixels = video_processor.sample, video_processor.frames_to_pixels
    kept: dict[tuple[str, str], Any] = {}
    # Pixels by id() of kept frames: `kept` holds those arrays alive, so their ids stay theirs.
    kept_frames: set[int] = set()
    pixels: dict[int, np.ndarray] = {}

    def sample_once(video: Any, **options: Any) -> Any:
        spec = video if isinstance(video, dict) else {"video": video}  # the processor passes `{"video": path}`
        if not isinstance(spec.get("video"), (str, Path)) or not all(
            isinstance(v, (str, Path, int, float, type(None))) for v in [*spec.values(), *options.values()]
        ):
            return sample(video, **options)
        key = (json.dumps(spec, sort_keys=True, default=str), json.dumps(options, sort_keys=True, default=str))
        if key not in kept:
            kept[key] = sample(video, **options)
            kept_frames.add(id(kept[key].frames))
        return kept[key]

    def frames_to_pixels_once(frames: np.ndarray) -> np.ndarray:
        if id(frames) not in kept_frames:
            return to_pixels(frames)
        if id(frames) not in pixels:
            pixels[id(frames)] = to_pixels(frames)
        return pixels[id(frames)]

    video_processor.sample, video_processor.frames_to_pixels = sample_once, frames_to_pixels_once
    try:
        yield
    finally:
        del video_processor.sample, video_processor.frames_to_pixels


@contextmanager
def frame_tokens_kept(model: LinVTForConditionalGeneration) -> Iterator[None]:
    """Within the block, each video's per-frame tokens (vision encoder + projector) are computed once while the
    vision path is frozen (stage 1, stage 2, evaluation): the base model's `frame_features` keeps them by the
    video's pixels. Stage 2 passes over each video about ten times, and the frozen vision forward was a third of a
    step. With the vision path trainable, the model's own `frame_features` runs. On exit the model is as before."""
    base = model.model
    own = vars(base).get("frame_features")  # an instance-level override, restored on exit
    frame_features = base.frame_features
    kept: dict[bytes, torch.Tensor] = {}

    def frame_features_once(
        pixel_values_videos: torch.Tensor, video_grid_thw: torch.Tensor | None, frames_per_video: list[int]
    ) -> list[torch.Tensor]:
        if base.vision_needs_grad():
            return frame_features(pixel_values_videos, video_grid_thw, frames_per_video)
        rows = rows_per_video(video_grid_thw, frames_per_video)
        if sum(rows) != pixel_values_videos.shape[0]:  # let the model's own hook say what is wrong
            return frame_features(pixel_values_videos, video_grid_thw, frames_per_video)
        pieces = pixel_values_videos.split(rows)
        keys = [hashlib.blake2b(piece.detach().cpu().numpy().tobytes(), digest_size=16).digest() for piece in pieces]
        missing = [i for i, key in enumerate(keys) if key not in kept and keys.index(key) == i]  # once per video
        if missing:
            grids = None if video_grid_thw is None else video_grid_thw[missing]
            computed = frame_features(
                torch.cat([pieces[i] for i in missing]), grids, [frames_per_video[i] for i in missing]
            )
            for i, tokens in zip(missing, computed, strict=True):
                kept[keys[i]] = tokens.detach()
        return [kept[key] for key in keys]

    base.frame_features = frame_features_once
    try:
        yield
    finally:
        if own is None:
            del base.frame_features
        else:
            base.frame_features = own


def rows_per_video(video_grid_thw: torch.Tensor | None, frames_per_video: list[int]) -> list[int]:
    """How many rows of `pixel_values_videos` each video takes: Qwen2-VL's patches (the product of its
    `video_grid_thw` row `[V, 3]`), else one per frame."""
    if video_grid_thw is not None:
        return [int(n) for n in video_grid_thw.prod(-1).tolist()]
    return list(frames_per_video)
