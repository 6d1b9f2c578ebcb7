"""LinVT on Molmo2 (transformers' `molmo2`: a SigLIP-style ViT, an attention-pooling adapter + MLP projector, an LLM).

Each frame goes through Molmo2's own image path as one image crop at its base resolution (the `image_size` square
of its low-resolution global view): the ViT, the concatenation of the `adapter_config.vision_feature_layer` hidden
states, then the adapter, which pools every `frame_pooling_size` window of patches (2x2, as Molmo2's image processor
pools image crops) with cross-attention and projects it into the LLM's width. The frames of a chunk are given to
Molmo2's `get_image_features` as ONE image of stacked crops (as Molmo2's own `get_video_features` gives a video's
frames), so no per-image offsets are involved.

Molmo2's native video path writes every frame into the prompt (`<frame_start>`, rows x cols `<im_patch>` tokens of
3x3-pooled patches, `<frame_end>`, after each frame's timestamp): its length grows with the video. With LinVT a video
is `num_video_tokens` tokens whatever its length, placed at the `<|video|>` placeholders of the prompt (the token
Molmo2's own processor expands into frames; the LinVT processor expands it into `<frame_start>`, `num_video_tokens`
`<|video|>` tokens, `<frame_end>`). Molmo2 *adds* image features to the image placeholders' embeddings; LinVT's video
tokens replace the video placeholders' embeddings, as in every LinVT family. Molmo2 lets all image and frame-marker
tokens (`mm_token_type_ids == 1`) attend to each other; LinVT's video tokens are of type 2 (video) and attend causally.

Molmo2's config maps `video_token_id` onto its image patch token (`image_patch_id`): LinVT's config makes it a field
of its own, the id of `<|video|>`. Molmo2's Hub checkpoints are in their original layout (`model.transformer.*`,
`model.vision_backbone.*`): transformers' own renames for `molmo2` are registered for the LinVT class.
"""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub.dataclasses import strict
from transformers import Molmo2Config, Molmo2ForConditionalGeneration, Molmo2Model
from transformers.conversion_mapping import get_checkpoint_conversion_mapping
from transformers.core_model_loading import WeightRenaming
from transformers.models.molmo2.image_processing_molmo2 import arange_for_pooling, batch_pixels_to_patches

from .configuration_family import LinVTImageLLMConfig
from .frame_families import LinVTAddedVideoToken, LinVTFrameVideoPath
from .modeling_linvt import LinVTForConditionalGeneration, LinVTModel

MOLMO2_VIDEO_TOKEN = "<|video|>"
TINY_VIDEO_TOKEN_KEY = "linvt_video_token_id"
VIT_BLOCK = r"(vision_backbone\.image_vit\.transformer\.resblocks\.\d+)"  # a ViT block, in Molmo2's original layout


@strict
class LinVTMolmo2Config(LinVTImageLLMConfig, Molmo2Config):
    r"""LinVT on Molmo2: a `Molmo2Config` plus the video tokenizer's settings, `video_token_id` (the id of the video
    placeholder `<|video|>`; Molmo2's config aliases `video_token_id` to its image patch token) and
    `frame_pooling_size`.

    Args:
        frame_pooling_size (`list[int]`, defaults to `[2, 2]`): `(rows, cols)` of the patch windows the adapter pools
            into one token of a frame: Molmo2's image processor's `pooling_size` (for image crops).

    Raises:
        ValueError: `video_token_id` is the image patch token's id or outside the embedding table, or
            `frame_pooling_size` is not two positive ints.
    """

    model_type = "linvt_molmo2"
    attribute_map = {"image_token_id": "image_patch_id"}
    sub_configs_defaults = LinVTImageLLMConfig.sub_configs_with_video_tokenizer(Molmo2Config)
    video_token_id: int | None = None
    frame_pooling_size: list[int] | None = None

    def __post_init__(self, **kwargs: Any) -> None:
        # A Molmo2 config cannot carry a video token id (its `video_token_id` is `image_patch_id`): the tiny test
        # image-LLM's (`tiny_image_llm_config`) carries the id of its tokenizer's `<|video|>` under this key.
        carried = kwargs.pop(TINY_VIDEO_TOKEN_KEY, None)
        if self.video_token_id is None:
            self.video_token_id = carried
        super().__post_init__(**kwargs)
        if self.frame_pooling_size is None:
            self.frame_pooling_size = [2, 2]
        pooling = list(self.frame_pooling_size)
        if len(pooling) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in pooling):
            raise ValueError(
                f"LinVT-Molmo2: frame_pooling_size must be two positive ints, got {self.frame_pooling_size!r}"
            )
        self.frame_pooling_size = pooling
        if self.video_token_id is None:
            return
        text = self.get_text_config(decoder=True)
        table = text.vocab_size + text.additional_vocab_size  # Molmo2's embedding table holds both
        if self.video_token_id == self.image_patch_id:
            raise ValueError(
                f"LinVT-Molmo2: video_token_id {self.video_token_id} is the image patch token's id; videos need the "
                f"id of {MOLMO2_VIDEO_TOKEN!r}"
            )
        if not 0 <= self.video_token_id < table:
            raise ValueError(
                f"LinVT-Molmo2: video_token_id {self.video_token_id} is outside the LLM's embedding table "
                f"(vocab_size + additional_vocab_size = {table})"
            )


