"""xGen-MM (BLIP-3)'s released checkpoints (Salesforce/xgen-mm-phi3-mini-*: the Hub's remote-code
`XGenMMModelForConditionalGeneration`) -> linvt-hf's own transformers port, model type `xgenmm`.

The original (LAVIS, branch `xgen-mm`: `open_flamingo/src/xgenmm.py` `XGenMMPerceiver`, `helpers.py`, `vlm.py`)
holds everything under `vlm.`: SigLIP's `SiglipVisionTransformer` at `vlm.vision_encoder.*` (its last hidden state
is read; the attention-pooling `head.*` never is: dropped), the Perceiver resampler at `vlm.vision_tokenizer.*`
(`layers.N.0` attention, `layers.N.1.{0,1,3}` LayerNorm / GELU MLP, `norm`, `projection`) and Phi-3 at
`vlm.lang_model.*`. Its embedding and LM head are "decoupled": ids below `initial_tokenizer_len` use the Phi-3
rows, the added tokens (`<image>`, `<image placeholder>`, `<|endofchunk|>`) rows of their own (`additional_embedding`,
`additional_fc`); the LM head has a bias. The conversion joins them into one embedding and one head of
`initial_tokenizer_len + added` rows (the logits the original computes).

Only the weights and the base image view are converted: the port takes each image at the vision tower's size (one
384x384 view, `num_vision_tokens` tokens); xGen-MM v1.5's any-resolution tiling (`image_aspect_ratio: anyres`) is
not ported (the report says so). The SigLIP config is not in the checkpoint (only its Hub name): sizes are read off
the weights, the head count, activation and epsilon come from `KNOWN_TOWERS` or `vision_config=`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import torch
from transformers import Phi3Config

from ..modeling.xgenmm import XGenMMConfig, XGenMMForConditionalGeneration
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

LAYOUT = "xgenmm"
KNOWN_TOWERS = {
    "google/siglip-so400m-patch14-384": {
        "num_attention_heads": 16, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6,
    },
}
# The tokens xGen-MM adds to Phi-3's tokenizer, in the order of their decoupled rows
# (`XGenMMPerceiver._special_tokens`).
ADDED_TOKENS = ("<image>", "<image placeholder>", "<|endofchunk|>")
# `PerceiverResampler`'s heads: fixed in the original code (XGenMMPerceiver builds it with the defaults 16 x 96).
RESAMPLER_HEADS, RESAMPLER_HEAD_DIM = 16, 96
VISION, RESAMPLER, LANG = "vlm.vision_encoder.", "vlm.vision_tokenizer.", "vlm.lang_model."
# The files that hold a tokenizer's vocabulary (Phi-3's: tokenizer.model / tokenizer.json); added_tokens.json alone
# is no tokenizer.
TOKENIZER_VOCABULARIES = ("tokenizer.json", "tokenizer.model", "vocab.json")


def key_rules():
    layer, new_layer = re.escape(RESAMPLER) + r"layers\.(\d+)\.", r"model.perceiver_resampler.layers.\1."
    return [
        rule(re.escape(VISION) + r"(.+)", r"model.vision_tower.\1"),
        rule(re.escape(RESAMPLER) + "latents", "model.perceiver_resampler.latents"),
        rule(layer + r"0\.(norm_media|norm_latents)\.(weight|bias)", new_layer + r"attention.\2.\3"),
        rule(layer + r"0\.to_q\.weight", new_layer + "attention.q_proj.weight"),
        rule(layer + r"0\.to_kv\.weight", new_layer + "attention.kv_proj.weight"),
        rule(layer + r"0\.to_out\.weight", new_layer + "attention.o_proj.weight"),
        rule(layer + r"1\.0\.(weight|bias)", new_layer + r"feed_forward.norm.\2"),
        rule(layer + r"1\.1\.weight", new_layer + "feed_forward.fc1.weight"),
        rule(layer + r"1\.3\.weight", new_layer + "feed_forward.fc2.weight"),
        rule(re.escape(RESAMPLER) + r"(norm|projection)\.(weight|bias)", r"model.perceiver_resampler.\1.\2"),
        rule(re.escape(LANG) + r"model\.((layers|norm)\b.*)", r"model.language_model.\1"),
        rule(r"(model\.language_model\.embed_tokens\.weight|lm_head\.(weight|bias))", r"\1"),  # joined below
    ]


def vision_config_from_weights(state: dict, name: str | None, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """SigLIP sizes from the weights; head count, activation and epsilon from `KNOWN_TOWERS` or `overrides`."""
    extra = {**KNOWN_TOWERS.get(name, {}), **(overrides or {})}
    if "num_attention_heads" not in extra:
        raise ConversionError(
            f"{LAYOUT}: vision encoder {name!r} is not one of {sorted(KNOWN_TOWERS)}: pass vision_config= "
            "(--vision-config JSON) with at least num_attention_heads (and hidden_act, layer_norm_eps)"
        )
    patch = state[VISION + "embeddings.patch_embedding.weight"]
    positions = state[VISION + "embeddings.position_embedding.weight"].shape[0]
    layers = {int(m.group(1)) for key in state if (m := re.match(re.escape(VISION) + r"encoder\.layers\.(\d+)\.", key))}
    side = int(round(positions**0.5))
    values = dict(
        model_type="siglip_vision_model", hidden_size=patch.shape[0], patch_size=patch.shape[-1],
        num_channels=patch.shape[1], image_size=side * patch.shape[-1], num_hidden_layers=len(layers),
        intermediate_size=state[VISION + "encoder.layers.0.mlp.fc1.weight"].shape[0], vision_use_head=False,
    )
    return {**values, **extra}


def resampler_config(state: dict, vision_hidden: int, text_hidden: int, tokenizer_config: dict) -> dict[str, Any]:
    """The Perceiver's settings, read off its weights and checked against the original config and code."""
    latents = state[RESAMPLER + "latents"]
    depth = len({int(m.group(1)) for key in state if (m := re.match(re.escape(RESAMPLER) + r"layers\.(\d+)\.", key))})
    inner = state[RESAMPLER + "layers.0.0.to_q.weight"].shape[0]
    fc1 = state[RESAMPLER + "layers.0.1.1.weight"].shape[0]
    checks = {
        "latents width vs vis_feature_dim": (latents.shape[1], tokenizer_config.get("vis_feature_dim", vision_hidden)),
        "latents width vs the vision encoder's": (latents.shape[1], vision_hidden),
        "latents vs num_vis_tokens": (latents.shape[0], tokenizer_config.get("num_vis_tokens", latents.shape[0])),
        "projection vs the LLM's width": (state[RESAMPLER + "projection.weight"].shape[0], text_hidden),
        f"attention width vs {RESAMPLER_HEADS} heads x {RESAMPLER_HEAD_DIM}": (
            inner, RESAMPLER_HEADS * RESAMPLER_HEAD_DIM
        ),
        "feed-forward width vs a multiple of the vision width": (fc1 % vision_hidden, 0),
    }
    wrong = [f"{name}: {got} != {want}" for name, (got, want) in checks.items() if got != want]
    if wrong:
        raise ConversionError(f"{LAYOUT}: a vision token sampler the original code does not build: {wrong}")
    return dict(num_vision_tokens=latents.shape[0], resampler_depth=depth, resampler_num_heads=RESAMPLER_HEADS,
                resampler_head_dim=RESAMPLER_HEAD_DIM, resampler_ff_mult=fc1 // vision_hidden)


def join_decoupled(state: dict, initial: int) -> tuple[dict, int]:
    """One embedding and one LM head (weight, bias) of `initial + added` rows from the decoupled ones."""
    embed = state.pop(LANG + "model.embed_tokens.weight")
    extra_embed = state.pop(LANG + "model.embed_tokens.additional_embedding.weight")
    head, head_bias = state.pop(LANG + "lm_head.weight"), state.pop(LANG + "lm_head.bias", None)
    extra_head = state.pop(LANG + "lm_head.additional_fc.weight")
    extra_bias = state.pop(LANG + "lm_head.additional_fc.bias", None)
    if embed.shape[0] < initial or head.shape[0] < initial or extra_embed.shape[0] != extra_head.shape[0]:
        raise ConversionError(f"{LAYOUT}: decoupled embeddings of shapes {tuple(embed.shape)} + "
                              f"{tuple(extra_embed.shape)}"
                              f" and head {tuple(head.shape)} + {tuple(extra_head.shape)} do not fit "
                              f"initial_tokenizer_len {initial}")
    if (head_bias is None) != (extra_bias is None):
        raise ConversionError(f"{LAYOUT}: the LM head has a bias on one part only")
    state["model.language_model.embed_tokens.weight"] = torch.cat([embed[:initial], extra_embed])
    state["lm_head.weight"] = torch.cat([head[:initial], extra_head])
    if head_bias is not None:
        state["lm_head.bias"] = torch.cat([head_bias[:initial], extra_bias])
    return state, extra_embed.shape[0]


def xgenmm_tokenizer(folder: Path, wanted: dict[str, int]) -> Any | None:
    """The folder's tokenizer with xGen-MM's added tokens at the ids of their rows (added where missing, as xGen-MM's
    `update_special_tokens` does), or None when the folder has no tokenizer files.

    Raises:
        ConversionError: the tokenizer would give them other ids.
    """
    from transformers import AutoTokenizer

    if not any((folder / name).is_file() for name in TOKENIZER_VOCABULARIES):
        return None
    tokenizer = AutoTokenizer.from_pretrained(folder)
    missing = [token for token in wanted if token not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"extra_special_tokens": missing}, replace_extra_special_tokens=False)
    got = {token: tokenizer.convert_tokens_to_ids(token) for token in wanted}
    if got != wanted:
        raise ConversionError(f"{LAYOUT}: the tokenizer gives xGen-MM's added tokens the ids {got}, but the "
                              f"checkpoint's rows for them are {wanted}")
    return tokenizer


