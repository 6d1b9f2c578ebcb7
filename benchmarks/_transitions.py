"""Clips with known transitions for bench_autoshot.py: cuts, dissolves, fades, wipes, and fast motion without cuts.

A clip is a list of *scenes* (callables frame index -> uint8 [H, W, 3], the scene's own clock) joined by
transitions. A transition of n frames between scene A and scene B occupies output frames [s, s + n): frame s + i
blends A's frame at its own time with B's first frames. The truth of a transition is its span [s, s + n) (a cut is
n = 0: B's first frame is frame s); a detected cut (the first frame of a new shot) matches it when it lies within
[s - TOLERANCE, s + n + TOLERANCE], one-to-one.

Scenes:
- generated: `tests/video_factory.render_frame` shots (flat colour, a moving square, a frame-number bar);
- real: the two sample videos (tests/data/videos) played forward then backward (so a scene of any length has no
  cut inside), from a random start, optionally mirrored or with its colour channels permuted (more distinct scenes
  from two sources);
- motion kind: a scene panned fast (shifted 2-4 pixels a frame at 48x27, wrapping around), or flashed (1-3 frames
  pushed towards white), which are no transitions at all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

Scene = Callable[[int], np.ndarray]
KINDS = ("cut", "dissolve", "fade", "wipe", "motion")
TOLERANCE = 2


def pingpong(frames: np.ndarray, start: int, flip: bool = False, channels: tuple[int, int, int] = (0, 1, 2)) -> Scene:
    """A real scene: `frames` [N, H, W, 3] played forward and backward from `start`, possibly mirrored/recoloured."""
    period = 2 * len(frames) - 2

    def frame(index: int) -> np.ndarray:
        position = (start + index) % period
        image = frames[position if position < len(frames) else period - position]
        image = image[:, ::-1] if flip else image
        return image[..., list(channels)]

    return frame


def generated(shot: int, height: int, width: int) -> Scene:
    import video_factory

    return lambda index: video_factory.render_frame(index, shot, height, width)


def panned(scene: Scene, pixels_per_frame: int) -> Scene:
    return lambda index: np.roll(scene(index), pixels_per_frame * index * scene(0).shape[1] // 48, axis=1)


def flashed(scene: Scene, flashes: set[int]) -> Scene:
    def frame(index: int) -> np.ndarray:
        image = scene(index)
        if index in flashes:
            image = (0.25 * image + 0.75 * 255).astype(np.uint8)
        return image

    return frame


def blend(kind: str, first: np.ndarray, second: np.ndarray, step: int, length: int) -> np.ndarray:
    """Frame `step` (0-based) of a `length`-frame transition of `kind` from `first` to `second`."""
    alpha = (step + 1) / (length + 1)
    if kind == "dissolve":
        return ((1 - alpha) * first + alpha * second).astype(np.uint8)
    if kind == "fade":  # out to black over the first half, in from black over the second
        level = 1 - 2 * alpha if alpha < 0.5 else 2 * alpha - 1
        return (level * (first if alpha < 0.5 else second)).astype(np.uint8)
    if kind == "wipe":  # the new scene enters from the left
        column = round(alpha * first.shape[1])
        return np.concatenate([second[:, :column], first[:, column:]], axis=1)
    raise ValueError(f"unknown transition {kind!r}")


def compose(
    scenes: list[Scene], lengths: list[int], transitions: list[tuple[str, int]]
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Frames uint8 [T, H, W, 3] and transition spans [(s, s + n)] of scenes joined by (kind, n) transitions.

    Scene i shows `lengths[i]` frames of its own (the transition into it is taken from its first frames)."""
    frames: list[np.ndarray] = []
    spans: list[tuple[int, int]] = []
    for index, (scene, length) in enumerate(zip(scenes, lengths)):
        if index == 0:
            frames.extend(scene(t) for t in range(length))
            continue
        kind, n = transitions[index - 1]
        previous, previous_time = scenes[index - 1], lengths[index - 1]
        start = len(frames)
        for step in range(n if kind != "cut" else 0):
            frames.append(blend(kind, previous(previous_time + step), scene(step), step, n))
        spans.append((start, len(frames)))
        offset = 0 if kind == "cut" else n
        frames.extend(scene(offset + t) for t in range(length))
    return np.stack(frames), spans