class LinVTMolmo2Model(LinVTFrameVideoPath, LinVTModel, Molmo2Model):
    r"""Molmo2's base model with LinVT: `Molmo2Model` plus `video_tokenizer`."""

    config_class = LinVTMolmo2Config

    frame_family = "LinVT-Molmo2"

    def frame_size(self) -> tuple[int, int]:
        height, width = self.config.vision_config.image_size  # the ViT's image_size
        return height, width

    def image_input_shapes(self) -> list[tuple[int | str, ...]]:
        # Crops cut into the ViT's patches: [num_crops, patches per crop, patch_size^2 * C].
        vision = self.config.vision_config
        height, width = self.frame_size()
        patch = vision.patch_size
        return [("num_crops", (height // patch) * (width // patch), patch * patch * vision.num_channels)]

    def encode_frames(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Molmo2's image path for F frames `[F, C, S, S]` -> `[F, N, D]`, N = rows * cols of `frame_grid`.

        The frames are cut into the ViT's patches `[F, P, patch * patch * C]` (Molmo2's own patch layout) and given
        to `get_image_features` as one image of F crops whose pooling windows index the F * P patches."""
        num_frames = pixel_values.shape[0]
        patch = self.config.vision_config.patch_size
        patches = batch_pixels_to_patches(pixel_values.permute(0, 2, 3, 1), patch)  # [F, P, patch*patch*C]
        per_frame = patches.shape[1]
        rows, cols = pixel_values.shape[2] // patch, pixel_values.shape[3] // patch
        grid = torch.arange(per_frame, dtype=torch.long, device=pixel_values.device).reshape(rows, cols)
        pool_h, pool_w = self.config.frame_pooling_size
        windows, out_rows, out_cols = arange_for_pooling(grid, pool_h, pool_w)  # [N, pool_h * pool_w], -1 padded
        offsets = torch.arange(num_frames, device=windows.device)[:, None, None] * per_frame
        pooling = torch.where(windows[None] >= 0, windows[None] + offsets, -1).flatten(0, 1)  # [F * N, pool_h * pool_w]
        # One image of F stacked crops: Molmo2's image grid (low-res rows, cols, high-res rows, cols).
        image_grids = torch.tensor([[num_frames * out_rows, out_cols, 0, 0]], device=pixel_values.device)
        (pooled,) = self.get_image_features(patches, pooling, image_grids, return_dict=True).pooler_output
        return pooled.reshape(num_frames, out_rows * out_cols, -1)

    def frame_grid(self, height: int, width: int) -> tuple[int, int]:
        # The patch grid pooled in `frame_pooling_size` windows (padded at the edges, as Molmo2 pads): row-major.
        patch = self.config.vision_config.patch_size
        pool_h, pool_w = self.config.frame_pooling_size
        return -(-(height // patch) // pool_h), -(-(width // patch) // pool_w)


class LinVTMolmo2ForConditionalGeneration(
    LinVTAddedVideoToken, LinVTForConditionalGeneration, Molmo2ForConditionalGeneration
):
    r"""
    Molmo2 with LinVT: a video becomes `config.num_video_tokens` tokens whatever its length.

    Example:

    ```python
    >>> from linvt_hf import LinVTMolmo2ForConditionalGeneration, LinVTProcessor
    >>> model = LinVTMolmo2ForConditionalGeneration.from_backbone("allenai/Molmo2-8B", dtype="bfloat16")
    >>> processor = LinVTProcessor.from_backbone("allenai/Molmo2-8B")
    ```
    """

    config_class = LinVTMolmo2Config
    added_video_token = MOLMO2_VIDEO_TOKEN
    family_name = "LinVT-Molmo2"
    linvt_model_class = LinVTMolmo2Model

    @classmethod
    def linvt_config_fields(cls) -> set[str]:
        return super().linvt_config_fields() | {"frame_pooling_size"}


def checkpoint_conversions() -> dict[str, list[WeightRenaming]]:
    """Molmo2's original checkpoint layout (what the Hub's allenai/Molmo2-* hold, and what transformers writes) to the
    module layout, for LinVT's model type (so that both LinVT classes load it, as Molmo2's two do): transformers' own
    renames for `molmo2`, those of the ViT blocks' weights (`.attention.wq` -> `.self_attn.q_proj`, `.feed_forward.w1`
    -> `.mlp.fc1`, ...) held to the original layout's ViT blocks and applied first: unanchored, they would also rename
    the video tokenizer's `self_attn.*` / `mlp.fc*` weights when saving. The text model's renames are registered by
    its class (`Molmo2TextModel`) and apply inside LinVT's model as they are."""
    block_renames, renames = [], []
    for rename in get_checkpoint_conversion_mapping("molmo2"):
        (source,), (target,) = rename.source_patterns, rename.target_patterns
        if source.startswith("\\."):  # a ViT block's own weight names
            block_renames.append(WeightRenaming(source_patterns=VIT_BLOCK + source, target_patterns="\\1" + target))
        else:
            renames.append(rename)
    return {LinVTMolmo2Config.model_type: block_renames + renames}


