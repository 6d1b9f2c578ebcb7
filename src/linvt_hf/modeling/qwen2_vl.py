"""LinVT on Qwen2-VL and Qwen2.5-VL.

Frames go through Qwen's own video path (temporal patches of two frames, the vision transformer and the patch
merger), one temporal patch per LinVT time step. LinVT's tokens take text-like (1D) M-RoPE positions: they are a
compact summary, not a spatial grid (`get_rope_index` reads them as text). Images keep Qwen's own 3D positions.
"""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub.dataclasses import strict
from transformers import (
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLModel,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen2VLModel,
)
from transformers.core_model_loading import WeightRenaming

from .configuration_family import LinVTImageLLMConfig
from .modeling_linvt import LinVTForConditionalGeneration, LinVTModel

VIDEO_TOKEN_TYPE = 2  # Qwen's mm_token_type_ids: text 0, image 1, video 2


@strict
class LinVTQwen2VLConfig(LinVTImageLLMConfig, Qwen2VLConfig):
    r"""LinVT on Qwen2-VL: a `Qwen2VLConfig` plus the video tokenizer's settings (see `LinVTImageLLMConfig`)."""

    model_type = "linvt_qwen2_vl"
    sub_configs_defaults = LinVTImageLLMConfig.sub_configs_with_video_tokenizer(Qwen2VLConfig)


@strict
class LinVTQwen2_5_VLConfig(LinVTImageLLMConfig, Qwen2_5_VLConfig):
    r"""LinVT on Qwen2.5-VL: a `Qwen2_5_VLConfig` plus the video tokenizer's settings."""

    model_type = "linvt_qwen2_5_vl"
    sub_configs_defaults = LinVTImageLLMConfig.sub_configs_with_video_tokenizer(Qwen2_5_VLConfig)


