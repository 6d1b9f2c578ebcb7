"""LinVT on Molmo (v1): the paper's Molmo-7B-D (OpenAI CLIP ViT-L/14-336 + 2x2 attention pooling + SwiGLU projector
+ Qwen2-7B).

LinVT sits after the projector: each frame goes through Molmo's own image path as its low-resolution global view
(one crop at the ViT's size, no tiles, no padding: the CLIP ViT, the `vit_layers` features, the attention pooling
and the projector: 12 x 12 tokens per frame in the released model), and the video tokenizer turns a video's frame
tokens into `num_video_tokens` tokens in the LLM. Molmo's tokenizer has no video token: the LinVT processor adds
`<video>` to the tokenizer when it lacks one, and the config's `video_token_id` is its id. Images keep Molmo's whole
multi-crop path.
"""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub.dataclasses import strict

from ..configuration_family import LinVTImageLLMConfig
from ..frame_families import LinVTAddedVideoToken, LinVTFrameVideoPath
from ..modeling_linvt import LinVTForConditionalGeneration, LinVTModel
from .configuration_molmo import MolmoConfig
from .modeling_molmo import MolmoForConditionalGeneration, MolmoModel

MOLMO_VIDEO_TOKEN = "<video>"


@strict
class LinVTMolmoConfig(LinVTImageLLMConfig, MolmoConfig):
    r"""LinVT on Molmo: a `MolmoConfig` plus the video tokenizer's settings and `video_token_id` (the id of the
    video placeholder token `<video>`: Molmo's config has none).

    Raises:
        ValueError: `video_token_id` is the image token's id, or outside the LLM's vocabulary.
    """

    model_type = "linvt_molmo"
    sub_configs_defaults = LinVTImageLLMConfig.sub_configs_with_video_tokenizer(MolmoConfig)
    video_token_id: int | None = None

    def __post_init__(self, **kwargs: Any) -> None:
        super().__post_init__(**kwargs)
        self.check_added_video_token("LinVT-Molmo", MOLMO_VIDEO_TOKEN)


class LinVTMolmoModel(LinVTFrameVideoPath, LinVTModel, MolmoModel):
    r"""Molmo's base model with LinVT: `MolmoModel` plus `video_tokenizer`."""

    config_class = LinVTMolmoConfig

    frame_family = "LinVT-Molmo"

    def frame_size(self) -> tuple[int, int]:
        size = self.config.vision_config.image_size
        return size, size

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        # Molmo's image path on each frame as one unpadded crop: [F, rows * cols, D].
        return torch.stack(self.get_image_features(pixel_values, return_dict=True).pooler_output)

    def frame_grid(self, height: int, width: int) -> tuple[int, int]:
        return self.config.tokens_per_crop


class LinVTMolmoForConditionalGeneration(
    LinVTAddedVideoToken, LinVTForConditionalGeneration, MolmoForConditionalGeneration
):
    r"""
    Molmo (v1) with LinVT: a video becomes `config.num_video_tokens` tokens whatever its length.

    Example:

    ```python
    >>> from linvt_hf import LinVTMolmoForConditionalGeneration, LinVTProcessor
    >>> # a folder written by `linvt-hf convert --from molmo` from allenai's released Molmo-7B-D-0924
    >>> model = LinVTMolmoForConditionalGeneration.from_backbone("Molmo-7B-D-0924", dtype="bfloat16")
    >>> processor = LinVTProcessor.from_backbone("Molmo-7B-D-0924")
    ```
    """

    config_class = LinVTMolmoConfig
    added_video_token = MOLMO_VIDEO_TOKEN
    family_name = "LinVT-Molmo"
    linvt_model_class = LinVTMolmoModel


def tiny_image_llm_config(processor: Any, text_config: dict[str, Any]) -> dict[str, Any]:
    """A Molmo config at toy sizes for the tiny test processor: a two-layer CLIP ViT on 28x28 crops of 14-pixel
    patches (2x2 patches), both layers read (`vit_layers=[-1, -2]`), 2x2 pooling: one token per crop and per frame;
    a Qwen2 LLM; no added-token rows (the tiny tokenizer's special tokens are ordinary rows)."""
    token = processor.tokenizer.convert_tokens_to_ids
    vision = dict(model_type="clip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=2, image_size=28, patch_size=14, hidden_act="quick_gelu")
    text = {**text_config, "model_type": "qwen2"}
    return dict(
        vision_config=vision,
        text_config=text,
        image_token_id=token("<im_patch>"),
        video_token_id=token(MOLMO_VIDEO_TOKEN),
        vit_layers=[-1, -2],
        additional_vocab_start=None,
        additional_vocab_size=0,
    )


__all__ = ["LinVTMolmoConfig", "LinVTMolmoForConditionalGeneration", "LinVTMolmoModel"]