def tiny_image_llm_config(processor: Any, text_config: dict[str, Any]) -> dict[str, Any]:
    """A Molmo2 config at toy sizes for the tiny test processor: a one-layer ViT on 28x28 crops of 14-pixel patches
    (2x2 patches), its last layer read by the adapter, 2x2 pooling -> 1 token per image crop and per frame; a Qwen2
    LLM shape (two layers of width 64). The id of the tokenizer's `<|video|>` rides along as `linvt_video_token_id`
    (an extra attribute of the Molmo2 config), which `LinVTMolmo2Config` takes as its `video_token_id`."""
    token = processor.tokenizer.convert_tokens_to_ids
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                  num_key_value_heads=2, head_dim=16, image_size=[28, 28], patch_size=14)
    adapter = dict(vision_feature_layer=[-1], hidden_size=32, num_attention_heads=2, num_key_value_heads=2,
                   head_dim=16, intermediate_size=64, text_hidden_size=text_config["hidden_size"])
    text = {**text_config, "head_dim": 16, "additional_vocab_size": 0}
    return dict(
        vision_config=vision,
        adapter_config=adapter,
        text_config=text,
        image_start_token_id=token("<im_start>"),
        low_res_image_start_token_id=token("<low_res_im_start>"),
        image_end_token_id=token("<im_end>"),
        image_patch_id=token("<im_patch>"),
        frame_start_token_id=token("<frame_start>"),
        frame_end_token_id=token("<frame_end>"),
        **{TINY_VIDEO_TOKEN_KEY: token(MOLMO2_VIDEO_TOKEN)},
        bos_token_id=text_config["bos_token_id"],
        eos_token_id=text_config["eos_token_id"],
        pad_token_id=text_config["pad_token_id"],
    )


__all__ = ["LinVTMolmo2Config", "LinVTMolmo2ForConditionalGeneration", "LinVTMolmo2Model"]
