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
from collections.abc import Sequence

import numpy as np


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
        ValueError: an argument is out of range or inconsistent; the message names it.
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
    if video_fps is None:
        raise ValueError("video_fps is required to sample by time (start/end); pass the video's frame rate")
    if start is not None and start < 0:
        raise ValueError(f"start must be >= 0 seconds, got {start}")
    if start is not None and end is not None and start >= end:
        raise ValueError(f"start must be < end, got start={start} and end={end}")
    if end is not None and end <= 0:
        raise ValueError(f"end must be > 0 seconds, got {end}")

    first = 0 if start is None else math.floor(start * video_fps + _EPS)
    stop = total_frames if end is None else min(total_frames, math.ceil(end * video_fps - _EPS))
    if first >= total_frames:
        duration = total_frames / video_fps
        raise ValueError(f"start={start} s is at or past the end of the video ({duration:.3f} s)")
    return first, max(stop, first + 1)


def _clip_shots(shots: Sequence[tuple[int, int]], first: int, stop: int) -> list[tuple[int, int]]:
    """Validate shots, sort them and clip them to `[first, stop)`, dropping the ones left empty."""
    ordered = sorted((int(s), int(e)) for s, e in shots)
    for s, e in ordered:
        if s < 0 or e <= s:
            raise ValueError(f"shots must be half-open frame ranges (first, end) with 0 <= first < end, got {(s, e)}")
    for (_, e0), (s1, _) in zip(ordered, ordered[1:]):
        if s1 < e0:
            raise ValueError(f"shots must not overlap, got a shot ending at {e0} and one starting at {s1}")
    clipped = [(max(s, first), min(e, stop)) for s, e in ordered]
    clipped = [(s, e) for s, e in clipped if s < e]
    if not clipped:
        raise ValueError(f"shots: no shot overlaps the frames to sample [{first}, {stop})")
    return clipped


def _check_arguments(
    total_frames: int,
    num_frames: int | None,
    fps: float | None,
    video_fps: float | None,
    min_frames: int,
    max_frames: int | None,
) -> None:
    if total_frames < 1:
        raise ValueError(f"total_frames must be >= 1, got {total_frames}")
    if num_frames is not None and num_frames <= 0:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if num_frames is not None and fps is not None:
        raise ValueError("num_frames and fps are mutually exclusive: pass one of them")
    if fps is not None and fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    if fps is not None and video_fps is None:
        raise ValueError("video_fps is required to sample by fps; pass the video's frame rate")
    if video_fps is not None and video_fps <= 0:
        raise ValueError(f"video_fps must be > 0, got {video_fps}")
    if min_frames < 1:
        raise ValueError(f"min_frames must be >= 1, got {min_frames}")
    if max_frames is not None and max_frames < min_frames:
        raise ValueError(f"max_frames must be >= min_frames ({min_frames}), got {max_frames}")
