"""LinVT on LLaVA-OneVision (the architecture of Aquila-VL).

Frames go through LLaVA-OneVision's own video path: the vision tower, the projector and the 2x2 bilinear pooling of
each frame's token grid. LinVT's tokens take the place of what that path would put at the `<video>` placeholders.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from huggingface_hub.dataclasses import strict
from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration, LlavaOnevisionModel
from transformers.core_model_loading import WeightRenaming

from .configuration_family import LinVTImageLLMConfig
from .frame_families import LinVTFrameVideoPath
from .modeling_linvt import LinVTForConditionalGeneration, LinVTModel


@strict
class LinVTLlavaOnevisionConfig(LinVTImageLLMConfig, LlavaOnevisionConfig):
    r"""LinVT on LLaVA-OneVision: a `LlavaOnevisionConfig` plus the video tokenizer's settings."""

    model_type = "linvt_llava_onevision"
    sub_configs_defaults = LinVTImageLLMConfig.sub_configs_with_video_tokenizer(LlavaOnevisionConfig)


class LinVTLlavaOnevisionModel(LinVTFrameVideoPath, LinVTModel, LlavaOnevisionModel):
    r"""LLaVA-OneVision's base model with LinVT: `LlavaOnevisionModel` plus `video_tokenizer`."""

    config_class = LinVTLlavaOnevisionConfig

    def image_input_shapes(self) -> list[tuple[int | str, ...]]:
        # Each image's patches (base view + any-resolution tiles) at the vision tower's image_size, batched or not.
        vision = self.config.vision_config
        patch = (vision.num_channels, vision.image_size, vision.image_size)
        return [("batch", "num_patches", *patch), ("num_patches", *patch)]

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        # The native path takes the frames as one video and appends one `image_newline` token after its last frame:
        # not a frame token, so it is left out.
        count = pixel_values.shape[0]
        video = self.image_llm_video_features(pixel_values[None], return_dict=True).pooler_output[0]
        return video[:-1].view(count, (video.shape[0] - 1) // count, -1)

    def frame_grid(self, height: int, width: int) -> tuple[int, int]:
        # The native pooling works on the vision config's grid (frames are resized to `image_size`), halved and
        # rounded up.
        vision = self.config.vision_config
        side = math.ceil(vision.image_size // vision.patch_size / 2)
        return side, side


class LinVTLlavaOnevisionForConditionalGeneration(LinVTForConditionalGeneration, LlavaOnevisionForConditionalGeneration):
    r"""
    LLaVA-OneVision with LinVT: a video becomes `config.num_video_tokens` tokens whatever its length.

    Example:

    ```python
    >>> from linvt_hf import LinVTLlavaOnevisionForConditionalGeneration, LinVTProcessor
    >>> model = LinVTLlavaOnevisionForConditionalGeneration.from_backbone(
    ...     "llava-hf/llava-onevision-qwen2-0.5b-ov-hf", dtype="bfloat16"
    ... )
    >>> processor = LinVTProcessor.from_backbone("llava-hf/llava-onevision-qwen2-0.5b-ov-hf")
    ```
    """

    config_class = LinVTLlavaOnevisionConfig
    linvt_model_class = LinVTLlavaOnevisionModel


# LLaVA-OneVision's original layout (what transformers writes) to the module layout.
CHECKPOINT_CONVERSIONS = {
    "LinVTLlavaOnevisionForConditionalGeneration": [
        WeightRenaming(source_patterns=r"^language_model.lm_head", target_patterns="lm_head"),
        WeightRenaming(source_patterns=r"^language_model", target_patterns="model.language_model"),
        WeightRenaming(source_patterns=r"^vision_tower", target_patterns="model.vision_tower"),
        WeightRenaming(source_patterns=r"^multi_modal_projector", target_patterns="model.multi_modal_projector"),
        WeightRenaming(source_patterns=r"^image_newline", target_patterns="model.image_newline"),
    ],
    "LinVTLlavaOnevisionModel": [WeightRenaming(source_patterns=r"^language_model.model", target_patterns="language_model")],
}
# linvt-hf 0.1 kept the image-LLM, in that original layout, under `image_llm.`.
LEGACY_RENAMES = {
    r"^image_llm\.language_model\.lm_head\.": "lm_head.",
    r"^image_llm\.language_model\.model\.": "model.language_model.",
    r"^image_llm\.vision_tower\.": "model.vision_tower.",
    r"^image_llm\.multi_modal_projector\.": "model.multi_modal_projector.",
    r"^image_llm\.image_newline$": "model.image_newline",
}


def tiny_image_llm_config(processor: Any, text_config: dict[str, Any]) -> dict[str, Any]:
    """A LLaVA-OneVision config at toy sizes for the tiny test processor: 28x28 base resolution, 2x2 patches of 14 ->
    4 tokens per image patch (`num_image_tokens=4`), 1 per video frame after the video path's 2x2 pooling."""
    token = processor.tokenizer.convert_tokens_to_ids
    vision = dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                  num_attention_heads=2, image_size=28, patch_size=14, vision_use_head=False)
    return dict(
        vision_config=vision,
        text_config=text_config,
        image_token_index=token("<image>"),
        video_token_index=token("<video>"),
        image_grid_pinpoints=processor.image_processor.image_grid_pinpoints,
        vision_feature_layer=-1,
        vision_feature_select_strategy="full",
    )


__all__ = [
    "LinVTLlavaOnevisionConfig",
    "LinVTLlavaOnevisionForConditionalGeneration",
    "LinVTLlavaOnevisionModel",
]
