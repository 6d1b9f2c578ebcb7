"""Choosing which frames of a video to decode: pure functions on frame counts, no I/O.

Conventions used throughout:

* a *frame index* is a position on the video's frame grid: index `i` is the frame shown at `i / video_fps` seconds
  from the start of the stream (for constant-frame-rate video, simply the i-th frame);
* a *range* or a *shot* is a half-open interval of frame indices `[first, end)`;
* results are sorted, unique `int64` arrays. Asking for more frames than a range holds returns every frame of the
  range once: frames are never duplicated to reach a requested count.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, Literal, get_args

import numpy as np

# The shot detectors (`linvt_hf.processing.shots`): shots drive shot-aware sampling and the frames' clip ids.
ShotDetectorName = Literal["autoshot", "autoshot_full", "histogram", "none"]
SHOT_DETECTORS: tuple[str, ...] = get_args(ShotDetectorName)


# Tolerance (in frames) when converting seconds to frame positions, so that e.g. 1.0 s * 25 fps is frame 25 even if
# the float product is 24.9999999.
_EPS = 1e-6


def sample_frame_indices(
    total_frames: int,
    *,
    num_frames: int | None = None,
    fps: float | None = None,
    video_fps: float | None = None,
    min_frames: int = 1,
    max_frames: int | None = None,
    start: float | None = None,
    end: float | None = None,
    shots: Sequence[tuple[int, int]] | None = None,
) -> np.ndarray:
    """Indices of the frames to sample from a video of `total_frames` frames.

    How many frames:

    * `num_frames=n`: n frames;
    * `fps=f`: `round(seconds covered * f)` frames, i.e. about f frames per second of video (needs `video_fps`);
    * neither: every frame.

    The count is then clamped to `[min_frames, max_frames]`, and finally to the number of frames available (so
    `min_frames` cannot create frames that do not exist: a 5-frame clip sampled with `min_frames=8` gives 5 frames).
    `num_frames` and `fps` are mutually exclusive.

    Which frames: the frames available (the whole video, or `[start, end)` seconds, or the frames inside `shots`)
    are split into as many equal segments as frames requested and the frame at the centre of each segment is taken.
    This keeps sampled frames evenly spaced and away from the very first and last frames, which are often black.

    Shot-aware sampling (`shots`): the count is shared between the shots in proportion to their length (largest
    remainder rounding) with at least one frame per shot, so short shots are never missed, and never more frames
    than a shot holds. If fewer frames are requested than there are shots, the longest shots get one frame each
    (ties go to the earlier shot); frames outside every shot are never sampled.

    Args:
        total_frames (`int`): number of frames in the video (>= 1).
        num_frames (`int`, *optional*): number of frames to sample (>= 1).
        fps (`float`, *optional*): frames to sample per second of video.
        video_fps (`float`, *optional*): frame rate of the video; required by `fps`, `start` and `end`.
        min_frames (`int`, defaults to 1): lower bound on the count.
        max_frames (`int`, *optional*): upper bound on the count.
        start (`float`, *optional*): start of the range to sample, in seconds (default: 0).
        end (`float`, *optional*): end of the range to sample, in seconds, exclusive (default: end of the video).
        shots (`Sequence[tuple[int, int]]`, *optional*): half-open frame ranges `(first, end)`, e.g. from AutoShot.
            They are clipped to `[start, end)`, must not overlap, and need not cover the whole video.

    Returns:
        `np.ndarray`: int64 [N], sorted and unique, N <= number of frames available.

    Raises:
        TypeError: an argument of the wrong type (e.g. `num_frames=2.5` or `"8"`); the message names it.
        ValueError: an argument is out of range (NaN and infinities included) or inconsistent; the message names it.
    """
    _check_arguments(total_frames, num_frames, fps, video_fps, min_frames, max_frames)
    first, stop = frame_range(total_frames, start=start, end=end, video_fps=video_fps)
    segments = [(first, stop)] if shots is None else _clip_shots(shots, first, stop)
    lengths = np.array([e - s for s, e in segments], dtype=np.int64)
    available = int(lengths.sum())

    if num_frames is not None:
        count = num_frames
    elif fps is not None:
        count = max(1, round(available / video_fps * fps))
    else:
        count = available
    count = max(count, min_frames)
    if max_frames is not None:
        count = min(count, max_frames)
    count = min(count, available)

    per_segment = allocate_frames(lengths, count)
    parts = [uniform_indices(s, e, n) for (s, e), n in zip(segments, per_segment) if n > 0]
    return np.concatenate(parts).astype(np.int64)


def uniform_indices(first: int, end: int, num_frames: int) -> np.ndarray:
    """Centres of `num_frames` equal segments of `[first, end)`; every index once if `num_frames >= end - first`.

    Returns:
        `np.ndarray`: int64 [min(num_frames, end - first)], sorted and unique.
    """
    length = end - first
    if num_frames >= length:
        return np.arange(first, end, dtype=np.int64)
    k = np.arange(num_frames, dtype=np.int64)
    # Segment k is [first + k*L/n, first + (k+1)*L/n); its centre is first + (2k+1)*L/(2n). Segments are at least one
    # frame long here, so the floors are distinct.
    return first + ((2 * k + 1) * length) // (2 * num_frames)


def allocate_frames(lengths: Sequence[int] | np.ndarray, num_frames: int) -> np.ndarray:
    """Share `num_frames` between segments of the given lengths (see `sample_frame_indices` for the rules).

    Args:
        lengths: int [K], every length >= 1.
        num_frames: total to share, 0 <= num_frames <= sum(lengths).

    Returns:
        `np.ndarray`: int64 [K], counts summing to `num_frames`, each <= its segment's length.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    counts = np.zeros(len(lengths), dtype=np.int64)
    if num_frames <= 0:
        return counts
    if num_frames < len(lengths):
        # Stable sort on -length: the longest shots first, earlier shots first among equals.
        counts[np.argsort(-lengths, kind="stable")[:num_frames]] = 1
        return counts

    quota = num_frames * lengths / lengths.sum()
    counts = np.minimum(np.maximum(1, np.floor(quota).astype(np.int64)), lengths)
    # Largest remainder: hand out what is missing to the segments furthest below their quota, and take back any
    # excess (created by the one-per-segment floor) from those furthest above it.
    while counts.sum() < num_frames:
        deficit = np.where(counts < lengths, quota - counts, -np.inf)
        counts[int(np.argmax(deficit))] += 1
    while counts.sum() > num_frames:
        surplus = np.where(counts > 1, counts - quota, -np.inf)
        counts[int(np.argmax(surplus))] -= 1
    return counts


