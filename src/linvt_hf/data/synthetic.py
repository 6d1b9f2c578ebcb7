"""A synthetic video QA set with real mp4 files: coloured shapes that move, grow or shrink, appear or disappear,
with hard cuts between shots. Deterministic by seed.

Each video shows ONE object (a shape in a colour) over 2-4 shots; every shot has its own background colour, so the
cuts are hard. Over the whole video the object keeps moving one way and keeps growing or shrinking; it may be
absent from the first shot (it "appears") or from the last (it "disappears"). Questions have one-word answers:

- single-frame questions (answerable from any frame that shows the object): its colour, its shape;
- time-only questions (no single frame can answer them): which way it moves, whether it grows or shrinks, how many
  shots the video has, whether it appears or disappears.

Still frames (two per video) carry what one picture shows, for pre-training the image-LLM that LinVT later wraps:
colour and shape, and the frame questions (is the object there, is it left/center/right and top/middle/bottom, is
it big or small, what colour is the background). Each time-only answer follows from these frame answers over time.

Picture sets (several still frames of the split, of 2-4 different backgrounds) ask how many different backgrounds
the pictures show: multi-image QA, as real image-LLMs are trained on (LLaVA-OneVision), which gives the image-LLM a
way of counting what differs across pictures before it ever sees a video.

Records are written in the LLaVA / VideoChat2 instruction format, one JSON object per line:
`{"id", "video", "conversations": [{"from": "human", "value": "<video>\\n..."}, {"from": "gpt", "value": ...}],
"question_type", "answerable_from"}` for QA, and `{"id", "video", "caption"}` for stage-1 captions; image QA records
(`"image"`: a `.npy` frame) for the still frames, and multi-image records (`"image"`: a list of them) for picture sets.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np

COLORS: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 80, 240),
    "yellow": (240, 220, 40),
}
SHAPES = ("circle", "square", "triangle")
DIRECTIONS: dict[str, tuple[float, float]] = {"left": (0.0, -1.0), "right": (0.0, 1.0), "up": (-1.0, 0.0), "down": (1.0, 0.0)}
SIZE_TRENDS = ("grows", "shrinks")
VISIBILITY = ("stays", "appears", "disappears")
SHOT_WORDS = {2: "two", 3: "three", 4: "four"}
# Dark backgrounds under bright, saturated objects: a tiny vision encoder can tell object from background by
# brightness alone, as a real one tells them apart by what they are.
BACKGROUNDS = ((35, 35, 35), (70, 40, 20), (15, 55, 60), (55, 55, 15), (50, 20, 65), (20, 25, 80))
BACKGROUND_NAMES = ("gray", "brown", "teal", "olive", "purple", "navy")
# Where the object is in a frame: thirds of the frame along each axis; "big" from this radius (mid-range).
COLUMN_WORDS = ("left", "center", "right")
ROW_WORDS = ("top", "middle", "bottom")
BIG_RADIUS = 0.18
# The object's radius goes from RADII[0] to RADII[1] (or back) over the video, its centre moves by TRAVEL.
RADII = (0.12, 0.24)
TRAVEL = 0.6

QUESTIONS = {
    "color": "What color is the shape?",
    "shape": "What shape is the object?",
    "direction": "Which way does the {color} {shape} move?",
    "size": "Does the {color} {shape} grow or shrink?",
    "shots": "How many shots does the video have?",
    "visibility": "Does the {color} {shape} appear or disappear?",
}
# What one still frame shows, asked of the image-LLM only (a video's answer to these changes over time).
FRAME_QUESTIONS = {
    "presence": "Is there a shape in the picture?",
    "background": "What color is the background?",
    "column": "Is the shape on the left, in the center or on the right?",
    "row": "Is the shape at the top, in the middle or at the bottom?",
    "scale": "Is the shape big or small?",
}
# Asked of a set of still frames (multi-image QA): how many different backgrounds they show (2-4, as shots).
PICTURE_SET_QUESTION = "How many different background colors do the pictures have?"
PICTURE_SET_SIZES = (3, 8)
PICTURE_SET_TYPE = "backgrounds"
SINGLE_FRAME_TYPES = ("color", "shape")
TIME_ONLY_TYPES = ("direction", "size", "shots", "visibility")
IMAGE_TYPES = SINGLE_FRAME_TYPES + tuple(FRAME_QUESTIONS)


@dataclass(frozen=True)
class VideoSpec:
    """What one synthetic video shows (everything its questions and caption are derived from)."""

    name: str
    color: str
    shape: str
    direction: str
    size_trend: str
    visibility: str
    shot_lengths: tuple[int, ...]
    backgrounds: tuple[int, ...]
    start: tuple[float, float]

    @property
    def num_frames(self) -> int:
        return sum(self.shot_lengths)

    def answers(self) -> dict[str, str]:
        answers = {
            "color": self.color,
            "shape": self.shape,
            "direction": self.direction,
            "size": self.size_trend,
            "shots": SHOT_WORDS[len(self.shot_lengths)],
        }
        if self.visibility != "stays":
            answers["visibility"] = self.visibility
        return answers

    def caption(self) -> str:
        event = {"stays": "", "appears": ", appearing after the first shot", "disappears": ", gone in the last shot"}
        return (
            f"A {self.color} {self.shape} moves {self.direction} and {self.size_trend} across "
            f"{SHOT_WORDS[len(self.shot_lengths)]} shots{event[self.visibility]}."
        )


def random_spec(rng: np.random.Generator, name: str, min_shot: int = 6, max_shot: int = 12) -> VideoSpec:
    shots = int(rng.integers(2, 5))
    backgrounds = rng.choice(len(BACKGROUNDS), size=shots, replace=False)
    direction = str(rng.choice(list(DIRECTIONS)))
    dy, dx = DIRECTIONS[direction]
    # Start on the side the object moves away from, so it crosses the frame.
    start = (0.5 - 0.3 * dy + rng.uniform(-0.1, 0.1), 0.5 - 0.3 * dx + rng.uniform(-0.1, 0.1))
    return VideoSpec(
        name=name,
        color=str(rng.choice(list(COLORS))),
        shape=str(rng.choice(SHAPES)),
        direction=direction,
        size_trend=str(rng.choice(SIZE_TRENDS)),
        visibility=str(rng.choice(VISIBILITY, p=[0.5, 0.25, 0.25])),
        shot_lengths=tuple(int(n) for n in rng.integers(min_shot, max_shot + 1, size=shots)),
        backgrounds=tuple(int(b) for b in backgrounds),
        start=(float(start[0]), float(start[1])),
    )


@dataclass(frozen=True)
class FrameState:
    """What frame `index` of a video shows: its background, whether the object is in it, where and how big
    (centre and radius in fractions of the frame side)."""

    background: int
    shown: bool
    center: tuple[float, float]
    radius: float

    def answers(self, spec: VideoSpec) -> dict[str, str]:
        """The answers to `FRAME_QUESTIONS` (and, when the object is shown, colour and shape) for this frame."""
        answers = {"presence": "yes" if self.shown else "no", "background": BACKGROUND_NAMES[self.background]}
        if self.shown:
            third = lambda v: min(max(int(v * 3), 0), 2)  # noqa: E731
            answers |= {
                "color": spec.color,
                "shape": spec.shape,
                "column": COLUMN_WORDS[third(self.center[1])],
                "row": ROW_WORDS[third(self.center[0])],
                "scale": "big" if self.radius >= BIG_RADIUS else "small",
            }
        return answers


def frame_states(spec: VideoSpec) -> list[FrameState]:
    """Every frame's `FrameState`, in order."""
    dy, dx = DIRECTIONS[spec.direction]
    states = []
    for shot, (length, background) in enumerate(zip(spec.shot_lengths, spec.backgrounds)):
        hidden = (spec.visibility == "appears" and shot == 0) or (
            spec.visibility == "disappears" and shot == len(spec.shot_lengths) - 1
        )
        for _ in range(length):
            progress = len(states) / max(spec.num_frames - 1, 1)
            center = (spec.start[0] + TRAVEL * dy * progress, spec.start[1] + TRAVEL * dx * progress)
            grown = progress if spec.size_trend == "grows" else 1.0 - progress
            radius = RADII[0] + (RADII[1] - RADII[0]) * grown
            states.append(FrameState(background, not hidden, center, radius))
    return states


