"""The image-LLM's own training, before LinVT: its vision encoder pre-trained, then projector + LLM with the stock
`Trainer` (encoder frozen, as LLaVA does) on still frames' questions and text, optionally on picture sets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from transformers import PreTrainedModel, Trainer

from ..processing import LinVTProcessorMixin
from ..training import VideoInstructionCollator, load_video_instruction_data
from .arguments import RecipeArguments, training_arguments
from .data import read_jsonl, write_image_llm_records, write_language_data, write_picture_set_share
from .image_llm import IMAGE_LLM_INPUTS, build_image_llm, vision_encoder
from .report import Clock
from .vision_pretraining import pretrain_vision_encoder


def train_image_llm(
    args: RecipeArguments, processor: LinVTProcessorMixin, data_dir: Path, clock: Clock | None = None
) -> tuple[PreTrainedModel, dict[str, float]]:
    """The image-LLM LinVT converts: built, its vision encoder pre-trained, then trained on still frames and text.
    Returns it with the vision encoder's held-out accuracy per frame attribute."""
    model = build_image_llm(args, processor)
    vision_accuracy = pretrain_vision_encoder(args, model, processor, data_dir)
    print("vision encoder, held-out frames:", json.dumps({k: round(v, 3) for k, v in vision_accuracy.items()}))
    if clock is not None:
        clock.lap("vision_pretraining")
    first_phase_files = pretrain_image_llm(args, model, processor, data_dir)
    if clock is not None:
        clock.lap("image_llm_training")
    if args.picture_set_steps > 0:
        train_image_llm_on_picture_sets(args, model, processor, data_dir, first_phase_files)
        if clock is not None:
            clock.lap("picture_set_training")
    return model, vision_accuracy


def pretrain_image_llm(
    args: RecipeArguments, model: PreTrainedModel, processor: LinVTProcessorMixin, data_dir: Path
) -> list[str]:
    """The image-LLM's own training, with the stock `Trainer`: single frames and their questions (+ language, + a
    share of picture sets with `picture_set_share`). Returns its single-image data files (what a later picture-set
    phase rehearses)."""
    files = [str(data_dir / "train_image_qa.jsonl")]
    if args.language_data:
        files.append(str(write_language_data(data_dir, args.text_qa)))
    mixed = list(files)
    if args.picture_set_share > 0:
        mixed.append(str(write_picture_set_share(args, data_dir, files)))
    train_image_llm_on(args, model, processor, data_dir, mixed, "image_llm", args.image_llm_steps)
    return files


def train_image_llm_on_picture_sets(
    args: RecipeArguments,
    model: PreTrainedModel,
    processor: LinVTProcessorMixin,
    data_dir: Path,
    first_phase_files: list[str],
) -> None:
    """The image-LLM's multi-image phase (as LLaVA-OneVision follows its single-image stage with one that adds
    multi-image data): the picture sets, each asking how many different backgrounds its 3-8 frames show, mixed
    half and half with samples of the first phase's data (`first_phase_files`: still-frame QA and language, drawn
    at random, seeded), so that what the image-LLM learned there stays. Without that half, it forgets how to read
    a caption's direction."""
    sets = read_jsonl(data_dir / "train_multi_image_qa.jsonl")
    if not sets:
        return
    rehearsal = [record for path in first_phase_files for record in read_jsonl(Path(path))]
    rng = np.random.default_rng(args.seed)
    picks = rng.choice(len(rehearsal), size=min(len(sets), len(rehearsal)), replace=False)
    records = sets + [rehearsal[i] for i in sorted(picks)]
    mixed = write_image_llm_records(records, Path(args.output_dir) / "train_picture_sets_mixed.jsonl")
    train_image_llm_on(args, model, processor, data_dir, [str(mixed)], "picture_sets", args.picture_set_steps)


def train_image_llm_on(
    args: RecipeArguments,
    model: PreTrainedModel,
    processor: LinVTProcessorMixin,
    data_dir: Path,
    files: list[str],
    name: str,
    steps: int,
) -> None:
    """Projector + LLM train on `files` with the stock `Trainer` (the vision encoder frozen unless
    `--freeze-vision false`)."""
    dataset = load_video_instruction_data(files)
    collator = VideoInstructionCollator(processor, video_root=data_dir)
    vision = vision_encoder(model)
    vision.requires_grad_(not args.freeze_vision)
    trainer = Trainer(
        model=model,
        args=training_arguments(args, name, steps, args.image_llm_lr),
        train_dataset=dataset,
        data_collator=image_llm_collator(collator),
    )
    trainer.train()
    vision.requires_grad_(True)


def image_llm_collator(collator: VideoInstructionCollator) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    """The instruction collator, keeping only what the image-LLM's forward takes."""

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        return {k: v for k, v in collator(features).items() if k in IMAGE_LLM_INPUTS}

    return collate
