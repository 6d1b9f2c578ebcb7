"""Mipha's original checkpoint (LLaVA-Phi code, github.com/zhuyiche/llava-phi, `mipha/`) -> transformers' `llava`.

The original is `MiphaPhiForCausalLM` (`mipha/model/language_model/mipha_phi.py`, `mipha_arch.py`): transformers'
Phi body at `model.*` (`embed_tokens`, `layers.*`, `final_layernorm`), `lm_head` with a bias, the SigLIP tower at
`model.vision_tower.vision_model.*` (`SiglipVisionTower`: hidden_states[mm_vision_select_layer], every token) and
the projector `model.mm_projector.{0,2}` (mlp2x_gelu). Mipha-1.6B's Phi-1.5 (`MiphaPhi15ForCausalLM`) fuses q, k and
v per head (`self_attn.query_key_value`: rows [heads, 3, head_dim]). Mipha's CLIP / DINOv2 towers and its Gemma /
Phi-3 LLMs are refused (not checked against the original code).

transformers' `LlavaForConditionalGeneration` has no bias on `lm_head`, and Phi-2's is not zero. The conversion keeps
it: the folder holds `lm_head.bias` and its config `lm_head_bias: true`, which LinVT's LLaVA family reads (its
`from_backbone` gives the head that bias: logits equal to Mipha's). A plain `LlavaForConditionalGeneration` loads the
folder without it (transformers reports `lm_head.bias` as an unexpected key). `drop_lm_head_bias=True` writes a plain
LLaVA folder instead, without the bias (every logit then differs from the original by it; greedy answers can
change). A zero bias is dropped with a note.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn
from transformers import LlavaConfig, LlavaForConditionalGeneration, PhiConfig

from .core import (
    ConversionError,
    ConversionReport,
    build_and_save,
    config_fields,
    find_token_ids,
    load_original,
    rename_keys,
    rule,
    take_rotary_buffers,
    torch_dtype_of,
)

LAYOUT = "mipha"
VISION_FIELDS = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_channels",
                 "image_size", "patch_size", "hidden_act", "layer_norm_eps", "attention_dropout", "projection_dim")


def key_rules(text: PhiConfig):
    heads = text.num_attention_heads
    head_dim = text.hidden_size // heads
    layer, new_layer = r"model\.layers\.(\d+)\.", r"model.language_model.layers.\1."

    def split_per_head(tensor: torch.Tensor):
        fused = tensor.reshape(heads, 3, head_dim, *tensor.shape[1:])
        return tuple(fused[:, i].reshape(heads * head_dim, *tensor.shape[1:]) for i in range(3))

    return [
        rule(r"model\.vision_tower\.vision_model\.(.+)", r"model.vision_tower.\1"),
        rule(r"model\.mm_projector\.0\.(weight|bias)", r"model.multi_modal_projector.linear_1.\1"),
        rule(r"model\.mm_projector\.2\.(weight|bias)", r"model.multi_modal_projector.linear_2.\1"),
        rule(layer + r"self_attn\.query_key_value\.(weight|bias)",
             *(new_layer + f"self_attn.{p}_proj.\\2" for p in "qkv"), split=split_per_head),
        rule(r"model\.((embed_tokens|layers|final_layernorm)\b.*)", r"model.language_model.\1"),
        rule(r"lm_head\.(weight|bias)", r"lm_head.\1"),
    ]


class LlavaWithHeadBias(LlavaForConditionalGeneration):
    """transformers' LLaVA with Phi's biased LM head, to write the converted folder (config `lm_head_bias: true`;
    the folder names `LlavaForConditionalGeneration` as its architecture, as LinVT-LLaVA's `lm_head_bias` reads it)."""

    def __init__(self, config: LlavaConfig) -> None:
        super().__init__(config)
        text = config.get_text_config(decoder=True)
        self.lm_head = nn.Linear(text.hidden_size, text.vocab_size, bias=True)
        self.post_init()


def convert(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    overwrite: bool = False,
    image_token_id: int | None = None,
    drop_lm_head_bias: bool = False,
) -> ConversionReport:
    """Convert the Mipha checkpoint folder `source` into a `LlavaForConditionalGeneration` (SigLIP + Phi) folder.

    Mipha marks an image with the index -200, not a token: `image_token_id` defaults to the id of `<image>` in the
    folder's tokenizer files. A non-zero `lm_head.bias` is kept (config `lm_head_bias: true`, for LinVT-LLaVA)
    unless `drop_lm_head_bias`.
    """
    original = load_original(source)
    values = original.config
    if values.get("model_type") != "mipha_phi":
        raise ConversionError(f"{LAYOUT}: {str(original.path)!r} has model_type {values.get('model_type')!r}; this "
                              "conversion reads Mipha's 'mipha_phi' checkpoints (Mipha-3B, Mipha-1.6B)")
    visual = values.get("vision_config") or {}
    tower, projector = visual.get("vision_tower", {}), visual.get("mm_projector", {})
    if "siglip" not in str(tower.get("vision_model_name_or_path", "")).lower():
        raise ConversionError(f"{LAYOUT}: vision tower {tower.get('vision_model_name_or_path')!r}: only Mipha's SigLIP "
                              "tower is supported")
    if projector.get("mm_projector_type") != "mlp2x_gelu":
        raise ConversionError(f"{LAYOUT}: mm_projector_type {projector.get('mm_projector_type')!r}; only "
                              "'mlp2x_gelu' maps onto transformers' LLaVA projector")
    select = tower.get("mm_vision_select_feature", "patch")
    if select not in ("patch", "cls_patch"):  # for SigLIP (no class token) both keep every token
        raise ConversionError(f"{LAYOUT}: mm_vision_select_feature {select!r} is not 'patch' or 'cls_patch'")
    if image_token_id is None:
        image_token_id = find_token_ids(original.path, ["<image>"])["<image>"]
        if image_token_id is None:
            raise ConversionError(
                f"{LAYOUT}: the tokenizer files of {str(original.path)!r} have no <image> token (Mipha uses the index "
                "-200 instead); add it to the tokenizer and pass image_token_id (--image-token-id)"
            )
    state = dict(original.state_dict)
    notes = []
    bias = state.pop("lm_head.bias", None)
    keep_bias = bias is not None and bool(bias.abs().max() > 0) and not drop_lm_head_bias
    if keep_bias:
        state["lm_head.bias"] = bias
        notes.append(f"lm_head.bias kept (max |bias| {bias.abs().max().item():.4g}), config lm_head_bias: true: "
                     "LinVT-LLaVA's from_backbone reads it; a plain LlavaForConditionalGeneration loads without it")
    elif bias is not None and bool(bias.abs().max() > 0):
        notes.append(f"lm_head.bias dropped on request (max |bias| {bias.abs().max().item():.4g})")
    elif bias is not None:
        notes.append("lm_head.bias is all zeros: dropping it changes nothing")
    text_values, _ = config_fields(values, PhiConfig().to_dict().keys() | {"rope_theta", "rope_scaling"})
    text_values = {k: v for k, v in text_values.items() if k not in ("model_type", "architectures", "vision_config")}
    text = PhiConfig(**text_values)
    vision = {key: tower[key] for key in VISION_FIELDS if key in tower}
    vision["model_type"] = "siglip_vision_model"
    vision["vision_use_head"] = any(k.startswith("model.vision_tower.vision_model.head.") for k in state)
    config = LlavaConfig(
        vision_config=vision,
        text_config=text.to_dict(),
        image_token_index=image_token_id,
        projector_hidden_act="gelu",
        vision_feature_layer=tower.get("mm_vision_select_layer", -2),
        vision_feature_select_strategy="full",
        image_seq_length=(tower["image_size"] // tower["patch_size"]) ** 2,
        multimodal_projector_bias=True,
        tie_word_embeddings=bool(values.get("tie_word_embeddings", False)),
    )
    if keep_bias:
        config.lm_head_bias = True
    dtype = torch_dtype_of(values)
    if dtype is not None:
        config.dtype = dtype
    notes += take_rotary_buffers(state, text, LAYOUT)
    state_dict = rename_keys(state, key_rules(text), LAYOUT)
    ignored = sorted(key for key in values if key.startswith(("mm_", "tune_", "freeze_")))
    report = ConversionReport(LAYOUT, "llava", Path(destination), notes=notes, ignored_config_fields=ignored)
    report.notes.append(f"image_token_id={image_token_id}; SigLIP tower, vision_feature_layer "
                        f"{config.vision_feature_layer}")
    model_class = LlavaWithHeadBias if keep_bias else LlavaForConditionalGeneration
    return build_and_save(model_class, config, state_dict, original, destination, overwrite, report,
                          architecture="LlavaForConditionalGeneration")


__all__ = ["LAYOUT", "convert"]
