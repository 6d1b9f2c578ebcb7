"""LinVT on Qwen3-VL.

Frames go through Qwen3-VL's own video path (temporal patches of two frames, the vision transformer and the patch
merger), one temporal patch per LinVT time step, as for Qwen2-VL. Qwen3-VL's vision tower also gives DeepStack
maps (the merged features of a few intermediate vision layers), which its LLM adds to the hidden states of its
first layers at every visual position. Each LinVT video token is a convex combination of frame tokens, so it gets
DeepStack maps the same way: the same convex weights applied to each DeepStack map (`LinearVideoTokenizerOutput.
combine`). The video tokens thus carry everything the LLM takes for an image token, and they take text-like (1D)
M-RoPE positions, as on Qwen2-VL (they are a compact summary, not a grid of frames with timestamps).

Qwen3-VL's checkpoints already use the module layout (`model.visual.*`, `model.language_model.*`, `lm_head.*`): no
conversion is registered.
"""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub.dataclasses import strict
from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration, Qwen3VLModel
from transformers.models.qwen3_vl.modeling_qwen3_vl import BaseModelOutputWithDeepstackFeatures

from .configuration_family import LinVTImageLLMConfig
from .modeling_linvt import LinVTForConditionalGeneration, LinVTModel
from .qwen2_vl import LinVTQwenVideoPath


@strict
class LinVTQwen3VLConfig(LinVTImageLLMConfig, Qwen3VLConfig):
    r"""LinVT on Qwen3-VL: a `Qwen3VLConfig` plus the video tokenizer's settings (see `LinVTImageLLMConfig`)."""

    model_type = "linvt_qwen3_vl"
    sub_configs_defaults = LinVTImageLLMConfig.sub_configs_with_video_tokenizer(Qwen3VLConfig)


class LinVTQwen3VLVideoPath(LinVTQwenVideoPath):
    """Qwen3-VL's side of LinVT's hooks: Qwen's video path plus DeepStack maps (shared by Qwen3-VL and Qwen3-VL-MoE,
    whose vision tower and multimodal forward are the same)."""

    def temporal_patch_tokens(self, pixel_values: torch.Tensor, grid_thw: torch.Tensor) -> torch.Tensor:
        """`[M, D, 1 + S]`: the merged tokens (`[..., 0]`) and the S DeepStack maps of one run of temporal patches."""
        # Qwen3-VL's get_video_features is its get_image_features, but called without `return_dict`: under
        # `config.return_dict=False` it gets a tuple it cannot read. Its image path is the same code, asked directly.
        output = self.get_image_features(pixel_values, grid_thw, return_dict=True)
        return torch.stack([output.pooler_output[0], *(level[0] for level in output.deepstack_features)], dim=-1)

    def forward_with_video_embeds(
        self,
        input_ids: torch.LongTensor,
        inputs_embeds: torch.Tensor,
        video_deepstack_embeds: list[torch.Tensor] | None = None,
        video_placeholders: torch.BoolTensor | None = None,
        pixel_values: torch.Tensor | None = None,
        image_grid_thw: torch.LongTensor | None = None,
        **kwargs: Any,
    ) -> Any:
        """Qwen3-VL's own forward, given the video positions' embeddings and DeepStack maps as its precomputed video
        encoder output (`mm_encoder_outputs`), so that Qwen3-VL itself places them and merges them with the
        images' (`video_deepstack_embeds`: one `[placeholders, D]` per DeepStack layer, `video_placeholders`
        `[B, L]`). Qwen3-VL takes a video feature at every video token of `input_ids`: a video token that is no
        placeholder (generated after the prompt) gets its own embedding back and zero DeepStack maps, so it stays an
        ordinary token."""
        if video_deepstack_embeds is None or video_placeholders is None:
            raise ValueError(
                "Qwen3-VL's LLM takes DeepStack maps at every visual token, but the video features hold none "
                "(deepstack_tokens): compute them with this Qwen3-VL model's get_video_features"
            )
        video_positions = input_ids == self.config.video_token_id
        placeholders_among = video_placeholders.to(video_positions.device)[video_positions]
        deepstack = []
        for level in video_deepstack_embeds:
            full = level.new_zeros(placeholders_among.shape[0], level.shape[-1])
            full[placeholders_among.to(full.device)] = level
            deepstack.append((full,))
        video = BaseModelOutputWithDeepstackFeatures(
            pooler_output=(inputs_embeds[video_positions.to(inputs_embeds.device)],), deepstack_features=deepstack
        )
        encoder_outputs = {"video": video}
        if pixel_values is not None:  # (Qwen3-VL takes pixel values or encoder outputs, not both)
            encoder_outputs["image"] = self.get_image_features(pixel_values, image_grid_thw, return_dict=True)
        return self.image_llm_forward(
            input_ids=input_ids, image_grid_thw=image_grid_thw, mm_encoder_outputs=encoder_outputs, **kwargs
        )


class LinVTQwen3VLModel(LinVTQwen3VLVideoPath, LinVTModel, Qwen3VLModel):
    r"""Qwen3-VL's base model with LinVT: `Qwen3VLModel` plus `video_tokenizer`; video tokens get DeepStack maps."""

    config_class = LinVTQwen3VLConfig


class LinVTQwen3VLForConditionalGeneration(LinVTForConditionalGeneration, Qwen3VLForConditionalGeneration):
    r"""
    Qwen3-VL with LinVT: a video becomes `config.num_video_tokens` tokens whatever its length, each with its
    DeepStack maps.

    Example:

    ```python
    >>> from linvt_hf import LinVTProcessor, LinVTQwen3VLForConditionalGeneration
    >>> model = LinVTQwen3VLForConditionalGeneration.from_backbone("Qwen/Qwen3-VL-2B-Instruct", dtype="bfloat16")
    >>> processor = LinVTProcessor.from_backbone("Qwen/Qwen3-VL-2B-Instruct")
    ```
    """

    config_class = LinVTQwen3VLConfig
    linvt_model_class = LinVTQwen3VLModel


def tiny_image_llm_config(processor: Any, text_config: dict[str, Any]) -> dict[str, Any]:
    """A Qwen3-VL config at toy sizes for the tiny test processor: 16-pixel patches merged 2x2, two vision layers
    both feeding DeepStack (two DeepStack maps, into the LLM's two layers)."""
    token = processor.tokenizer.convert_tokens_to_ids
    hidden = text_config["hidden_size"]
    # (The vision width is the LLM's, as in transformers' own Qwen3-VL tests: its common tests read the vision
    # tower's output width off `out_hidden_size`.)
    vision = dict(
        depth=2, hidden_size=hidden, intermediate_size=64, num_heads=2, patch_size=16, spatial_merge_size=2,
        temporal_patch_size=2, out_hidden_size=hidden, num_position_embeddings=16, deepstack_visual_indexes=[0, 1],
    )
    # head_dim 16 -> 8 rotary frequencies, interleaved over (time, height, width) as Qwen3-VL's [24, 20, 20] of 64.
    rope = {"rope_type": "default", "mrope_section": [4, 2, 2], "mrope_interleaved": True, "rope_theta": 10000.0}
    return dict(
        vision_config=vision,
        text_config={**text_config, "head_dim": 16, "rope_parameters": rope},
        image_token_id=token("<|image_pad|>"),
        video_token_id=token("<|video_pad|>"),
        vision_start_token_id=token("<|vision_start|>"),
        vision_end_token_id=token("<|vision_end|>"),
    )


__all__ = ["LinVTQwen3VLConfig", "LinVTQwen3VLForConditionalGeneration", "LinVTQwen3VLModel", "LinVTQwen3VLVideoPath"]