def frame_range(
    total_frames: int, *, start: float | None = None, end: float | None = None, video_fps: float | None = None
) -> tuple[int, int]:
    """The half-open range of frame indices shown during `[start, end)` seconds.

    Frame i is on screen during `[i / video_fps, (i + 1) / video_fps)`, so the range is
    `[floor(start * video_fps), ceil(end * video_fps))`, clipped to the video and never empty.

    Returns:
        `tuple[int, int]`: `(first, end)` with `0 <= first < end <= total_frames`.
    """
    if start is None and end is None:
        return 0, total_frames
    start, end = check_seconds("start", start), check_seconds("end", end, positive=True)
    check_rate("video_fps", video_fps)
    if video_fps is None:
        raise ValueError("video_fps is required to sample by time (start/end); pass the video's frame rate")
    if start is not None and end is not None and start >= end:
        raise ValueError(f"start must be < end, got start={start} and end={end}")

    first = 0 if start is None else math.floor(start * video_fps + _EPS)
    stop = total_frames if end is None else min(total_frames, math.ceil(end * video_fps - _EPS))
    if first >= total_frames:
        duration = total_frames / video_fps
        raise ValueError(f"start={start} s is at or past the end of the video ({duration:.3f} s)")
    return first, max(stop, first + 1)


def _clip_shots(shots: Sequence[tuple[int, int]], first: int, stop: int) -> list[tuple[int, int]]:
    """Validate shots, sort them and clip them to `[first, stop)`, dropping the ones left empty."""
    ordered = check_shots(shots)
    clipped = [(max(s, first), min(e, stop)) for s, e in ordered]
    clipped = [(s, e) for s, e in clipped if s < e]
    if not clipped:
        raise ValueError(f"shots: no shot overlaps the frames to sample [{first}, {stop})")
    return clipped


