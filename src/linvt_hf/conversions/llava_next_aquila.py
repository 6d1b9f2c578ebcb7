"""Aquila-VL-2B's LLaVA-NeXT / LLaVA-OneVision original checkpoint -> transformers' native `llava_onevision`.

The original is `LlavaQwenForCausalLM` of LLaVA-NeXT (`llava/model/llava_arch.py`, `language_model/llava_qwen.py`):
a Qwen2 LLM at the top level (`model.embed_tokens`, `model.layers.*`, `model.norm`, `lm_head`), the SigLIP tower
under `model.vision_tower.vision_tower.vision_model.*` (LLaVA-NeXT's SigLIP wrapper drops the tower's last layer
and its head, and takes the last remaining hidden state), the projector `model.mm_projector.{0,2}` (mlp2x_gelu) and
`model.image_newline` (anyres "spatial_unpad" merging).

The tower's config is not in the checkpoint (only its Hub name, `mm_vision_tower`): sizes are read off the weights,
and the head count, activation and epsilon come from `KNOWN_TOWERS` or from `vision_config=`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from transformers import LlavaOnevisionConfig, LlavaOnevisionForConditionalGeneration, Qwen2Config

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

LAYOUT = "llava_next_aquila"
KNOWN_TOWERS = {
    "google/siglip-so400m-patch14-384": {
        "num_attention_heads": 16, "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6,
    },
}
TOWER = r"model\.vision_tower\.vision_tower\.vision_model\."
# Original fields that configure LLaVA-NeXT's training or its own preprocessing, carried over as noted or not needed.
USED_FIELDS = {"image_grid_pinpoints", "image_aspect_ratio", "mm_patch_merge_type", "mm_projector_type",
               "mm_vision_tower", "mm_hidden_size", "architectures", "model_type", "torch_dtype",
               "transformers_version", "_name_or_path"}  # fmt: skip


def key_rules():
    return [
        rule(TOWER + r"(.+)", r"model.vision_tower.\1"),
        rule(r"model\.mm_projector\.0\.(weight|bias)", r"model.multi_modal_projector.linear_1.\1"),
        rule(r"model\.mm_projector\.2\.(weight|bias)", r"model.multi_modal_projector.linear_2.\1"),
        rule(r"model\.image_newline", "model.image_newline"),
        rule(r"model\.((embed_tokens|layers|norm)\b.*)", r"model.language_model.\1"),
        rule(r"lm_head\.weight", "lm_head.weight"),
    ]


def vision_config_from_weights(state_dict: dict, original: dict[str, Any], overrides: dict[str, Any] | None) -> dict:
    """SigLIP sizes from the tower's weights; head count, activation and epsilon from the known towers or overrides."""
    tower = original.get("mm_vision_tower")
    extra = dict(KNOWN_TOWERS.get(tower, {}))
    extra.update(overrides or {})
    if "num_attention_heads" not in extra:
        raise ConversionError(
            f"{LAYOUT}: vision tower {tower!r} is not one of {sorted(KNOWN_TOWERS)}: pass vision_config= "
            "(--vision-config JSON) with at least num_attention_heads (and hidden_act, layer_norm_eps)"
        )
    patch = state_dict[TOWER.replace("\\", "") + "embeddings.patch_embedding.weight"]
    positions = state_dict[TOWER.replace("\\", "") + "embeddings.position_embedding.weight"].shape[0]
    layers = {int(m.group(1)) for key in state_dict if (m := re.match(TOWER + r"encoder\.layers\.(\d+)\.", key))}
    fc1 = state_dict[TOWER.replace("\\", "") + "encoder.layers.0.mlp.fc1.weight"]
    side = int(round(positions**0.5))
    values = dict(
        model_type="siglip_vision_model",
        hidden_size=patch.shape[0],
        patch_size=patch.shape[-1],
        num_channels=patch.shape[1],
        image_size=side * patch.shape[-1],
        num_hidden_layers=len(layers),
        intermediate_size=fc1.shape[0],
        vision_use_head=False,  # LLaVA-NeXT replaces the head by an identity
    )
    values.update(extra)
    return values


