"""What the two training scripts share: their model and data arguments, model/processor loading, the datasets."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import torch
from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

import linvt_hf
from linvt_hf.modeling.auto import linvt_class_for
from linvt_hf.training import VideoInstructionCollator, load_video_instruction_data


@dataclass
class ModelArguments:
    model_name_or_path: str = field(
        metadata={"help": "An image-LLM checkpoint (Hub id or folder; LinVT is added, freshly initialised) or a LinVT "
                  "checkpoint (e.g. the output of stage 1)."}
    )
    processor_name_or_path: str | None = field(
        default=None, metadata={"help": "Where the processor is, if not with the model."}
    )
    video_tokenizer_config: str | None = field(
        default=None,
        metadata={"help": "LinVTConfig settings for a fresh video tokenizer, as JSON text or a .json file, e.g. "
                  "'{\"num_queries\": [64, 32, 16], \"top_k_tokens\": 2048}'. Ignored for LinVT checkpoints."},
    )
    dtype: str = field(default="auto", metadata={"help": "Weights dtype: auto, bfloat16, float16 or float32."})
    attn_implementation: str | None = field(default=None, metadata={"help": "e.g. sdpa, flash_attention_2."})


@dataclass
class DataArguments:
    train_files: list[str] = field(metadata={"help": "JSON/JSONL instruction or caption files."})
    eval_files: list[str] | None = field(default=None, metadata={"help": "Evaluation files (optional)."})
    video_root: str = field(default=".", metadata={"help": "Folder that relative video/image paths start from."})
    num_frames: int | None = field(default=8, metadata={"help": "Frames sampled per video."})
    fps: float | None = field(default=None, metadata={"help": "Sample at this rate instead of num_frames."})
    max_frames: int | None = field(default=None, metadata={"help": "The most frames when sampling by fps."})
    max_length: int | None = field(default=None, metadata={"help": "Truncate samples to this many tokens."})
    shot_detector: str | None = field(default=None, metadata={"help": "autoshot, histogram or none."})
    skip_malformed_lines: bool = field(
        default=False,
        metadata={"help": "Skip (and count, in a warning per file) JSONL lines that are not JSON objects, instead of "
                  "stopping at the first one."},
    )


def _linvt_settings(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    if os.path.isfile(text):
        with open(text) as handle:
            return json.load(handle)
    return json.loads(text)


def load_model_and_processor(args: ModelArguments) -> tuple[linvt_hf.LinVTForConditionalGeneration, Any]:
    """A LinVT checkpoint as saved, or an image-LLM with a fresh LinVT (`from_backbone`), and its processor."""
    kwargs: dict[str, Any] = {"dtype": args.dtype if args.dtype == "auto" else getattr(torch, args.dtype)}
    if args.attn_implementation:
        kwargs["attn_implementation"] = args.attn_implementation
    config = AutoConfig.from_pretrained(args.model_name_or_path)
    processor_path = args.processor_name_or_path or args.model_name_or_path
    if isinstance(config, linvt_hf.LinVTImageLLMConfig):
        model = AutoModelForImageTextToText.from_pretrained(args.model_name_or_path, **kwargs)
        processor = AutoProcessor.from_pretrained(processor_path)
    else:
        processor = linvt_hf.LinVTProcessor.from_backbone(processor_path)
        video_tokenizer_config = linvt_hf.LinVTConfig(**_linvt_settings(args.video_tokenizer_config))
        model = linvt_class_for(config.model_type).from_backbone(
            args.model_name_or_path,
            video_tokenizer_config=video_tokenizer_config,
            video_token_id=processor.video_token_id,
            **kwargs,
        )
    processor.num_video_tokens = model.config.num_video_tokens
    return model, processor


def build_data(data: DataArguments, processor: Any):
    """(train dataset, eval dataset or None, collator)."""
    train = load_video_instruction_data(data.train_files, skip_malformed=data.skip_malformed_lines)
    evaluation = None
    if data.eval_files:
        evaluation = load_video_instruction_data(data.eval_files, skip_malformed=data.skip_malformed_lines)
    collator = VideoInstructionCollator(
        processor,
        video_root=data.video_root,
        num_frames=data.num_frames,
        fps=data.fps,
        max_frames=data.max_frames,
        max_length=data.max_length,
        shot_detector=data.shot_detector,
    )
    return train, evaluation, collator
