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
- `dissolve_L(t) = D(f[t - L], f[t + L]) - 2 D(f[t], (f[t - L] + f[t + L]) / 2)`, D the mean absolute pixel
  difference: how far frames t - L .. t + L change *linearly*, as they do inside a dissolve or a fade; it finds
  dissolves between scenes of similar colours (two shots of one place), which the histograms miss, while motion,
  whose middle frame is not the mean of its ends, scores at or below 0. Two lags, CANDIDATE_DISSOLVE_LAGS with
  CANDIDATE_DISSOLVE_THRESHOLDS: 4 for short dissolves, 12 for long ones (a 30-frame dissolve changes too little in
  8 frames to stand out);
- `candidate_score(t) = max(cut(t) / CANDIDATE_CUT_THRESHOLD, gradual(t) / CANDIDATE_GRADUAL_THRESHOLD,
  motion(t) / CANDIDATE_MOTION_THRESHOLD, dissolve_L(t) / CANDIDATE_DISSOLVE_THRESHOLDS[L] for each lag L)`.

A frame of window w's centre (frames [50 w, 50 w + 50)) is *possible* when `candidate_score >= 1` within
CANDIDATE_MARGIN frames of it. The thresholds are set for recall (benchmarks/bench_autoshot.py measures, per
transition kind, that the shots equal full AutoShot's); a frame whose window does not run is taken to score 0.

AutoShot's own predictions then spare windows the cheap pass would run for nothing. A window's forward pass also
predicts its 25 context frames on each side, which are the first (or last) 25 centre frames of the neighbouring
window: a possible frame that a neighbour which ran predicts below CONTEXT_CLEAR_PROBABILITY is *cleared*. Window w
runs when a possible frame of its centre is not cleared. Windows are decided in order (window w - 1's right context
is known when w is decided); a window whose possible frames all lie in its last 25 centre frames lets window w + 1
go first when that one runs anyway (it has possible frames beyond w's right context) or holds the cheap pass's
higher peak, and then runs only if w + 1's left context does not clear its possible frames. This
drops the windows a transition near a window's edge used to add next door (the echo of the cheap pass's 8-frame
lag, a gradual transition that starts in one window and fires in the next), and nothing AutoShot fires on: where it
runs, its probabilities are full AutoShot's, and a context prediction below CONTEXT_CLEAR_PROBABILITY (a sixth of
the decision threshold) for a frame full AutoShot scores above the threshold was not seen on the benchmark's sets.
When a window's first or last centre frame scores above the decision threshold, the neighbouring window runs too, so
a run of high scores (a gradual transition) is never cut short at an edge of what was scored.

Memory: frames are streamed; at most RETAINED_FRAMES + WINDOW_LENGTH + WINDOW_CONTEXT decoded frames (the last for a
window that waits for its neighbour) plus one chunk, and their
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

from .autoshot.heap import HeapReleaser
from .autoshot.network import WINDOW_CONTEXT, WINDOW_LENGTH, WINDOW_STRIDE, precision_context

# Set for recall on the benchmark's gradual transitions (see the module docstring and benchmarks/RESULTS.md).
CANDIDATE_CUT_THRESHOLD = 0.12
CANDIDATE_GRADUAL_THRESHOLD = 0.2
CANDIDATE_LAG = 8
# Ordinary motion in the sample videos stays below 0.025 (48x27, consecutive frames); 2-pixel pans reach 0.1.
CANDIDATE_MOTION_THRESHOLD = 0.05
# Set on four long benchmark videos (benchmarks/RESULTS.md, "dissolves the histograms miss"): a 13-frame dissolve
# between two shots of one scene (AutoShot: 0.95) scores 0.027 at lag 4, a 29-frame one (AutoShot: 0.45) 0.029 at
# lag 12; 99% of those videos' frames score below 0.02-0.06 at lag 4 and 0.02 at lag 12.
CANDIDATE_DISSOLVE_LAGS = (4, 12)
CANDIDATE_DISSOLVE_THRESHOLDS = (0.02, 0.025)
CANDIDATE_MARGIN = 8
# A possible frame that a neighbouring window which ran predicts (as its context) below this needs no window of its own.
CONTEXT_CLEAR_PROBABILITY = 0.05
# Frames at either end of a window's input whose transitions it sees only in part: its context does not clear them.
CONTEXT_GUARD = 5
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


