"""Tiny random LinVT models of every registered family, built offline, for tests, examples and benchmarks.

`make_tiny(backbone, seed)` returns `(model, processor)`: a LinVT model whose image-LLM part is the family's real
transformers classes at toy sizes (a vision tower of one or two layers, an LLM of two layers of width 64, as its
family declares in `LinVTFamily.tiny_image_llm_config`), sized to match `make_tiny_linvt_processor(backbone)`, with a
small LinVT (width 32, one layer, 8 output tokens).
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import AutoConfig, PreTrainedConfig

from ..family import FAMILIES
from ..modeling.configuration_linvt import LinVTConfig
from ..modeling.video_tokenizer import video_tokenizer_class
from .tiny_processors import make_tiny_linvt_processor

TEXT_HIDDEN = 64
TINY_LINVT = dict(
    hidden_size=32, num_attention_heads=4, num_layers=1, top_k_tokens=64, num_queries=[4, 2, 2], pooling_windows=[1, 2, 4]
)


def tiny_linvt_config(**overrides: Any) -> LinVTConfig:
    """The tiny LinVT settings (8 video tokens per video) with `overrides` applied."""
    return LinVTConfig(**{**TINY_LINVT, **overrides})


def tiny_text_config(tokenizer: Any) -> dict[str, Any]:
    """A two-layer LLM of width 64 over `tokenizer`'s vocabulary."""
    return dict(
        vocab_size=len(tokenizer),
        hidden_size=TEXT_HIDDEN,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|endoftext|>"),
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
    )


def tiny_image_llm_config(backbone: str, processor: Any | None = None) -> PreTrainedConfig:
    """The config of `backbone`'s image-LLM at toy sizes (e.g. a `Qwen2VLConfig`), matching the tiny processor."""
    if backbone not in FAMILIES:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {sorted(FAMILIES)}")
    processor = processor if processor is not None else make_tiny_linvt_processor(backbone)
    values = FAMILIES[backbone].tiny_image_llm_config(processor, tiny_text_config(processor.tokenizer))
    return AutoConfig.for_model(backbone, **values)


def make_tiny(backbone: str, seed: int = 0, **linvt_overrides: Any):
    """A tiny random LinVT model of `backbone` and its processor, offline. Returns `(model, processor)`."""
    if backbone not in FAMILIES:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {sorted(FAMILIES)}")
    family = FAMILIES[backbone]
    processor = make_tiny_linvt_processor(backbone)
    image_llm = tiny_image_llm_config(backbone, processor)
    video_tokenizer_config = tiny_linvt_config(**linvt_overrides)
    config = family.config_class.from_image_llm_config(image_llm, video_tokenizer_config=video_tokenizer_config)
    if video_tokenizer_config.video_tokenizer_type == "linvt":
        processor.num_video_tokens = config.num_video_tokens
    else:
        processor.video_tokens_per_frame = video_tokenizer_class(video_tokenizer_config).num_output_tokens(
            video_tokenizer_config, 1
        )
    torch.manual_seed(seed)
    model = family.for_generation_class(config).eval()
    return model, processor


__all__ = ["TEXT_HIDDEN", "TINY_LINVT", "make_tiny", "tiny_image_llm_config", "tiny_linvt_config", "tiny_text_config"]
