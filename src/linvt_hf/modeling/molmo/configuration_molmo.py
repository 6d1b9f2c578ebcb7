"""The config of Molmo (v1, allenai's Molmo-7B-D-0924): an OpenAI CLIP ViT-L/14-336, 2x2 attention pooling, a SwiGLU
projector and a Qwen2 LLM. transformers has Molmo2 only; this is linvt-hf's own port (model type `molmo`, no remote
code) of allenai/molmo's `olmo/model.py`, `olmo/image_vit.py`."""

from __future__ import annotations

from typing import Any

from huggingface_hub.dataclasses import strict
from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

# OpenAI CLIP ViT-L/14 at 336 pixels as Molmo-7B-D uses it: 23 of its 24 layers (allenai's `image_num_layers=23`),
# quick_gelu, pre-layernorm; its post-layernorm and projection are never read.
CLIP_VIT_L14_336 = {
    "hidden_size": 1024,
    "intermediate_size": 4096,
    "num_hidden_layers": 23,
    "num_attention_heads": 16,
    "image_size": 336,
    "patch_size": 14,
    "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-5,
}
# Qwen2-7B as Molmo-7B-D's LLM: 152064 text tokens plus Molmo's 128 added rows (its image marker tokens).
QWEN2_7B = {
    "vocab_size": 152064 + 128,
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "num_hidden_layers": 28,
    "num_attention_heads": 28,
    "num_key_value_heads": 4,
    "max_position_embeddings": 4096,
    "rope_theta": 1000000.0,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": False,
}


@strict
class MolmoConfig(PreTrainedConfig):
    r"""
    Molmo (v1): each image crop -> the CLIP ViT's hidden states of `vit_layers` (concatenated, class token dropped)
    -> padding embeddings -> `pooling_size` windows pooled by attention (query: the window's mean) -> a SwiGLU
    projector -> one token per window, ADDED to the embeddings of the `<im_patch>` tokens.

    Args:
        vision_config (`dict` or `CLIPVisionConfig`, *optional*): the ViT (CLIP ViT-L/14-336, 23 layers, by default).
        text_config (`dict` or `Qwen2Config`, *optional*): the LLM (Qwen2-7B by default); its `vocab_size` counts
            the embedding table's rows: the LLM's tokens plus Molmo's `additional_vocab_size` added ones.
        image_token_id (`int`, *optional*, defaults to 152066): the id of `<im_patch>`.
        vit_layers (`list[int]`, *optional*, defaults to `[-2, -9]`): the ViT layers read (indices into its blocks'
            outputs, as the original's: 0 is the first block's), concatenated in this order.
        pooling_size (`list[int]`, *optional*, defaults to `[2, 2]`): `(rows, cols)` of the pooled patch windows.
        additional_vocab_start (`int`, *optional*, defaults to 152064): the first of Molmo's added token ids (its
            `embedding_size`), which the original LM head has no rows for; None: no such ids.
        additional_vocab_size (`int`, *optional*, defaults to 128): how many added ids; their logits are set to the
            dtype's minimum, so that they are never predicted, as with the original head.
        tie_word_embeddings (`bool`, *optional*, defaults to `False`).
    """

    model_type = "molmo"
    sub_configs_defaults = {
        "vision_config": SubConfigSpec(
            config_class=AutoConfig, model_type="clip_vision_model", init_kwargs=CLIP_VIT_L14_336
        ),
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="qwen2", init_kwargs=QWEN2_7B),
    }

    vision_config: dict | PreTrainedConfig | None = None
    text_config: dict | PreTrainedConfig | None = None
    image_token_id: int = 152066
    vit_layers: list[int] | None = None
    pooling_size: list[int] | None = None
    additional_vocab_start: int | None = 152064
    additional_vocab_size: int = 128
    tie_word_embeddings: bool = False

    def __post_init__(self, **kwargs: Any) -> None:
        # allenai's released checkpoints (remote code) also say model_type "molmo", with the LLM's fields at the top
        # level (`embedding_size`, `qkv_bias`, ...): their weights are in another layout.
        if "embedding_size" in kwargs or "qkv_bias" in kwargs:
            raise ValueError(
                "MolmoConfig: this is the config of allenai's original Molmo checkpoint (remote code, "
                "MolmoForCausalLM); convert it first: `linvt-hf convert --from molmo SOURCE DESTINATION`"
            )
        super().__post_init__(**kwargs)
        self.vit_layers = [-2, -9] if self.vit_layers is None else list(self.vit_layers)
        self.pooling_size = [2, 2] if self.pooling_size is None else list(self.pooling_size)
        layers = self.vision_config.num_hidden_layers
        if not self.vit_layers or not all(isinstance(i, int) and -layers <= i < layers for i in self.vit_layers):
            raise ValueError(
                f"MolmoConfig: vit_layers must be layer indices of the {layers}-layer ViT, got {self.vit_layers!r}"
            )
        if len(self.pooling_size) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in self.pooling_size
        ):
            raise ValueError(f"MolmoConfig: pooling_size must be two positive ints, got {self.pooling_size!r}")
        if isinstance(self.additional_vocab_size, bool) or self.additional_vocab_size < 0:
            raise ValueError(
                f"MolmoConfig: additional_vocab_size must be an int >= 0, got {self.additional_vocab_size!r}"
            )
        if self.additional_vocab_start is not None:
            end = self.additional_vocab_start + self.additional_vocab_size
            vocab = self.get_text_config(decoder=True).vocab_size
            if self.additional_vocab_start < 0 or end > vocab:
                raise ValueError(
                    f"MolmoConfig: the added ids [{self.additional_vocab_start}, {end}) must lie in the embedding "
                    f"table's {vocab} rows (text_config.vocab_size)"
                )

    @property
    def tokens_per_crop(self) -> tuple[int, int]:
        """`(rows, cols)` of one crop's pooled tokens: the patch grid over `pooling_size`, rounded up."""
        side = self.vision_config.image_size // self.vision_config.patch_size
        return -(-side // self.pooling_size[0]), -(-side // self.pooling_size[1])


__all__ = ["MolmoConfig"]
