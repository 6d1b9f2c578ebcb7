"""LinVT on InternVL (InternVL2.5 / InternVL3 in transformers' "-hf" layout).

Each frame goes through InternVL's own image path (InternViT, pixel shuffle, MLP projector) as one image tile.
InternVL's config has no video token: the LinVT placeholder is its tokenizer's `<video>` token, written between
`<img>` and `</img>`, so video positions stay distinct from image (`<IMG_CONTEXT>`) positions.
"""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub.dataclasses import strict
from transformers import AutoTokenizer, InternVLConfig, InternVLForConditionalGeneration, InternVLModel
from transformers.core_model_loading import WeightRenaming

from .configuration_family import LinVTImageLLMConfig
from .frame_families import LinVTFrameVideoPath
from .modeling_linvt import LinVTForConditionalGeneration, LinVTModel

INTERNVL_VIDEO_TOKEN = "<video>"


@strict
class LinVTInternVLConfig(LinVTImageLLMConfig, InternVLConfig):
    r"""LinVT on InternVL: an `InternVLConfig` plus the video tokenizer's settings and `video_token_id` (the id of the
    tokenizer's `<video>` token: InternVL's config has none)."""

    model_type = "linvt_internvl"
    sub_configs_defaults = LinVTImageLLMConfig.sub_configs_with_video_tokenizer(InternVLConfig)
    video_token_id: int | None = None


class LinVTInternVLModel(LinVTFrameVideoPath, LinVTModel, InternVLModel):
    r"""InternVL's base model with LinVT: `InternVLModel` plus `video_tokenizer`."""

    config_class = LinVTInternVLConfig

    def image_input_shapes(self) -> list[tuple[int | str, ...]]:
        # Image tiles at the vision tower's image_size: [num_tiles, C, height, width].
        vision = self.config.vision_config
        size = vision.image_size
        height, width = (size, size) if isinstance(size, int) else size
        return [("num_tiles", vision.num_channels, height, width)]

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return self.get_image_features(pixel_values, return_dict=True).pooler_output

    def frame_grid(self, height: int, width: int) -> tuple[int, int]:
        # The patch grid, shrunk by the pixel shuffle's downsample ratio.
        patch = self.config.vision_config.patch_size
        patch_h, patch_w = (patch, patch) if isinstance(patch, int) else patch
        ratio = self.config.downsample_ratio
        return int(height // patch_h * ratio), int(width // patch_w * ratio)


class LinVTInternVLForConditionalGeneration(LinVTForConditionalGeneration, InternVLForConditionalGeneration):
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
    linvt_model_class = LinVTInternVLModel

    @classmethod
    def linvt_config(cls, image_llm_config: Any, video_tokenizer_config: Any, name: str | None, fields: dict) -> Any:
        if fields.get("video_token_id") is None:
            fields = {**fields, "video_token_id": cls.video_token_id_of(name)}
        return super().linvt_config(image_llm_config, video_tokenizer_config, name, fields)

    @staticmethod
    def video_token_id_of(name_or_path: str | None) -> int:
        """The id of `<video>` in the tokenizer of the checkpoint `name_or_path`."""
        if name_or_path is None:
            raise ValueError(
                "InternVL's config has no video token: pass video_token_id= (the id of the tokenizer's "
                f"{INTERNVL_VIDEO_TOKEN!r} token; the LinVT processor's video_token_id gives it), or give the "
                "image-LLM by name so that its tokenizer can be read"
            )
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        token = getattr(tokenizer, "video_token", None) or INTERNVL_VIDEO_TOKEN
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == tokenizer.unk_token_id:
            raise ValueError(f"the tokenizer of {name_or_path} has no {token!r} token; pass video_token_id=")
        return token_id


# InternVL's original layout (what transformers writes: language_model.*, vision_tower.*, ...) to the module layout.
CHECKPOINT_CONVERSIONS = {
    "LinVTInternVLForConditionalGeneration": [
        WeightRenaming(source_patterns=r"^language_model.lm_head", target_patterns="lm_head"),
        WeightRenaming(source_patterns=r"^language_model", target_patterns="model.language_model"),
        WeightRenaming(source_patterns=r"^vision_tower", target_patterns="model.vision_tower"),
        WeightRenaming(source_patterns=r"^multi_modal_projector", target_patterns="model.multi_modal_projector"),
    ],
    "LinVTInternVLModel": [WeightRenaming(source_patterns=r"^language_model.model", target_patterns="language_model")],
}
# linvt-hf 0.1 kept the image-LLM, in that original layout, under `image_llm.`.
LEGACY_RENAMES = {
    r"^image_llm\.language_model\.lm_head\.": "lm_head.",
    r"^image_llm\.language_model\.model\.": "model.language_model.",
    r"^image_llm\.vision_tower\.": "model.vision_tower.",
    r"^image_llm\.multi_modal_projector\.": "model.multi_modal_projector.",
}


def tiny_image_llm_config(processor: Any, text_config: dict[str, Any]) -> dict[str, Any]:
    """An InternVL config at toy sizes for the tiny test processor: 56x56 tiles of 14-pixel patches, 4x4 patches,
    pixel shuffle 0.5 -> 4 tokens per tile (`image_seq_length=4`)."""
    tokenizer = processor.tokenizer
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                  image_size=[56, 56], patch_size=[14, 14])
    return dict(
        vision_config=vision,
        text_config=text_config,
        image_token_id=tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>"),
        image_seq_length=4,
        video_token_id=tokenizer.convert_tokens_to_ids(INTERNVL_VIDEO_TOKEN),
    )


__all__ = ["LinVTInternVLConfig", "LinVTInternVLForConditionalGeneration", "LinVTInternVLModel"]
