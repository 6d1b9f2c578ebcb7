"""Molmo (v1) in transformers' terms: `MolmoModel` (CLIP vision tower, the pooling-and-projection connector, Qwen2
LLM) and `MolmoForConditionalGeneration` (plus the LM head). linvt-hf's own port of allenai's original code
(github.com/allenai/molmo: `olmo/model.py` `MolmoVisionBackbone`, `Molmo`; `olmo/image_vit.py`), no remote code.

The original ViT is OpenAI's CLIP as transformers' `CLIPVisionModel` computes it (a bias-free patch projection, the
class token, position embeddings, pre-layernorm, pre-norm blocks with quick_gelu; the port's patch projection is
the original's linear layer over `(row, col, channel)`-flattened patches, as a convolution). An image is cut into
crops by the processor (a global view plus up to `max_crops` overlapping tiles); each crop's patch features are the
ViT layers `config.vit_layers` concatenated (class token dropped), plus Molmo's padding embeddings where the crop
is padding, pooled over 2x2 windows by one attention (the window's mean as the query) and projected by a SwiGLU
MLP: one token per window. The processor writes one `<im_patch>` per kept token (the tiles' overlap margins are
dropped) and `image_patch_order` says which; the tokens are ADDED to those tokens' embeddings, as in the original.
The original's LM head has no rows for Molmo's added tokens (`<im_patch>`, ...): the port's head covers the whole
embedding table and sets those tokens' logits to the dtype's minimum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from transformers import AutoModel, GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_outputs import BaseModelOutputWithPast, BaseModelOutputWithPooling, CausalLMOutputWithPast
from transformers.utils import can_return_tuple

from .configuration_molmo import MolmoConfig


def vision_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The output options of a forward call that the vision tower takes too."""
    return {key: kwargs[key] for key in ("output_attentions",) if key in kwargs}


class MolmoImagePooling(nn.Module):
    """Attention over each window of patch features; the query is the window's mean (Molmo's `attention_meanq`)."""

    def __init__(self, config: MolmoConfig) -> None:
        super().__init__()
        vision = config.vision_config
        width = vision.hidden_size * len(config.vit_layers)
        self.num_heads, self.head_dim = vision.num_attention_heads, vision.hidden_size // vision.num_attention_heads
        inner = self.num_heads * self.head_dim
        self.q_proj = nn.Linear(width, inner)
        self.k_proj = nn.Linear(width, inner)
        self.v_proj = nn.Linear(width, inner)
        self.o_proj = nn.Linear(inner, vision.hidden_size)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        """`windows` `[W, K, width]` (K patches each) -> `[W, vision_hidden]`."""
        count, size = windows.shape[:2]
        query = self.q_proj(windows.mean(-2, keepdim=True)).view(count, 1, self.num_heads, self.head_dim)
        key = self.k_proj(windows).view(count, size, self.num_heads, self.head_dim)
        value = self.v_proj(windows).view(count, size, self.num_heads, self.head_dim)
        scores = torch.einsum("wqhd,wkhd->whqk", query / self.head_dim**0.5, key)
        weights = scores.softmax(dim=-1, dtype=torch.float32).to(query.dtype)
        attended = torch.einsum("whqk,wkhd->wqhd", weights, value).reshape(count, -1)
        return self.o_proj(attended)