def _dissolve(before: np.ndarray, middle: np.ndarray, after: np.ndarray) -> np.ndarray:
    """How linearly three matching uint8 [n, H, W, 3] frames change (module docstring, `dissolve_L`): [n]."""
    # Integer arithmetic (2 |m - (b + a) / 2| = |2 m - b - a|): about 10 us a 48x27 frame, 3x faster than float32
    # (decoding one takes ~170 us).
    before, after = before.astype(np.int16), after.astype(np.int16)
    change = np.abs(after - before).reshape(len(before), -1).sum(axis=1, dtype=np.int32)
    off_the_line = middle.astype(np.int16)
    off_the_line += off_the_line
    off_the_line -= before
    off_the_line -= after
    off_the_line_sum = np.abs(off_the_line).reshape(len(before), -1).sum(axis=1, dtype=np.int32)
    return ((change - off_the_line_sum) / (255.0 * before[0].size)).astype(np.float32)


def _per_dissolve_lag(thresholds: tuple[float, ...]) -> tuple[float, ...]:
    if len(thresholds) != len(CANDIDATE_DISSOLVE_LAGS):
        raise ValueError(f"dissolve_thresholds needs one threshold per lag {CANDIDATE_DISSOLVE_LAGS}, got {thresholds}")
    return tuple(thresholds)


