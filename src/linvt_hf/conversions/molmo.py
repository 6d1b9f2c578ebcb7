"""Molmo's released checkpoints (allenai/Molmo-7B-D-0924: the Hub's remote-code `MolmoForCausalLM`) -> linvt-hf's own
transformers port, model type `molmo`.

The remote-code weights are `model.` + the state dict of allenai/molmo's `olmo.model.Molmo` (olmo/hf_molmo.py loads
one into the other, strict): the LLM at `model.transformer.*` (`wte.embedding` and the added tokens' rows
`wte.new_embedding`, blocks with a fused `att_proj` (q, k, v, with bias), `attn_out`, a fused `ff_proj` (the
SwiGLU's up half first, then its gate half), `ff_out`, RMS norms `attn_norm` / `ff_norm`, `ln_f`, the LM head
`ff_out` without rows for the added tokens), the vision backbone at `model.vision_backbone.*` (the CLIP ViT
`image_vit.*`: a linear `patch_embedding` over `(row, col, channel)`-flattened patches, `class_embedding`,
`positional_embedding`, `pre_ln`, `transformer.resblocks.N.{attention.w[qkvo], feed_forward.w[12],
attention_norm, ffn_norm}`; the pooling attention `image_pooling_2d.w[qkvo]`; the projector `image_projector.w[123]`;
`pad_embed`). Every key is mapped; an unknown key is refused, naming it.

config.json holds the LLM's fields (`embedding_size`, `qkv_bias`, ...); the vision backbone and the connector are
fixed in the remote code (CLIP ViT-L/14-336 with 23 layers, quick_gelu, read at layers -2 and -9; 2x2 attention
pooling; `pad_and_partial_pad` padding embeddings): sizes are read off the weights, the ViT's head count is 16 (the
released one) unless `vision_config=` says otherwise, and `vit_layers` is [-2, -9] unless given. The image
processor's settings come from the folder's preprocessor_config.json (the Hub's remote-code image processor).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from transformers import Qwen2Config

from ..modeling.molmo import MolmoConfig, MolmoForConditionalGeneration
from .core import (
    ConversionError,
    ConversionReport,
    build_and_save,
    config_fields,
    find_token_ids,
    load_original,
    rename_keys,
    rule,
    split_rows,
    torch_dtype_of,
)

LAYOUT = "molmo"
LLM, VISION = "model.transformer.", "model.vision_backbone."
VIT = VISION + "image_vit."
# Molmo's added tokens, in the order of their rows after the LLM's `embedding_size` (olmo/tokenizer.py EXTRA_TOKENS).
EXTRA_TOKENS = ("<im_start>", "<im_end>", "<im_patch>", "<im_col>", "<|image|>")
# The remote code's vision backbone (olmo/hf_molmo.py's VisionBackboneConfig) where the weights do not say it.
RELEASED_VISION = {"num_attention_heads": 16, "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
# Remote-code config fields the conversion checks (the port builds only the released architecture).
REQUIRED = {"qkv_bias": True, "clip_qkv": None, "norm_after": False, "attention_layer_norm": False,
            "layer_norm_type": "rms", "weight_tying": False}


def key_rules(config: dict[str, Any], vision_hidden: int) -> list:
    """The key table: the original's keys (listed in the module docstring) -> the port's."""
    hidden, heads, kv_heads = config["hidden_size"], config["num_attention_heads"], config["num_key_value_heads"]
    head_dim, half = hidden // heads, config["intermediate_size"] // 2
    block, layer = re.escape(LLM) + r"blocks\.(\d+)\.", r"model.language_model.layers.\1."
    resblock, vit_layer = re.escape(VIT) + r"transformer\.resblocks\.(\d+)\.", r"model.vision_tower.encoder.layers.\1."
    pooling, projector = re.escape(VISION) + r"image_pooling_2d\.", "model.multi_modal_projector."
    qkv = (hidden, kv_heads * head_dim, kv_heads * head_dim)
    return [
        rule(block + r"att_proj\.(weight|bias)", *(layer + f"self_attn.{p}_proj.\\2" for p in "qkv"),
             split=split_rows(*qkv)),
        rule(block + r"attn_out\.weight", layer + "self_attn.o_proj.weight"),
        rule(block + r"ff_proj\.weight", layer + "mlp.up_proj.weight", layer + "mlp.gate_proj.weight",
             split=split_rows(half, half)),  # the original's SwiGLU: x, gate = ff_proj(x).chunk(2)
        rule(block + r"ff_out\.weight", layer + "mlp.down_proj.weight"),
        rule(block + r"attn_norm\.weight", layer + "input_layernorm.weight"),
        rule(block + r"ff_norm\.weight", layer + "post_attention_layernorm.weight"),
        rule(re.escape(LLM) + r"ln_f\.weight", "model.language_model.norm.weight"),
        rule(r"(model\.language_model\.embed_tokens\.weight|lm_head\.weight)", r"\1"),  # joined below
        rule(re.escape(VIT) + "class_embedding", "model.vision_tower.embeddings.class_embedding"),
        rule(re.escape(VIT) + "positional_embedding",
             "model.vision_tower.embeddings.position_embedding.weight"),
        rule(r"(model\.vision_tower\.embeddings\.patch_embedding\.weight)", r"\1"),  # reshaped below
        rule(r"(model\.vision_tower\.post_layernorm\.(weight|bias))", r"\1"),  # written below
        rule(re.escape(VIT) + r"pre_ln\.(weight|bias)", r"model.vision_tower.pre_layrnorm.\1"),
        rule(resblock + r"attention\.w([qkv])\.(weight|bias)", vit_layer + r"self_attn.\2_proj.\3"),
        rule(resblock + r"attention\.wo\.(weight|bias)", vit_layer + r"self_attn.out_proj.\2"),
        rule(resblock + r"feed_forward\.w1\.(weight|bias)", vit_layer + r"mlp.fc1.\2"),
        rule(resblock + r"feed_forward\.w2\.(weight|bias)", vit_layer + r"mlp.fc2.\2"),
        rule(resblock + r"attention_norm\.(weight|bias)", vit_layer + r"layer_norm1.\2"),
        rule(resblock + r"ffn_norm\.(weight|bias)", vit_layer + r"layer_norm2.\2"),
        rule(pooling + r"w([qkvo])\.(weight|bias)", projector + r"image_pooling.\1_proj.\2"),
        rule(re.escape(VISION) + r"image_projector\.w1\.weight", projector + "gate_proj.weight"),
        rule(re.escape(VISION) + r"image_projector\.w3\.weight", projector + "up_proj.weight"),
        rule(re.escape(VISION) + r"image_projector\.w2\.weight", projector + "down_proj.weight"),
        rule(re.escape(VISION) + "pad_embed", projector + "pad_embed"),
    ]


def vision_config_from_weights(state: dict, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The CLIP ViT's sizes from the weights; head count, activation and epsilon the released ones or `overrides`."""
    patch_weight = state[VIT + "patch_embedding.weight"]
    hidden, pixels = patch_weight.shape
    patch = int(round((pixels / 3) ** 0.5))
    positions = state[VIT + "positional_embedding"].shape[0]
    side = int(round((positions - 1) ** 0.5))
    if 3 * patch * patch != pixels or side * side != positions - 1:
        raise ConversionError(f"{LAYOUT}: a patch embedding over {pixels} pixels and {positions} positions is not a "
                              "square ViT of RGB patches with a class token")
    block = re.escape(VIT) + r"transformer\.resblocks\.(\d+)\."
    layers = {int(m.group(1)) for key in state if (m := re.match(block, key))}
    values = dict(model_type="clip_vision_model", hidden_size=hidden, patch_size=patch, image_size=side * patch,
                  num_hidden_layers=len(layers),
                  intermediate_size=state[VIT + "transformer.resblocks.0.feed_forward.w1.weight"].shape[0])
    return {**values, **RELEASED_VISION, **(overrides or {})}


