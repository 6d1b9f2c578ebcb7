"""InternVL2's original (remote-code) checkpoint -> transformers' native `internvl` ("-hf" layout).

The original is OpenGVLab's `InternVLChatModel` (`modeling_internvl_chat.py`, `modeling_intern_vit.py`): keys
`vision_model.*` (InternViT: fused `attn.qkv`, layer scales `ls1`/`ls2`, `norm1`/`norm2`), `mlp1.{0,1,3}` (LayerNorm,
Linear, GELU, Linear over the pixel-shuffled features) and `language_model.*`, a Qwen2 LLM (InternVL2-1B) or an
InternLM2 one (InternVL2-2B/8B/26B: fused `attention.wqkv`, `feed_forward.w1/w2/w3`), which becomes a Llama LLM.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from transformers import InternVLConfig, InternVLForConditionalGeneration, LlamaConfig, Qwen2Config

from .core import (
    ConversionError,
    ConversionReport,
    KeyRule,
    build_and_save,
    config_fields,
    find_token_ids,
    load_original,
    rename_keys,
    rule,
    split_rows,
    take_rotary_buffers,
    torch_dtype_of,
)

LAYOUT = "internvl2"
IMAGE_CONTEXT_TOKEN = "<IMG_CONTEXT>"
SUPPORTED_LLMS = ("Qwen2ForCausalLM", "InternLM2ForCausalLM")
# Fields of the original chat config that only steer its own chat/preprocessing code or training.
CHAT_FIELDS = {
    "architectures", "auto_map", "model_type", "llm_config", "vision_config", "select_layer", "downsample_ratio",
    "ps_version", "force_image_size", "torch_dtype", "transformers_version", "_name_or_path", "tie_word_embeddings",
}  # fmt: skip
# Vision config translation: InternViT field -> InternVLVisionConfig field.
VISION_FIELDS = {
    "hidden_size": "hidden_size", "intermediate_size": "intermediate_size", "num_hidden_layers": "num_hidden_layers",
    "num_attention_heads": "num_attention_heads", "num_channels": "num_channels", "hidden_act": "hidden_act",
    "layer_norm_eps": "layer_norm_eps", "norm_type": "norm_type", "qkv_bias": "attention_bias",
    "qk_normalization": "use_qk_norm", "attention_dropout": "attention_dropout",
    "initializer_range": "initializer_range", "initializer_factor": "layer_scale_init_value",
}  # fmt: skip
INTERNLM2_FIELDS = {
    "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "hidden_act", "max_position_embeddings", "initializer_range", "rms_norm_eps", "use_cache",
    "pad_token_id", "bos_token_id", "eos_token_id", "rope_theta", "rope_scaling",
}  # fmt: skip


def vision_rules(config: InternVLConfig) -> list[KeyRule]:
    dim = config.vision_config.hidden_size
    source, target = r"vision_model\.", "model.vision_tower."
    layer, new_layer = source + r"encoder\.layers\.(\d+)\.", target + r"encoder.layer.\1."
    return [
        rule(source + r"embeddings\.class_embedding", target + "embeddings.cls_token"),
        rule(source + r"embeddings\.position_embedding", target + "embeddings.position_embeddings"),
        rule(source + r"embeddings\.patch_embedding\.(weight|bias)",
             target + r"embeddings.patch_embeddings.projection.\1"),
        rule(layer + r"ls1", new_layer + "lambda_1"),
        rule(layer + r"ls2", new_layer + "lambda_2"),
        rule(layer + r"attn\.qkv\.(weight|bias)", *(new_layer + f"attention.{p}_proj.\\2" for p in "qkv"),
             split=split_rows(dim, dim, dim)),
        rule(layer + r"attn\.proj\.(weight|bias)", new_layer + r"attention.projection_layer.\2"),
        rule(layer + r"attn\.(q_norm|k_norm)\.(weight|bias)", new_layer + r"attention.\2.\3"),
        rule(layer + r"mlp\.(fc1|fc2)\.(weight|bias)", new_layer + r"mlp.\2.\3"),
        rule(layer + r"norm1\.(weight|bias)", new_layer + r"layernorm_before.\2"),
        rule(layer + r"norm2\.(weight|bias)", new_layer + r"layernorm_after.\2"),
        # InternVL's mlp1 = Sequential(LayerNorm, Linear, GELU, Linear)
        rule(r"mlp1\.0\.(weight|bias)", r"model.multi_modal_projector.layer_norm.\1"),
        rule(r"mlp1\.1\.(weight|bias)", r"model.multi_modal_projector.linear_1.\1"),
        rule(r"mlp1\.3\.(weight|bias)", r"model.multi_modal_projector.linear_2.\1"),
    ]


def qwen2_rules() -> list[KeyRule]:
    return [
        rule(r"language_model\.model\.(.+)", r"model.language_model.\1"),
        rule(r"language_model\.lm_head\.weight", "lm_head.weight"),
    ]


def internlm2_rules(text: LlamaConfig) -> list[KeyRule]:
    source, target = r"language_model\.model\.", "model.language_model."
    layer, new_layer = source + r"layers\.(\d+)\.", target + r"layers.\1."
    return [
        rule(source + r"tok_embeddings\.weight", target + "embed_tokens.weight"),
        rule(source + r"norm\.weight", target + "norm.weight"),
        rule(r"language_model\.output\.weight", "lm_head.weight"),
        rule(layer + r"attention\.wqkv\.weight", *(new_layer + f"self_attn.{p}_proj.weight" for p in "qkv"),
             split=internlm2_wqkv_split(text)),
        rule(layer + r"attention\.wo\.weight", new_layer + "self_attn.o_proj.weight"),
        rule(layer + r"feed_forward\.w1\.weight", new_layer + "mlp.gate_proj.weight"),
        rule(layer + r"feed_forward\.w3\.weight", new_layer + "mlp.up_proj.weight"),
        rule(layer + r"feed_forward\.w2\.weight", new_layer + "mlp.down_proj.weight"),
        rule(layer + r"attention_norm\.weight", new_layer + "input_layernorm.weight"),
        rule(layer + r"ffn_norm\.weight", new_layer + "post_attention_layernorm.weight"),
    ]


def internlm2_wqkv_split(text: LlamaConfig):
    """InternLM2 fuses q, k and v per key-value head: rows [kv_heads, groups + 2, head_dim] (the group's queries,
    then its key, then its value); Llama keeps q [heads * head_dim], k and v [kv_heads * head_dim] apart."""
    kv_heads = text.num_key_value_heads
    groups = text.num_attention_heads // kv_heads
    head_dim = text.hidden_size // text.num_attention_heads

    def split(weight: torch.Tensor):
        if weight.shape[0] != kv_heads * (groups + 2) * head_dim:
            raise ConversionError(f"{LAYOUT}: attention.wqkv of shape {tuple(weight.shape)} does not fit the config")
        fused = weight.reshape(kv_heads, groups + 2, head_dim, weight.shape[-1])
        return (
            fused[:, :groups].reshape(-1, weight.shape[-1]),
            fused[:, groups].reshape(-1, weight.shape[-1]),
            fused[:, groups + 1].reshape(-1, weight.shape[-1]),
        )

    return split


def text_config(llm: dict[str, Any]) -> tuple[Qwen2Config | LlamaConfig, list[str]]:
    architecture = (llm.get("architectures") or [None])[0]
    if architecture == "Qwen2ForCausalLM":
        fields, ignored = config_fields(llm, Qwen2Config().to_dict().keys() | {"rope_theta", "rope_scaling"})
        return Qwen2Config(**{**fields, "tie_word_embeddings": False}), ignored
    if architecture == "InternLM2ForCausalLM":
        fields, ignored = config_fields(llm, INTERNLM2_FIELDS | {"bias"})
        bias = fields.pop("bias", False)
        scaling = fields.pop("rope_scaling", None)
        if scaling is not None:
            # InternLM2's "dynamic" scaling only changes positions past max_position_embeddings.
            fields["rope_scaling"] = {"rope_type": scaling.get("type", scaling.get("rope_type")), **{
                key: value for key, value in scaling.items() if key not in ("type", "rope_type")}}
        return LlamaConfig(**fields, attention_bias=bias, mlp_bias=False, tie_word_embeddings=False), ignored
    raise ConversionError(
        f"{LAYOUT}: the LLM is {architecture!r}; this conversion handles {', '.join(SUPPORTED_LLMS)} "
        "(InternVL2-1B/2B/8B/26B)"
    )


def internvl_config(original: dict[str, Any], image_token_id: int) -> tuple[InternVLConfig, list[str]]:
    if original.get("ps_version", "v1") != "v2":
        raise ConversionError(
            f"{LAYOUT}: ps_version {original.get('ps_version', 'v1')!r}: transformers' InternVL implements the pixel "
            "shuffle of ps_version 'v2' only (InternVL2 and later); 'v1' gives transposed features"
        )
    vision = original["vision_config"]
    image_size = original.get("force_image_size") or vision["image_size"]
    if image_size != vision["image_size"]:
        raise ConversionError(
            f"{LAYOUT}: force_image_size {image_size} differs from the vision model's image_size "
            f"{vision['image_size']} (its position embeddings would be resized); not supported"
        )
    patch = vision["patch_size"]
    vision_values = {new: vision[old] for old, new in VISION_FIELDS.items() if old in vision}
    vision_values.update(image_size=[image_size, image_size], patch_size=[patch, patch], use_mean_pooling=True,
                         use_absolute_position_embeddings=True)
    if "dropout" in vision:
        vision_values["projection_dropout"] = vision["dropout"]
    text, _ = text_config(original["llm_config"])
    ratio = original.get("downsample_ratio", 0.5)
    config = InternVLConfig(
        vision_config=vision_values,
        text_config=text.to_dict(),
        image_token_id=image_token_id,
        image_seq_length=int((image_size // patch) ** 2 * ratio**2),
        downsample_ratio=ratio,
        projector_hidden_act="gelu",
        vision_feature_layer=original.get("select_layer", -1),
        vision_feature_select_strategy="default",  # InternVL drops the class token
        tie_word_embeddings=False,
    )
    dtype = torch_dtype_of(original) or torch_dtype_of(original["llm_config"])
    if dtype is not None:
        config.dtype = dtype
    # The chat config's own fields that are not carried over (chat template, tiling settings, training flags).
    return config, sorted(set(original) - CHAT_FIELDS - {"_commit_hash", "hidden_size"})


def convert(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    overwrite: bool = False,
    image_token_id: int | None = None,
) -> ConversionReport:
    """Convert the InternVL2 checkpoint folder `source` into an `InternVLForConditionalGeneration` folder.

    `image_token_id` defaults to the id of `<IMG_CONTEXT>` in the folder's tokenizer files.
    """
    original = load_original(source)
    if original.config.get("model_type") != "internvl_chat" or "llm_config" not in original.config:
        raise ConversionError(
            f"{LAYOUT}: {str(original.path)!r} is not an original InternVL2 checkpoint (model_type "
            f"{original.config.get('model_type')!r}, expected 'internvl_chat' with an llm_config)"
        )
    if image_token_id is None:
        image_token_id = find_token_ids(original.path, [IMAGE_CONTEXT_TOKEN])[IMAGE_CONTEXT_TOKEN]
        if image_token_id is None:
            raise ConversionError(
                f"{LAYOUT}: no {IMAGE_CONTEXT_TOKEN} token in the tokenizer files of {str(original.path)!r}; "
                "pass image_token_id (--image-token-id)"
            )
    config, ignored = internvl_config(original.config, image_token_id)
    architecture = original.config["llm_config"]["architectures"][0]
    text_rules = qwen2_rules() if architecture == "Qwen2ForCausalLM" else internlm2_rules(config.text_config)
    state = dict(original.state_dict)
    notes = take_rotary_buffers(state, config.text_config, LAYOUT)
    state_dict = rename_keys(state, vision_rules(config) + text_rules, LAYOUT)
    report = ConversionReport(LAYOUT, "internvl", Path(destination), ignored_config_fields=ignored, notes=notes)
    report.notes.append(f"image_token_id={image_token_id} ({IMAGE_CONTEXT_TOKEN}); LLM {architecture}")
    return build_and_save(InternVLForConditionalGeneration, config, state_dict, original, destination, overwrite,
                          report)




__all__ = ["LAYOUT", "convert", "internvl_config"]
