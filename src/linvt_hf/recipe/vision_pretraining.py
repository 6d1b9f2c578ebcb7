"""The image-LLM's vision encoder learns to see before its LLM learns to talk about images, as real encoders are
pre-trained (CLIP, SigLIP, InternViT): a linear head on the mean of its tokens classifies what each still frame
shows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel

from ..data import IMAGE_TYPES
from ..processing import LinVTProcessorMixin
from .arguments import RecipeArguments
from .data import read_jsonl
from .image_llm import vision_encoder
from .vocabulary import ANSWER_CHOICES


def frame_attribute_labels(records: Iterable[dict[str, Any]]) -> tuple[list[str], torch.Tensor]:
    """The still images of `records` (image QA) and, per image, the index of each `IMAGE_TYPES` answer in
    `ANSWER_CHOICES`: `(images, labels [N, len(IMAGE_TYPES)])`, -100 where the image has no such question."""
    answers: dict[str, dict[str, str]] = defaultdict(dict)
    for record in records:
        answers[record["image"]][record["question_type"]] = record["conversations"][1]["value"]
    images = sorted(answers)
    labels = torch.full((len(images), len(IMAGE_TYPES)), -100, dtype=torch.long)
    for row, image in enumerate(images):
        for column, kind in enumerate(IMAGE_TYPES):
            if kind in answers[image]:
                labels[row, column] = ANSWER_CHOICES[kind].index(answers[image][kind])
    return images, labels


class FramePixels:
    """Still frames preprocessed once by the image-LLM's image processor, indexable by frame."""

    def __init__(self, processor: LinVTProcessorMixin, arrays: list[np.ndarray]) -> None:
        self.inputs = dict(processor.image_processor(arrays, return_tensors="pt"))
        self.count = len(arrays)

    def __getitem__(self, index: list[int]) -> dict[str, torch.Tensor]:
        """The frames `index` as the image-LLM's vision input: InternVL's `pixel_values` `[len(index), 3, H, W]`, or
        Qwen2-VL's `pixel_values` `[len(index) * patches, patch_dim]` and `image_grid_thw` `[len(index), 3]`."""
        pixel_values = self.inputs["pixel_values"]
        if "image_grid_thw" not in self.inputs:  # InternVL: one [3, H, W] tile per frame
            return {"pixel_values": pixel_values[index]}
        # Qwen2-VL: all frames' patches in one sequence; every frame has the same grid.
        per_frame = pixel_values.reshape(self.count, -1, pixel_values.shape[-1])
        return {"pixel_values": per_frame[index].flatten(0, 1), "image_grid_thw": self.inputs["image_grid_thw"][index]}


def pooled_image_features(model: PreTrainedModel, pixels: dict[str, torch.Tensor]) -> torch.Tensor:
    """The mean of each image's LLM-facing tokens (vision encoder + projector): `[N, hidden_size]`."""
    if "image_grid_thw" in pixels:  # Qwen2-VL returns one tensor per image
        features = model.model.get_image_features(pixels["pixel_values"], pixels["image_grid_thw"]).pooler_output
        return torch.stack([f.mean(0) for f in features])
    return model.model.get_image_features(pixel_values=pixels["pixel_values"]).pooler_output.mean(1)


def pretrain_vision_encoder(
    args: RecipeArguments, model: PreTrainedModel, processor: LinVTProcessorMixin, data_dir: Path
) -> dict[str, float]:
    """Teach the image-LLM's vision encoder (and projector) to see, before its LLM learns to talk about images.

    Real image-LLMs start from a pre-trained encoder (CLIP, SigLIP, InternViT) whose tokens already say what is
    where and how big. A randomly initialised toy encoder trained only through the LLM learns colours and
    backgrounds but not where the object is or how big: the LLM reads an image token's place from its rotary
    position, which LinVT's pooled tokens do not keep. So, as encoders are pre-trained, a linear head on the mean
    of the LLM-facing tokens classifies everything the training frames show (`IMAGE_TYPES`); the mean makes every
    token carry it. Plain PyTorch: the head is thrown away afterwards. Returns held-out accuracy per attribute."""
    names, labels = frame_attribute_labels(read_jsonl(data_dir / "train_image_qa.jsonl"))
    held_out_names, held_out_labels = frame_attribute_labels(read_jsonl(data_dir / "validation_image_qa.jsonl"))
    frames = FramePixels(processor, [np.load(data_dir / name) for name in names])
    held_out = FramePixels(processor, [np.load(data_dir / name) for name in held_out_names])
    classes = [len(ANSWER_CHOICES[kind]) for kind in IMAGE_TYPES]
    head = torch.nn.Linear(model.config.text_config.hidden_size, sum(classes))
    projector = getattr(model.model, "multi_modal_projector", None) or model.model.visual.merger
    parameters = [*vision_encoder(model).parameters(), *projector.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=args.vision_lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.vision_lr, total_steps=max(args.vision_steps, 1))
    generator = torch.Generator().manual_seed(args.seed)

    def logits(pixels: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return head(pooled_image_features(model, pixels)).split(classes, -1)

    model.train()
    for _ in range(args.vision_steps):
        batch = torch.randint(frames.count, (args.vision_batch_size,), generator=generator).tolist()
        targets = labels[batch]
        loss = sum(
            torch.nn.functional.cross_entropy(scores, targets[:, i], ignore_index=-100)
            for i, scores in enumerate(logits(frames[batch]))
        )
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        schedule.step()
    with torch.no_grad():
        predictions = [scores.argmax(-1) for scores in logits(held_out[list(range(held_out.count))])]
    return attribute_accuracy(predictions, held_out_labels)


def attribute_accuracy(predictions: list[torch.Tensor], labels: torch.Tensor) -> dict[str, float]:
    """Accuracy per `IMAGE_TYPES` attribute of `predictions` (one `[N]` tensor of class indices per attribute) against
    `labels` `[N, len(IMAGE_TYPES)]`, over the images that have that attribute (label >= 0)."""
    accuracy = {}
    for i, kind in enumerate(IMAGE_TYPES):
        known = labels[:, i] >= 0
        if known.any():
            accuracy[kind] = float((predictions[i] == labels[:, i])[known].float().mean())
    return accuracy
