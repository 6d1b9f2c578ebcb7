"""AutoShot where a transition is possible: the fast path of the `"autoshot"` shot detector.

A cheap pass over every decoded 48x27 frame (colour histograms, pixel differences) scores how likely each frame is
to lie in a transition; AutoShot (`linvt_hf.processing.autoshot`) then runs only on its own windows whose centre
holds such a frame. Wherever it runs, AutoShot's contract holds exactly: the window is the one full AutoShot runs
there (100 frames with stride 50, the same padding at both ends of the video), so its probabilities are full
AutoShot's.

Cheap pass (per frame t, with 512-bin colour histograms h, 3 bits per channel, the quantisation AutoShot's own
histogram feature uses, and TV the total-variation distance):

- `cut(t) = TV(h[t], h[t + 1])`: hard cuts and flashes;
- `gradual(t) = TV(h[t - CANDIDATE_LAG], h[t + CANDIDATE_LAG])`: dissolves, fades and wipes, whose frame-to-frame
  change is small but whose change over 2 x CANDIDATE_LAG frames is not;
- `motion(t)`: the mean absolute difference of frames t and t + 1 (pixel values / 255): fast pans, on which AutoShot
  can fire while the histograms barely change;
- `candidate_score(t) = max(cut(t) / CANDIDATE_CUT_THRESHOLD, gradual(t) / CANDIDATE_GRADUAL_THRESHOLD,
  motion(t) / CANDIDATE_MOTION_THRESHOLD)`.

Window w (its centre is frames [50 w, 50 w + 50)) runs when `candidate_score >= 1` on a frame of its centre widened
by CANDIDATE_MARGIN frames on each side. The thresholds are set for recall (benchmarks/bench_autoshot.py measures,
per transition kind, that the shots equal full AutoShot's); a frame whose window does not run is taken to score 0.
When a window's first or last centre frame scores above the decision threshold, the neighbouring window runs too, so
a run of high scores (a gradual transition) is never cut short at an edge of what was scored.

Memory: frames are streamed; at most RETAINED_FRAMES + WINDOW_LENGTH decoded frames plus one chunk, and their
histograms, are held whatever the video's length (`WindowedScores.max_frames_held`), plus 4 bytes a frame of
candidate score and 4 of probability. A run of scores above the threshold longer than 100 frames that starts in a
window the cheap pass skipped could need a window no longer held: it is then scored in part, with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

from .autoshot.network import WINDOW_CONTEXT, WINDOW_LENGTH, WINDOW_STRIDE

# Set for recall on the benchmark's gradual transitions (see the module docstring and benchmarks/RESULTS.md).
CANDIDATE_CUT_THRESHOLD = 0.12
CANDIDATE_GRADUAL_THRESHOLD = 0.2
CANDIDATE_LAG = 8
# Ordinary motion in the sample videos stays below 0.025 (48x27, consecutive frames); 2-pixel pans reach 0.1.
CANDIDATE_MOTION_THRESHOLD = 0.05
CANDIDATE_MARGIN = 8
# Frames held behind the next window to decide: enough to run the three windows before it (the neighbour rule).
RETAINED_FRAMES = 3 * WINDOW_STRIDE + WINDOW_CONTEXT
_BINS = 8


@dataclass
class WindowedScores:
    """What the fast path computed for one video.

    Attributes:
        probabilities: float32 [T], AutoShot's transition probability where it ran, 0 elsewhere.
        scored: bool [T], the frames AutoShot scored (the centres of the windows it ran).
        candidate_scores: float32 [T], the cheap pass's score (>= 1 marks a possible transition).
        windows_run: sorted indices w of the AutoShot windows run (window w's centre is frames [50 w, 50 w + 50)).
        max_frames_held: the most decoded frames held at once (bounded whatever the video's length).
    """

    probabilities: np.ndarray
    scored: np.ndarray
    candidate_scores: np.ndarray
    windows_run: list[int]
    max_frames_held: int


def frame_histograms(frames: np.ndarray) -> np.ndarray:
    """L1-normalised joint RGB histograms, 3 bits per channel: uint8 [n, H, W, 3] -> float32 [n, 512]."""
    count = frames.shape[0]
    quantised = (frames >> 5).astype(np.int64)
    cells = (quantised[..., 0] * _BINS + quantised[..., 1]) * _BINS + quantised[..., 2]
    offsets = np.arange(count)[:, None] * _BINS**3
    counts = np.bincount((cells.reshape(count, -1) + offsets).ravel(), minlength=count * _BINS**3)
    return (counts.reshape(count, _BINS**3) / cells[0].size).astype(np.float32)


def _motion(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Mean absolute difference of matching frames of two uint8 [n, H, W, 3] arrays, in [0, 1]: [n]."""
    return np.abs(first.astype(np.int16) - second).mean(axis=(1, 2, 3)) / 255.0


def _tv(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Total-variation distance between matching rows of two [n, 512] histogram arrays: [n]."""
    return 0.5 * np.abs(first - second).sum(axis=1)


class WindowedAutoShot:
    """Run AutoShot on the windows the cheap pass selects, over a stream of 48x27 frames.

    Args:
        model: an `AutoShot` network in eval mode.
        threshold: the decision threshold (for the neighbour rule; 0.296 for the published model).
        cut_threshold, gradual_threshold, motion_threshold, lag, margin: the cheap pass (module docstring).

    Example:
        >>> scores = WindowedAutoShot(AutoShot.from_pretrained(), 0.296).run(chunks)  # chunks: uint8 [n, 27, 48, 3]
    """

    def __init__(
        self,
        model: torch.nn.Module,
        threshold: float,
        *,
        cut_threshold: float = CANDIDATE_CUT_THRESHOLD,
        gradual_threshold: float = CANDIDATE_GRADUAL_THRESHOLD,
        motion_threshold: float = CANDIDATE_MOTION_THRESHOLD,
        lag: int = CANDIDATE_LAG,
        margin: int = CANDIDATE_MARGIN,
    ) -> None:
        if not 1 <= lag <= WINDOW_CONTEXT // 2 or not 0 <= margin <= WINDOW_CONTEXT // 2:
            raise ValueError(f"lag must lie in [1, {WINDOW_CONTEXT // 2}] and margin in [0, {WINDOW_CONTEXT // 2}]")
        for name, value in [("cut_threshold", cut_threshold), ("gradual_threshold", gradual_threshold),
                            ("motion_threshold", motion_threshold)]:
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
        self.model = model
        self.threshold = threshold
        self.cut_threshold = cut_threshold
        self.gradual_threshold = gradual_threshold
        self.motion_threshold = motion_threshold
        self.lag = lag
        self.margin = margin

    @torch.inference_mode()
    def run(self, chunks: Iterable[np.ndarray]) -> WindowedScores:
        """Score a video given as consecutive chunks of frames uint8 [n_i, 27, 48, 3] (together T >= 1 frames)."""
        self._frames = np.zeros((0, 0, 0, 3), dtype=np.uint8)
        self._histograms = np.zeros((0, _BINS**3), dtype=np.float32)
        self._offset = 0  # video index of self._frames[0]
        self._decoded = 0
        self._ended = False
        self._candidate = np.zeros(4096, dtype=np.float32)  # grown by doubling; valid up to _num_scored_candidates
        self._num_scored_candidates = 0
        self._results: dict[int, np.ndarray] = {}
        self._forced: set[int] = set()
        self._next_window = 0
        max_held = 0
        for chunk in chunks:
            if len(chunk) == 0:
                continue
            chunk = np.asarray(chunk)
            histograms = frame_histograms(chunk)
            if self._decoded == 0:
                self._frames, self._histograms = chunk, histograms
            else:
                self._frames = np.concatenate([self._frames, chunk])
                self._histograms = np.concatenate([self._histograms, histograms])
            self._decoded += len(chunk)
            max_held = max(max_held, len(self._frames))
            self._score_candidates(self._decoded - self.lag)
            self._decide_windows()
            self._trim()
        if self._decoded == 0:
            raise ValueError("no frames: the video is empty")
        self._ended = True
        self._score_candidates(self._decoded)
        self._decide_windows()
        num_frames = self._decoded
        probabilities = np.zeros(num_frames, dtype=np.float32)
        scored = np.zeros(num_frames, dtype=bool)
        for window, values in self._results.items():
            start = window * WINDOW_STRIDE
            probabilities[start : start + len(values)] = values
            scored[start : start + len(values)] = True
        return WindowedScores(
            probabilities, scored, self._candidate[:num_frames].copy(), sorted(self._results), max_held
        )

    # -- the cheap pass ---------------------------------------------------------------------------------------------

    def _score_candidates(self, stop: int) -> None:
        """Candidate scores of frames [scored so far, stop): needs the histograms of frames up to stop - 1 + lag."""
        start = self._num_scored_candidates
        if stop <= start:
            return
        last = self._decoded - 1
        frames = np.arange(start, stop)
        local = lambda indices: np.clip(indices, 0, last) - self._offset  # noqa: E731
        cut = _tv(self._histograms[local(frames)], self._histograms[local(frames + 1)])
        cut[frames >= last] = 0.0  # the last frame ends nothing
        gradual = _tv(self._histograms[local(frames - self.lag)], self._histograms[local(frames + self.lag)])
        motion = _motion(self._frames[local(frames)], self._frames[local(frames + 1)])
        if stop > len(self._candidate):
            grown = np.zeros(max(stop, 2 * len(self._candidate)), dtype=np.float32)
            grown[: len(self._candidate)] = self._candidate
            self._candidate = grown
        self._candidate[start:stop] = np.maximum.reduce(
            [cut / self.cut_threshold, gradual / self.gradual_threshold, motion / self.motion_threshold]
        )
        self._num_scored_candidates = stop

    def _window_is_candidate(self, window: int) -> bool:
        start = max(0, window * WINDOW_STRIDE - self.margin)
        stop = min(self._num_scored_candidates, (window + 1) * WINDOW_STRIDE + self.margin)
        return bool((self._candidate[start:stop] >= 1.0).any())

    # -- AutoShot's windows -----------------------------------------------------------------------------------------

    def _decide_windows(self) -> None:
        while True:
            window = self._next_window
            start = window * WINDOW_STRIDE
            if self._ended:
                if start >= self._decoded:
                    return
            elif self._decoded < start + WINDOW_LENGTH - WINDOW_CONTEXT or (
                self._num_scored_candidates < start + WINDOW_STRIDE + self.margin
            ):
                return
            if window in self._forced or self._window_is_candidate(window):
                self._run_window(window)
            self._next_window += 1

    def _run_window(self, window: int) -> None:
        if window in self._results:
            return
        padded = np.arange(window * WINDOW_STRIDE, window * WINDOW_STRIDE + WINDOW_LENGTH) - WINDOW_CONTEXT
        indices = np.clip(padded, 0, self._decoded - 1)
        if indices[0] < self._offset:
            warnings.warn(
                f"AutoShot window {window} (frames from {indices[0]}) is no longer held: a run of high scores longer "
                f"than {RETAINED_FRAMES - WINDOW_LENGTH} frames is scored only in part",
                RuntimeWarning,
                stacklevel=2,
            )
            return
        device = next(self.model.parameters()).device
        frames = torch.from_numpy(self._frames[indices - self._offset])[None].to(device)
        logits = self.model(frames)[0, WINDOW_CONTEXT : WINDOW_CONTEXT + WINDOW_STRIDE]
        count = min(WINDOW_STRIDE, self._decoded - window * WINDOW_STRIDE) if self._ended else WINDOW_STRIDE
        values = torch.sigmoid(logits).float().cpu().numpy()[:count]
        self._results[window] = values
        # The neighbour rule: a run of high scores that reaches an edge of the centre continues next door.
        if values[0] > self.threshold and window > 0:
            self._run_window(window - 1)
        centre_end = window * WINDOW_STRIDE + len(values)
        if values[-1] > self.threshold and (centre_end < self._decoded or not self._ended):
            if window + 1 < self._next_window:
                self._run_window(window + 1)
            else:
                self._forced.add(window + 1)

    def _trim(self) -> None:
        """Drop the frames no window still to decide (or its neighbour rule) can need."""
        keep_from = max(0, self._next_window * WINDOW_STRIDE - RETAINED_FRAMES)
        keep_from = min(keep_from, self._num_scored_candidates - self.lag)
        drop = keep_from - self._offset
        if drop > 0:
            self._frames = self._frames[drop:]
            self._histograms = self._histograms[drop:]
            self._offset = keep_from


def candidate_scores(
    frames: np.ndarray,
    *,
    cut_threshold: float = CANDIDATE_CUT_THRESHOLD,
    gradual_threshold: float = CANDIDATE_GRADUAL_THRESHOLD,
    motion_threshold: float = CANDIDATE_MOTION_THRESHOLD,
    lag: int = CANDIDATE_LAG,
) -> np.ndarray:
    """The cheap pass over a whole video at once (`WindowedAutoShot` computes the same while streaming).

    Args:
        frames: uint8 [T, 27, 48, 3], T >= 1.

    Returns:
        float32 [T]; a frame scoring >= 1 may lie in a transition.
    """
    histograms = frame_histograms(frames)
    last = len(frames) - 1
    index = np.arange(len(frames))
    cut = _tv(histograms, histograms[np.minimum(index + 1, last)])
    gradual = _tv(histograms[np.maximum(index - lag, 0)], histograms[np.minimum(index + lag, last)])
    motion = _motion(frames, frames[np.minimum(index + 1, last)])
    return np.maximum.reduce([cut / cut_threshold, gradual / gradual_threshold, motion / motion_threshold]).astype(
        np.float32
    )