class MolmoMultiModalProjector(nn.Module):
    r"""Molmo's connector: the padding embeddings (`pad_embed`: all-padding, partly-padding patches), the window
    pooling and the SwiGLU projector (`gate_proj` = the original `w1`, `up_proj` = `w3`, `down_proj` = `w2`)."""

    def __init__(self, config: MolmoConfig) -> None:
        super().__init__()
        width = config.vision_config.hidden_size * len(config.vit_layers)
        text = config.get_text_config(decoder=True)
        self.pooling_size = tuple(config.pooling_size)
        self.pad_embed = nn.Parameter(torch.zeros(2, width))
        self.image_pooling = MolmoImagePooling(config)
        self.gate_proj = nn.Linear(config.vision_config.hidden_size, text.intermediate_size, bias=False)
        self.up_proj = nn.Linear(config.vision_config.hidden_size, text.intermediate_size, bias=False)
        self.down_proj = nn.Linear(text.intermediate_size, text.hidden_size, bias=False)

    def forward(self, features: torch.Tensor, image_masks: torch.Tensor | None = None) -> torch.Tensor:
        """`features` `[C, rows, cols, width]` (a crop's patch grid), `image_masks` `[C, rows * cols]` (the share of
        each patch that is image, not padding; None: all image) -> `[C, rows' * cols', text_hidden]`."""
        crops, rows, cols, width = features.shape
        if image_masks is not None:
            masks = image_masks.to(features.device).view(crops, rows, cols, 1)
            all_pad = (masks == 0).to(features.dtype)
            partial = ((masks < 1) & (masks != 0)).to(features.dtype)
            features = features + self.pad_embed[0].to(features.dtype) * all_pad
            features = features + self.pad_embed[1].to(features.dtype) * partial
        pool_h, pool_w = self.pooling_size
        pad_h, pad_w = -rows % pool_h, -cols % pool_w
        if pad_h or pad_w:  # pad the grid at the bottom / right, as the original does
            features = F.pad(features, (0, 0, 0, pad_w, 0, pad_h))
        out_rows, out_cols = (rows + pad_h) // pool_h, (cols + pad_w) // pool_w
        windows = features.view(crops, out_rows, pool_h, out_cols, pool_w, width).permute(0, 1, 3, 2, 4, 5)
        pooled = self.image_pooling(windows.reshape(-1, pool_h * pool_w, width))
        pooled = pooled.view(crops, out_rows * out_cols, -1)
        return self.down_proj(F.silu(self.gate_proj(pooled)) * self.up_proj(pooled))


@dataclass
class MolmoModelOutputWithPast(BaseModelOutputWithPast):
    r"""
    image_hidden_states (`torch.FloatTensor` of shape `(num_image_tokens, hidden_size)`, *optional*):
        The images' tokens, in prompt order (added to the `<im_patch>` embeddings).
    image_outputs (`BaseModelOutputWithPooling`, *optional*):
        `get_image_features`' output (the vision tower's states, `pooler_output` each image's tokens).
    """

    image_hidden_states: torch.FloatTensor | None = None
    image_outputs: BaseModelOutputWithPooling | None = None


@dataclass
class MolmoCausalLMOutputWithPast(CausalLMOutputWithPast):
    r"""
    image_hidden_states (`torch.FloatTensor` of shape `(num_image_tokens, hidden_size)`, *optional*):
        The images' tokens, in prompt order (added to the `<im_patch>` embeddings).
    image_outputs (`BaseModelOutputWithPooling`, *optional*):
        `get_image_features`' output (the vision tower's states, `pooler_output` each image's tokens).
    """

    image_hidden_states: torch.FloatTensor | None = None
    image_outputs: BaseModelOutputWithPooling | None = None


class MolmoPreTrainedModel(PreTrainedModel):
    config_class = MolmoConfig
    base_model_prefix = "model"
    input_modalities = ("image", "text")
    supports_gradient_checkpointing = True
    _no_split_modules = ["CLIPEncoderLayer", "Qwen2DecoderLayer"]
    _skip_keys_device_placement = "past_key_values"
    _supports_flash_attn = True
    _supports_sdpa = True
    _supports_flex_attn = True
    _supports_attention_backend = True

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, MolmoMultiModalProjector):
            init.zeros_(module.pad_embed)  # the original's init