class LinVTQwenVideoPath:
    """Qwen's side of LinVT's hooks (shared by Qwen2-VL and Qwen2.5-VL)."""

    def frame_features(
        self, pixel_values_videos: torch.Tensor, video_grid_thw: torch.Tensor | None, frames_per_video: list[int]
    ) -> list[torch.Tensor]:
        if video_grid_thw is None:
            raise ValueError("video_grid_thw is required with pixel_values_videos for Qwen2-VL backbones")
        embed = self.visual.patch_embed
        width = embed.in_channels * embed.temporal_patch_size * embed.patch_size**2
        if pixel_values_videos.dim() != 2 or pixel_values_videos.shape[1] != width:
            raise ValueError(
                f"{type(self).__name__} takes pixel_values_videos as Qwen's patch rows, shape (patches, {width}) "
                f"(channels x temporal patch x patch side^2), got {tuple(pixel_values_videos.shape)}: prepare videos "
                "with this family's LinVT processor"
            )
        merge = self.visual.spatial_merge_size
        chunk = self.config.vision_chunk_size
        videos, offset = [], 0
        for (t, h, w), steps in zip(video_grid_thw.tolist(), frames_per_video):
            if t != steps:
                raise ValueError(f"video_grid_thw gives a video {t} temporal patches but video_frame_mask marks {steps}")
            rows = h * w  # patch rows per temporal patch
            parts = []
            for start in range(0, t, chunk):
                count = min(chunk, t - start)
                piece = pixel_values_videos[offset + start * rows : offset + (start + count) * rows]
                grid = torch.tensor([[count, h, w]], device=video_grid_thw.device, dtype=video_grid_thw.dtype)
                features = self.temporal_patch_tokens(piece, grid)
                parts.append(features.view(count, rows // merge**2, *features.shape[1:]))
            videos.append(torch.cat(parts, dim=0))
            offset += t * rows
        if offset != pixel_values_videos.shape[0]:
            raise ValueError(
                f"video_grid_thw describes {offset} patch rows but pixel_values_videos has {pixel_values_videos.shape[0]}"
            )
        return videos

    def image_input_shapes(self) -> list[tuple[int | str, ...]]:
        # Images are flattened patches: [num_patches, C * temporal_patch_size * patch_size^2].
        vision = self.config.vision_config
        return [("num_patches", vision.in_channels * vision.temporal_patch_size * vision.patch_size**2)]

    def temporal_patch_tokens(self, pixel_values: torch.Tensor, grid_thw: torch.Tensor) -> torch.Tensor:
        """The merged tokens of one run of temporal patches (`grid_thw` `[[t, h, w]]`) through Qwen's own video path:
        `[t * h * w / merge**2, D]` (Qwen3-VL: `[..., D, 1 + S]` with its DeepStack maps)."""
        return self.image_llm_video_features(pixel_values, grid_thw, return_dict=True).pooler_output[0]

    def frame_token_grids(
        self, pixel_values_videos: torch.Tensor, video_grid_thw: torch.Tensor | None, num_videos: int
    ) -> list[tuple[int, int]]:
        merge = self.visual.spatial_merge_size
        return [(h // merge, w // merge) for _, h, w in video_grid_thw.tolist()]

    def forward_with_video_embeds(self, input_ids: torch.LongTensor, inputs_embeds: torch.Tensor, **kwargs: Any) -> Any:
        # input_ids still place the images (Qwen's own image path) and give M-RoPE its positions.
        return self.image_llm_forward(input_ids=input_ids, inputs_embeds=inputs_embeds, **kwargs)

    def get_rope_index(self, input_ids: torch.LongTensor, mm_token_type_ids: torch.Tensor, **kwargs: Any) -> Any:
        """Qwen's M-RoPE positions, with LinVT's video tokens read as text (they are not a grid)."""
        kwargs["video_grid_thw"] = None
        if "second_per_grid_ts" in kwargs:
            kwargs["second_per_grid_ts"] = None
        text_like = mm_token_type_ids.masked_fill(mm_token_type_ids == VIDEO_TOKEN_TYPE, 0)
        return super().get_rope_index(input_ids, mm_token_type_ids=text_like, **kwargs)


class LinVTQwen2VLModel(LinVTQwenVideoPath, LinVTModel, Qwen2VLModel):
    r"""Qwen2-VL's base model with LinVT: `Qwen2VLModel` plus `video_tokenizer`."""

    config_class = LinVTQwen2VLConfig


class LinVTQwen2VLForConditionalGeneration(LinVTForConditionalGeneration, Qwen2VLForConditionalGeneration):
    r"""
    Qwen2-VL with LinVT: a video becomes `config.num_video_tokens` tokens whatever its length.

    Example:

    ```python
    >>> from linvt_hf import LinVTProcessor, LinVTQwen2VLForConditionalGeneration
    >>> model = LinVTQwen2VLForConditionalGeneration.from_backbone("Qwen/Qwen2-VL-7B-Instruct", dtype="bfloat16")
    >>> processor = LinVTProcessor.from_backbone("Qwen/Qwen2-VL-7B-Instruct")
    ```
    """

    config_class = LinVTQwen2VLConfig
    linvt_model_class = LinVTQwen2VLModel


class LinVTQwen2_5_VLModel(LinVTQwenVideoPath, LinVTModel, Qwen2_5_VLModel):
    r"""Qwen2.5-VL's base model with LinVT (the vision tower adds windowed attention)."""

    config_class = LinVTQwen2_5_VLConfig


class LinVTQwen2_5_VLForConditionalGeneration(LinVTForConditionalGeneration, Qwen2_5_VLForConditionalGeneration):
    r"""Qwen2.5-VL with LinVT (same video path as Qwen2-VL)."""

    config_class = LinVTQwen2_5_VLConfig
    linvt_model_class = LinVTQwen2_5_VLModel


def checkpoint_conversions(prefix: str) -> dict[str, list[WeightRenaming]]:
    """Qwen's original checkpoint layout (`visual.*`, `model.layers.*`; what the Hub holds and what transformers
    writes) to the module layout, for the LinVT classes `{prefix}Model` / `{prefix}ForConditionalGeneration`: Qwen's
    own renames, leaving LinVT's `model.video_tokenizer.*` alone."""
    return {
        f"{prefix}ForConditionalGeneration": [
            WeightRenaming(source_patterns=r"^visual", target_patterns="model.visual"),
            WeightRenaming(
                source_patterns=r"^model(?!\.(language_model|visual|video_tokenizer))",
                target_patterns="model.language_model",
            ),
        ],
        f"{prefix}Model": [
            WeightRenaming(
                source_patterns=r"^model\.(?:(?!language_model\.|video_tokenizer\.))(.+)",
                target_patterns=r"model.language_model.\1",
            )
        ],
    }


# linvt-hf 0.1 kept the image-LLM, in its original layout, under `image_llm.`.
LEGACY_RENAMES = {r"^image_llm\.model\.": "model.language_model.", r"^image_llm\.visual\.": "model.visual.", r"^image_llm\.lm_head\.": "lm_head."}


def tiny_image_llm_config(processor: Any, model_type: str, text_config: dict[str, Any]) -> dict[str, Any]:
    """A Qwen2-VL / Qwen2.5-VL config at toy sizes (14-pixel patches, 2x2 merge) for the tiny test processor."""
    token = processor.tokenizer.convert_tokens_to_ids
    vision = dict(depth=1, hidden_size=text_config["hidden_size"], num_heads=2, patch_size=14, spatial_merge_size=2)
    if model_type == "qwen2_vl":  # (Qwen2.5-VL's vision config has no embed_dim: its blocks are hidden_size wide)
        vision.update(embed_dim=32, mlp_ratio=2)
    else:
        vision.update(intermediate_size=64, out_hidden_size=text_config["hidden_size"], window_size=56,
                      fullatt_block_indexes=[0])
    # head_dim 16 -> 8 rotary frequencies split over (time, height, width).
    rope = {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 10000.0}
    return dict(
        vision_config=vision,
        text_config={**text_config, "rope_parameters": rope},
        image_token_id=token("<|image_pad|>"),
        video_token_id=token("<|video_pad|>"),
        vision_start_token_id=token("<|vision_start|>"),
        vision_end_token_id=token("<|vision_end|>"),
    )


__all__ = [
    "LinVTQwen2VLConfig",
    "LinVTQwen2VLForConditionalGeneration",
    "LinVTQwen2VLModel",
    "LinVTQwen2_5_VLConfig",
    "LinVTQwen2_5_VLForConditionalGeneration",
    "LinVTQwen2_5_VLModel",
]
