"""LinVT on LLaVA-OneVision (the architecture of Aquila-VL).

Frames go through LLaVA-OneVision's own video path: the vision tower, the projector and the 2x2 bilinear pooling of
each frame's token grid. LinVT's tokens take the place of what that path would put at the `<video>` placeholders.
"""

from __future__ import annotations

import math

import torch
from huggingface_hub.dataclasses import strict
from transformers import LlavaOnevisionForConditionalGeneration
from transformers.configuration_utils import SubConfigSpec
from transformers.models.auto.configuration_auto import AutoConfig

from .configuration_linvt import LinVTImageLLMConfig
from .frame_families import LinVTFrameVideoMixin
from .modeling_linvt import LinVTForConditionalGeneration


@strict
class LinVTLlavaOnevisionConfig(LinVTImageLLMConfig):
    r"""LinVT on LLaVA-OneVision: `LinVTConfig` settings plus the `LlavaOnevisionConfig` as `image_llm_config`."""

    model_type = "linvt_llava_onevision"
    sub_configs_defaults = {"image_llm_config": SubConfigSpec(config_class=AutoConfig, model_type="llava_onevision")}


class LinVTLlavaOnevisionForConditionalGeneration(LinVTFrameVideoMixin, LinVTForConditionalGeneration):
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
    image_llm_class = LlavaOnevisionForConditionalGeneration

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        # The native path takes the frames as one video and appends one `image_newline` token after its last frame:
        # not a frame token, so it is left out.
        count = pixel_values.shape[0]
        video = self.image_llm.model.get_video_features(pixel_values[None], return_dict=True).pooler_output[0]
        return video[:-1].view(count, (video.shape[0] - 1) // count, -1)

    def frame_grid(self, height: int, width: int) -> tuple[int, int]:
        # The native pooling works on the vision config's grid (frames are resized to `image_size`), halved and
        # rounded up.
        vision = self.image_llm.config.vision_config
        side = math.ceil(vision.image_size // vision.patch_size / 2)
        return side, side


__all__ = ["LinVTLlavaOnevisionConfig", "LinVTLlavaOnevisionForConditionalGeneration"]
