"""Tiny random LinVT models of every supported family, built offline, for tests, examples and benchmarks.

`make_tiny(backbone, seed)` returns `(model, processor)`: a LinVT model whose image-LLM is the family's real
transformers class at toy sizes (vision tower of one or two layers, an LLM of two layers of width 64), sized to
match `make_tiny_linvt_processor(backbone)`, with a small LinVT (width 32, one layer, 8 output tokens).
"""

from __future__ import annotations

from typing import Any

import torch

from ..modeling.configuration_linvt import LinVTConfig
from ..processing.processor import LinVTProcessor
from .tiny_processors import make_tiny_linvt_processor

TEXT_HIDDEN = 64
TINY_LINVT = dict(
    hidden_size=32, num_attention_heads=4, num_layers=1, top_k_tokens=64, num_queries=[4, 2, 2], pooling_windows=[1, 2, 4]
)


def tiny_linvt_config(**overrides: Any) -> LinVTConfig:
    """The tiny LinVT settings (8 video tokens per video) with `overrides` applied."""
    return LinVTConfig(**{**TINY_LINVT, **overrides})


def _text_config(processor: LinVTProcessor, **extra: Any) -> dict[str, Any]:
    tokenizer = processor.tokenizer
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
        **extra,
    )


def _qwen_image_llm_config(family: str, processor: LinVTProcessor) -> dict[str, Any]:
    token = processor.tokenizer.convert_tokens_to_ids
    vision = dict(depth=1, embed_dim=32, hidden_size=TEXT_HIDDEN, num_heads=2, patch_size=14, spatial_merge_size=2)
    if family == "qwen2_vl":
        vision.update(mlp_ratio=2)
    else:
        vision.update(intermediate_size=64, out_hidden_size=TEXT_HIDDEN, window_size=56, fullatt_block_indexes=[0])
    # head_dim 16 -> 8 rotary frequencies split over (time, height, width).
    rope = {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0}
    return dict(
        model_type=family,
        vision_config=vision,
        text_config=_text_config(processor, rope_parameters=rope),
        image_token_id=token("<|image_pad|>"),
        video_token_id=token("<|video_pad|>"),
        vision_start_token_id=token("<|vision_start|>"),
        vision_end_token_id=token("<|vision_end|>"),
    )


def _internvl_image_llm_config(processor: LinVTProcessor) -> dict[str, Any]:
    # 56x56 tiles of 14-pixel patches: 4x4 patches, pixel shuffle 0.5 -> 4 tokens per tile (image_seq_length=4).
    vision = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=[56, 56],
        patch_size=[14, 14],
    )
    return dict(
        model_type="internvl",
        vision_config=vision,
        text_config=_text_config(processor),
        image_token_id=processor.tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"),
        image_seq_length=4,
    )


def _llava_onevision_image_llm_config(processor: LinVTProcessor) -> dict[str, Any]:
    # 28x28 base resolution: 2x2 patches of 14 -> 4 tokens per image patch (num_image_tokens=4), 1 per video frame
    # after the video path's 2x2 pooling.
    token = processor.tokenizer.convert_tokens_to_ids
    vision = dict(
        model_type="siglip_vision_model",
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=28,
        patch_size=14,
        vision_use_head=False,
    )
    return dict(
        model_type="llava_onevision",
        vision_config=vision,
        text_config=_text_config(processor),
        image_token_index=token("<image>"),
        video_token_index=token("<video>"),
        image_grid_pinpoints=processor.image_processor.image_grid_pinpoints,
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
    )


IMAGE_LLM_CONFIGS = {
    "qwen2_vl": lambda processor: _qwen_image_llm_config("qwen2_vl", processor),
    "qwen2_5_vl": lambda processor: _qwen_image_llm_config("qwen2_5_vl", processor),
    "internvl": _internvl_image_llm_config,
    "llava_onevision": _llava_onevision_image_llm_config,
}


def make_tiny(backbone: str, seed: int = 0, **linvt_overrides: Any):
    """A tiny random LinVT model of `backbone` and its processor, offline. Returns `(model, processor)`."""
    from ..modeling.auto import LINVT_MODEL_CLASSES

    if backbone not in IMAGE_LLM_CONFIGS:
        raise ValueError(f"unknown backbone {backbone!r}; choose one of {sorted(IMAGE_LLM_CONFIGS)}")
    processor = make_tiny_linvt_processor(backbone)
    model_class = LINVT_MODEL_CLASSES[backbone]
    settings = {**TINY_LINVT, **linvt_overrides}
    config = model_class.config_class(
        image_llm_config=IMAGE_LLM_CONFIGS[backbone](processor),
        video_token_id=processor.video_token_id,
        **settings,
    )
    processor.num_video_tokens = config.num_video_tokens
    torch.manual_seed(seed)
    model = model_class(config).eval()
    return model, processor