def make_clip(
    kind: str, source: str, rng: np.random.Generator, real: list[np.ndarray], num_scenes: int, size=(72, 128),
    scene_lengths: tuple[int, int] = (40, 90),
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """One clip of `num_scenes` scenes joined by transitions of `kind` ("motion": hard cuts between scenes, each
    scene panned or flashed) from `source` "generated" or "real"."""
    scenes: list[Scene] = []
    first_colour = int(rng.integers(8))  # consecutive generated scenes never share a colour
    for index in range(num_scenes):
        if source == "generated":
            scene = generated(first_colour + index, *size)
        else:
            frames = real[int(rng.integers(len(real)))]
            channels = tuple(int(c) for c in rng.permutation(3))
            scene = pingpong(frames, int(rng.integers(len(frames))), bool(rng.integers(2)), channels)
        if kind == "motion":
            if index % 2 == 0:
                scene = panned(scene, int(rng.integers(2, 5)) * (1 if rng.integers(2) else -1))
            else:
                scene = flashed(scene, {int(t) for t in rng.choice(np.arange(5, 40), size=int(rng.integers(1, 4)))})
        scenes.append(scene)
    lengths = [int(rng.integers(*scene_lengths)) for _ in scenes]
    if kind in ("cut", "motion"):
        transitions = [("cut", 0)] * (num_scenes - 1)
    else:
        transitions = [(kind, int(rng.integers(5, 31))) for _ in range(num_scenes - 1)]
    return compose(scenes, lengths, transitions)


def match_spans(cuts: list[int], spans: list[tuple[int, int]], tolerance: int = TOLERANCE) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives): each detected cut matches at most one unmatched span
    containing it (widened by `tolerance`), the one with the nearest centre."""
    unmatched = list(spans)
    true_positives = 0
    for cut in cuts:
        hits = [span for span in unmatched if span[0] - tolerance <= cut <= span[1] + tolerance]
        if hits:
            unmatched.remove(min(hits, key=lambda span: abs(cut - (span[0] + span[1]) / 2)))
            true_positives += 1
    return true_positives, len(cuts) - true_positives, len(unmatched)


def f1(tp: int, fp: int, fn: int) -> float:
    """F1 of the counts; 1.0 when there is nothing to find and nothing was found."""
    return 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)


def write_long_video(
    path: Path, minutes: float, rng: np.random.Generator, real_hd: list[np.ndarray], fps: int = 30,
    shot_seconds: tuple[float, float] = (10.0, 50.0), preset: str = "ultrafast",
) -> list[tuple[int, int]]:
    """Encode a `minutes`-long video of real scenes (`real_hd` frames at the output size) joined by cuts, dissolves
    and fades every `shot_seconds` (uniform), with x264 `preset` ("ultrafast": no B-frames, no loop filter;
    "medium", x264's default: both); returns the transition spans."""
    import av

    height, width = real_hd[0].shape[1:3]
    total = round(minutes * 60 * fps)
    scenes, lengths, transitions = [], [], []
    count = 0
    while count < total:
        frames = real_hd[int(rng.integers(len(real_hd)))]
        scenes.append(pingpong(frames, int(rng.integers(len(frames))), bool(rng.integers(2))))
        lengths.append(int(rng.uniform(*shot_seconds) * fps))
        kind = ("cut", "dissolve", "fade")[int(rng.integers(3))]
        transitions.append((kind, 0 if kind == "cut" else int(rng.integers(5, 31))))
        count += lengths[-1] + transitions[-1][1]
    spans: list[tuple[int, int]] = []
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": preset}
        written = 0

        def emit(image: np.ndarray) -> None:
            nonlocal written
            if written < total:
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                    container.mux(packet)
                written += 1

        for index, (scene, length) in enumerate(zip(scenes, lengths)):
            offset = 0
            if index > 0:
                kind, n = transitions[index - 1]
                previous, previous_time = scenes[index - 1], lengths[index - 1]
                if written < total:
                    spans.append((written, written + n))
                for step in range(n):
                    emit(blend(kind, previous(previous_time + step), scene(step), step, n))
                offset = n
            for t in range(length):
                emit(scene(offset + t))
            if written >= total:
                break
        for packet in stream.encode():
            container.mux(packet)
    return [span for span in spans if span[0] < total]
