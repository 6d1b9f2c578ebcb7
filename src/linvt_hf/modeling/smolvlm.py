"""LinVT on SmolVLM / SmolVLM2 (transformers' `smolvlm`: SigLIP vision encoder + pixel-shuffle connector + SmolLM2).

Each frame goes through SmolVLM's own image path as one image at its base resolution (the `max_image_size` square
SmolVLM gives its global image view): the vision encoder, then the connector (pixel shuffle by `scale_factor` and
the modality projection). SmolVLM's own video path writes every frame into the prompt as an image; with LinVT a
video is `num_video_tokens` tokens whatever its length. SmolVLM's config has no video token: the LinVT processor adds
`<video>` to the tokenizer when it lacks one, and the config's `video_token_id` is its id.

SmolVLM's checkpoints already use the module layout (`model.vision_model.*`, `model.connector.*`,
`model.text_model.*`, `lm_head.*`): no conversion is registered.
"""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub.dataclasses import strict
from transformers import SmolVLMConfig, SmolVLMForConditionalGeneration, SmolVLMModel

from .configuration_family import LinVTImageLLMConfig
from .frame_families import LinVTAddedVideoToken, LinVTFrameVideoPath
from .modeling_linvt import LinVTForConditionalGeneration, LinVTModel

SMOLVLM_VIDEO_TOKEN = "<video>"


@strict
class LinVTSmolVLMConfig(LinVTImageLLMConfig, SmolVLMConfig):
    r"""LinVT on SmolVLM: a `SmolVLMConfig` plus the video tokenizer's settings and `video_token_id` (the id of the
    video placeholder token `<video>`: SmolVLM's config has none).

    Raises:
        ValueError: `video_token_id` is the image token's id, or outside the LLM's vocabulary.
    """

    model_type = "linvt_smolvlm"
    sub_configs_defaults = LinVTImageLLMConfig.sub_configs_with_video_tokenizer(SmolVLMConfig)
    video_token_id: int | None = None

    def __post_init__(self, **kwargs: Any) -> None:
        super().__post_init__(**kwargs)
        self.check_added_video_token("LinVT-SmolVLM", SMOLVLM_VIDEO_TOKEN)


class LinVTSmolVLMModel(LinVTFrameVideoPath, LinVTModel, SmolVLMModel):
    r"""SmolVLM's base model with LinVT: `SmolVLMModel` plus `video_tokenizer`."""

    config_class = LinVTSmolVLMConfig

    frame_family = "LinVT-SmolVLM"

    def frame_size(self) -> tuple[int, int]:
        size = self.config.vision_config.image_size
        return size, size

    def image_input_shapes(self) -> list[tuple[int | str, ...]]:
        # Each prompt's images (splits + global view, padded): [batch, num_images, C, size, size].
        return [("batch", "num_images", self.config.vision_config.num_channels, *self.frame_size())]

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        # SmolVLM's image path (`get_image_features`) for unpadded images: the vision encoder (every patch attended)
        # and the connector, `[F, N, D]` with N = (S / patch / scale_factor)^2. (Called directly: `get_image_features`
        # drops any image whose pixels are all exactly 0 as batch padding, which a frame must never be.)
        hidden = self.vision_model(pixel_values=pixel_values.to(self.dtype), return_dict=True).last_hidden_state
        return self.connector(hidden)

    def frame_grid(self, height: int, width: int) -> tuple[int, int]:
        # The patch grid, shrunk by the pixel shuffle (which keeps tokens row-major).
        patch, scale = self.config.vision_config.patch_size, self.config.scale_factor
        return height // patch // scale, width // patch // scale


class LinVTSmolVLMForConditionalGeneration(
    LinVTAddedVideoToken, LinVTForConditionalGeneration, SmolVLMForConditionalGeneration
):
    r"""
    SmolVLM / SmolVLM2 with LinVT: a video becomes `config.num_video_tokens` tokens whatever its length.

    Example:

    ```python
    >>> from linvt_hf import LinVTProcessor, LinVTSmolVLMForConditionalGeneration
    >>> model = LinVTSmolVLMForConditionalGeneration.from_backbone(
    ...     "HuggingFaceTB/SmolVLM2-2.2B-Instruct", dtype="bfloat16"
    ... )
    >>> processor = LinVTProcessor.from_backbone("HuggingFaceTB/SmolVLM2-2.2B-Instruct")
    ```
    """

    config_class = LinVTSmolVLMConfig
    added_video_token = SMOLVLM_VIDEO_TOKEN
    family_name = "LinVT-SmolVLM"
    linvt_model_class = LinVTSmolVLMModel


def tiny_image_llm_config(processor: Any, text_config: dict[str, Any]) -> dict[str, Any]:
    """A SmolVLM config at toy sizes for the tiny test processor: 32x32 images of 8-pixel patches, pixel shuffle by
    2 -> 4 tokens per image crop (`image_seq_len=4`) and per video frame; a Llama LLM (SmolLM2's architecture)."""
    token = processor.tokenizer.convert_tokens_to_ids
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                  num_attention_heads=2, image_size=32, patch_size=8)
    return dict(
        vision_config=vision,
        text_config={**text_config, "model_type": "llama"},
        scale_factor=2,
        image_token_id=token("<image>"),
        video_token_id=token(SMOLVLM_VIDEO_TOKEN),
    )


__all__ = ["LinVTSmolVLMConfig", "LinVTSmolVLMForConditionalGeneration", "LinVTSmolVLMModel"]
