"""Batching video instruction data for training: lazy decoding, the chat template, labels and masks.

`VideoInstructionCollator` turns records of `load_video_instruction_data` into model inputs. Videos (and images) are
decoded here, i.e. in the DataLoader workers, never when the dataset is loaded. The prompt is the processor's own
chat template; `labels` keep only the assistant answers' tokens (each answer plus its end-of-turn token, e.g.
`<|im_end|>`), so the model learns to answer and to stop, never to reproduce the template, the question or the video
placeholders.

How answers are found: the conversation is rendered as text, each answer is located in it (after its own turn's
start), and its characters are mapped to tokens with the tokenizer's offsets. The processor then replaces every
video/image placeholder with many tokens; since all videos and images sit in the first user turn, everything after
the last placeholder, answers included, is tokenized identically in both, so answer tokens are matched from the
end of each row (and checked token by token).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers.utils import logging

from ..processing.errors import VideoDecodeError
from .data import IMAGE_MARKER, VIDEO_MARKER

logger = logging.get_logger(__name__)

IGNORE_INDEX = -100
NUM_SKIPPED_KEY = "num_skipped_samples"
EMPTY_BATCH_KEY = "empty_batch"
CAPTION_MASK_KEY = "caption_mask"
ROLES = {"human": "user", "gpt": "assistant", "system": "system"}
# Per-token outputs, [B, L] like input_ids, with the value their padding takes.
TEXT_ALIGNED_PADDING = {
    "input_ids": None,  # the tokenizer's pad id
    "attention_mask": 0,
    "labels": IGNORE_INDEX,
    "question_mask": False,
    CAPTION_MASK_KEY: False,
    "mm_token_type_ids": 0,
    "token_type_ids": 0,
}
# What a sample whose video or image cannot be read raises: a missing file (OSError), a corrupt one.
LOAD_ERRORS = (VideoDecodeError, OSError, EOFError)


@dataclass
class _Sample:
    """One record, ready for the processor: chat messages, its visuals and where its answers are."""

    index: int
    messages: list[dict[str, Any]]
    images: list[Any]
    videos: list[dict[str, Any]]
    is_caption: bool
    text: str = ""
    answer_spans: list[tuple[int, int]] | None = None  # character spans of the answers in `text`


class VideoInstructionCollator:
    r"""
    Collate instruction records (see `load_video_instruction_data`) into a training batch for a LinVT model.

    Args:
        processor (`LinVTProcessor`): the model's processor (its chat template, tokenizer and video processing).
        video_root (`str`, defaults to `"."`): relative video and image paths are resolved against it.
        num_frames (`int`, *optional*, defaults to 8): frames sampled per video (`None` with `fps` set: by rate).
        fps (`float`, *optional*): sample at this rate instead (bounded by `max_frames`).
        max_frames (`int`, *optional*): the most frames per video when sampling by `fps`.
        max_length (`int`, *optional*): truncate each sample to this many tokens (from the right). A sample whose
            video or image placeholders would be cut is skipped instead.
        shot_detector (`str`, *optional*): `"autoshot"`, `"autoshot_full"`, `"histogram"` or `"none"`; the
            processor's default if None.
        system_prompt (`str`, *optional*): a system turn prepended to conversations that have none.
        padding_side (`str`, *optional*): `"left"` or `"right"`: pad each batch on this side whatever the
            tokenizer's `padding_side` is (which e.g. batched generation sets to `"left"`); the tokenizer's own side
            if None.

    Returns (from `__call__`): a `dict` of tensors with the processor's outputs for the kept samples (`input_ids`,
    `attention_mask`, `pixel_values_videos`, `video_frame_mask`, `question_mask`, ...), plus

        - `labels` `[B, L]`: the input ids on assistant answer tokens (with their end-of-turn token), -100 elsewhere;
        - `caption_mask` `[B, L]` bool: the caption's tokens in caption records (no special or whitespace-only
          tokens), what stage 1's contrastive loss pools;
        - `num_skipped_samples` (0-dim long): samples dropped because their video/image could not be read;
        - `empty_batch` (0-dim bool), only when every sample was dropped: the batch then holds empty `input_ids` and
          `labels` and the trainer skips it.
    """

    def __init__(
        self,
        processor: Any,
        video_root: str | os.PathLike = ".",
        num_frames: int | None = 8,
        fps: float | None = None,
        max_frames: int | None = None,
        max_length: int | None = None,
        shot_detector: str | None = None,
        system_prompt: str | None = None,
        padding_side: str | None = None,
    ) -> None:
        if num_frames is None and fps is None:
            raise ValueError("give num_frames or fps")
        if padding_side not in (None, "left", "right"):
            raise ValueError(f"padding_side must be 'left', 'right' or None, got {padding_side!r}")
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.video_root = os.fspath(video_root)
        self.video_kwargs = {
            "num_frames": None if fps is not None else num_frames,
            "fps": fps,
            "max_frames": max_frames,
        }
        if shot_detector is not None:
            self.video_kwargs["shot_detector"] = shot_detector
        self.video_kwargs = {k: v for k, v in self.video_kwargs.items() if v is not None}
        self.max_length = max_length
        self.system_prompt = system_prompt
        self.padding_side = padding_side
        self.placeholder_ids = {processor.video_token_id, processor.image_token_id}
        self.special_ids = set(self.tokenizer.all_special_ids) | {
            i for i, token in self.tokenizer.added_tokens_decoder.items() if token.special
        }

    # ------------------------------------------------------------------------------------------------ entry point
    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        samples, skipped = [], 0
        for index, record in enumerate(features):
            try:
                samples.append(self._sample(index, record))
            except LOAD_ERRORS as error:
                skipped += self._skip(record, error)
        while samples:
            try:
                batch, dropped = self._process(samples)
            except LOAD_ERRORS:
                # Find the culprits one by one (decoding again), then batch the rest.
                kept = []
                for sample in samples:
                    try:
                        self._process([sample])
                        kept.append(sample)
                    except LOAD_ERRORS as error:
                        skipped += self._skip(features[sample.index], error)
                samples = kept
                continue
            if not dropped:
                batch[NUM_SKIPPED_KEY] = torch.tensor(skipped)
                return batch
            skipped += len(dropped)
            samples = [s for s in samples if s.index not in dropped]
        return self.empty_batch(skipped)

    def empty_batch(self, num_skipped: int) -> dict[str, torch.Tensor]:
        """The batch returned when no sample could be read: flagged, with empty text tensors."""
        empty = torch.zeros(0, 0, dtype=torch.long)
        return {
            "input_ids": empty,
            "attention_mask": empty.clone(),
            "labels": empty.clone(),
            NUM_SKIPPED_KEY: torch.tensor(num_skipped),
            EMPTY_BATCH_KEY: torch.tensor(True),
        }

    @staticmethod
    def _skip(record: dict[str, Any], error: Exception) -> int:
        logger.warning(f"skipping sample {record.get('id')!r}: {type(error).__name__}: {error}")
        return 1

    # ------------------------------------------------------------------------------------------------ messages
    def _sample(self, index: int, record: dict[str, Any]) -> _Sample:
        """Chat messages of one record; images are loaded here, videos only by the processor."""
        self._check_markers(record)
        videos, images = [], []
        if record.get("video") is not None:
            videos.append({"video": self._resolve(record["video"])})
        for path in record.get("images") or ():
            images.append(self._load_image(self._resolve(path)))
        messages = []
        if self.system_prompt is not None and record["conversations"][0]["from"] != "system":
            messages.append({"role": "system", "content": [{"type": "text", "text": self.system_prompt}]})
        for turn in record["conversations"]:
            messages.append({"role": ROLES[turn["from"]], "content": self._content(turn["value"], turn["from"])})
        sample = _Sample(index, messages, images, videos, is_caption=record.get("task") == "caption")
        sample.text = self.processor.apply_chat_template(messages, tokenize=False)
        sample.answer_spans = self._answer_spans(sample)
        return sample

    @staticmethod
    def _check_markers(record: dict[str, Any]) -> None:
        """One `<video>` marker per video and one `<image>` marker per image in the record's user/system turns."""
        text = [turn["value"] for turn in record["conversations"] if turn["from"] != "gpt"]
        found = [sum(value.count(marker) for value in text) for marker in (VIDEO_MARKER, IMAGE_MARKER)]
        expected = [int(record.get("video") is not None), len(record.get("images") or ())]
        if found != expected:
            raise ValueError(
                f"record {record.get('id')!r}: its turns hold {found[0]} {VIDEO_MARKER} and {found[1]} {IMAGE_MARKER} "
                f"marker(s) for {expected[0]} video(s) and {expected[1]} image(s); load the records with "
                "load_video_instruction_data, which places and checks the markers"
            )

    def _resolve(self, path: str) -> str:
        if "://" in path or os.path.isabs(path):
            return path
        return os.path.join(self.video_root, path)

    @staticmethod
    def _load_image(path: str) -> Any:
        if path.endswith(".npy"):
            try:
                return np.load(path)
            except ValueError as error:  # not an array file
                raise OSError(f"cannot read image array {path}: {error}") from None
        from PIL import Image

        with Image.open(path) as image:
            return image.convert("RGB")

    @staticmethod
    def _content(value: str, role: str) -> list[dict[str, Any]]:
        """A turn's text as content items, the `<video>` / `<image>` marker becoming a video / image item."""
        if role == "gpt":
            return [{"type": "text", "text": value}]
        items: list[dict[str, Any]] = []
        text = value
        while True:
            positions = {m: text.find(m) for m in (VIDEO_MARKER, IMAGE_MARKER) if m in text}
            if not positions:
                break
            marker = min(positions, key=positions.get)
            before, text = text[: positions[marker]], text[positions[marker] + len(marker) :]
            if before.strip():
                items.append({"type": "text", "text": before.strip()})
            items.append({"type": "video" if marker == VIDEO_MARKER else "image"})
        if text.strip():
            items.append({"type": "text", "text": text.strip()})
        return items

    def _answer_spans(self, sample: _Sample) -> list[tuple[int, int]]:
        """Character spans of the assistant answers in the rendered text, in order."""
        spans, cursor = [], 0
        for position, message in enumerate(sample.messages):
            if message["role"] != "assistant":
                continue
            prefix = self.processor.apply_chat_template(sample.messages[:position], tokenize=False)
            start = len(prefix) if sample.text.startswith(prefix) else cursor
            answer = message["content"][0]["text"].strip()
            found = sample.text.find(answer, max(start, cursor)) if answer else -1
            if found < 0:
                raise ValueError(
                    f"answer {answer!r} of message {position} not found in the rendered chat template; the template "
                    "must write assistant answers verbatim"
                )
            spans.append((found, found + len(answer)))
            cursor = found + len(answer)
        return spans

    # ------------------------------------------------------------------------------------------------ processing
    def _process(self, samples: list[_Sample]) -> tuple[dict[str, torch.Tensor], set[int]]:
        """Run the processor on the samples and add labels and caption_mask. Also returns the indices of samples
        that `max_length` would cut inside their placeholders (the batch is then to be rebuilt without them)."""
        videos = [v for s in samples for v in s.videos]
        images = [i for s in samples for i in s.images]
        padding = {"padding_side": self.padding_side} if self.padding_side is not None else {}
        batch = self.processor(
            text=[s.text for s in samples],
            videos=videos or None,
            images=images or None,
            padding=True,
            add_special_tokens=False,
            return_tensors="pt",
            **padding,
            **self.video_kwargs,
        )
        batch = dict(batch)
        labels = torch.full_like(batch["input_ids"], IGNORE_INDEX)
        caption_mask = torch.zeros_like(batch["input_ids"], dtype=torch.bool)
        for row, sample in enumerate(samples):
            ids, attention = batch["input_ids"][row], batch["attention_mask"][row]
            self._mark_answers(sample, ids, attention, labels[row], caption_mask[row])
        batch["labels"] = labels
        batch[CAPTION_MASK_KEY] = caption_mask
        if "question_mask" in batch:
            batch["question_mask"] = batch["question_mask"].bool()
        if self.max_length is None:
            return batch, set()
        return self._truncate(batch, samples)

    def _mark_answers(
        self,
        sample: _Sample,
        ids: torch.Tensor,
        attention: torch.Tensor,
        labels: torch.Tensor,
        caption_mask: torch.Tensor,
    ) -> None:
        """Fill one row's labels (answers + end-of-turn) and caption mask, in place. `ids`, `attention`: `[L]`."""
        encoding = self.tokenizer(sample.text, add_special_tokens=False, return_offsets_mapping=True)
        text_ids, offsets = encoding["input_ids"], encoding["offset_mapping"]
        to_row = self._suffix_alignment(sample, text_ids, ids, attention)
        for start, end in sample.answer_spans:
            tokens = [i for i, (lo, hi) in enumerate(offsets) if lo < end and hi > start]
            after = tokens[-1] + 1
            if after < len(text_ids) and text_ids[after] in self.special_ids:
                tokens.append(after)  # the end-of-turn token: the model must learn to stop
            rows = to_row(tokens)
            labels[rows] = ids[rows]
            if sample.is_caption:
                words = [
                    i
                    for i in tokens
                    if text_ids[i] not in self.special_ids and sample.text[offsets[i][0] : offsets[i][1]].strip()
                ]
                caption_mask[to_row(words)] = True

    def _suffix_alignment(
        self, sample: _Sample, text_ids: list[int], ids: torch.Tensor, attention: torch.Tensor
    ) -> Callable[[list[int]], torch.Tensor]:
        """A map from token indices of the unexpanded text (after its last placeholder) to positions in the row."""
        placeholders = [i for i, t in enumerate(text_ids) if t in self.placeholder_ids]
        first = placeholders[-1] + 1 if placeholders else 0
        positions = attention.nonzero().squeeze(-1)  # the row's real tokens, whatever the padding side
        shift = len(positions) - len(text_ids)
        if shift + first < 0 or ids[positions[shift + first :]].tolist() != text_ids[first:]:
            raise ValueError(
                f"sample {sample.index}: the processor's tokens after the last placeholder differ from the text's"
            )

        def to_row(indices: list[int]) -> torch.Tensor:
            if indices and indices[0] < first:
                raise ValueError(
                    f"sample {sample.index}: an answer precedes a video/image placeholder; videos and images must "
                    "be in the first user turn"
                )
            return positions[[i + shift for i in indices]]

        return to_row

    def _truncate(
        self, batch: dict[str, torch.Tensor], samples: list[_Sample]
    ) -> tuple[dict[str, torch.Tensor], set[int]]:
        """Keep the first `max_length` real tokens of each row; report samples whose placeholders would be cut."""
        attention = batch["attention_mask"].bool()
        lengths = attention.sum(1)
        if int(lengths.max()) <= self.max_length:
            return batch, set()
        dropped = set()
        for row, sample in enumerate(samples):
            real = batch["input_ids"][row][attention[row]]
            kept = real[: self.max_length]
            count = lambda tokens: sum(int(t) in self.placeholder_ids for t in tokens)  # noqa: E731
            if count(real) != count(kept):
                logger.warning(f"skipping sample {sample.index}: max_length={self.max_length} cuts its video/image")
                dropped.add(sample.index)
        if dropped:
            return batch, dropped
        left = (self.padding_side or self.tokenizer.padding_side) == "left"
        width = min(int(lengths.max()), self.max_length)
        for key, pad in TEXT_ALIGNED_PADDING.items():
            if key not in batch:
                continue
            pad = self.tokenizer.pad_token_id if pad is None else pad
            old = batch[key]
            new = torch.full((old.shape[0], width), pad, dtype=old.dtype)
            for row in range(old.shape[0]):
                values = old[row][attention[row]][: self.max_length]
                if left:
                    new[row, width - len(values) :] = values
                else:
                    new[row, : len(values)] = values
            batch[key] = new
        return batch, set()


__all__ = ["CAPTION_MASK_KEY", "EMPTY_BATCH_KEY", "IGNORE_INDEX", "NUM_SKIPPED_KEY", "VideoInstructionCollator"]
