"""LinVT on xGen-MM (BLIP-3): the paper's BLIP-3 4B (SigLIP so400m-384 + Perceiver resampler + Phi-3-mini).

LinVT sits after the Perceiver resampler (the "vision token sampler"), on its tokens: each frame goes through
xGen-MM's own image path as one image at the vision tower's size (SigLIP, then the resampler: `num_vision_tokens`
tokens per frame, 128 in the released models), and the video tokenizer turns a video's frame tokens into
`num_video_tokens` tokens in the LLM. xGen-MM's tokenizer has no video token: the LinVT processor adds `<video>` to
the tokenizer when it lacks one, and the config's `video_token_id` is its id.
"""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub.dataclasses import strict

from ..configuration_family import LinVTImageLLMConfig
from ..frame_families import LinVTAddedVideoToken, LinVTFrameVideoPath
from ..modeling_linvt import LinVTForConditionalGeneration, LinVTModel
from .configuration_xgenmm import XGenMMConfig
from .modeling_xgenmm import XGenMMForConditionalGeneration, XGenMMModel

XGENMM_VIDEO_TOKEN = "<video>"


@strict
class LinVTXGenMMConfig(LinVTImageLLMConfig, XGenMMConfig):
    r"""LinVT on xGen-MM: an `XGenMMConfig` plus the video tokenizer's settings and `video_token_id` (the id of the
    video placeholder token `<video>`: xGen-MM's config has none).

    Raises:
        ValueError: `video_token_id` is the image token's id, or outside the LLM's vocabulary.
    """

    model_type = "linvt_xgenmm"
    sub_configs_defaults = LinVTImageLLMConfig.sub_configs_with_video_tokenizer(XGenMMConfig)
    video_token_id: int | None = None

    def __post_init__(self, **kwargs: Any) -> None:
        super().__post_init__(**kwargs)
        self.check_added_video_token("LinVT-xGen-MM", XGENMM_VIDEO_TOKEN)


class LinVTXGenMMModel(LinVTFrameVideoPath, LinVTModel, XGenMMModel):
    r"""xGen-MM's base model with LinVT: `XGenMMModel` plus `video_tokenizer`."""

    config_class = LinVTXGenMMConfig

    frame_family = "LinVT-xGen-MM"

    def frame_size(self) -> tuple[int, int]:
        size = self.config.vision_config.image_size
        return size, size

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        # xGen-MM's image path: SigLIP, then the Perceiver resampler: [F, num_vision_tokens, D].
        return torch.stack(self.get_image_features(pixel_values, return_dict=True).pooler_output)

    def frame_grid(self, height: int, width: int) -> tuple[int, int]:
        # The resampler's latents are no spatial grid: one row of num_vision_tokens tokens.
        return 1, self.config.num_vision_tokens


class LinVTXGenMMForConditionalGeneration(
    LinVTAddedVideoToken, LinVTForConditionalGeneration, XGenMMForConditionalGeneration
):
    r"""
    xGen-MM (BLIP-3) with LinVT: a video becomes `config.num_video_tokens` tokens whatever its length.

    Example:

    ```python
    >>> from linvt_hf import LinVTProcessor, LinVTXGenMMForConditionalGeneration
    >>> # a folder written by `linvt-hf convert --from xgenmm` from Salesforce's released checkpoint
    >>> model = LinVTXGenMMForConditionalGeneration.from_backbone("xgen-mm-phi3-mini-instruct", dtype="bfloat16")
    >>> processor = LinVTProcessor.from_backbone("xgen-mm-phi3-mini-instruct")
    ```
    """

    config_class = LinVTXGenMMConfig
    added_video_token = XGENMM_VIDEO_TOKEN
    family_name = "LinVT-xGen-MM"
    linvt_model_class = LinVTXGenMMModel


def tiny_image_llm_config(processor: Any, text_config: dict[str, Any]) -> dict[str, Any]:
    """An xGen-MM config at toy sizes for the tiny test processor: a one-layer SigLIP on 28x28 images of 14-pixel
    patches (4 patch features), a one-layer resampler of 6 latents (6 tokens per image or frame), a Phi-3 LLM."""
    token = processor.tokenizer.convert_tokens_to_ids
    vision = dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                  num_attention_heads=2, image_size=28, patch_size=14, vision_use_head=False)
    text = {**text_config, "model_type": "phi3"}
    return dict(
        vision_config=vision,
        text_config=text,
        image_token_id=token("<image>"),
        video_token_id=token(XGENMM_VIDEO_TOKEN),
        num_vision_tokens=6,
        resampler_depth=1,
        resampler_num_heads=2,
        resampler_head_dim=8,
        resampler_ff_mult=2,
    )


__all__ = ["LinVTXGenMMConfig", "LinVTXGenMMForConditionalGeneration", "LinVTXGenMMModel"]
