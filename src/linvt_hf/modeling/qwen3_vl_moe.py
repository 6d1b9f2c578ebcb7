"""LinVT on Qwen3-VL-MoE (Qwen3-VL-30B-A3B, 235B-A22B): Qwen3-VL's vision tower with DeepStack and a mixture-of-experts
Qwen3 LLM.

The vision path and the multimodal forward are Qwen3-VL's, so the video path is Qwen3-VL's LinVT one
(`LinVTQwen3VLVideoPath`: one temporal patch per LinVT time step, DeepStack maps combined with each video token's
convex weights, text-like M-RoPE positions); only the config and model classes differ. The processor is Qwen3-VL's
(`LinVTQwen3VLProcessor`), as for the image-LLM. Stage 2's LoRA wraps the LLM's `nn.Linear` layers, the attention
projections: the experts are fused 3D parameters and the routers plain parameters, which LoRA leaves frozen.
With `output_router_logits`, the router load-balancing loss is added to the loss on the video path too (as the
image-LLM's head adds it; LinVT runs the LM head there). Checkpoints already use the module layout: no conversion is
registered.
"""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub.dataclasses import strict
from transformers import Qwen3VLMoeConfig, Qwen3VLMoeForConditionalGeneration, Qwen3VLMoeModel
from transformers.models.qwen3_vl_moe.modeling_qwen3_vl_moe import load_balancing_loss_func
from transformers.utils import ModelOutput

from .configuration_family import LinVTImageLLMConfig
from .modeling_linvt import LinVTForConditionalGeneration, LinVTModel
from .qwen3_vl import LinVTQwen3VLVideoPath
from .qwen3_vl import tiny_image_llm_config as qwen3_vl_tiny_image_llm_config


@strict
class LinVTQwen3VLMoeConfig(LinVTImageLLMConfig, Qwen3VLMoeConfig):
    r"""LinVT on Qwen3-VL-MoE: a `Qwen3VLMoeConfig` plus the video tokenizer's settings (see `LinVTImageLLMConfig`)."""

    model_type = "linvt_qwen3_vl_moe"
    sub_configs_defaults = LinVTImageLLMConfig.sub_configs_with_video_tokenizer(Qwen3VLMoeConfig)


class LinVTQwen3VLMoeModel(LinVTQwen3VLVideoPath, LinVTModel, Qwen3VLMoeModel):
    r"""Qwen3-VL-MoE's base model with LinVT: `Qwen3VLMoeModel` plus `video_tokenizer`; video tokens get DeepStack
    maps."""

    config_class = LinVTQwen3VLMoeConfig


class LinVTQwen3VLMoeForConditionalGeneration(LinVTForConditionalGeneration, Qwen3VLMoeForConditionalGeneration):
    r"""
    Qwen3-VL-MoE with LinVT: a video becomes `config.num_video_tokens` tokens whatever its length, each with its
    DeepStack maps.

    Example:

    ```python
    >>> from linvt_hf import LinVTProcessor, LinVTQwen3VLMoeForConditionalGeneration
    >>> model = LinVTQwen3VLMoeForConditionalGeneration.from_backbone("Qwen/Qwen3-VL-30B-A3B-Instruct", dtype="bfloat16")
    >>> processor = LinVTProcessor.from_backbone("Qwen/Qwen3-VL-30B-A3B-Instruct")
    ```
    """

    config_class = LinVTQwen3VLMoeConfig
    linvt_model_class = LinVTQwen3VLMoeModel

    def image_llm_forward_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # As Qwen3-VL-MoE's head: router logits when asked, else as the text config says.
        if kwargs.get("output_router_logits") is None:
            kwargs = {**kwargs, "output_router_logits": self.config.text_config.output_router_logits}
        return kwargs

    def image_llm_auxiliary_loss(
        self, outputs: ModelOutput, kwargs: dict[str, Any]
    ) -> tuple[torch.Tensor, float] | None:
        """The router load-balancing loss with `output_router_logits`, weighted by `router_aux_loss_coef`, as
        Qwen3-VL-MoE's head computes it (over the attention mask's tokens)."""
        if not kwargs.get("output_router_logits"):
            return None
        text = self.config.text_config
        aux_loss = load_balancing_loss_func(
            outputs.router_logits, text.num_experts, text.num_experts_per_tok, kwargs.get("attention_mask")
        )
        return aux_loss, text.router_aux_loss_coef


def tiny_image_llm_config(processor: Any, text_config: dict[str, Any]) -> dict[str, Any]:
    """Qwen3-VL's toy config (`qwen3_vl.tiny_image_llm_config`) with a mixture-of-experts LLM: 4 experts of width 32
    in each of its two layers, 2 routed per token."""
    moe = dict(num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32, decoder_sparse_step=1)
    return qwen3_vl_tiny_image_llm_config(processor, {**text_config, **moe})


__all__ = ["LinVTQwen3VLMoeConfig", "LinVTQwen3VLMoeForConditionalGeneration", "LinVTQwen3VLMoeModel"]
