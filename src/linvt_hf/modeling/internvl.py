"""LinVT on InternVL (InternVL2.5 / InternVL3 in transformers' "-hf" layout).

Each frame goes through InternVL's own image path (InternViT, pixel shuffle, MLP projector) as one image tile.
InternVL has no video token of its own in its config: the LinVT placeholder is its tokenizer's `<video>` token,
written between `<img>` and `</img>`, so video positions stay distinct from image (`<IMG_CONTEXT>`) positions.
"""

from __future__ import annotations

import torch
from huggingface_hub.dataclasses import strict
from transformers import AutoTokenizer, InternVLForConditionalGeneration, PreTrainedModel
from transformers.configuration_utils import SubConfigSpec
from transformers.models.auto.configuration_auto import AutoConfig

from .configuration_linvt import LinVTImageLLMConfig
from .frame_families import LinVTFrameVideoMixin
from .modeling_linvt import LinVTForConditionalGeneration

INTERNVL_VIDEO_TOKEN = "<video>"


@strict
class LinVTInternVLConfig(LinVTImageLLMConfig):
    r"""LinVT on InternVL: `LinVTConfig` settings plus the `InternVLConfig` as `image_llm_config`. `video_token_id`
    (the id of the tokenizer's `<video>` token) must be set: InternVL's config has none."""

    model_type = "linvt_internvl"
    sub_configs_defaults = {"image_llm_config": SubConfigSpec(config_class=AutoConfig, model_type="internvl")}


class LinVTInternVLForConditionalGeneration(LinVTFrameVideoMixin, LinVTForConditionalGeneration):
    r"""
    InternVL with LinVT: a video becomes `config.num_video_tokens` tokens whatever its length.

    Example:

    ```python
    >>> from linvt_hf import LinVTInternVLForConditionalGeneration, LinVTProcessor
    >>> model = LinVTInternVLForConditionalGeneration.from_backbone("OpenGVLab/InternVL3-1B-hf", dtype="bfloat16")
    >>> processor = LinVTProcessor.from_backbone("OpenGVLab/InternVL3-1B-hf")
    ```
    """

    config_class = LinVTInternVLConfig
    image_llm_class = InternVLForConditionalGeneration

    @classmethod
    def default_video_token_id(cls, image_llm: PreTrainedModel, name_or_path: str | None) -> int:
        """The id of `<video>` in the tokenizer of the checkpoint `name_or_path`."""
        if name_or_path is None:
            raise ValueError(
                "InternVL's config has no video token: pass video_token_id= (the id of the tokenizer's "
                f"{INTERNVL_VIDEO_TOKEN!r} token; LinVTProcessor.video_token_id gives it), or give the image-LLM by "
                "name so that its tokenizer can be read"
            )
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        token = getattr(tokenizer, "video_token", None) or INTERNVL_VIDEO_TOKEN
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == tokenizer.unk_token_id:
            raise ValueError(f"the tokenizer of {name_or_path} has no {token!r} token; pass video_token_id=")
        return token_id

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.image_llm.model.get_image_features(pixel_values, return_dict=True).pooler_output

    def frame_grid(self, height: int, width: int) -> tuple[int, int]:
        # The patch grid, shrunk by the pixel shuffle's downsample ratio.
        patch = self.image_llm.config.vision_config.patch_size
        patch_h, patch_w = (patch, patch) if isinstance(patch, int) else patch
        ratio = self.image_llm.config.downsample_ratio
        return int(height // patch_h * ratio), int(width // patch_w * ratio)


__all__ = ["LinVTInternVLConfig", "LinVTInternVLForConditionalGeneration"]