def convert(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    overwrite: bool = False,
    image_token_id: int | None = None,
    video_token_id: int | None = None,
    vision_config: dict[str, Any] | None = None,
) -> ConversionReport:
    """Convert the LLaVA-NeXT (Qwen2) checkpoint folder `source` into a `LlavaOnevisionForConditionalGeneration`.

    LLaVA-NeXT marks images with the index -200, not a token: `image_token_id` / `video_token_id` default to the ids
    of `<image>` / `<video>` in the folder's tokenizer files (add them to the tokenizer first if it lacks them).
    """
    original = load_original(source)
    values = original.config
    architecture = (values.get("architectures") or [None])[0]
    if architecture != "LlavaQwenForCausalLM":
        raise ConversionError(
            f"{LAYOUT}: {str(original.path)!r} is a {architecture!r} checkpoint; this conversion reads LLaVA-NeXT's "
            "LlavaQwenForCausalLM (Aquila-VL-2B, LLaVA-OneVision)"
        )
    if values.get("mm_projector_type", "linear") != "mlp2x_gelu":
        raise ConversionError(f"{LAYOUT}: mm_projector_type {values.get('mm_projector_type')!r}; only 'mlp2x_gelu' "
                              "maps onto transformers' LLaVA-OneVision projector")
    merge = values.get("mm_patch_merge_type", "flat")
    if "unpad" not in merge or "maxpool" in merge:
        raise ConversionError(f"{LAYOUT}: mm_patch_merge_type {merge!r}; transformers' LLaVA-OneVision merges as "
                              "'spatial_unpad' (with image_newline)")
    ids = find_token_ids(original.path, ["<image>", "<video>"])
    image_token_id = ids["<image>"] if image_token_id is None else image_token_id
    video_token_id = ids["<video>"] if video_token_id is None else video_token_id
    if image_token_id is None or video_token_id is None:
        raise ConversionError(
            f"{LAYOUT}: the tokenizer files of {str(original.path)!r} have no <image>/<video> token (LLaVA-NeXT uses "
            "the index -200 instead); add them to the tokenizer and pass image_token_id/video_token_id "
            "(--image-token-id/--video-token-id)"
        )
    text, _ = config_fields(values, Qwen2Config().to_dict().keys() | {"rope_theta", "rope_scaling"})
    text = Qwen2Config(**{key: value for key, value in text.items() if key not in ("model_type", "architectures")})
    tie = bool(values.get("tie_word_embeddings", False))
    config = LlavaOnevisionConfig(
        vision_config=vision_config_from_weights(original.state_dict, values, vision_config),
        text_config=text.to_dict(),
        image_token_index=image_token_id,
        video_token_index=video_token_id,
        image_grid_pinpoints=values["image_grid_pinpoints"],
        vision_aspect_ratio=values.get("image_aspect_ratio", "anyres_max_9"),
        vision_feature_layer=-1,  # the last kept layer (the tower's second to last)
        vision_feature_select_strategy="full",
        projector_hidden_act="gelu",
        multimodal_projector_bias=True,
        tie_word_embeddings=tie,
    )
    dtype = torch_dtype_of(values)
    if dtype is not None:
        config.dtype = dtype
    state = dict(original.state_dict)
    notes = take_rotary_buffers(state, text, LAYOUT)
    state_dict = rename_keys(state, key_rules(), LAYOUT)
    ignored = sorted(key for key in values if key.startswith("mm_") and key not in USED_FIELDS)
    report = ConversionReport(LAYOUT, "llava_onevision", Path(destination), ignored_config_fields=ignored, notes=notes)
    report.notes.append(f"image_token_id={image_token_id}, video_token_id={video_token_id}; vision tower "
                        f"{values.get('mm_vision_tower')!r}: {config.vision_config.num_hidden_layers} layers kept")
    return build_and_save(LlavaOnevisionForConditionalGeneration, config, state_dict, original, destination, overwrite,
                          report)


__all__ = ["KNOWN_TOWERS", "LAYOUT", "convert"]
