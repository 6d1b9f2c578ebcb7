"""The toy image-LLM that LinVT converts: built at toy sizes (transformers' own `InternVLForConditionalGeneration` or
`Qwen2VLForConditionalGeneration`), saved and reloaded with the tokenizer it was trained with, and its parts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoTokenizer,
    InternVLForConditionalGeneration,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Qwen2VLForConditionalGeneration,
)

from ..processing import LinVTProcessorMixin
from .arguments import RecipeArguments

# The image-LLM's own forward inputs (the collator also returns LinVT's masks, which it does not take).
IMAGE_LLM_INPUTS = ("input_ids", "attention_mask", "pixel_values", "image_grid_thw", "mm_token_type_ids", "labels")


def save_image_llm(model: PreTrainedModel, processor: LinVTProcessorMixin, path: Path) -> None:
    """Save a trained image-LLM with the tokenizer it was trained with, for runs that convert it later
    (`image_llm_tokenizer`). The tokenizer goes first: the model's `config.json` marks a complete save."""
    processor.tokenizer.save_pretrained(path)
    model.save_pretrained(path)


def image_llm_tokenizer(path: Path) -> PreTrainedTokenizerBase:
    """The tokenizer saved with an image-LLM by `save_image_llm`. One built anew from the synthetic vocabulary of
    the code at hand may number the words differently (the vocabulary grows with the synthetic set), and the
    image-LLM would then silently read other tokens than it learned."""
    if not (Path(path) / "tokenizer_config.json").exists():
        raise FileNotFoundError(
            f"{path} holds an image-LLM without its tokenizer (saved by an older version): its token ids follow the "
            "vocabulary it was trained with, so train and save it again (a new work dir)"
        )
    return AutoTokenizer.from_pretrained(path)


def build_image_llm(args: RecipeArguments, processor: LinVTProcessorMixin) -> PreTrainedModel:
    """A randomly initialised image-LLM of `args.backbone` at toy sizes, matching `processor`'s tokenizer."""
    tokenizer = processor.tokenizer
    text = text_config(args, tokenizer)
    if args.backbone == "internvl":
        model: PreTrainedModel = InternVLForConditionalGeneration(internvl_config(args, text, tokenizer))
    else:
        model = Qwen2VLForConditionalGeneration(qwen2_vl_config(args, text, tokenizer))
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    return model


def text_config(args: RecipeArguments, tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    """The LLM's config (a Qwen2 of `hidden_size` and `num_llm_layers`), with `tokenizer`'s vocabulary and tokens."""
    token = tokenizer.convert_tokens_to_ids
    rope: dict[str, Any] = {"rope_type": "default"}
    if args.backbone == "qwen2_vl":
        # M-RoPE splits head_dim / 2 rotary frequencies over (time, height, width) as Qwen2-VL does (16/24/24 of 64).
        head_dim = args.hidden_size // 4
        spatial = 3 * head_dim // 16
        rope["mrope_section"] = [head_dim // 2 - 2 * spatial, spatial, spatial]
    return dict(
        vocab_size=len(tokenizer),
        hidden_size=args.hidden_size,
        intermediate_size=2 * args.hidden_size,
        num_hidden_layers=args.num_llm_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=token("<|endoftext|>"),
        eos_token_id=token("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
        rope_parameters={**rope, "rope_theta": 10000.0},
    )


def internvl_config(
    args: RecipeArguments, text: dict[str, Any], tokenizer: PreTrainedTokenizerBase
) -> PretrainedConfig:
    """InternViT (learned absolute position embeddings), pixel shuffle 0.5, MLP projector, the Qwen2 LLM `text`."""
    return InternVLForConditionalGeneration.config_class(
        vision_config=dict(
            hidden_size=args.vision_width,
            intermediate_size=2 * args.vision_width,
            num_hidden_layers=args.vision_depth,
            num_attention_heads=4,
            image_size=[args.frame_size, args.frame_size],
            patch_size=[args.patch_size, args.patch_size],
        ),
        text_config=dict(model_type="qwen2", **text),
        image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"),
        image_seq_length=args.tokens_per_frame,
        downsample_ratio=0.5,
    )


def qwen2_vl_config(
    args: RecipeArguments, text: dict[str, Any], tokenizer: PreTrainedTokenizerBase
) -> PretrainedConfig:
    """Qwen2-VL's vision tower (2x2 patch merger into the LLM's width) and the LLM `text`."""
    token = tokenizer.convert_tokens_to_ids
    vision = dict(
        depth=args.vision_depth,
        embed_dim=args.vision_width,
        hidden_size=args.hidden_size,
        num_heads=4,
        mlp_ratio=2,
        patch_size=args.patch_size,
        spatial_merge_size=2,
    )
    return Qwen2VLForConditionalGeneration.config_class(
        vision_config=vision,
        text_config=text,
        image_token_id=token("<|image_pad|>"),
        video_token_id=token("<|video_pad|>"),
        vision_start_token_id=token("<|vision_start|>"),
        vision_end_token_id=token("<|vision_end|>"),
    )


def vision_encoder(model: PreTrainedModel) -> torch.nn.Module:
    """The image-LLM's vision encoder without its projector (InternVL's `vision_tower`; Qwen2-VL's `visual` minus
    its `merger`)."""
    if hasattr(model.model, "vision_tower"):
        return model.model.vision_tower
    visual = model.model.visual
    return torch.nn.ModuleList([module for name, module in visual.named_children() if name != "merger"])
