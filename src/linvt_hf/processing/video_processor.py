"""Video processor for LinVT: decode and sample a video, then turn its frames into the pixel values the backbone's
vision encoder expects for images of that size.

A LinVT model reads a video as a sequence of *time steps*. Each time step is what the backbone's vision encoder turns
into one set of per-frame tokens `V[t]` ([N, D]); LinVT then reduces the [T, N, D] grid to a fixed number of video
tokens. For most backbones a time step is one frame. Qwen2-VL and Qwen2.5-VL embed video in temporal patches of
`temporal_patch_size` (2) consecutive frames, so there a time step is a *pair* of frames; see
`LinVTVideoProcessor.preprocess` for how frames are paired.

What is backbone-specific (how frames are resized, how pixel values are laid out) is a `FrameLayout`, which each
family's processor declares (`frame_layout`). The numbers themselves (mean, std, size, patch size, ...) are copied
from the backbone's own image processor by `LinVTVideoProcessor.from_image_processor`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Unpack

import numpy as np
from transformers.image_processing_base import BatchFeature
from transformers.image_transforms import normalize, rescale, resize
from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, ChannelDimension, PILImageResampling
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize
from transformers.processing_utils import VideosKwargs
from transformers.video_processing_utils import VideoProcessorMixin

from .inputs import is_frame_list, is_url
from .sampling import SHOT_DETECTORS, ShotDetectorName, check_count, check_rate, check_sampling_options, check_shots



class LinVTVideoOptions(TypedDict, total=False):
    """How a video is sampled: the one list of LinVT's video options.

    Each can be set on the processor (its defaults), in a call (`processor(..., num_frames=16)`, the pipeline's
    keyword arguments), or for one video in a spec dict / chat content item (`{"video": "a.mp4", "start": 2.0}`),
    which wins over the call, which wins over the defaults. `num_frames` and `fps` go together: whichever level sets
    one of them decides both (a count wins over a rate).

    num_frames (`int`): frames to sample (taken as asked).
    fps (`float`): frames to sample per second of video, within `[min_frames, max_frames]`.
    min_frames (`int`), max_frames (`int`): bounds on a rate-based frame count.
    shot_detector (`str`): `"autoshot"`, `"autoshot_full"`, `"histogram"` or `"none"`; shots drive shot-aware
        sampling and clip ids.
    max_side (`int`): decode frames with their longer side at most this (the backbone's resize comes after).
    start (`float`), end (`float`): the part of the video to sample, in seconds.
    shots (`list[tuple[int, int]]`): the video's shots (half-open frame ranges), instead of detecting them.
    fps_hint (`float`): the frame rate of frames given as arrays or images (they have none of their own).
    """

    num_frames: int | None
    fps: float | None
    min_frames: int | None
    max_frames: int | None
    shot_detector: ShotDetectorName | None
    max_side: int | None
    start: float | None
    end: float | None
    shots: list | None
    fps_hint: float | None


VIDEO_OPTIONS: tuple[str, ...] = tuple(LinVTVideoOptions.__annotations__)
VIDEO_SOURCE_KEYS = ("video", "path", "url")


@dataclass(frozen=True)
class FrameLayout:
    """How one backbone family wants the frames of a video.

    Attributes:
        resize (`"smart"` or `"fixed"`):
            `"smart"` (Qwen2-VL): keep the aspect ratio, round both sides to multiples of `patch_size * merge_size`
            and keep the pixel count within `size["shortest_edge"]` .. `size["longest_edge"]` (the image processor's
            min/max pixels), exactly as the backbone resizes an image. `"fixed"`: resize to
            `size["height"] x size["width"]`, the backbone's base image resolution (no tiling / anyres patches).
        output (`"patches"` or `"frames"`):
            `"patches"`: flattened vision-tower patches `pixel_values_videos` [sum_v t*h*w, C*tps*p*p] plus
            `video_grid_thw` [V, 3], the layout Qwen2-VL's vision tower takes for video. `"frames"`: one image per
            frame, `pixel_values_videos` [total_frames, 3, H, W].
        image_processor_keys (`tuple[str, ...]`): attributes copied from the backbone's image processor.
        square_size_key (`str`, *optional*): for `"fixed"`, the image processor attribute `{"longest_edge": S}` whose
            S x S square is the frame size instead of its `size` (SmolVLM's `max_image_size`: the square of its global
            image view, while its `size` bounds the image it tiles).
    """

    resize: Literal["smart", "fixed"]
    output: Literal["patches", "frames"]
    image_processor_keys: tuple[str, ...] = (
        "size",
        "resample",
        "do_resize",
        "do_rescale",
        "rescale_factor",
        "do_normalize",
        "image_mean",
        "image_std",
    )
    square_size_key: str | None = None


QWEN_PATCH_KEYS = ("patch_size", "temporal_patch_size", "merge_size")


class LinVTVideosKwargs(VideosKwargs, LinVTVideoOptions, total=False):
    """Video kwargs of `LinVTVideoProcessor`: transformers' `VideosKwargs`, LinVT's `LinVTVideoOptions`, and Qwen2-VL's
    patching parameters (`patch_size`, `temporal_patch_size`, `merge_size`)."""

    patch_size: int | None
    temporal_patch_size: int | None
    merge_size: int | None


@dataclass
class SampledVideo:
    """One decoded and sampled video, before resizing.

    Attributes:
        frames (`np.ndarray`): uint8 [S, H, W, 3], S sampled frames (after Qwen pairing, a frame may appear twice).
        frame_indices (`np.ndarray`): int64 [S], source frame index of each frame.
        timestamps (`np.ndarray`): float64 [S], presentation time of each frame in seconds.
        clip_ids (`np.ndarray`): int64 [S], shot of each frame, numbered 0, 1, ... in order among the shots sampled.
        source (`Any`): what was decoded, for error messages.
    """

    frames: np.ndarray
    frame_indices: np.ndarray
    timestamps: np.ndarray
    clip_ids: np.ndarray
    source: Any = None


def load_video(video: Any, **kwargs: Any) -> Any:
    """`linvt_hf.processing.video_io.load_video`, imported on first use (decoding pulls in PyAV)."""
    from .video_io import load_video as _load_video

    return _load_video(video, **kwargs)


def detect_shots(video: Any, **kwargs: Any) -> list[tuple[int, int]]:
    """`linvt_hf.processing.shots.detect_shots`, imported on first use (AutoShot pulls in its network)."""
    from .shots import detect_shots as _detect_shots

    return _detect_shots(video, **kwargs)


def make_video_list(videos: Any) -> list[Any]:
    """Flatten the `videos` argument of a processor call into a list with one entry per video.

    A video is a path / URL (`str`, `os.PathLike`), `bytes`, a binary file object, an array or tensor (4-D
    [T, H, W, 3]; 2-D / 3-D: one frame [H, W, 3] / [H, W], or a grayscale video [T, H, W], see
    `linvt_hf.processing.video_io`), a list of frames (PIL images, [H, W, 3] / [H, W] arrays, or image file paths
    such as `["f0.jpg", "f1.jpg"]`), a decoded video (anything with `frames` and `frame_indices`), or a spec dict
    `{"video" | "path" | "url": source, **options}` where options are any of `LinVTVideoOptions`. Lists and tuples
    of videos may be nested (one list per prompt); a 5-D array is a batch. `linvt_hf.processing.inputs` states the
    rules that tell a list of frames from a list of videos.

    Returns:
        `list`: the videos in order (depth-first), each in one of the forms above.

    Raises:
        ValueError: an array of another rank, or a list mixing image paths with videos.
        TypeError: an input of an unsupported type.
    """
    if videos is None:
        return []
    if isinstance(videos, (str, bytes, bytearray, os.PathLike, dict)) or hasattr(videos, "read"):
        return [videos]
    if hasattr(videos, "frames") and hasattr(videos, "frame_indices"):
        return [videos]
    ndim = getattr(videos, "ndim", None)
    if ndim is not None:
        if ndim in (2, 3, 4):
            return [videos]
        if ndim == 5:
            return list(videos)
        raise ValueError(
            "a video array must be [T, H, W, 3] (or one frame [H, W, 3] / [H, W], or [B, T, H, W, 3] for a batch), "
            f"got shape {tuple(videos.shape)}"
        )
    if isinstance(videos, (list, tuple)):
        if is_frame_list(videos):
            return [list(videos)]
        flat: list[Any] = []
        for item in videos:
            flat.extend(make_video_list(item))
        return flat
    raise TypeError(f"unsupported video input of type {type(videos).__name__}")


def split_video_spec(video: Any) -> tuple[Any, dict[str, Any]]:
    """Split a video spec dict into its source and its sampling options; other inputs have no options.

    Raises:
        ValueError: a dict without any of the keys "video", "path", "url", or with unknown option keys.
    """
    if not isinstance(video, dict):
        return video, {}
    sources = [key for key in VIDEO_SOURCE_KEYS if video.get(key) is not None]
    if len(sources) != 1:
        raise ValueError(
            f"a video item needs exactly one of {VIDEO_SOURCE_KEYS} to locate the video, got keys {sorted(video)}"
        )
    options = {key: value for key, value in video.items() if key not in VIDEO_SOURCE_KEYS and key != "type"}
    unknown = sorted(set(options) - set(VIDEO_OPTIONS))
    if unknown:
        raise ValueError(f"unknown video item option(s) {unknown}; allowed: {VIDEO_OPTIONS}")
    check_video_options(options, prefix="video item option ")
    return video[sources[0]], options


def check_video_options(options: dict[str, Any], prefix: str = "") -> None:
    """Types and ranges of video options (`LinVTVideoOptions`), each named in the error (`prefix` + name)."""
    sampling = ("num_frames", "fps", "min_frames", "max_frames", "start", "end")
    check_sampling_options(**{key: options.get(key) for key in sampling}, prefix=prefix)
    check_rate(prefix + "fps_hint", options.get("fps_hint"))
    check_count(prefix + "max_side", options.get("max_side"))
    if options.get("shots") is not None:
        check_shots(options["shots"], prefix + "shots")
    if options.get("shot_detector") is not None:
        _check_detector(options["shot_detector"], prefix + "shot_detector")


def clip_ids_for(frame_indices: np.ndarray, shots: Sequence[tuple[int, int]] | None) -> np.ndarray:
    """Shot of each sampled frame, renumbered 0, 1, ... in temporal order among the shots that were sampled.

    Args:
        frame_indices (`np.ndarray`): int [S], sorted source frame indices.
        shots: half-open frame ranges `(first, end)`, or `None` (the whole video is one clip).

    Returns:
        `np.ndarray`: int64 [S].
    """
    if not shots:
        return np.zeros(len(frame_indices), dtype=np.int64)
    starts = np.array(sorted(int(first) for first, _ in shots), dtype=np.int64)
    shot_of_frame = np.searchsorted(starts, np.asarray(frame_indices, dtype=np.int64), side="right") - 1
    # Renumber so that ids are small and consecutive whatever part of the video was sampled.
    _, clip_ids = np.unique(shot_of_frame, return_inverse=True)
    return clip_ids.astype(np.int64)


def pad_clips_to_multiple(sampled: SampledVideo, multiple: int) -> SampledVideo:
    """Repeat the last frame of every clip until the clip's frame count is a multiple of `multiple`.

    Qwen2-VL embeds video in temporal patches of `multiple` consecutive frames. Padding each clip (rather than only
    the end of the video, as Qwen2-VL's own video processor does) keeps every temporal patch inside one shot, so that
    each LinVT time step has one clip id. For a single-shot video this is exactly Qwen2-VL's rule: an odd frame count
    gets its last frame repeated.
    """
    if multiple <= 1:
        return sampled
    keep: list[int] = []
    bounds = np.flatnonzero(np.diff(sampled.clip_ids)) + 1
    for run in np.split(np.arange(len(sampled.clip_ids)), bounds):
        keep.extend(run.tolist())
        keep.extend([int(run[-1])] * (-len(run) % multiple))
    order = np.asarray(keep, dtype=np.int64)
    return SampledVideo(
        frames=sampled.frames[order],
        frame_indices=sampled.frame_indices[order],
        timestamps=sampled.timestamps[order],
        clip_ids=sampled.clip_ids[order],
        source=sampled.source,
    )


class LinVTVideoProcessor(VideoProcessorMixin):
    r"""
    Decodes and samples videos and produces the per-time-step pixel values of a LinVT model's backbone.

    Frames are sampled by count (`num_frames`, taken as asked) or rate (`fps`, clamped to `[min_frames,
    max_frames]`). With a shot detector (`"autoshot"`, `"histogram"`), the video is first cut into shots and the frame budget is shared between
    shots (at least one frame per shot, see `linvt_hf.processing.sampling.sample_frame_indices`); each frame carries
    the id of its shot (`video_clip_ids`). `shot_detector="none"` samples the whole video uniformly as one clip.

    Each frame is then resized, rescaled and normalised with the parameters of the backbone's image processor, so its
    pixel values are what the backbone's vision encoder expects for an image of that size (`frame_resize` and
    `frame_output`, a family's `FrameLayout`, say how). Encoded video is decoded straight to `decode_size`, so no full-size
    frame is held; frames given as arrays, PIL images or image files are processed exactly as the backbone's image
    processor processes those images.

    Video options (`LinVTVideoOptions`: `num_frames`, `fps`, `min_frames`, `max_frames`, `shot_detector`, `max_side`,
    `start`, `end`, `shots`, `fps_hint`) are this processor's defaults, a call's options, or one video's (a spec dict),
    and are checked where they are given: a wrong type is a TypeError (`num_frames=2.5` or `"8"`), a value out of
    range (NaN and infinities included) a ValueError, each naming the option and the value.

    Args:
        frame_resize (`"smart"` or `"fixed"`, defaults to `"fixed"`), frame_output (`"patches"` or `"frames"`, defaults to
            `"frames"`): how the backbone resizes and lays out frames (see `FrameLayout`).
        num_frames (`int`, *optional*): frames to sample per video; overrides `fps`.
        fps (`float`, *optional*, defaults to 1.0): frames to sample per second of video when `num_frames` is unset.
        min_frames (`int`, defaults to 8) / max_frames (`int`, defaults to 64): bounds on the sampled frame count.
        shot_detector (`str`, defaults to `"autoshot"`): `"autoshot"` (AutoShot where a cheap pass finds a possible
            transition), `"autoshot_full"` (AutoShot on every frame), `"histogram"` or `"none"`.
        max_side (`int`, *optional*): longest frame side at decode time; the backbone's resize then starts from that
            size. `None`: encoded video is decoded at `decode_size` (no larger than the backbone needs, with the same
            final size and token grid as a full-size decode); frames given as arrays or images are used as given.
        start (`float`, *optional*), end (`float`, *optional*): the part of each video to sample, in seconds.
        shots (`list[tuple[int, int]]`, *optional*): shots of every video (half-open frame ranges), instead of
            detecting them; mostly useful per video, in a spec dict.
        fps_hint (`float`, *optional*): frame rate of frames given as arrays or images.
        size (`dict`): the backbone image processor's `size` (`{"shortest_edge", "longest_edge"}` as min/max pixels
            for Qwen2-VL, `{"height", "width"}` otherwise).
        resample, do_resize, do_rescale, rescale_factor, do_normalize, image_mean, image_std: as in the backbone's
            image processor.
        patch_size, temporal_patch_size, merge_size (`int`, *optional*): Qwen2-VL patching parameters.
    """

    valid_kwargs = LinVTVideosKwargs
    # Class-level defaults: `to_dict` drops a None value unless the class default differs, so these must match
    # `__init__` for a saved `fps=None` or `max_frames=None` to survive a save/load round trip.
    num_frames = None
    fps = 1.0
    min_frames = 8
    max_frames = 64
    shot_detector = "autoshot"
    max_side = None
    start = None
    end = None
    shots = None
    fps_hint = None
    model_input_names = ["pixel_values_videos", "video_grid_thw", "video_frame_mask", "video_clip_ids"]
    metadata_names = ["video_timestamps", "video_frame_indices", "video_temporal_patch_frame_indices"]

    def __init__(
        self,
        frame_resize: Literal["smart", "fixed"] = "fixed",
        frame_output: Literal["patches", "frames"] = "frames",
        num_frames: int | None = None,
        fps: float | None = 1.0,
        min_frames: int = 8,
        max_frames: int | None = 64,
        shot_detector: str = "autoshot",
        max_side: int | None = None,
        start: float | None = None,
        end: float | None = None,
        shots: list | None = None,
        fps_hint: float | None = None,
        size: dict[str, int] | None = None,
        resample: int = PILImageResampling.BICUBIC,
        do_resize: bool = True,
        do_rescale: bool = True,
        rescale_factor: float = 1 / 255,
        do_normalize: bool = True,
        image_mean: Sequence[float] = OPENAI_CLIP_MEAN,
        image_std: Sequence[float] = OPENAI_CLIP_STD,
        patch_size: int | None = None,
        temporal_patch_size: int | None = None,
        merge_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("video_processor_type", None)
        kwargs.pop("image_processor_type", None)
        super().__init__(**kwargs)
        if frame_resize not in ("smart", "fixed"):
            raise ValueError(f"frame_resize must be 'smart' or 'fixed', got {frame_resize!r}")
        if frame_output not in ("patches", "frames"):
            raise ValueError(f"frame_output must be 'patches' or 'frames', got {frame_output!r}")
        self.frame_resize = frame_resize
        self.frame_output = frame_output
        # Each default on its own (a default min_frames above max_frames is fine while num_frames is set).
        for name, value in (("num_frames", num_frames), ("min_frames", min_frames), ("max_frames", max_frames)):
            check_count(name, value)
        check_rate("fps", fps)
        self.num_frames = num_frames
        self.fps = fps
        self.min_frames = min_frames
        self.max_frames = max_frames
        self.shot_detector = _check_detector(shot_detector)
        self.max_side = check_count("max_side", max_side)
        check_video_options({"start": start, "end": end, "shots": shots, "fps_hint": fps_hint})
        self.start, self.end, self.fps_hint = start, end, fps_hint
        self.shots = None if shots is None else [list(shot) for shot in check_shots(shots)]
        self.size = dict(size) if size is not None else self._default_size()
        self.resample = int(resample)
        self.do_resize = do_resize
        self.do_rescale = do_rescale
        self.rescale_factor = rescale_factor
        self.do_normalize = do_normalize
        self.image_mean = list(image_mean) if isinstance(image_mean, (list, tuple)) else image_mean
        self.image_std = list(image_std) if isinstance(image_std, (list, tuple)) else image_std
        is_patches = self.layout.output == "patches"
        self.patch_size = patch_size if patch_size is not None or not is_patches else 14
        self.temporal_patch_size = temporal_patch_size if temporal_patch_size is not None or not is_patches else 2
        self.merge_size = merge_size if merge_size is not None or not is_patches else 2

    @property
    def layout(self) -> FrameLayout:
        return FrameLayout(resize=self.frame_resize, output=self.frame_output)

    @property
    def frames_per_step(self) -> int:
        """Frames per LinVT time step: the temporal patch size for patch layouts, else 1."""
        return int(self.temporal_patch_size or 1) if self.layout.output == "patches" else 1

    def _default_size(self) -> dict[str, int]:
        if self.layout.resize == "smart":
            return {"shortest_edge": 56 * 56, "longest_edge": 28 * 28 * 1280}
        return {"height": 384, "width": 384}

    @classmethod
    def from_image_processor(cls, image_processor: Any, layout: FrameLayout, **kwargs: Any) -> LinVTVideoProcessor:
        """Build a video processor that prepares frames exactly like `image_processor` prepares images.

        Args:
            image_processor: the backbone's image processor (e.g. `Qwen2VLImageProcessorPil`).
            layout (`FrameLayout`): how the backbone resizes and lays out frames (its processor's `frame_layout`).
            kwargs: other `LinVTVideoProcessor` arguments (sampling options); they override copied values.
        """
        copied: dict[str, Any] = {}
        for key in layout.image_processor_keys:
            value = getattr(image_processor, key, None)
            if value is None:
                continue
            if key == "size":
                value = {k: v for k, v in dict(value).items() if v is not None}
            copied[key] = value
        if layout.square_size_key is not None:
            side = dict(getattr(image_processor, layout.square_size_key))["longest_edge"]
            copied["size"] = {"height": side, "width": side}
        return cls(frame_resize=layout.resize, frame_output=layout.output, **{**copied, **kwargs})

    # ---------------------------------------------------------------- decoding and sampling

    def sample(self, video: Any, **options: Unpack[LinVTVideoOptions]) -> SampledVideo:
        """Decode one video and sample its frames (shot-aware unless the detector is `"none"`).

        `options` (any of `LinVTVideoOptions`) override the processor's defaults; options in a spec dict override
        both. The frame count options `num_frames` / `fps` go together: whichever level sets one of them decides both (a count wins
        over a rate). Pre-decoded frames have no frame rate unless the spec gives `fps_hint`: they are then sampled
        by count (or all kept, within `[min_frames, max_frames]`) and timed at one frame per second.

        Raises:
            TypeError, ValueError: a sampling option of the wrong type or out of range (named), or bad frames.
            FileNotFoundError: a missing video (or image) file.
            VideoDecodeError: a file that cannot be decoded or holds no video stream.

        Returns:
            `SampledVideo` with S frames, S >= 1; for patch layouts each clip holds a multiple of
            `temporal_patch_size` frames (see `pad_clips_to_multiple`).
        """
        unknown = sorted(set(options) - set(VIDEO_OPTIONS))
        if unknown:
            raise TypeError(f"unknown video option(s) {unknown}; allowed: {VIDEO_OPTIONS}")
        check_video_options(options)
        call = {key: value for key, value in options.items() if value is not None}
        source, options = split_video_spec(video)
        for key in ("start", "end", "shots", "fps_hint", "max_side"):  # per video: the spec's, else the call's
            if key in call and key not in options:
                options[key] = call[key]
        for key in ("start", "end", "shots", "fps_hint"):  # else the processor's default
            if key not in options and getattr(self, key) is not None:
                options[key] = getattr(self, key)
        num_frames, fps = call.get("num_frames"), call.get("fps")
        min_frames, max_frames = call.get("min_frames"), call.get("max_frames")
        shot_detector, max_side = call.get("shot_detector"), options.get("max_side")
        if hasattr(source, "read"):
            # Shot detection and decoding both read the stream: keep the bytes.
            source = source.read()
        _check_exists(source)
        num_frames, fps = self._frame_count_options(options, num_frames, fps)
        fps_hint = options.get("fps_hint")
        if num_frames is not None or (_is_frames(source) and fps_hint is None):
            # A frame count wins over a rate; frames without a known rate cannot be sampled by rate.
            fps = None
        detector = _check_detector(options.get("shot_detector", shot_detector or self.shot_detector))

        shots = options.get("shots")
        if hasattr(source, "frames") and hasattr(source, "frame_indices"):
            decoded = source
        else:
            if shots is None and detector != "none":
                shots = detect_shots(source, detector=detector)
            max_side = max_side if max_side is not None else self.max_side
            # Encoded video is decoded no larger than needed (see `decode_size`); frames given as images are
            # processed exactly as the backbone processes those images.
            size = self.decode_size if max_side is None and not _is_frames(source) else None
            decoded = load_video(
                source,
                num_frames=num_frames,
                fps=fps,
                # The processor's default bounds shape rate-based counts; an explicit frame count is taken as asked
                # (only bounds given explicitly with it still apply).
                min_frames=options.get(
                    "min_frames", min_frames if min_frames is not None else 1 if num_frames else self.min_frames
                ),
                max_frames=options.get(
                    "max_frames", max_frames if max_frames is not None else None if num_frames else self.max_frames
                ),
                start=options.get("start"),
                end=options.get("end"),
                shots=shots,
                size=size,
                max_side=max_side,
                fps_hint=fps_hint,
            )
        frame_indices = np.asarray(decoded.frame_indices, dtype=np.int64)
        sampled = SampledVideo(
            frames=np.asarray(decoded.frames),
            frame_indices=frame_indices,
            timestamps=_timestamps(decoded.timestamps, frame_indices),
            clip_ids=clip_ids_for(frame_indices, shots),
            source=source,
        )
        return pad_clips_to_multiple(sampled, self.frames_per_step)

    def _frame_count_options(
        self, options: dict[str, Any], num_frames: int | None, fps: float | None
    ) -> tuple[int | None, float | None]:
        """(num_frames, fps): the spec's if it sets either, else the call's if it sets either, else the defaults."""
        for given in (options, {"num_frames": num_frames, "fps": fps}):
            given = {key: given.get(key) for key in ("num_frames", "fps") if given.get(key) is not None}
            if given:
                return given.get("num_frames"), given.get("fps")
        return self.num_frames, self.fps

    # ---------------------------------------------------------------- pixels

    def target_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) that a frame of `height x width` is resized to, as the backbone resizes an image."""
        if not self.do_resize:
            return height, width
        if self.layout.resize == "smart":
            return smart_resize(
                height,
                width,
                factor=self.patch_size * self.merge_size,
                min_pixels=self.size["shortest_edge"],
                max_pixels=self.size["longest_edge"],
            )
        if "height" not in self.size or "width" not in self.size:
            raise ValueError(f"frame_resize='fixed' needs size={{'height', 'width'}}, got {self.size}")
        return self.size["height"], self.size["width"]

    def decode_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) to decode a `height x width` video at when `max_side` is unset.

        The rule: with `target = target_size(height, width)`, the size the backbone resizes a full-size frame to,
        the decoder (swscale, bicubic) shrinks the frames to the first of

        1. the smallest aspect-preserving downscale that is at least `target` in both dimensions (`cover_size`;
           never an enlargement), so that the backbone's resize (PIL, its `resample` filter) still does the last
           step;
        2. `target` itself;
        3. the full size,

        that the backbone's resize maps to `target` again. So the frames keep exactly the final size and token grid
        of a full-size decode, and no frame larger than needed is held. 1 always holds for fixed-size layouts; for
        Qwen2-VL's smart resize, whose rounding depends on the input size, 2 takes over in the remaining cases
        (3 only occurs with pixel budgets of a few patches). Pixel values differ from resizing the full-size frame
        in one step by the decoder's filter: about 1.2 to 1.5 levels of 255 on average on real footage.
        """
        target = self.target_size(height, width)
        for size in (cover_size(height, width, target), target):
            if self.target_size(*size) == target:
                return size
        return height, width

    def frames_to_pixels(self, frames: np.ndarray) -> np.ndarray:
        """Resize, rescale and normalise frames like the backbone's (PIL) image processor does.

        Args:
            frames (`np.ndarray`): uint8 [S, H, W, 3].

        Returns:
            `np.ndarray`: float32 [S, 3, H', W'] with (H', W') = `target_size(H, W)`.
        """
        height, width = frames.shape[1:3]
        new_size = self.target_size(height, width)
        fmt = ChannelDimension.FIRST
        # Filled in place: stacking a list of per-frame results would hold the pixels twice.
        out = np.empty((len(frames), 3, *new_size), dtype=np.float32)
        for index, frame in enumerate(frames):
            image = np.ascontiguousarray(np.moveaxis(frame[..., :3], -1, 0))
            if self.do_resize and new_size != (height, width):
                image = resize(
                    image,
                    size=new_size,
                    resample=PILImageResampling(self.resample),
                    data_format=fmt,
                    input_data_format=fmt,
                )
            if self.do_rescale:
                image = rescale(image, self.rescale_factor, data_format=fmt, input_data_format=fmt)
            if self.do_normalize:
                image = normalize(image, self.image_mean, self.image_std, data_format=fmt, input_data_format=fmt)
            out[index] = image
        return out

    def patchify(self, pixels: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int]]:
        """Qwen2-VL video patches: consecutive frames form temporal patches.

        Args:
            pixels (`np.ndarray`): float32 [S, C, H, W], S a multiple of `temporal_patch_size`.

        Returns:
            `tuple`: patches float32 [t*h*w, C*tps*p*p] and the grid (t, h, w), with the same element order as
            `Qwen2VLVideoProcessor.patchify` (and as the image processor for a frame repeated `tps` times).
        """
        tps, p, m = self.temporal_patch_size, self.patch_size, self.merge_size
        frames, channels, height, width = pixels.shape
        grid_t, grid_h, grid_w = frames // tps, height // p, width // p
        patches = pixels.reshape(grid_t, tps, channels, grid_h // m, m, p, grid_w // m, m, p)
        # -> (t, h/m, w/m, m, m, C, tps, p, p)
        patches = patches.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
        return patches.reshape(grid_t * grid_h * grid_w, channels * tps * p * p), (grid_t, grid_h, grid_w)

    # ---------------------------------------------------------------- batch

    def preprocess(self, videos: Any, **kwargs: Any) -> BatchFeature:
        """Decode, sample and convert a batch of videos.

        Args:
            videos: one video or a (nested) list of videos, see `make_video_list`.
            kwargs: video options (`LinVTVideoOptions`) for every video of this call; `return_tensors` as usual;
                `return_metadata=True` adds each step's timestamps and source frame indices. Other video kwargs
                (transformers' `VideosKwargs`) are ignored.

        Returns:
            `BatchFeature` with, for V videos of T_v time steps each (T_max = max T_v):

            - **pixel_values_videos** -- patch layout: float32 [sum_v T_v*h_v*w_v, C*tps*p*p]; frame layout:
              float32 [sum_v T_v, 3, H, W]. Videos are concatenated in order.
            - **video_grid_thw** -- patch layout only: int64 [V, 3], (T_v, h_v, w_v) in patches.
            - **video_frame_mask** -- bool [V, T_max]: True for the T_v steps of video v (frames, or temporal patches
              for Qwen2-VL), then False (padding).
            - **video_clip_ids** -- int64 [V, T_max], shot of each step (0 at padding).

            With `return_metadata=True` (metadata for people, not model inputs):

            - **video_timestamps** -- float32 [V, T_max], seconds; the mean over the frames of a temporal patch
              (0 at padding).
            - **video_frame_indices** -- int64 [V, T_max], source index of the (first) frame of each step
              (-1 at padding).
            - **video_temporal_patch_frame_indices** -- patch layout only: int64 [V, T_max, tps], source index of
              every frame of each temporal patch (a repeated frame appears twice; -1 at padding).
        """
        return_tensors = kwargs.pop("return_tensors", None)
        return_metadata = bool(kwargs.pop("return_metadata", False))
        options = {key: kwargs[key] for key in VIDEO_OPTIONS if kwargs.get(key) is not None}
        sampled = [self.sample(video, **options) for video in make_video_list(videos)]
        if not sampled:
            raise ValueError("no video to process: `videos` is empty")
        data = self._pixels(sampled)
        data.update(self._step_metadata(sampled, return_metadata))
        return BatchFeature(data=data, tensor_type=return_tensors)

    def __call__(self, videos: Any, **kwargs: Any) -> BatchFeature:
        return self.preprocess(videos, **kwargs)

    def _pixels(self, sampled: list[SampledVideo]) -> dict[str, np.ndarray]:
        # One video at a time (patchified right away), and no concatenation copy for a single video.
        values, grids = [], []
        for video in sampled:
            pixels = self.frames_to_pixels(video.frames)
            if self.layout.output == "patches":
                pixels, grid = self.patchify(pixels)
                grids.append(grid)
            values.append(pixels)
        data = {"pixel_values_videos": values[0] if len(values) == 1 else np.concatenate(values)}
        if self.layout.output == "patches":
            data["video_grid_thw"] = np.asarray(grids, dtype=np.int64)
        return data

    def _step_metadata(self, sampled: list[SampledVideo], return_metadata: bool = False) -> dict[str, np.ndarray]:
        """Per-time-step inputs (frame mask, clip ids) and, with `return_metadata`, metadata, padded to the longest
        video."""
        step = self.frames_per_step
        num_steps = np.asarray([len(video.frame_indices) // step for video in sampled], dtype=np.int64)
        t_max = int(num_steps.max())
        num_videos = len(sampled)
        mask = np.zeros((num_videos, t_max), dtype=bool)
        clip_ids = np.zeros((num_videos, t_max), dtype=np.int64)
        timestamps = np.zeros((num_videos, t_max), dtype=np.float32)
        patch_frames = np.full((num_videos, t_max, step), -1, dtype=np.int64)
        for i, video in enumerate(sampled):
            n = int(num_steps[i])
            mask[i, :n] = True
            clip_ids[i, :n] = video.clip_ids.reshape(n, step)[:, 0]
            timestamps[i, :n] = video.timestamps.reshape(n, step).mean(axis=1)
            patch_frames[i, :n] = video.frame_indices.reshape(n, step)
        out = {"video_frame_mask": mask, "video_clip_ids": clip_ids}
        if return_metadata:
            out["video_timestamps"] = timestamps
            out["video_frame_indices"] = patch_frames[:, :, 0].copy()
            if self.layout.output == "patches":
                out["video_temporal_patch_frame_indices"] = patch_frames
        return out

    def to_dict(self) -> dict[str, Any]:
        output = super().to_dict()
        output.pop("_valid_kwargs_names", None)
        return output


def cover_size(height: int, width: int, target: tuple[int, int]) -> tuple[int, int]:
    """The smallest aspect-preserving downscale of `height x width` that is at least `target` (height, width) in both
    dimensions; `(height, width)` itself when covering `target` needs no shrinking."""
    scale = max(target[0] / height, target[1] / width)
    if scale >= 1.0:
        return height, width
    # Rounding up (past float noise) keeps both sides >= the target; scale < 1 keeps them <= the source.
    return (
        max(target[0], math.ceil(height * scale - 1e-6)),
        max(target[1], math.ceil(width * scale - 1e-6)),
    )


def _is_frames(source: Any) -> bool:
    """Pre-decoded frames (array, tensor, list of images) rather than an encoded video."""
    return not isinstance(source, (str, bytes, bytearray, memoryview, os.PathLike)) and not hasattr(source, "frames")


def _check_exists(source: Any) -> None:
    if isinstance(source, (str, os.PathLike)) and not is_url(source) and not os.path.exists(source):
        raise FileNotFoundError(f"video file not found: {os.fspath(source)!r}")


def _timestamps(timestamps: Any, frame_indices: np.ndarray) -> np.ndarray:
    """Timestamps in seconds; frames of unknown rate (NaN) are timed at one frame per second, by frame index."""
    timestamps = np.asarray(timestamps, dtype=np.float64)
    unknown = np.isnan(timestamps)
    return np.where(unknown, frame_indices.astype(np.float64), timestamps)


def _check_detector(detector: str, name: str = "shot_detector") -> str:
    if not isinstance(detector, str) or detector not in SHOT_DETECTORS:
        raise ValueError(f"{name} must be one of {SHOT_DETECTORS}, got {detector!r}")
    return detector


__all__ = [
    "QWEN_PATCH_KEYS",
    "FrameLayout",
    "LinVTVideoProcessor",
    "LinVTVideoOptions",
    "LinVTVideosKwargs",
    "SHOT_DETECTORS",
    "VIDEO_OPTIONS",
    "check_video_options",
    "SampledVideo",
    "cover_size",
    "make_video_list",
    "split_video_spec",
]
