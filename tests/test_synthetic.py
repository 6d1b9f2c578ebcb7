"""The synthetic video QA set: real mp4 files whose pixels agree with their answers, deterministic by seed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from linvt_hf import load_video
from linvt_hf.data import generate_synthetic_video_qa
from linvt_hf.data.synthetic import (
    BACKGROUND_NAMES,
    BACKGROUNDS,
    COLORS,
    COLUMN_WORDS,
    IMAGE_TYPES,
    PICTURE_SET_QUESTION,
    PICTURE_SET_SIZES,
    ROW_WORDS,
    SHOT_WORDS,
    random_spec,
    render_frames,
)


def object_pixels(frame: np.ndarray, color: str) -> np.ndarray:
    return np.argwhere((np.abs(frame.astype(int) - COLORS[color]).sum(-1) < 60))


@pytest.mark.parametrize("seed", range(12))
def test_rendered_motion_size_and_visibility_match_the_answers(seed):
    spec = random_spec(np.random.default_rng(seed), "v")
    frames = render_frames(spec)
    shown = [i for i, f in enumerate(frames) if len(object_pixels(f, spec.color))]
    first, last = frames[shown[0]], frames[shown[-1]]
    (y0, x0), (y1, x1) = object_pixels(first, spec.color).mean(0), object_pixels(last, spec.color).mean(0)
    moved = {"left": x0 - x1, "right": x1 - x0, "up": y0 - y1, "down": y1 - y0}[spec.direction]
    assert moved > 10
    growth = len(object_pixels(last, spec.color)) - len(object_pixels(first, spec.color))
    assert growth > 0 if spec.size_trend == "grows" else growth < 0
    if spec.visibility == "appears":
        assert shown[0] == spec.shot_lengths[0]
    elif spec.visibility == "disappears":
        assert shown[-1] == spec.num_frames - spec.shot_lengths[-1] - 1
    else:
        assert shown == list(range(spec.num_frames))


def test_generated_set_is_deterministic_and_complete(tmp_path):
    a = generate_synthetic_video_qa(tmp_path / "a", num_train=4, num_validation=2, seed=3)
    b = generate_synthetic_video_qa(tmp_path / "b", num_train=4, num_validation=2, seed=3)
    for key in a:
        assert a[key].read_text() == b[key].read_text()
    records = [json.loads(line) for line in a["train_qa"].read_text().splitlines()]
    kinds = {r["question_type"] for r in records}
    assert {"color", "shape", "direction", "size", "shots"} <= kinds
    for record in records:
        assert record["conversations"][0]["value"].startswith("<video>\n")
        assert len(record["conversations"][1]["value"].split()) == 1
    specs = [json.loads(line) for line in (tmp_path / "a" / "specs.jsonl").read_text().splitlines()]
    video = load_video(tmp_path / "a" / records[0]["video"])
    assert video.frames.shape[0] == sum(specs[0]["shot_lengths"])
    captions = [json.loads(line) for line in a["train_captions"].read_text().splitlines()]
    assert len(captions) == 4 and all(c["caption"].endswith(".") for c in captions)


def test_refuses_to_overwrite_a_generated_set(tmp_path):
    generate_synthetic_video_qa(tmp_path, num_train=1, num_validation=0)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        generate_synthetic_video_qa(tmp_path, num_train=1, num_validation=0)
    generate_synthetic_video_qa(tmp_path, num_train=1, num_validation=0, overwrite=True)


def test_still_frames_answer_what_their_pixels_show(tmp_path):
    """Every frame question of the image set agrees with its frame: the object's presence, colour, which third of
    the frame its centre lies in, big or small, the background's colour."""
    files = generate_synthetic_video_qa(tmp_path, num_train=12, num_validation=0, seed=5)
    records = [json.loads(line) for line in files["train_image_qa"].read_text().splitlines()]
    answers: dict[str, dict[str, str]] = {}
    for record in records:
        assert record["conversations"][0]["value"].startswith("<image>\n")
        answers.setdefault(record["image"], {})[record["question_type"]] = record["conversations"][1]["value"]
    assert len(answers) == 24  # two frames per video
    kinds = {kind for per_image in answers.values() for kind in per_image}
    assert kinds == set(IMAGE_TYPES)
    for image, per_image in answers.items():
        frame = np.load(tmp_path / image)
        assert tuple(frame[0, 0]) == BACKGROUNDS[BACKGROUND_NAMES.index(per_image["background"])]
        if per_image["presence"] == "no":
            assert set(per_image) == {"presence", "background"}
            assert not any(len(object_pixels(frame, color)) for color in COLORS)
            continue
        pixels = object_pixels(frame, per_image["color"])
        assert len(pixels) > 20
        y, x = pixels.mean(0) / frame.shape[0]
        # The centroid of the visible part sits in the answered third, give or take clipping at the frame's edge.
        assert abs(x - (COLUMN_WORDS.index(per_image["column"]) + 0.5) / 3) < 0.3
        assert abs(y - (ROW_WORDS.index(per_image["row"]) + 0.5) / 3) < 0.3
        radius = np.sqrt(len(pixels) / np.pi) / frame.shape[0]
        assert (radius > 0.13) if per_image["scale"] == "big" else (radius < 0.22)


def test_picture_sets_count_their_backgrounds(tmp_path):
    """Each picture set's answer is the number of different backgrounds its frames show (their own image QA says
    which); the videos do not depend on how many picture sets are written."""
    files = generate_synthetic_video_qa(tmp_path / "a", num_train=6, num_validation=0, seed=2, picture_sets_per_video=3)
    background_of = {}
    for line in files["train_image_qa"].read_text().splitlines():
        record = json.loads(line)
        if record["question_type"] == "background":
            background_of[record["image"]] = record["conversations"][1]["value"]
    sets = [json.loads(line) for line in files["train_multi_image_qa"].read_text().splitlines()]
    assert len(sets) == 6 * 3
    for record in sets:
        images = record["image"]
        assert PICTURE_SET_SIZES[0] <= len(images) <= PICTURE_SET_SIZES[1]
        assert record["conversations"][0]["value"] == "<image>\n" * len(images) + PICTURE_SET_QUESTION
        assert record["conversations"][1]["value"] == SHOT_WORDS[len({background_of[i] for i in images})]
    assert {r["conversations"][1]["value"] for r in sets} == set(SHOT_WORDS.values())
    none = generate_synthetic_video_qa(tmp_path / "b", num_train=6, num_validation=0, seed=2, picture_sets_per_video=0)
    assert none["train_multi_image_qa"].read_text() == ""
    for name in ("specs.jsonl", "train_qa.jsonl", "train_image_qa.jsonl"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    with pytest.raises(ValueError, match="picture_sets_per_video"):
        generate_synthetic_video_qa(tmp_path / "c", num_train=1, num_validation=0, picture_sets_per_video=-1)