def join_embeddings(state: dict, embedding_size: int) -> int:
    """One embedding of `embedding_size + added` rows (`wte.embedding`, then `wte.new_embedding`), and the LM head
    with zero rows for the added tokens (the port masks their logits, as the original has none). Returns `added`."""
    embed, extra = state.pop(LLM + "wte.embedding"), state.pop(LLM + "wte.new_embedding")
    head = state.pop(LLM + "ff_out.weight")
    if embed.shape[0] != embedding_size or head.shape[0] != embedding_size:
        raise ConversionError(f"{LAYOUT}: embedding {tuple(embed.shape)} and LM head {tuple(head.shape)} do not "
                              f"have embedding_size {embedding_size} rows")
    state["model.language_model.embed_tokens.weight"] = torch.cat([embed, extra])
    state["lm_head.weight"] = torch.cat([head, head.new_zeros(extra.shape[0], head.shape[1])])
    return extra.shape[0]


def vision_tensors(state: dict, vision: dict[str, Any]) -> None:
    """The patch projection as CLIP's convolution ([D, p*p*3] over (row, col, channel) -> [D, 3, p, p]) and CLIP's
    post-layernorm as the identity (the original has none; Molmo never reads its output)."""
    weight = state.pop(VIT + "patch_embedding.weight")
    patch = vision["patch_size"]
    conv = weight.reshape(weight.shape[0], patch, patch, 3).permute(0, 3, 1, 2)
    state["model.vision_tower.embeddings.patch_embedding.weight"] = conv
    state["model.vision_tower.post_layernorm.weight"] = weight.new_ones(weight.shape[0])
    state["model.vision_tower.post_layernorm.bias"] = weight.new_zeros(weight.shape[0])


