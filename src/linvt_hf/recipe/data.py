"""The recipe's data files, derived from the synthetic set (`linvt_hf.data.generate_synthetic_video_qa`): the
image-LLM's text-only and picture-set samples, stage 2's multi-turn chats and image replay."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..data import TIME_ONLY_TYPES
from .arguments import RecipeArguments
from .vocabulary import LANGUAGE_PROMPT


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON-lines file."""
    with open(path) as handle:
        return [json.loads(line) for line in handle]


def write_jsonl(records: Iterable[dict[str, Any]], output: Path) -> Path:
    """`records` as JSON lines in `output` (its folder made if missing); returns `output`."""
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        handle.writelines(json.dumps(record) + "\n" for record in records)
    return path


def question_text(record: dict[str, Any]) -> str:
    """A QA record's question without its `<video>` / `<image>` marker."""
    return record["conversations"][0]["value"].replace("<video>", "").replace("<image>", "").strip()


def write_language_data(data_dir: Path, text_qa: bool = False) -> Path:
    """The image-LLM's text-only data, so that its LLM knows the language of the domain as a real image-LLM's LLM
    does before it ever sees a video: each training caption as text and, with `text_qa`, reading comprehension on
    it (the caption, then each of its video's time-only questions, answered in one word). The LLM then knows how
    to answer these questions from a description (without it, the answer words of time-only questions are never
    an output before stage 2); it never sees their videos, so turning what a video shows into that description is
    left to LinVT and stage 2."""
    path = data_dir / "train_language.jsonl"
    captions = {record["video"]: record["caption"] for record in read_jsonl(data_dir / "train_captions.jsonl")}
    with open(path, "w") as handle:
        for video, caption in captions.items():
            turns = [{"from": "human", "value": LANGUAGE_PROMPT}, {"from": "gpt", "value": caption}]
            handle.write(json.dumps({"id": f"{video}-text", "conversations": turns}) + "\n")
        for record in read_jsonl(data_dir / "train_qa.jsonl") if text_qa else []:
            if record["question_type"] in TIME_ONLY_TYPES:
                question = f"{captions[record['video']]}\n{question_text(record)}"
                turns = [{"from": "human", "value": question}, record["conversations"][1]]
                handle.write(json.dumps({"id": record["id"] + "-text", "conversations": turns}) + "\n")
    return path


def write_picture_set_share(args: RecipeArguments, data_dir: Path, files: list[str]) -> Path:
    """Picture sets drawn at random (seeded) to make `picture_set_share` of the samples of `files` + them."""
    sets = read_jsonl(data_dir / "train_multi_image_qa.jsonl")
    others = sum(len(read_jsonl(Path(path))) for path in files)
    count = round(others * args.picture_set_share / (1.0 - args.picture_set_share))
    if count > len(sets):
        raise ValueError(
            f"picture_set_share {args.picture_set_share} needs {count} picture sets, the data has {len(sets)}"
        )
    picks = np.random.default_rng(args.seed).choice(len(sets), size=count, replace=False)
    output = Path(args.output_dir) / "train_picture_set_share.jsonl"
    return write_image_llm_records([sets[i] for i in sorted(picks)], output)


def write_image_llm_records(records: list[dict[str, Any]], output: Path) -> Path:
    """`records` with only the fields the instruction loader reads (`id`, `image`, `conversations`), written to
    `output`: one file can then mix picture sets, still-frame QA and language records."""
    keep = ("id", "image", "conversations")
    return write_jsonl(({k: r[k] for k in keep if k in r} for r in records), output)


def multi_turn_chats(records: list[dict[str, Any]], visual: str, rng: np.random.Generator) -> list[dict[str, Any]]:
    """QA records regrouped per video (`visual="video"`) or still image (`"image"`): one chat whose turns ask all of
    its questions in a random order, the first turn holding the `<video>` / `<image>` marker (for a video, the
    question that conditions TTA)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        grouped[record[visual]].append(record)
    chats = []
    for source, questions in grouped.items():
        turns = []
        for i in rng.permutation(len(questions)):
            question = question_text(questions[i])
            turns.append({"from": "human", "value": f"<{visual}>\n{question}" if not turns else question})
            turns.append(questions[i]["conversations"][1])
        chats.append({"id": f"{source}-all", visual: source, "conversations": turns})
    return chats


def write_multi_turn_qa(data_dir: Path, seed: int, output: Path) -> Path:
    """The training video QA as one chat per video (`multi_turn_chats`): one decoded video then teaches every answer
    about it. Written to `output` (the run's own folder: runs may share `data_dir`); paths stay relative to
    `data_dir`."""
    records = read_jsonl(data_dir / "train_qa.jsonl")
    return write_jsonl(multi_turn_chats(records, "video", np.random.default_rng(seed)), output)


def write_image_replay(data_dir: Path, seed: int, share: float, num_video_samples: int, output: Path) -> Path:
    """Still-image QA mixed back into stage 2, so that the LoRA that stage 2 trains keeps the image-LLM's answers
    about images (video-only data pulls the shared LLM away from them): one chat per image, as many as make `share`
    of the stage-2 samples, drawn at random (seeded) from the image-LLM's training images."""
    rng = np.random.default_rng(seed)
    chats = multi_turn_chats(read_jsonl(data_dir / "train_image_qa.jsonl"), "image", rng)
    count = min(len(chats), round(num_video_samples * share / (1.0 - share)))
    return write_jsonl([chats[i] for i in sorted(rng.choice(len(chats), size=count, replace=False))], output)