def check_shots(shots: Any, name: str = "shots") -> list[tuple[int, int]]:
    """Shots as sorted `(first, end)` int pairs: half-open, non-empty, non-overlapping frame ranges.

    Raises:
        TypeError: not a sequence of pairs of integers; the message names `name` and the offending value.
        ValueError: an empty or negative range, or overlapping ranges.
    """
    if isinstance(shots, (str, bytes)) or not isinstance(shots, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of (first, end) frame ranges, got {shots!r}")
    ordered = sorted(_check_shot(shot, name) for shot in shots)
    for s, e in ordered:
        if s < 0 or e <= s:
            raise ValueError(f"{name} must be half-open frame ranges (first, end) with 0 <= first < end, got {(s, e)}")
    for (_, e0), (s1, _) in zip(ordered, ordered[1:]):
        if s1 < e0:
            raise ValueError(f"{name} must not overlap, got a shot ending at {e0} and one starting at {s1}")
    return ordered


def _check_shot(shot: Any, name: str) -> tuple[int, int]:
    """One shot as `(first, end)` ints; a wrong type (not a pair, non-integer bounds) is a TypeError naming it."""
    if isinstance(shot, (str, bytes)) or not isinstance(shot, (Sequence, np.ndarray)) or len(shot) != 2:
        raise TypeError(f"{name} must be (first, end) pairs of frame indices, got {shot!r}")
    if any(isinstance(bound, bool) or not isinstance(bound, (int, np.integer)) for bound in shot):
        raise TypeError(f"{name} must hold integer frame indices, got {tuple(shot)!r}")
    return int(shot[0]), int(shot[1])


def _check_arguments(
    total_frames: int,
    num_frames: int | None,
    fps: float | None,
    video_fps: float | None,
    min_frames: int,
    max_frames: int | None,
) -> None:
    check_count("total_frames", total_frames)
    check_sampling_options(num_frames=num_frames, fps=fps, min_frames=min_frames, max_frames=max_frames)
    check_rate("video_fps", video_fps)
    if num_frames is not None and fps is not None:
        raise ValueError("num_frames and fps are mutually exclusive: pass one of them")
    if fps is not None and video_fps is None:
        raise ValueError("video_fps is required to sample by fps; pass the video's frame rate")


# ----------------------------------------------------------------------------------------------------------------
# Option checks, shared by every entry point that takes sampling options (load_video, the video processor's
# defaults, call kwargs and spec dicts), so that a bad value is reported where it enters, naming it.


def check_count(name: str, value: Any, minimum: int = 1) -> int | None:
    """`value` as an int >= `minimum` (None passes through).

    Raises:
        TypeError: not an integer (a bool, a float such as 2.5 or 8.0, a string such as "8").
        ValueError: below `minimum`.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_seconds(name: str, value: Any, *, positive: bool = False) -> float | None:
    """`value` as a finite float, >= 0 (or > 0 when `positive`); None passes through.

    Raises:
        TypeError: not a real number (a string, a bool, ...).
        ValueError: NaN, infinite, negative (or zero when `positive`).
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {number}")
    if number < 0 or (positive and number == 0):
        raise ValueError(f"{name} must be {'> 0' if positive else '>= 0'}, got {number}")
    return number


def check_rate(name: str, value: Any) -> float | None:
    """A frame rate (`fps`, `video_fps`, `fps_hint`): a finite number > 0, or None."""
    return check_seconds(name, value, positive=True)


def check_sampling_options(
    *,
    num_frames: Any = None,
    fps: Any = None,
    min_frames: Any = None,
    max_frames: Any = None,
    start: Any = None,
    end: Any = None,
    prefix: str = "",
) -> dict[str, Any]:
    """Check the types and ranges of sampling options, each on its own (see `sample_frame_indices`).

    Args:
        prefix: prepended to each option's name in error messages (e.g. "video item option ").

    Returns:
        `dict`: the options given (not None), as int / float.

    Raises:
        TypeError: an option of the wrong type; the message names it and the value.
        ValueError: an option out of range (NaN and infinities included); the message names it and the value.
    """
    checked = {
        "num_frames": check_count(prefix + "num_frames", num_frames),
        "fps": check_rate(prefix + "fps", fps),
        "min_frames": check_count(prefix + "min_frames", min_frames),
        "max_frames": check_count(prefix + "max_frames", max_frames),
        "start": check_seconds(prefix + "start", start),
        "end": check_seconds(prefix + "end", end, positive=True),
    }
    low, high = checked["min_frames"], checked["max_frames"]
    if low is not None and high is not None and high < low:
        raise ValueError(f"{prefix}max_frames must be >= min_frames ({low}), got {high}")
    return {key: value for key, value in checked.items() if value is not None}