def render_frames(spec: VideoSpec, size: int = 96) -> np.ndarray:
    """The video's frames, uint8 `[T, size, size, 3]`."""
    frames = np.empty((spec.num_frames, size, size, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    for frame, state in zip(frames, frame_states(spec)):
        frame[:] = BACKGROUNDS[state.background]
        if state.shown:
            cy, cx = state.center
            frame[shape_mask(spec.shape, yy - cy, xx - cx, state.radius)] = COLORS[spec.color]
    return frames


def shape_mask(shape: str, dy: np.ndarray, dx: np.ndarray, radius: float) -> np.ndarray:
    if shape == "circle":
        return dy**2 + dx**2 <= radius**2
    if shape == "square":
        return (np.abs(dy) <= radius * 0.9) & (np.abs(dx) <= radius * 0.9)
    # An upward triangle: inside the base and the two sloped sides.
    return (dy <= radius * 0.8) & (dy >= -radius) & (np.abs(dx) <= (dy + radius) * 0.6)


def write_mp4(frames: np.ndarray, path: Path, fps: int = 8) -> None:
    """Encode uint8 RGB frames as H.264 (yuv420p) with PyAV; every shot boundary is a hard cut."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for array in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def qa_records(spec: VideoSpec, video: str) -> Iterator[dict]:
    for kind, answer in spec.answers().items():
        question = QUESTIONS[kind].format(color=spec.color, shape=spec.shape)
        yield {
            "id": f"{spec.name}-{kind}",
            "video": video,
            "conversations": [
                {"from": "human", "value": f"<video>\n{question}"},
                {"from": "gpt", "value": answer},
            ],
            "question_type": kind,
            "answerable_from": "single_frame" if kind in SINGLE_FRAME_TYPES else "time",
        }


def generate_synthetic_video_qa(
    output_dir: str | Path,
    num_train: int = 400,
    num_validation: int = 100,
    seed: int = 0,
    size: int = 96,
    fps: int = 8,
    overwrite: bool = False,
    picture_sets_per_video: int = 6,
) -> dict[str, Path]:
    """Write the synthetic set to `output_dir`: videos/*.mp4, images/*.npy frames and one JSONL file per split and
    kind (`{split}_qa.jsonl`, `{split}_captions.jsonl`, `{split}_image_qa.jsonl`, `{split}_multi_image_qa.jsonl`:
    `picture_sets_per_video` picture sets per video of the split, drawn from the split's own still frames) plus
    `specs.jsonl`.

    Returns the paths of the JSONL files by name. Refuses to write into a folder that already holds a generated set
    unless `overwrite=True`.
    """
    root = Path(output_dir)
    marker = root / "specs.jsonl"
    if marker.exists() and not overwrite:
        raise FileExistsError(f"{root} already holds a synthetic set (specs.jsonl); pass overwrite=True to replace it")
    for name, count in (
        ("num_train", num_train),
        ("num_validation", num_validation),
        ("picture_sets_per_video", picture_sets_per_video),
    ):
        if count < 0:
            raise ValueError(f"{name} must be >= 0, got {count}")
    (root / "videos").mkdir(parents=True, exist_ok=True)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # Picture sets draw from their own stream, so the videos are the same whatever their number.
    set_rng = np.random.default_rng([seed, 1])
    files: dict[str, Path] = {}
    handles = {}
    try:
        for split, count in (("train", num_train), ("validation", num_validation)):
            for kind in ("qa", "captions", "image_qa", "multi_image_qa"):
                files[f"{split}_{kind}"] = root / f"{split}_{kind}.jsonl"
                handles[f"{split}_{kind}"] = open(files[f"{split}_{kind}"], "w")
        with open(marker, "w") as specs:
            for split, count in (("train", num_train), ("validation", num_validation)):
                frames_by_background: dict[str, list[str]] = {}
                for i in range(count):
                    spec = random_spec(rng, f"{split}-{i:05d}")
                    frames = render_frames(spec, size)
                    video = f"videos/{spec.name}.mp4"
                    write_mp4(frames, root / video, fps)
                    specs.write(json.dumps({"split": split, **asdict(spec)}) + "\n")
                    for record in qa_records(spec, video):
                        handles[f"{split}_qa"].write(json.dumps(record) + "\n")
                    handles[f"{split}_captions"].write(
                        json.dumps({"id": f"{spec.name}-caption", "video": video, "caption": spec.caption()}) + "\n"
                    )
                    for record in image_records(spec, frames, root, rng):
                        handles[f"{split}_image_qa"].write(json.dumps(record) + "\n")
                        if record["question_type"] == "background":
                            answer = record["conversations"][1]["value"]
                            frames_by_background.setdefault(answer, []).append(record["image"])
                for record in picture_set_records(split, frames_by_background, count * picture_sets_per_video, set_rng):
                    handles[f"{split}_multi_image_qa"].write(json.dumps(record) + "\n")
    finally:
        for handle in handles.values():
            handle.close()
    return files


def image_records(spec: VideoSpec, frames: np.ndarray, root: Path, rng: np.random.Generator) -> Iterator[dict]:
    """The image-LLM's pre-training data: QA on two still frames of the video, one that shows the object and one
    anywhere (the object may be absent). Each gets every question its frame answers: colour and shape when the object
    is in it, and `FRAME_QUESTIONS` (whether it is there, where, how big, the background's colour).
    Everything a frame shows is then something the image-LLM can tell, as a real image-LLM can; what only time
    shows is left to the video model."""
    states = frame_states(spec)
    shown = [i for i, state in enumerate(states) if state.shown]
    picks = [int(rng.integers(shown[0], shown[-1] + 1)), int(rng.integers(spec.num_frames))]  # shown: contiguous
    for n, index in enumerate(picks):
        image = f"images/{spec.name}.npy" if n == 0 else f"images/{spec.name}-{n}.npy"
        np.save(root / image, frames[index])
        answers = states[index].answers(spec)
        for kind in (k for k in IMAGE_TYPES if k in answers):
            question = QUESTIONS.get(kind) or FRAME_QUESTIONS[kind]
            yield {
                "id": f"{spec.name}-image{n or ''}-{kind}",
                "image": image,
                "conversations": [
                    {"from": "human", "value": f"<image>\n{question}"},
                    {"from": "gpt", "value": answers[kind]},
                ],
                "question_type": kind,
            }


def picture_set_records(
    split: str, frames_by_background: dict[str, list[str]], count: int, rng: np.random.Generator
) -> Iterator[dict]:
    """`count` multi-image QA records: 3-8 still frames showing 2-4 different backgrounds (each of them at least
    once), and how many different backgrounds there are. None when the split has fewer than 4 backgrounds."""
    backgrounds = sorted(frames_by_background)
    if len(backgrounds) < max(SHOT_WORDS):
        return
    for i in range(count):
        distinct = int(rng.integers(min(SHOT_WORDS), max(SHOT_WORDS) + 1))
        size = int(rng.integers(max(distinct, PICTURE_SET_SIZES[0]), PICTURE_SET_SIZES[1] + 1))
        chosen = [backgrounds[j] for j in rng.choice(len(backgrounds), size=distinct, replace=False)]
        shown = chosen + [chosen[j] for j in rng.integers(distinct, size=size - distinct)]
        images = [frames_by_background[b][int(rng.integers(len(frames_by_background[b])))] for b in shown]
        order = rng.permutation(size)
        yield {
            "id": f"{split}-pictures{i:05d}",
            "image": [images[j] for j in order],
            "conversations": [
                {"from": "human", "value": "<image>\n" * size + PICTURE_SET_QUESTION},
                {"from": "gpt", "value": SHOT_WORDS[distinct]},
            ],
            "question_type": PICTURE_SET_TYPE,
        }