def save_processor(original: Path, destination: Path, config: MolmoConfig, token_ids: dict[str, int]) -> str:
    """`MolmoProcessor` in `destination` from the folder's tokenizer and preprocessor_config.json; returns a note."""
    from transformers import AutoTokenizer

    from ..processing.molmo import MOLMO_CHAT_TEMPLATE, MolmoImageProcessor, MolmoProcessor

    if not (original / "tokenizer.json").is_file() and not (original / "vocab.json").is_file():
        return "no tokenizer files: no processor written (build MolmoProcessor from Molmo's tokenizer)"
    tokenizer = AutoTokenizer.from_pretrained(original)
    got = {token: tokenizer.convert_tokens_to_ids(token) for token in token_ids}
    if got != token_ids:
        raise ConversionError(f"{LAYOUT}: the tokenizer gives Molmo's added tokens the ids {got}, but the "
                              f"checkpoint's rows for them are {token_ids}")
    settings = {}
    preprocessor = original / "preprocessor_config.json"
    if preprocessor.is_file():
        settings = json.loads(preprocessor.read_text(encoding="utf-8"))
    vision = config.vision_config
    side = settings.get("base_image_input_size", [vision.image_size] * 2)
    patch = settings.get("image_patch_size", vision.patch_size)
    if list(side) != [vision.image_size] * 2 or patch != vision.patch_size:
        raise ConversionError(f"{LAYOUT}: preprocessor_config.json crops {side} of patch size {patch}, but the ViT "
                              f"takes {vision.image_size} pixels in patches of {vision.patch_size}")
    image_processor = MolmoImageProcessor(
        size={"height": side[0], "width": side[1]}, patch_size=config.vision_config.patch_size,
        pooling_size=config.pooling_size, max_crops=settings.get("max_crops", 12),
        overlap_margins=settings.get("overlap_margins", [4, 4]), image_mean=settings.get("image_mean"),
        image_std=settings.get("image_std"),
    )
    MolmoProcessor(image_processor, tokenizer, chat_template=MOLMO_CHAT_TEMPLATE).save_pretrained(destination)
    return (f"processor written: MolmoProcessor (crops of {side[0]} pixels, up to {image_processor.max_crops} tiles, "
            f"overlap margins {image_processor.overlap_margins}, MOLMO_CHAT_TEMPLATE)")


