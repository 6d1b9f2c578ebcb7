"""LinVT on LLaVA (transformers' `llava`: vision tower + multi-modal projector + LLM).

This family serves LLaVA-1.5 and the many LLaVA-style image-LLMs, among them the paper's Mipha (SigLIP + Phi; its
original checkpoint converts to this layout, see docs/conversions.md). Each frame goes through LLaVA's own image path
(the vision tower's `config.vision_feature_layer` hidden states, `config.vision_feature_select_strategy`, the
projector) as one image. LLaVA's config and tokenizer have no video token: the LinVT processor adds `<video>` to the
tokenizer when it lacks one, and the config's `video_token_id` is its id.
"""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub.dataclasses import strict
from torch import nn
from transformers import LlavaConfig, LlavaForConditionalGeneration, LlavaModel
from transformers.core_model_loading import WeightRenaming

from .configuration_family import LinVTImageLLMConfig
from .frame_families import LinVTAddedVideoToken, LinVTFrameVideoPath
from .modeling_linvt import LinVTForConditionalGeneration, LinVTModel

LLAVA_VIDEO_TOKEN = "<video>"


@strict
class LinVTLlavaConfig(LinVTImageLLMConfig, LlavaConfig):
    r"""LinVT on LLaVA: a `LlavaConfig` plus the video tokenizer's settings, `video_token_id` (the id of the video
    placeholder token `<video>`: LLaVA's config has none) and `lm_head_bias`: True gives the LM head a bias, as Phi's
    head has (Mipha's; transformers' `LlavaForConditionalGeneration` has a head without one, so it cannot hold it).

    Raises:
        ValueError: `video_token_id` is the image token's id, or outside the LLM's vocabulary.
    """

    model_type = "linvt_llava"
    sub_configs_defaults = LinVTImageLLMConfig.sub_configs_with_video_tokenizer(LlavaConfig)
    video_token_id: int | None = None
    lm_head_bias: bool = False

    def __post_init__(self, **kwargs: Any) -> None:
        super().__post_init__(**kwargs)
        self.check_added_video_token("LinVT-LLaVA", LLAVA_VIDEO_TOKEN)


class LinVTLlavaModel(LinVTFrameVideoPath, LinVTModel, LlavaModel):
    r"""LLaVA's base model with LinVT: `LlavaModel` plus `video_tokenizer`."""

    config_class = LinVTLlavaConfig

    frame_family = "LinVT-LLaVA"

    def frame_size(self) -> tuple[int, int] | None:
        # The vision tower's square image size (any size for a tower whose config gives none as an int).
        size = getattr(self.config.vision_config, "image_size", None)
        return (size, size) if isinstance(size, int) else None

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        # LLaVA's image path, with the config's feature layer and select strategy: [F, N, D], N tokens per frame.
        return torch.stack(self.get_image_features(pixel_values, return_dict=True).pooler_output)

    def frame_grid(self, height: int, width: int) -> tuple[int, int]:
        # The patch grid; with the "full" strategy a tower with a CLS token (CLIP) keeps it in front, so its tokens
        # are no grid: they are laid out as one row.
        patch = self.config.vision_config.patch_size
        rows, cols = height // patch, width // patch
        has_cls = getattr(getattr(self.vision_tower, "embeddings", None), "class_embedding", None) is not None
        if has_cls and self.config.vision_feature_select_strategy == "full":
            return 1, rows * cols + 1
        return rows, cols


class LinVTLlavaForConditionalGeneration(
    LinVTAddedVideoToken, LinVTForConditionalGeneration, LlavaForConditionalGeneration
):
    r"""
    LLaVA with LinVT: a video becomes `config.num_video_tokens` tokens whatever its length.

    Example:

    ```python
    >>> import linvt_hf
    >>> from linvt_hf import LinVTLlavaForConditionalGeneration, LinVTProcessor
    >>> model = LinVTLlavaForConditionalGeneration.from_backbone("llava-hf/llava-1.5-7b-hf", dtype="bfloat16")
    >>> processor = LinVTProcessor.from_backbone("llava-hf/llava-1.5-7b-hf")
    >>> processor.chat_template = linvt_hf.LLAVA_CHAT_TEMPLATE  # LLaVA's own renders no videos
    ```
    """

    config_class = LinVTLlavaConfig
    added_video_token = LLAVA_VIDEO_TOKEN
    family_name = "LinVT-LLaVA"
    linvt_model_class = LinVTLlavaModel

    def __init__(self, config: LinVTLlavaConfig) -> None:
        super().__init__(config)
        if config.lm_head_bias:  # Phi's head (Mipha's): LLaVA's own has no bias
            text = config.get_text_config(decoder=True)
            self.lm_head = nn.Linear(text.hidden_size, text.vocab_size, bias=True)
            self.post_init()


# LLaVA's original layout (what transformers 4 wrote, and what the Hub's llava-hf checkpoints hold) to the module
# layout: transformers' own renames for `LlavaForConditionalGeneration` / `LlavaModel`, for the LinVT classes.
CHECKPOINT_CONVERSIONS = {
    "LinVTLlavaForConditionalGeneration": [
        WeightRenaming(source_patterns=r"^language_model.lm_head", target_patterns="lm_head"),
        WeightRenaming(source_patterns=r"^language_model", target_patterns="model.language_model"),
        WeightRenaming(source_patterns=r"^vision_tower", target_patterns="model.vision_tower"),
        WeightRenaming(source_patterns=r"^multi_modal_projector", target_patterns="model.multi_modal_projector"),
    ],
    "LinVTLlavaModel": [WeightRenaming(source_patterns=r"^language_model.model", target_patterns="language_model")],
}


def tiny_image_llm_config(processor: Any, text_config: dict[str, Any]) -> dict[str, Any]:
    """A Mipha-shaped LLaVA config at toy sizes for the tiny test processor: a one-layer SigLIP tower on 28x28 images
    of 14-pixel patches (2x2 = 4 tokens per image or frame, all kept: SigLIP has no CLS token, so the strategy is
    "full"), LLaVA's two-layer MLP projector, and a Phi LLM (two layers of width 64)."""
    token = processor.tokenizer.convert_tokens_to_ids
    vision = dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                  num_attention_heads=2, image_size=28, patch_size=14, vision_use_head=False)
    return dict(
        vision_config=vision,
        text_config={**text_config, "model_type": "phi"},
        image_token_index=token("<image>"),
        image_seq_length=4,
        video_token_id=token(LLAVA_VIDEO_TOKEN),
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
    )


__all__ = ["LinVTLlavaConfig", "LinVTLlavaForConditionalGeneration", "LinVTLlavaModel"]
