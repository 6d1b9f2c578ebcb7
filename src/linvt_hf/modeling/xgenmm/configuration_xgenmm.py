"""The config of xGen-MM (BLIP-3): a SigLIP vision encoder, a Perceiver resampler (the "vision token sampler") and
a Phi-3 LLM. transformers has no xGen-MM; this is linvt-hf's own port (model type `xgenmm`, no remote code)."""

from __future__ import annotations

from typing import Any

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

# SigLIP so400m-patch14-384, the vision encoder of every released xGen-MM checkpoint.
SIGLIP_SO400M_384 = {
    "hidden_size": 1152,
    "intermediate_size": 4304,
    "num_hidden_layers": 27,
    "num_attention_heads": 16,
    "image_size": 384,
    "patch_size": 14,
    "vision_use_head": False,  # xGen-MM reads the last hidden state (after the post-layernorm), never the head
}


@strict
class XGenMMConfig(PreTrainedConfig):
    r"""
    xGen-MM (BLIP-3): each image -> SigLIP's last hidden state -> a Perceiver resampler of `num_vision_tokens`
    learned latents -> `num_vision_tokens` tokens in the LLM's embedding space, at the `<image>` placeholders.

    Args:
        vision_config (`dict` or `SiglipVisionConfig`, *optional*): the vision encoder (SigLIP so400m-384 by default).
        text_config (`dict` or `PreTrainedConfig`, *optional*): the LLM (Phi-3 by default).
        image_token_id (`int`, *optional*, defaults to 32012): the id of `<image>` (xGen-MM's first added token).
        num_vision_tokens (`int`, *optional*, defaults to 128): the resampler's latents, i.e. tokens per image.
        resampler_depth (`int`, *optional*, defaults to 6): resampler layers (attention + feed-forward each).
        resampler_num_heads (`int`, *optional*, defaults to 16): attention heads of the resampler.
        resampler_head_dim (`int`, *optional*, defaults to 96): width of each resampler head.
        resampler_ff_mult (`int`, *optional*, defaults to 4): the resampler feed-forward's width over the vision width.
        lm_head_bias (`bool`, *optional*, defaults to `True`): the LM head has a bias (xGen-MM's does).
        tie_word_embeddings (`bool`, *optional*, defaults to `False`): tie the LM head to the input embeddings.
    """

    model_type = "xgenmm"
    sub_configs_defaults = {
        "vision_config": SubConfigSpec(
            config_class=AutoConfig, model_type="siglip_vision_model", init_kwargs=SIGLIP_SO400M_384
        ),
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="phi3"),
    }

    vision_config: dict | PreTrainedConfig | None = None
    text_config: dict | PreTrainedConfig | None = None
    image_token_id: int = 32012
    num_vision_tokens: int = 128
    resampler_depth: int = 6
    resampler_num_heads: int = 16
    resampler_head_dim: int = 96
    resampler_ff_mult: int = 4
    lm_head_bias: bool = True
    tie_word_embeddings: bool = False

    def __post_init__(self, **kwargs: Any) -> None:
        super().__post_init__(**kwargs)
        sizes = ("num_vision_tokens", "resampler_depth", "resampler_num_heads", "resampler_head_dim",
                 "resampler_ff_mult")
        for name in sizes:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"XGenMMConfig: {name} must be a positive int, got {value!r}")

    @property
    def image_seq_length(self) -> int:
        """Tokens per image in the LLM (the resampler's latents)."""
        return self.num_vision_tokens


__all__ = ["XGenMMConfig"]
