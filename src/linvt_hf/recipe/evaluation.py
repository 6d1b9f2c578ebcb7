"""Evaluation: exact match of the greedy answer's first word with the reference answer, per question type and
group, for LinVT models (videos, images) and image-LLMs (frames as images); chance levels; `AccuracyProbe`, the same
during training."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel, TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from ..processing import LinVTProcessorMixin
from .data import question_text
from .image_llm import IMAGE_LLM_INPUTS
from .vocabulary import ANSWER_CHOICES, GROUPS


@dataclass
class EvalItem:
    """One question with its visual input: a video path, or images (one frame, or frames standing for a video)."""

    question_type: str
    question: str
    answer: str
    video: str | None = None
    images: list[np.ndarray] | None = None


def video_items(records: Iterable[dict[str, Any]], data_dir: Path) -> list[EvalItem]:
    """Video questions: each record's video file (under `data_dir`), question and answer."""
    return [
        EvalItem(r["question_type"], question_text(r), r["conversations"][1]["value"], video=str(data_dir / r["video"]))
        for r in records
    ]


def image_items(records: Iterable[dict[str, Any]], data_dir: Path) -> list[EvalItem]:
    """Image questions: one still frame, or a picture set (`"image"` a list of frames)."""
    items = []
    for r in records:
        paths = r["image"] if isinstance(r["image"], list) else [r["image"]]
        images = [np.load(data_dir / path) for path in paths]
        items.append(EvalItem(r["question_type"], question_text(r), r["conversations"][1]["value"], images=images))
    return items


def frames_as_images_items(
    records: Iterable[dict[str, Any]], data_dir: Path, processor: LinVTProcessorMixin, count: int
) -> list[EvalItem]:
    """Video questions for an image-LLM: `count` frames of the video (sampled as LinVT's processor samples, shots
    included) given as images."""
    items = []
    for r in records:
        frames = processor.video_processor.sample(str(data_dir / r["video"]), num_frames=count).frames
        reference = r["conversations"][1]["value"]
        items.append(EvalItem(r["question_type"], question_text(r), reference, images=list(frames)))
    return items


def prompt(processor: LinVTProcessorMixin, item: EvalItem) -> str:
    """`item`'s question as a one-turn chat with its video or images, ready for the answer (generation prompt)."""
    visuals = [{"type": "video"}] if item.video is not None else [{"type": "image"} for _ in item.images]
    messages = [{"role": "user", "content": [*visuals, {"type": "text", "text": item.question}]}]
    return processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


@torch.inference_mode()
def answer(
    model: PreTrainedModel, processor: LinVTProcessorMixin, items: list[EvalItem], image_llm_only: bool = False
) -> list[str]:
    """Greedy answers (the first word of up to 4 new tokens, lower case) for a batch of items of the same kind;
    `image_llm_only`: `model` is an image-LLM, given only the inputs its forward takes. Prompts are padded on the
    left (for generation) without changing the tokenizer's own `padding_side`, which training batches use."""
    videos = [i.video for i in items if i.video is not None] or None
    images = [img for i in items for img in (i.images or [])] or None
    texts = [prompt(processor, i) for i in items]
    inputs = dict(
        processor(text=texts, videos=videos, images=images, padding=True, padding_side="left", return_tensors="pt")
    )
    if image_llm_only:
        inputs = {k: v for k, v in inputs.items() if k in IMAGE_LLM_INPUTS}
    output = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    texts = processor.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    return [(t.strip().split() or [""])[0].strip(".,!?").lower() for t in texts]


def evaluate(
    model: PreTrainedModel,
    processor: LinVTProcessorMixin,
    items: list[EvalItem],
    batch_size: int,
    image_llm_only: bool = False,
) -> dict[str, Any]:
    """Accuracy per question type, plus `single_frame`, `time_only` and `frame` (`FRAME_QUESTIONS`) over their types."""
    model.eval()
    correct: dict[str, list[bool]] = defaultdict(list)
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        for item, prediction in zip(batch, answer(model, processor, batch, image_llm_only), strict=True):
            correct[item.question_type].append(prediction == item.answer)
    scores: dict[str, Any] = {kind: float(np.mean(v)) for kind, v in correct.items()}
    for group, kinds in GROUPS:
        pooled = [c for kind in kinds for c in correct.get(kind, [])]
        if pooled:
            scores[group] = float(np.mean(pooled))
    scores["counts"] = {kind: len(v) for kind, v in correct.items()}
    return scores


def chance(records: list[dict[str, Any]]) -> dict[str, float]:
    """Chance accuracy per type (one over its choices) and over each group (averaged over its questions)."""
    levels: dict[str, float] = {kind: 1 / len(choices) for kind, choices in ANSWER_CHOICES.items()}
    for group, kinds in GROUPS:
        pooled = [levels[r["question_type"]] for r in records if r["question_type"] in kinds]
        levels[group] = float(np.mean(pooled)) if pooled else 0.0
    return levels


class AccuracyProbe(TrainerCallback):
    """Accuracy per question type on `items` (greedy answers, as `evaluate`) every `every` optimizer steps of a
    training run, kept in `history` as `{"step", <type or group>: accuracy}` rows: when each skill is learned, and
    whether it is at all (a skill stuck at its majority answer's share is not). Answering changes no weight, no
    random state and no data order, so a probed run trains exactly as an unprobed one."""

    def __init__(self, processor: LinVTProcessorMixin, items: list[EvalItem], every: int, batch_size: int) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.processor, self.items, self.every, self.batch_size = processor, items, every, batch_size
        self.history: list[dict[str, float]] = []

    def on_step_end(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        model: PreTrainedModel | None = None,
        **kwargs: Any,
    ) -> None:
        """Scores `items` at every `every`-th step and at the last one (the model back in its training mode)."""
        if state.global_step % self.every == 0 or state.global_step == state.max_steps:
            was_training = model.training
            scores = evaluate(model, self.processor, self.items, self.batch_size)
            model.train(was_training)
            row = {"step": state.global_step, **{k: round(v, 3) for k, v in scores.items() if k != "counts"}}
            self.history.append(row)
            print("probe", json.dumps(row), flush=True)