def _tv(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Total-variation distance between matching rows of two [n, 512] histogram arrays: [n]."""
    return 0.5 * np.abs(first - second).sum(axis=1)


class WindowedAutoShot:
    """Run AutoShot on the windows the cheap pass selects, over a stream of 48x27 frames.

    Args:
        model: an `AutoShot` network in eval mode.
        threshold: the decision threshold (for the neighbour rule; 0.296 for the published model).
        precision: AutoShot's arithmetic, one of `linvt_hf.processing.autoshot.network.AUTOSHOT_PRECISIONS`.
        cut_threshold, gradual_threshold, motion_threshold, lag, margin: the cheap pass (module docstring).
        dissolve_thresholds: one threshold per lag of CANDIDATE_DISSOLVE_LAGS.

    Example:
        >>> scores = WindowedAutoShot(AutoShot.from_pretrained(), 0.296).run(chunks)  # chunks: uint8 [n, 27, 48, 3]
    """

    def __init__(
        self,
        model: torch.nn.Module,
        threshold: float,
        *,
        precision: str = "float32",
        cut_threshold: float = CANDIDATE_CUT_THRESHOLD,
        gradual_threshold: float = CANDIDATE_GRADUAL_THRESHOLD,
        motion_threshold: float = CANDIDATE_MOTION_THRESHOLD,
        dissolve_thresholds: tuple[float, ...] = CANDIDATE_DISSOLVE_THRESHOLDS,
        lag: int = CANDIDATE_LAG,
        margin: int = CANDIDATE_MARGIN,
    ) -> None:
        if not 1 <= lag <= WINDOW_CONTEXT // 2 or not 0 <= margin <= WINDOW_CONTEXT // 2:
            raise ValueError(f"lag must lie in [1, {WINDOW_CONTEXT // 2}] and margin in [0, {WINDOW_CONTEXT // 2}]")
        for name, value in [("cut_threshold", cut_threshold), ("gradual_threshold", gradual_threshold),
                            ("motion_threshold", motion_threshold)] + [
                                ("dissolve_thresholds", value) for value in _per_dissolve_lag(dissolve_thresholds)]:
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1], got {threshold}")
        self.model = model
        self.threshold = threshold
        self.autocast = precision_context(precision, next(model.parameters()).device)
        self.cut_threshold = cut_threshold
        self.gradual_threshold = gradual_threshold
        self.motion_threshold = motion_threshold
        self.dissolve_thresholds = tuple(dissolve_thresholds)
        self.lag = lag
        self._reach = max(lag, *CANDIDATE_DISSOLVE_LAGS)  # how far the cheap pass looks from a frame
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
        # window -> (first frame, probabilities) of its left and right context predictions (real frames only)
        self._context: dict[int, tuple[tuple[int, np.ndarray], tuple[int, np.ndarray]]] = {}
        self._decided: set[int] = set()
        self._forced: set[int] = set()
        self._next_window = 0
        self._heap = HeapReleaser()
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
            self._score_candidates(self._decoded - self._reach)
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
        """Candidate scores of frames [scored so far, stop): needs frames up to stop - 1 + max(lag, dissolve lag)."""
        start = self._num_scored_candidates
        if stop <= start:
            return
        scores = _cheap_pass(
            self._frames, self._histograms, np.arange(start, stop), self._decoded - 1, self._offset,
            (self.cut_threshold, self.gradual_threshold, self.motion_threshold, self.dissolve_thresholds), self.lag,
        )
        if stop > len(self._candidate):
            grown = np.zeros(max(stop, 2 * len(self._candidate)), dtype=np.float32)
            grown[: len(self._candidate)] = self._candidate
            self._candidate = grown
        self._candidate[start:stop] = scores
        self._num_scored_candidates = stop

    def _decidable(self, window: int) -> bool:
        """Whether the frames and candidate scores window `window` needs have arrived."""
        start = window * WINDOW_STRIDE
        if self._ended:
            return start < self._decoded
        return self._decoded >= start + WINDOW_LENGTH - WINDOW_CONTEXT and (
            self._num_scored_candidates >= start + WINDOW_STRIDE + self.margin
        )

    def _possible(self, low: int, high: int) -> np.ndarray:
        """Bool [high - low]: frames in [low, high) with a cheap-pass hit within `margin` (frames not scored yet
        count as possible, frames past the video's end as not)."""
        scored_high = min(high + self.margin, self._num_scored_candidates)
        first_low = max(0, low - self.margin)
        hits = np.zeros(max(0, scored_high - first_low), dtype=np.int32)
        hits[:] = self._candidate[first_low:scored_high] >= 1.0
        sums = np.concatenate([[0], np.cumsum(hits)])
        frames = np.arange(low, high)
        first = np.clip(frames - self.margin - first_low, 0, len(hits))
        last = np.clip(frames + self.margin + 1 - first_low, 0, len(hits))
        possible = sums[last] - sums[first] > 0
        if self._ended:
            possible &= frames < self._decoded
        else:
            possible |= frames + self.margin >= self._num_scored_candidates  # not known yet
        return possible

    def _uncleared(self, window: int) -> np.ndarray:
        """The possible frames of `window`'s centre (video indices) that no neighbour's context prediction clears.

        A neighbour clears a possible frame when it predicts it below CONTEXT_CLEAR_PROBABILITY and the whole run of
        possible frames around it lies inside what that neighbour saw, CONTEXT_GUARD frames from either end of its
        input: a transition the neighbour saw only in part (e.g. a cut just past its last frame) clears nothing.
        """
        start = window * WINDOW_STRIDE
        stop = min(start + WINDOW_STRIDE, self._decoded) if self._ended else start + WINDOW_STRIDE
        low = max(0, start - WINDOW_STRIDE - WINDOW_CONTEXT)
        high = start + WINDOW_STRIDE + WINDOW_STRIDE + WINDOW_CONTEXT
        mask = self._possible(low, high)
        centre = np.arange(start, stop)
        keep = mask[start - low : stop - low].copy()
        if not keep.any():
            return centre[keep]
        # Run bounds of every possible frame: [run_start, run_end) in video indices (a run touching the edge of
        # what was examined may go on: it reaches past any neighbour's input there).
        edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
        starts, ends = edges[0::2] + low, edges[1::2] + low
        starts[starts == low] = -(10**9) if low > 0 else 0
        ends[ends == high] = 10**9
        run = np.searchsorted(starts, centre, side="right") - 1
        for neighbour, side in ((window - 1, 1), (window + 1, 0)):
            if neighbour not in self._context:
                continue
            first_frame, probabilities = self._context[neighbour][side]
            seen_from = max(0, neighbour * WINDOW_STRIDE - WINDOW_CONTEXT + CONTEXT_GUARD)
            seen_to = neighbour * WINDOW_STRIDE + WINDOW_LENGTH - WINDOW_CONTEXT - CONTEXT_GUARD
            if self._ended and seen_to >= self._decoded - CONTEXT_GUARD:
                seen_to = 10**9  # the video ends inside the neighbour's input: it saw the rest of the video
            offset = centre - first_frame
            inside = keep & (offset >= 0) & (offset < len(probabilities))
            low_probability = np.zeros(len(centre), dtype=bool)
            low_probability[inside] = probabilities[offset[inside]] < CONTEXT_CLEAR_PROBABILITY
            within = np.zeros(len(centre), dtype=bool)
            within[keep] = (starts[run[keep]] >= seen_from) & (ends[run[keep]] <= seen_to)
            keep &= ~(low_probability & within)
        return centre[keep]

    def _decide_windows(self) -> None:
        while True:
            window = self._next_window
            if not self._decidable(window):
                return
            if window not in self._decided:
                if window in self._forced:
                    self._run_window(window)
                else:
                    possible = self._uncleared(window)
                    waits = len(possible) > 0 and possible.min() >= window * WINDOW_STRIDE + WINDOW_CONTEXT
                    has_next = not self._ended or (window + 1) * WINDOW_STRIDE < self._decoded
                    if waits and has_next:
                        # Its possible frames lie in window + 1's left context: decide that one first if it runs
                        # anyway (possible frames beyond this window's right context) or holds the higher peak.
                        if not self._decidable(window + 1):
                            return
                        following = self._uncleared(window + 1)
                        beyond = len(following) > 0 and following.max() >= (window + 1) * WINDOW_STRIDE + WINDOW_CONTEXT
                        if beyond or (len(following) > 0 and self._peak(window + 1) > self._peak(window)):
                            self._decide(window + 1)
                            possible = self._uncleared(window)
                    if len(possible) and window not in self._results:
                        self._run_window(window)
                self._decided.add(window)
            self._next_window += 1

    def _peak(self, window: int) -> float:
        """The cheap pass's highest score on `window`'s centre."""
        start = window * WINDOW_STRIDE
        scores = self._candidate[start : min(start + WINDOW_STRIDE, self._num_scored_candidates)]
        return float(scores.max()) if len(scores) else 0.0

    def _decide(self, window: int) -> None:
        """Decide `window` on its own evidence (no waiting): run it when a possible frame is not cleared."""
        if window in self._decided or window in self._results:
            return
        if window in self._forced or len(self._uncleared(window)):
            self._run_window(window)
        self._decided.add(window)

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
        with self.autocast:
            logits = self.model(frames)[0]
        count = min(WINDOW_STRIDE, self._decoded - window * WINDOW_STRIDE) if self._ended else WINDOW_STRIDE
        centre = logits[WINDOW_CONTEXT : WINDOW_CONTEXT + WINDOW_STRIDE]
        values = torch.sigmoid(centre).float().cpu().numpy()[:count]  # as full AutoShot computes it, bit for bit
        self._results[window] = values
        # Context predictions of real frames (not the padding copies at the video's ends).
        left_first = max(0, window * WINDOW_STRIDE - WINDOW_CONTEXT)
        right_first = window * WINDOW_STRIDE + WINDOW_STRIDE
        right_count = max(0, min(WINDOW_CONTEXT, self._decoded - right_first))
        left = torch.sigmoid(logits[left_first - padded[0] : WINDOW_CONTEXT]).float().cpu().numpy()
        right = torch.sigmoid(logits[WINDOW_CONTEXT + WINDOW_STRIDE :]).float().cpu().numpy()[:right_count]
        self._context[window] = ((left_first, left), (right_first, right))
        self._heap.windows_run(1)  # the window's activations: see autoshot/heap.py
        # The neighbour rule: a run of high scores that reaches an edge of the centre continues next door.
        if values[0] > self.threshold and window > 0:
            self._run_window(window - 1)
        centre_end = window * WINDOW_STRIDE + len(values)
        if values[-1] > self.threshold and (centre_end < self._decoded or not self._ended):
            if window + 1 < self._next_window or window + 1 in self._decided:
                self._run_window(window + 1)
            else:
                self._forced.add(window + 1)

    def _trim(self) -> None:
        """Drop the frames no window still to decide (or its neighbour rule) can need."""
        keep_from = max(0, self._next_window * WINDOW_STRIDE - RETAINED_FRAMES)
        keep_from = min(keep_from, self._num_scored_candidates - self._reach)
        drop = keep_from - self._offset
        # No window still to decide is a neighbour of these.
        for window in [window for window in self._context if window < self._next_window - 2]:
            del self._context[window]
        self._decided = {window for window in self._decided if window >= self._next_window - 2}
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
    dissolve_thresholds: tuple[float, ...] = CANDIDATE_DISSOLVE_THRESHOLDS,
    lag: int = CANDIDATE_LAG,
) -> np.ndarray:
    """The cheap pass over a whole video at once (`WindowedAutoShot` computes the same while streaming).

    Args:
        frames: uint8 [T, 27, 48, 3], T >= 1.

    Returns:
        float32 [T]; a frame scoring >= 1 may lie in a transition.
    """
    thresholds = (cut_threshold, gradual_threshold, motion_threshold, _per_dissolve_lag(dissolve_thresholds))
    return _cheap_pass(frames, frame_histograms(frames), np.arange(len(frames)), len(frames) - 1, 0, thresholds, lag)


def _cheap_pass(
    frames: np.ndarray,
    histograms: np.ndarray,
    positions: np.ndarray,
    last: int,
    offset: int,
    thresholds: tuple[float, float, float, tuple[float, ...]],
    lag: int,
) -> np.ndarray:
    """`candidate_score` (module docstring) of the video frames at `positions` [n]: float32 [n].

    `frames` uint8 [m, H, W, 3] and `histograms` [m, 512] hold video frames [offset, offset + m), which must include
    every frame within max(lag, dissolve lags) of `positions` (indices beyond [0, last] are clamped to the video).
    """
    cut_threshold, gradual_threshold, motion_threshold, dissolve_thresholds = thresholds
    local = lambda indices: np.clip(indices, 0, last) - offset  # noqa: E731
    cut = _tv(histograms[local(positions)], histograms[local(positions + 1)])
    cut[positions >= last] = 0.0  # the last frame ends nothing
    gradual = _tv(histograms[local(positions - lag)], histograms[local(positions + lag)])
    motion = _motion(frames[local(positions)], frames[local(positions + 1)])
    dissolves = [
        _dissolve(frames[local(positions - dl)], frames[local(positions)], frames[local(positions + dl)]) / threshold
        for dl, threshold in zip(CANDIDATE_DISSOLVE_LAGS, dissolve_thresholds)
    ]
    return np.maximum.reduce(
        [cut / cut_threshold, gradual / gradual_threshold, motion / motion_threshold, *dissolves]
    ).astype(np.float32)