def convert(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    overwrite: bool = False,
    vision_config: dict[str, Any] | None = None,
    vit_layers: list[int] | None = None,
) -> ConversionReport:
    """Convert the Molmo checkpoint folder `source` (allenai's remote-code layout) into a
    `MolmoForConditionalGeneration` folder (with `MolmoProcessor` where the folder has tokenizer files).

    `vision_config`: CLIP fields for a ViT other than the released one (its head count is not in the weights);
    `vit_layers`: the ViT layers read, if not the released [-2, -9].
    """
    original = load_original(source)
    values = original.config
    if values.get("model_type") != "molmo" or "embedding_size" not in values:
        raise ConversionError(f"{LAYOUT}: {str(original.path)!r} is not allenai's remote-code Molmo checkpoint "
                              "(model_type 'molmo' with the LLM's fields, e.g. embedding_size, at the top level)")
    wrong = {key: values.get(key) for key, want in REQUIRED.items() if values.get(key, want) != want}
    if wrong:
        raise ConversionError(f"{LAYOUT}: {wrong}: the port builds the released architecture ({REQUIRED})")
    state = dict(original.state_dict)
    embedding_size = values["embedding_size"]
    added = join_embeddings(state, embedding_size)
    vision = vision_config_from_weights(state, vision_config)
    vision_tensors(state, vision)
    text = Qwen2Config(
        vocab_size=embedding_size + added, hidden_size=values["hidden_size"],
        intermediate_size=values["intermediate_size"] // 2, num_hidden_layers=values["num_hidden_layers"],
        num_attention_heads=values["num_attention_heads"], num_key_value_heads=values["num_key_value_heads"],
        max_position_embeddings=values["max_position_embeddings"], rms_norm_eps=values["layer_norm_eps"],
        rope_theta=values["rope_theta"], tie_word_embeddings=False,
    )
    token_ids = {token: embedding_size + row for row, token in enumerate(EXTRA_TOKENS[:added])}
    found = find_token_ids(original.path, EXTRA_TOKENS)
    clash = {token: got for token, got in found.items() if got is not None and got != token_ids.get(token)}
    if clash:
        raise ConversionError(f"{LAYOUT}: the tokenizer files give {clash}, but the checkpoint's rows for Molmo's "
                              f"added tokens are {token_ids}")
    if "<im_patch>" not in token_ids:
        raise ConversionError(f"{LAYOUT}: {added} added token rows hold no <im_patch> (the third of {EXTRA_TOKENS})")
    config = MolmoConfig(
        vision_config=vision, text_config=text.to_dict(), image_token_id=token_ids["<im_patch>"],
        vit_layers=vit_layers if vit_layers is not None else [-2, -9], pooling_size=[2, 2],
        additional_vocab_start=embedding_size, additional_vocab_size=added,
    )
    dtype = torch_dtype_of(values)
    if dtype is not None:
        config.dtype = dtype
    state_dict = rename_keys(state, key_rules(values, vision["hidden_size"]), LAYOUT)
    _, ignored = config_fields(values, set(REQUIRED) | {
        "model_type", "embedding_size", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
        "num_attention_heads", "num_key_value_heads", "max_position_embeddings", "layer_norm_eps", "rope_theta",
        "torch_dtype", "use_cache", "tie_word_embeddings",
    })
    notes = [
        f"image_token_id={token_ids['<im_patch>']}; vocabulary {embedding_size} + {added} added rows "
        f"({list(token_ids)} first); the LM head gets zero rows for the added ones, whose logits the port masks",
        "CLIP's post-layernorm (absent from the original, never read) written as the identity",
    ]
    report = ConversionReport(LAYOUT, "molmo", Path(destination), notes=notes, ignored_config_fields=ignored)
    report = build_and_save(MolmoForConditionalGeneration, config, state_dict, original, destination, overwrite, report)
    report.notes.append(save_processor(original.path, report.destination, config, token_ids))
    return report


__all__ = ["LAYOUT", "convert"]
