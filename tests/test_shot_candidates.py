"""The fast AutoShot path (`shot_detector="autoshot"`): AutoShot run only on the windows the cheap pass selects gives
full AutoShot's probabilities there and its shots; frames are streamed through a bounded buffer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from linvt_hf.processing import shots as shots_module
from linvt_hf.processing.autoshot import AutoShot, find_autoshot_weights
from linvt_hf.processing.autoshot.network import DEFAULT_THRESHOLD, WINDOW_CONTEXT, WINDOW_LENGTH, WINDOW_STRIDE
from linvt_hf.processing.shot_candidates import RETAINED_FRAMES, WindowedAutoShot, candidate_scores
from linvt_hf.processing.shots import detect_shots, shots_from_scores
from video_factory import render_frame


class PositionSensitiveStub(AutoShot):
    """AutoShot's windowing with a cheap stand-in network whose logit depends on every pixel of a frame and on its
    place in the window: a shifted, repeated or wrongly padded window changes the result."""

    def __init__(self, bias: float = 0.0) -> None:
        super().__init__()
        self.bias = bias

    def forward(self, frames: torch.Tensor, return_many_hot: bool = False) -> torch.Tensor:
        weights = torch.arange(1, frames[0, 0].numel() + 1, dtype=torch.float64).reshape(frames.shape[2:])
        per_frame = (frames.to(torch.float64) * weights).sum(dim=(2, 3, 4))
        position = torch.arange(frames.shape[1], dtype=torch.float64)
        return (torch.sin(per_frame * 1e-4 + position) * 3 + self.bias).float()


class MirrorStub(AutoShot):
    """Fires (logit +5) on frames whose top-left red value is one of `fire_on` (here: mirrored frames, which keep
    their histogram), logit -5 elsewhere."""

    def __init__(self, fire_on: list[int]) -> None:
        super().__init__()
        self.fire_on = torch.tensor(fire_on)

    def forward(self, frames: torch.Tensor, return_many_hot: bool = False) -> torch.Tensor:
        return torch.where(torch.isin(frames[:, :, 0, 0, 0].long(), self.fire_on), 5.0, -5.0)


def chunks(frames: np.ndarray, size: int):
    return (frames[start : start + size] for start in range(0, len(frames), size))


def scenes(length: int, cuts: dict[int, int], seed: int = 0) -> np.ndarray:
    """Noise frames uint8 [length, 27, 48, 3]: scene s (noise of values below 256 >> s: its own histogram) from each
    cut frame on, scene 0 before the first cut."""
    rng = np.random.default_rng(seed)
    count = max(cuts.values(), default=0) + 1
    images = rng.integers(0, 256, size=(count, 27, 48, 3), dtype=np.uint8) >> np.arange(count)[:, None, None, None]
    starts = sorted(cuts)
    ids = np.array([0] + [cuts[start] for start in starts])[np.searchsorted(starts, np.arange(length), side="right")]
    return images[ids].astype(np.uint8)


def test_scores_in_run_windows_are_full_autoshots_exactly_with_the_end_padding() -> None:
    frames = scenes(237, {40: 1, 230: 2})  # a cut in the first and in the last (padded) window
    model = PositionSensitiveStub().eval()
    full = model.predict_transitions(frames, batch_size=1)
    # A threshold the stand-in never reaches: no window runs for the neighbour rule, only for the cheap pass.
    windowed = WindowedAutoShot(model, threshold=0.999).run(chunks(frames, 7))
    assert windowed.windows_run[0] == 0 and windowed.windows_run[-1] == 4 and len(windowed.windows_run) < 5
    np.testing.assert_array_equal(windowed.probabilities[windowed.scored], full[windowed.scored])
    assert not windowed.probabilities[~windowed.scored].any()
    np.testing.assert_array_equal(windowed.candidate_scores, candidate_scores(frames))


def test_a_run_of_high_scores_at_a_window_edge_is_scored_next_door() -> None:
    frames = scenes(300, {130: 1})  # the cheap pass sees the cut at 130 only: window 2
    mirrored = list(range(95, 105)) + list(range(145, 155))  # mirrored frames: same histogram, AutoShot fires
    frames[mirrored] = frames[mirrored][:, :, ::-1]
    fire_on = [int(frames[95, 0, 0, 0]), int(frames[145, 0, 0, 0])]
    assert not set(fire_on) & {int(frames[0, 0, 0, 0]), int(frames[130, 0, 0, 0])}
    model = MirrorStub(fire_on).eval()
    windowed = WindowedAutoShot(model, DEFAULT_THRESHOLD).run(chunks(frames, 16))
    # Window 2's first and last centre frames fire: windows 1 and 3 run too, so both runs are scored whole.
    assert windowed.windows_run == [1, 2, 3]
    full = model.predict_transitions(frames)
    assert shots_from_scores(windowed.probabilities, DEFAULT_THRESHOLD) == shots_from_scores(full, DEFAULT_THRESHOLD)
    assert shots_from_scores(full, DEFAULT_THRESHOLD) == [(0, 100), (100, 150), (150, 300)]


class UnsureStub(AutoShot):
    """Probability 0.1 on every frame: below the decision threshold, but never low enough to clear a frame."""

    def forward(self, frames: torch.Tensor, return_many_hot: bool = False) -> torch.Tensor:
        return torch.full(frames.shape[:2], float(np.log(0.1 / 0.9)))


class FiresBeforeACut(AutoShot):
    """Fires (logit +5) on frame t when frame t + 1 of the window differs from it by more than 20 on average: on the
    last frame before a cut, and only when the window holds the frame after it."""

    def forward(self, frames: torch.Tensor, return_many_hot: bool = False) -> torch.Tensor:
        change = (frames[:, 1:].float() - frames[:, :-1].float()).abs().mean(dim=(2, 3, 4)) > 20
        return torch.where(torch.cat([change, torch.zeros_like(change[:, :1])], 1), 5.0, -5.0)


def test_a_cut_just_past_a_neighbours_input_is_not_cleared_by_it() -> None:
    # AutoShot fires on frame 174, the last before a cut at 175. Window 2's input ends at 174: it cannot see the cut
    # and predicts 174 low, so it must not clear it; window 3 runs (seen on the benchmark's generated cuts, whose
    # frame-number bar makes every frame possible: here a 1-level flicker with a tiny motion threshold).
    frames = scenes(300, {120: 1, 175: 2})
    frames = np.minimum(frames, 254) + (np.arange(300) % 2).astype(np.uint8)[:, None, None, None]
    model = FiresBeforeACut().eval()
    windowed = WindowedAutoShot(model, DEFAULT_THRESHOLD, motion_threshold=1e-6).run(chunks(frames, 16))
    assert (windowed.candidate_scores[:-1] >= 1).all()  # the last frame ends nothing
    full = model.predict_transitions(frames)
    assert np.flatnonzero(full > DEFAULT_THRESHOLD).tolist() == [119, 174]
    assert shots_from_scores(windowed.probabilities, DEFAULT_THRESHOLD) == shots_from_scores(full, DEFAULT_THRESHOLD)


def test_frames_held_are_bounded_whatever_the_length() -> None:
    frames = scenes(3000, {cut: (cut // 50 + 1) % 2 for cut in range(25, 3000, 50)})  # a cut in every window's centre
    model = UnsureStub().eval()  # cheap; every window runs: each holds a cut
    windowed = WindowedAutoShot(model, DEFAULT_THRESHOLD, cut_threshold=1e-6).run(chunks(frames, 64))
    assert windowed.scored.all() and len(windowed.windows_run) == 60
    assert windowed.max_frames_held <= RETAINED_FRAMES + WINDOW_LENGTH + WINDOW_CONTEXT + 64


def marked(frames: np.ndarray, index: int) -> tuple[np.ndarray, int]:
    """`frames` with frame `index` mirrored (same histogram, another top-left pixel), and the value MirrorStub fires
    on."""
    frames = frames.copy()
    frames[index] = frames[index][:, ::-1]
    assert (frames[:, 0, 0, 0] == frames[index, 0, 0, 0]).sum() == 1
    return frames, int(frames[index, 0, 0, 0])


def test_a_neighbours_context_spares_the_window_of_the_cheap_passs_echo() -> None:
    # A cut at 147: the cheap pass's 8-frame lag makes frames up to 154 possible, in window 3's centre too, but
    # AutoShot fires only on frame 146 (window 2) and window 2's right context clears frames 150-162.
    frames, fire = marked(scenes(300, {147: 1}), 146)
    model = MirrorStub([fire]).eval()
    windowed = WindowedAutoShot(model, DEFAULT_THRESHOLD).run(chunks(frames, 16))
    assert windowed.windows_run == [2]
    assert (windowed.candidate_scores[150:155] >= 1).any()  # window 3 did have possible frames
    full = model.predict_transitions(frames)
    assert shots_from_scores(windowed.probabilities, DEFAULT_THRESHOLD) == shots_from_scores(full, DEFAULT_THRESHOLD)


@pytest.mark.parametrize(
    ("cuts", "fires_at", "expected"),
    [({147: 1}, 146, [2]), ({147: 1}, 152, [2, 3]), ({147: 1, 190: 2}, 152, [3])],
)
def test_a_transition_across_a_window_edge_runs_one_window_when_autoshot_allows(cuts, fires_at, expected) -> None:
    # A cut at 147: window 2's possible frames are 131-149 (its last 25), window 3's 150-162. The window with the
    # cheap pass's peak (the cut, in window 2) runs first and its context clears the other's possible frames unless
    # AutoShot fires there (at 152). With a second cut at 190 window 3 runs anyway: it goes first and clears window 2.
    frames, fire = marked(scenes(300, cuts), fires_at)
    model = MirrorStub([fire]).eval()
    windowed = WindowedAutoShot(model, DEFAULT_THRESHOLD).run(chunks(frames, 16))
    assert windowed.windows_run == expected
    full = model.predict_transitions(frames)
    assert shots_from_scores(windowed.probabilities, DEFAULT_THRESHOLD) == shots_from_scores(full, DEFAULT_THRESHOLD)
    np.testing.assert_array_equal(windowed.probabilities[windowed.scored], full[windowed.scored])


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> AutoShot:
    model = PositionSensitiveStub(bias=-5.0).eval()  # below the threshold: no window runs for the neighbour rule
    monkeypatch.setattr(shots_module, "_autoshot_weights_or_warn", lambda weights: Path("stub"))
    monkeypatch.setattr(shots_module, "_load_autoshot", lambda path, device: model)
    return model


def test_detector_names_full_and_fast(stub: AutoShot) -> None:
    frames = scenes(180, {60: 1})
    fast = detect_shots(frames, "autoshot", return_probabilities=True)
    full = detect_shots(frames, "autoshot_full", return_probabilities=True)
    assert fast.detector == "autoshot" and full.detector == "autoshot_full" and full.scored is None
    assert 0 < fast.scored.sum() < len(frames)
    np.testing.assert_allclose(fast.probabilities[fast.scored], full.probabilities[fast.scored], atol=1e-6)


def dissolve_clip() -> tuple[np.ndarray, list[int]]:
    """150 generated frames at 48x27: a cut at 30 and a 15-frame dissolve over frames 120-134 (window 1 is calm:
    a moving square; no frame-number bar, whose flipping bits the cheap pass would take for motion)."""
    no_bar = 16  # bits: too many for a 48-pixel-wide frame, so render_frame draws no bar
    first = [render_frame(t, 0, 27, 48, no_bar) for t in range(30)]
    second = [render_frame(t, 1, 27, 48, no_bar) for t in range(120)]
    third = [render_frame(t, 2, 27, 48, no_bar) for t in range(30)]
    alpha = (np.arange(15)[:, None, None, None] + 1) / 16
    dissolve = ((1 - alpha) * np.stack(second[90:105]) + alpha * np.stack(third[:15])).astype(np.uint8)
    return np.concatenate([first, second[:90], dissolve, third[15:]]), [30, 127]


@pytest.mark.skipif(find_autoshot_weights() is None, reason="no AutoShot weights available")
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_fast_path_gives_full_autoshots_shots_on_a_cut_and_a_dissolve(precision: str) -> None:
    frames, _ = dissolve_clip()
    full = detect_shots(frames, "autoshot_full", precision="float32", return_probabilities=True)
    fast = detect_shots(frames, "autoshot", precision=precision, return_probabilities=True)
    assert fast.precision == precision and full.precision == "float32"
    assert len(fast.shots) == len(full.shots) == 3  # the cut and the dissolve, found by both
    if precision == "float32":
        assert fast.shots == full.shots
        np.testing.assert_allclose(fast.probabilities[fast.scored], full.probabilities[fast.scored], atol=1e-5)
    else:
        # bfloat16 moves probabilities by up to ~1e-2: here the dissolve's frame 126 scores 0.297 in float32 against
        # the threshold 0.296 and 0.289 in bfloat16, so the cut after the run's middle moves by one frame.
        assert fast.shots[0] == full.shots[0] and abs(fast.shots[2][0] - full.shots[2][0]) <= 1
        np.testing.assert_allclose(fast.probabilities[fast.scored], full.probabilities[fast.scored], atol=2e-2)
    assert not fast.scored[WINDOW_STRIDE : 2 * WINDOW_STRIDE].any()  # the calm window was skipped
    assert (full.probabilities[~fast.scored] <= DEFAULT_THRESHOLD).all()


def smooth_texture(seed: int, width: int = 48) -> np.ndarray:
    """float [27, width, 3]: 8x8 blocks of values in [128, 160), one histogram bin per channel (3 bits)."""
    coarse = np.random.default_rng(seed).uniform(128, 159.9, size=(4, width // 8 + 1, 3))
    return np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)[:27, :width]


@pytest.mark.parametrize("steps", [10, 30])
def test_a_dissolve_between_scenes_of_the_same_colours_is_a_candidate(steps: int) -> None:
    # Two shots of one place: the second is the first mirrored, so every frame of the dissolve has the same colour
    # histogram and the histogram terms see nothing; the frames change linearly, which the dissolve terms find (the
    # long dissolve only at the long lag: 8 of its 30 frames change too little).
    first = smooth_texture(0)
    second = first[:, ::-1]
    mix = [(1 - (s + 1) / (steps + 1)) * first + (s + 1) / (steps + 1) * second for s in range(steps)]
    frames = np.stack([first] * 60 + mix + [second] * 60).round().astype(np.uint8)
    middle = 60 + steps // 2
    assert candidate_scores(frames)[middle - 2 : middle + 3].min() >= 1.0
    assert candidate_scores(frames, dissolve_thresholds=(1e9, 1e9)).max() < 1.0
    short_lag_only = candidate_scores(frames, dissolve_thresholds=(0.02, 1e9))[middle - 2 : middle + 3].min()
    assert (short_lag_only >= 1.0) == (steps == 10)
    # A pan of the same kind of texture is not linear: the dissolve term alone stays far below a candidate.
    wide = smooth_texture(1, 4 * 48)
    pan = np.stack([np.roll(wide, -shift, axis=1)[:, :48] for shift in range(120)]).round().astype(np.uint8)
    assert candidate_scores(pan, cut_threshold=1e9, gradual_threshold=1e9, motion_threshold=1e9).max() < 0.5
    model = MirrorStub([int(frames[middle, 0, 0, 0])]).eval()
    windowed = WindowedAutoShot(model, DEFAULT_THRESHOLD).run(chunks(frames, 37))
    assert middle // WINDOW_STRIDE in windowed.windows_run and windowed.probabilities[middle] > 0.99
    with pytest.raises(ValueError, match="one threshold per lag"):
        candidate_scores(frames, dissolve_thresholds=(0.02,))