class MolmoModel(MolmoPreTrainedModel):
    r"""Molmo without the LM head: `vision_tower` (CLIP), `multi_modal_projector`, `language_model` (Qwen2)."""

    def __init__(self, config: MolmoConfig) -> None:
        super().__init__(config)
        self.vision_tower = AutoModel.from_config(config.vision_config)
        self.multi_modal_projector = MolmoMultiModalProjector(config)
        self.language_model = AutoModel.from_config(config.text_config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.language_model.set_input_embeddings(value)

    @can_return_tuple
    def get_image_features(
        self,
        pixel_values: torch.FloatTensor,
        image_masks: torch.Tensor | None = None,
        image_patch_order: torch.LongTensor | None = None,
        image_num_crops: torch.LongTensor | None = None,
        **kwargs: Any,
    ) -> BaseModelOutputWithPooling:
        r"""
        The vision tower's output for the crops `pixel_values` `[num_crops, 3, S, S]` (`hidden_states` every
        layer's), with `pooler_output` each image's tokens `[tokens, hidden_size]`, in the order of its `<im_patch>`
        tokens (`image_patch_order`; the overlap margins' tokens dropped).

        Args:
            image_masks (`torch.FloatTensor` of shape `(num_crops, patches)`, *optional*): the share of each patch
                that is image (not padding), as the processor gives it; None: no padding.
            image_patch_order (`torch.LongTensor` of shape `(num_crops, tokens_per_crop)`, *optional*): each crop
                token's number among its image's tokens (-1: dropped); None: each crop's tokens row by row, the
                crops one after the other.
            image_num_crops (`torch.LongTensor` of shape `(num_images,)`, *optional*): crops per image; None: each
                crop is an image.

        Raises:
            ValueError: `image_num_crops`, `image_masks` or `image_patch_order` does not fit the crops.
        """
        crops = pixel_values.shape[0]
        side = self.config.vision_config.image_size // self.config.vision_config.patch_size
        per_crop = self.config.tokens_per_crop[0] * self.config.tokens_per_crop[1]
        counts = [1] * crops if image_num_crops is None else [int(n) for n in image_num_crops]
        if sum(counts) != crops:
            raise ValueError(
                f"MolmoModel: image_num_crops {counts} does not sum to the {crops} crops of pixel_values; prepare "
                "images with the Molmo processor"
            )
        for name, value, shape in (("image_masks", image_masks, (crops, side * side)),
                                   ("image_patch_order", image_patch_order, (crops, per_crop))):
            if value is not None and tuple(value.shape) != shape:
                raise ValueError(f"MolmoModel: {name} must be of shape {list(shape)}, got {tuple(value.shape)}")
        kwargs.pop("output_hidden_states", None)
        pixel_values = pixel_values.to(self.vision_tower.dtype)
        outputs = self.vision_tower(pixel_values=pixel_values, output_hidden_states=True, return_dict=True, **kwargs)
        layers = outputs.hidden_states[1:]  # the blocks' outputs, which the original's `vit_layers` index
        features = torch.cat([layers[layer] for layer in self.config.vit_layers], dim=-1)[:, 1:]
        grid = features.reshape(features.shape[0], side, side, -1)
        tokens = self.multi_modal_projector(grid, image_masks)  # [num_crops, tokens_per_crop, D]
        if image_patch_order is None:
            orders = [torch.arange(n * per_crop, device=tokens.device).view(n, per_crop) for n in counts]
        else:
            orders = image_patch_order.to(tokens.device).split(counts)
        outputs.pooler_output = tuple(
            self.in_prompt_order(image, order) for image, order in zip(tokens.split(counts), orders)
        )
        return outputs

    @staticmethod
    def in_prompt_order(tokens: torch.Tensor, order: torch.LongTensor) -> torch.Tensor:
        """One image's crop tokens `[crops, T, D]` -> `[n, D]`: token `order[c, t]` is `tokens[c, t]` (-1: dropped).

        Raises:
            ValueError: the kept numbers are not 0 .. n-1, each once.
        """
        kept = order >= 0
        numbers = order[kept]
        if not torch.equal(numbers.sort().values, torch.arange(numbers.numel(), device=numbers.device)):
            raise ValueError("MolmoModel: an image's image_patch_order must number its kept tokens 0 .. n-1, each once")
        ordered = tokens.new_zeros(numbers.numel(), tokens.shape[-1])
        return ordered.index_copy(0, numbers, tokens[kept])

    def image_placeholder_mask(
        self, input_ids: torch.LongTensor | None, inputs_embeds: torch.Tensor
    ) -> torch.BoolTensor:
        """`[B, L]` True at the `<im_patch>` tokens: from `input_ids`, or without them where the embedding is the
        image token's."""
        if input_ids is not None:
            return input_ids == self.config.image_token_id
        image_token = torch.tensor(self.config.image_token_id, device=inputs_embeds.device)
        return (inputs_embeds == self.get_input_embeddings()(image_token)).all(-1)

    def add_image_features(
        self, inputs_embeds: torch.Tensor, placeholders: torch.BoolTensor, image_features: torch.Tensor
    ) -> torch.Tensor:
        """`inputs_embeds` `[B, L, D]` plus the image tokens `image_features` `[N, D]` at the N `placeholders`
        (row-major order), added as the original adds them.

        Raises:
            ValueError: N is not the number of placeholders.
        """
        positions = placeholders.to(inputs_embeds.device).flatten().nonzero().squeeze(-1)
        if positions.numel() != image_features.shape[0]:
            raise ValueError(
                f"MolmoModel: the images make {image_features.shape[0]} image tokens but the prompts hold "
                f"{positions.numel()} <im_patch> placeholders (id {self.config.image_token_id}); build prompts with "
                "the Molmo processor"
            )
        flat = inputs_embeds.reshape(-1, inputs_embeds.shape[-1])
        flat = flat.index_add(0, positions, image_features.to(flat.device, flat.dtype))
        return flat.view_as(inputs_embeds)

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values: torch.FloatTensor | None = None,
        image_masks: torch.FloatTensor | None = None,
        image_patch_order: torch.LongTensor | None = None,
        image_num_crops: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        **kwargs: Any,
    ) -> MolmoModelOutputWithPast:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, seq_len)`): the prompts (the processor writes each
                image as `<im_start>`, rows of `<im_patch>` ... `<im_col>`, `<im_end>`, for its global view and its
                tiles).
            pixel_values (`torch.FloatTensor` of shape `(num_crops, 3, S, S)`, *optional*): every image's crops
                (its global view first), in placeholder order across the batch.
            image_masks (`torch.FloatTensor` of shape `(num_crops, patches)`, *optional*): per patch, the share
                that is image (not padding).
            image_patch_order (`torch.LongTensor` of shape `(num_crops, tokens_per_crop)`, *optional*): which of its
                image's `<im_patch>` tokens each crop token is added to (-1: dropped, an overlap margin).
            image_num_crops (`torch.LongTensor` of shape `(num_images,)`, *optional*): crops per image.
            kwargs: the LLM's (cache, `use_cache`, `output_attentions`, ...).

        Raises:
            ValueError: neither or both of `input_ids` and `inputs_embeds`; image inputs not matching the crops or
                the placeholders.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("MolmoModel: give exactly one of input_ids and inputs_embeds")
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
        image_features = image_outputs = None
        if pixel_values is not None:
            image_outputs = self.get_image_features(
                pixel_values, image_masks, image_patch_order, image_num_crops, return_dict=True, **vision_kwargs(kwargs)
            )
            image_features = torch.cat(image_outputs.pooler_output)
            placeholders = self.image_placeholder_mask(input_ids, inputs_embeds)
            inputs_embeds = self.add_image_features(inputs_embeds, placeholders, image_features)
        outputs = self.language_model(
            attention_mask=attention_mask,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            return_dict=True,
            **kwargs,
        )
        return MolmoModelOutputWithPast(**outputs, image_hidden_states=image_features, image_outputs=image_outputs)


class MolmoForConditionalGeneration(MolmoPreTrainedModel, GenerationMixin):
    r"""
    Molmo (v1) for image-text-to-text generation.

    Example:

    ```python
    >>> from linvt_hf import MolmoForConditionalGeneration
    >>> model = MolmoForConditionalGeneration.from_pretrained("path/to/converted")  # linvt-hf convert --from molmo
    ```
    """

    _tied_weights_keys = {"lm_head.weight": "model.language_model.embed_tokens.weight"}
    _tp_plan = {"lm_head": "colwise_gather_output"}

    def __init__(self, config: MolmoConfig) -> None:
        super().__init__(config)
        self.model = MolmoModel(config)
        text = config.get_text_config(decoder=True)
        self.lm_head = nn.Linear(text.hidden_size, text.vocab_size, bias=False)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.model.set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Module) -> None:
        self.lm_head = value

    def get_image_features(self, pixel_values: torch.FloatTensor, **kwargs: Any) -> BaseModelOutputWithPooling:
        """See `MolmoModel.get_image_features`."""
        return self.model.get_image_features(pixel_values, **kwargs)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        """`GenerationMixin.generate`.

        Raises:
            ValueError: images with several sequences per prompt (`num_beams` or `num_return_sequences` > 1):
                `generate` repeats every input row by row, which would repeat each crop of `pixel_values` (crops, not
                prompts, are its rows) instead of each prompt's images; generate one sequence per prompt, or repeat
                the prompts and their images in the batch.
        """
        if kwargs.get("pixel_values") is not None:
            config = kwargs.get("generation_config") or self.generation_config
            beams = kwargs.get("num_beams") or config.num_beams or 1
            returned = kwargs.get("num_return_sequences") or config.num_return_sequences or 1
            if max(beams, returned) > 1:
                raise ValueError(
                    f"{type(self).__name__}.generate: images with num_beams={beams} / num_return_sequences={returned} "
                    "are not supported (generate would repeat the image crops, not the prompts): generate one sequence "
                    "per prompt, or repeat the prompts and their images in the batch"
                )
        return super().generate(*args, **kwargs)

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values: torch.FloatTensor | None = None,
        image_masks: torch.FloatTensor | None = None,
        image_patch_order: torch.LongTensor | None = None,
        image_num_crops: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs: Any,
    ) -> MolmoCausalLMOutputWithPast:
        r"""
        As `MolmoModel.forward`, plus:

        Args:
            labels (`torch.LongTensor` of shape `(batch_size, seq_len)`, *optional*): next-token targets (-100 ignored).
            logits_to_keep (`int` or `torch.Tensor`): logits of the last `logits_to_keep` positions only (0: all).

        Returns:
            `MolmoCausalLMOutputWithPast`: `logits` `(batch_size, seq_len, vocab_size)` (Molmo's added tokens at the
            dtype's minimum), the loss with `labels`.
        """
        outputs = self.model(
            input_ids=input_ids,
            pixel_values=pixel_values,
            image_masks=image_masks,
            image_patch_order=image_patch_order,
            image_num_crops=image_num_crops,
            attention_mask=attention_mask,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            **kwargs,
        )
        hidden = outputs.last_hidden_state
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        logits = self.lm_head(hidden[:, keep, :])
        start, count = self.config.additional_vocab_start, self.config.additional_vocab_size
        if start is not None and count:
            never = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
            never[start : start + count] = True
            logits = logits.masked_fill(never, torch.finfo(logits.dtype).min)
        loss = None
        if labels is not None:
            vocab_size = self.config.get_text_config(decoder=True).vocab_size
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=vocab_size, **kwargs)
        carried = {key: value for key, value in outputs.items() if key != "last_hidden_state"}
        return MolmoCausalLMOutputWithPast(loss=loss, logits=logits, **carried)


__all__ = ["MolmoForConditionalGeneration", "MolmoModel", "MolmoPreTrainedModel"]
