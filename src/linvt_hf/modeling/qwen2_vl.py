"""LinVT on Qwen2-VL and Qwen2.5-VL.

Frames go through Qwen's own video path (temporal patches of two frames, the vision transformer and the patch
merger), one temporal patch per LinVT "frame". LinVT's tokens enter through `inputs_embeds` at the `<|video_pad|>`
placeholders and take text-like (1D) M-RoPE positions: they are a compact summary, not a spatial grid. Images keep
Qwen's own path and 3D positions.
"""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub.dataclasses import strict
from transformers import Qwen2_5_VLForConditionalGeneration, Qwen2VLForConditionalGeneration
from transformers.configuration_utils import SubConfigSpec
from transformers.models.auto.configuration_auto import AutoConfig

from .configuration_linvt import LinVTImageLLMConfig
from .modeling_linvt import LinVTForConditionalGeneration

VIDEO_TOKEN_TYPE = 2  # Qwen's mm_token_type_ids: text 0, image 1, video 2


@strict
class LinVTQwen2VLConfig(LinVTImageLLMConfig):
    r"""LinVT on Qwen2-VL: `LinVTConfig` settings plus the `Qwen2VLConfig` as `image_llm_config`."""

    model_type = "linvt_qwen2_vl"
    sub_configs_defaults = {"image_llm_config": SubConfigSpec(config_class=AutoConfig, model_type="qwen2_vl")}


@strict
class LinVTQwen2_5_VLConfig(LinVTImageLLMConfig):
    r"""LinVT on Qwen2.5-VL: `LinVTConfig` settings plus the `Qwen2_5_VLConfig` as `image_llm_config`."""

    model_type = "linvt_qwen2_5_vl"
    sub_configs_defaults = {"image_llm_config": SubConfigSpec(config_class=AutoConfig, model_type="qwen2_5_vl")}


class LinVTQwen2VLForConditionalGeneration(LinVTForConditionalGeneration):
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
    image_llm_class = Qwen2VLForConditionalGeneration

    def frame_tokens(self, video_inputs: dict[str, Any]) -> list[torch.Tensor]:
        pixels, grids = video_inputs["pixel_values_videos"], video_inputs["video_grid_thw"]
        if grids is None:
            raise ValueError("video_grid_thw is required with pixel_values_videos for Qwen2-VL backbones")
        inner = self.image_llm.model
        merge = inner.visual.spatial_merge_size
        chunk = self.config.vision_chunk_size
        videos, offset = [], 0
        for t, h, w in grids.tolist():
            rows = h * w  # patch rows per temporal patch
            steps = []
            for start in range(0, t, chunk):
                count = min(chunk, t - start)
                piece = pixels[offset + start * rows : offset + (start + count) * rows]
                grid = torch.tensor([[count, h, w]], device=grids.device, dtype=grids.dtype)
                features = inner.get_video_features(piece, grid, return_dict=True).pooler_output[0]
                steps.append(features.view(count, rows // merge**2, -1))
            videos.append(torch.cat(steps, dim=0))
            offset += t * rows
        if offset != pixels.shape[0]:
            raise ValueError(
                f"video_grid_thw describes {offset} patch rows but pixel_values_videos has {pixels.shape[0]}"
            )
        return videos

    def frame_token_grids(self, video_inputs: dict[str, Any]) -> list[tuple[int, int]]:
        merge = self.image_llm.model.visual.spatial_merge_size
        return [(h // merge, w // merge) for _, h, w in video_inputs["video_grid_thw"].tolist()]

    def image_llm_forward_with_video(self, input_ids, video_embeds, image_llm_kwargs, video_mask):
        # The video tokens go in through inputs_embeds, at exactly `video_mask` (Qwen's own video path would take
        # every <|video_pad|>, also one generated after the prompt); input_ids still place the images (Qwen's own
        # image path) and give M-RoPE its positions.
        inputs_embeds = self.embed_with_videos(input_ids, video_embeds, video_mask)
        return self.image_llm(
            input_ids=input_ids, inputs_embeds=inputs_embeds, **self._as_text_positions(dict(image_llm_kwargs))
        )

    def image_llm_generation_kwargs(self, model_kwargs: dict[str, Any]) -> dict[str, Any]:
        return self._as_text_positions(super().image_llm_generation_kwargs(model_kwargs))

    @staticmethod
    def _as_text_positions(kwargs: dict[str, Any]) -> dict[str, Any]:
        # LinVT's tokens are not a video grid: Qwen's M-RoPE must give them text positions.
        kwargs.pop("video_grid_thw", None)
        types = kwargs.get("mm_token_type_ids")
        if types is not None:
            kwargs["mm_token_type_ids"] = types.masked_fill(types == VIDEO_TOKEN_TYPE, 0)
        return kwargs


class LinVTQwen2_5_VLForConditionalGeneration(LinVTQwen2VLForConditionalGeneration):
    r"""Qwen2.5-VL with LinVT (same video path as Qwen2-VL; the vision tower adds windowed attention)."""

    config_class = LinVTQwen2_5_VLConfig
    image_llm_class = Qwen2_5_VLForConditionalGeneration


__all__ = [
    "LinVTQwen2VLConfig",
    "LinVTQwen2VLForConditionalGeneration",
    "LinVTQwen2_5_VLConfig",
    "LinVTQwen2_5_VLForConditionalGeneration",
]