def save_processor(tokenizer: Any, config: XGenMMConfig, destination: Path) -> None:
    """`XGenMMProcessor` in `destination`: SigLIP's image processor at the tower's size (bicubic, mean and std 0.5,
    as xGen-MM's transform), the tokenizer, `XGENMM_CHAT_TEMPLATE`."""
    from transformers import SiglipImageProcessorPil

    from ..processing.xgenmm import XGENMM_CHAT_TEMPLATE, XGenMMProcessor

    side = config.vision_config.image_size
    image_processor = SiglipImageProcessorPil(size={"height": side, "width": side})
    XGenMMProcessor(image_processor, tokenizer, chat_template=XGENMM_CHAT_TEMPLATE,
                    num_vision_tokens=config.num_vision_tokens).save_pretrained(destination)


def convert(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    overwrite: bool = False,
    image_token_id: int | None = None,
    vision_config: dict[str, Any] | None = None,
) -> ConversionReport:
    """Convert the xGen-MM checkpoint folder `source` into an `XGenMMForConditionalGeneration` folder.

    `image_token_id` defaults to `initial_tokenizer_len`, the id xGen-MM's tokenizer gives `<image>` (checked against
    the folder's tokenizer files where they name it). `vision_config`: SigLIP fields for an encoder other than
    so400m-384.
    """
    original = load_original(source)
    values = original.config
    if values.get("model_type") != "xgenmm":
        raise ConversionError(f"{LAYOUT}: {str(original.path)!r} has model_type {values.get('model_type')!r}; this "
                              "conversion reads xGen-MM's 'xgenmm' checkpoints (Salesforce/xgen-mm-phi3-mini-*)")
    encoder, sampler, text_values = (values.get(key) or {} for key in
                                     ("vision_encoder_config", "vision_tokenizer_config", "text_config"))
    if text_values.get("model_type", "phi3") != "phi3":
        raise ConversionError(f"{LAYOUT}: LLM {text_values.get('model_type')!r}: only xGen-MM's Phi-3 is supported")
    initial = text_values.get("initial_tokenizer_len")
    if not isinstance(initial, int):
        raise ConversionError(f"{LAYOUT}: text_config has no initial_tokenizer_len (the decoupled embedding's split)")
    state = {key: value for key, value in original.state_dict.items() if not key.startswith(VISION + "head.")}
    notes = []
    if len(state) < len(original.state_dict):
        notes.append(f"{len(original.state_dict) - len(state)} SigLIP head tensors dropped (the original reads the "
                     "last hidden state, never the attention-pooling head)")
    state, added = join_decoupled(state, initial)
    ids = find_token_ids(original.path, ADDED_TOKENS)
    wanted = {token: initial + row for row, token in enumerate(ADDED_TOKENS[:added])}
    clash = {token: found for token, found in ids.items() if found is not None and found != wanted.get(token)}
    if clash:
        raise ConversionError(f"{LAYOUT}: the tokenizer files give {clash}, but the checkpoint's rows for the added "
                              f"tokens are {wanted}")
    if image_token_id is None:
        image_token_id = wanted["<image>"]
    tokenizer = xgenmm_tokenizer(original.path, wanted)
    text_kept, _ = config_fields(text_values, Phi3Config().to_dict().keys() | {"rope_theta", "rope_scaling"})
    text_kept = {k: v for k, v in text_kept.items() if k not in ("model_type", "architectures", "vocab_size")}
    text = Phi3Config(**text_kept, vocab_size=initial + added)
    vision = vision_config_from_weights(state, encoder.get("model_name"), vision_config)
    config = XGenMMConfig(
        vision_config=vision,
        text_config=text.to_dict(),
        image_token_id=image_token_id,
        lm_head_bias="lm_head.bias" in state,
        **resampler_config(state, vision["hidden_size"], text.hidden_size, sampler),
    )
    dtype = torch_dtype_of(values) or torch_dtype_of(text_values)
    if dtype is not None:
        config.dtype = dtype
    notes += take_rotary_buffers(state, text, LAYOUT)
    state_dict = rename_keys(state, key_rules(), LAYOUT)
    aspect = encoder.get("image_aspect_ratio", sampler.get("image_aspect_ratio"))
    if aspect == "anyres":
        notes.append("image_aspect_ratio 'anyres': the port takes each image at its base view only (one "
                     f"{vision['image_size']}x{vision['image_size']} image, {config.num_vision_tokens} tokens), "
                     "without "
                     "v1.5's any-resolution tiles; LinVT's frames use that base view")
    notes.append(f"image_token_id={image_token_id}; vocabulary {initial} + {added} added tokens {list(wanted)}")
    ignored = sorted(f"vision_encoder_config.{key}" for key in encoder if key not in ("model_name", "model_type"))
    if tokenizer is None:
        notes.append("no tokenizer files: no processor written (build XGenMMProcessor from xGen-MM's tokenizer)")
    else:
        notes.append("processor written: XGenMMProcessor (SigLIP image processor, the tokenizer with xGen-MM's added "
                     "tokens, XGENMM_CHAT_TEMPLATE)")
    report = ConversionReport(LAYOUT, "xgenmm", Path(destination), notes=notes, ignored_config_fields=ignored)
    report = build_and_save(
        XGenMMForConditionalGeneration, config, state_dict, original, destination, overwrite, report
    )
    if tokenizer is not None:
        save_processor(tokenizer, config, report.destination)
    return report


__all__ = ["LAYOUT", "convert"]
