"""xGen-MM (BLIP-3) in transformers' terms: `XGenMMModel` (SigLIP vision tower, Perceiver resampler, LLM) and
`XGenMMForConditionalGeneration` (plus the LM head). linvt-hf's own port of Salesforce's original code (LAVIS,
branch `xgen-mm`: `open_flamingo/src/helpers.py` `PerceiverResampler`, `open_flamingo/src/vlm.py`), no remote code.

An image is SigLIP's last hidden state (after its post-layernorm; every patch) resampled by the Perceiver to
`config.num_vision_tokens` tokens in the LLM's embedding space. The processor writes that many `<image>` tokens for
each image and the model puts the image's tokens there (the original model writes one `<image>` and widens the
sequence itself: the same LLM input). Images are taken at the vision tower's base resolution (one 384x384 view);
xGen-MM v1.5's any-resolution tiling of large images is not ported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import AutoModel, GenerationMixin, PreTrainedModel
from transformers import initialization as init
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import BaseModelOutputWithPast, BaseModelOutputWithPooling, CausalLMOutputWithPast
from transformers.utils import can_return_tuple

from .configuration_xgenmm import XGenMMConfig


def vision_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The output options of a forward call that the vision tower takes too."""
    return {key: kwargs[key] for key in ("output_attentions", "output_hidden_states") if key in kwargs}


class XGenMMPerceiverAttention(nn.Module):
    """The latents attend to the image features and to themselves (keys and values of both), each layer-normed."""

    def __init__(self, config: XGenMMConfig) -> None:
        super().__init__()
        dim, inner = config.vision_config.hidden_size, config.resampler_num_heads * config.resampler_head_dim
        self.num_heads, self.head_dim = config.resampler_num_heads, config.resampler_head_dim
        self.norm_media = nn.LayerNorm(dim)
        self.norm_latents = nn.LayerNorm(dim)
        self.q_proj = nn.Linear(dim, inner, bias=False)
        self.kv_proj = nn.Linear(dim, 2 * inner, bias=False)
        self.o_proj = nn.Linear(inner, dim, bias=False)

    def forward(
        self, features: torch.Tensor, latents: torch.Tensor, features_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """`features` `[N, P, Dv]` (mask `[N, P]`, True = attend), `latents` `[N, Q, Dv]` -> `[N, Q, Dv]`."""
        features, latents = self.norm_media(features), self.norm_latents(latents)
        keys_values = torch.cat((features, latents), dim=1)
        batch, queries = latents.shape[:2]
        query = self.q_proj(latents).view(batch, queries, self.num_heads, self.head_dim).transpose(1, 2)
        key_value = self.kv_proj(keys_values).view(batch, -1, 2 * self.num_heads, self.head_dim).transpose(1, 2)
        key, value = key_value.chunk(2, dim=1)
        scores = (query * self.head_dim**-0.5) @ key.transpose(-1, -2)  # [N, H, Q, P + Q]
        if features_mask is not None:
            keep = torch.cat((features_mask.bool(), features_mask.new_ones(batch, queries, dtype=torch.bool)), dim=1)
            scores = scores.masked_fill(~keep[:, None, None, :], float("-inf"))
        attended = scores.softmax(dim=-1) @ value  # [N, H, Q, head_dim]
        return self.o_proj(attended.transpose(1, 2).reshape(batch, queries, -1))


class XGenMMPerceiverFeedForward(nn.Module):
    """LayerNorm, then a bias-free GELU MLP of width `resampler_ff_mult` x the vision width."""

    def __init__(self, config: XGenMMConfig) -> None:
        super().__init__()
        dim = config.vision_config.hidden_size
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, dim * config.resampler_ff_mult, bias=False)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(dim * config.resampler_ff_mult, dim, bias=False)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(self.norm(hidden))))


class XGenMMPerceiverLayer(GradientCheckpointingLayer):
    """One resampler layer: attention and feed-forward, each with a residual connection."""

    def __init__(self, config: XGenMMConfig) -> None:
        super().__init__()
        self.attention = XGenMMPerceiverAttention(config)
        self.feed_forward = XGenMMPerceiverFeedForward(config)

    def forward(
        self, features: torch.Tensor, latents: torch.Tensor, features_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        latents = self.attention(features, latents, features_mask) + latents
        return self.feed_forward(latents) + latents


class XGenMMPerceiverResampler(nn.Module):
    """xGen-MM's vision token sampler: `num_vision_tokens` learned latents over an image's patch features, then a
    LayerNorm and a linear projection to the LLM's width."""

    def __init__(self, config: XGenMMConfig) -> None:
        super().__init__()
        dim = config.vision_config.hidden_size
        self.latents = nn.Parameter(torch.empty(config.num_vision_tokens, dim))
        self.layers = nn.ModuleList(XGenMMPerceiverLayer(config) for _ in range(config.resampler_depth))
        self.norm = nn.LayerNorm(dim)
        self.projection = nn.Linear(dim, config.get_text_config(decoder=True).hidden_size)

    def forward(self, features: torch.Tensor, features_mask: torch.Tensor | None = None) -> torch.Tensor:
        """`features` `[N, P, Dv]` (SigLIP's last hidden state), `features_mask` `[N, P]` -> `[N, Q, D]`."""
        latents = self.latents.to(features.dtype).unsqueeze(0).expand(features.shape[0], -1, -1)
        for layer in self.layers:
            latents = layer(features, latents, features_mask)
        return self.projection(self.norm(latents))


@dataclass
class XGenMMModelOutputWithPast(BaseModelOutputWithPast):
    r"""
    image_hidden_states (`torch.FloatTensor` of shape `(num_images, num_vision_tokens, hidden_size)`, *optional*):
        The resampled image tokens placed at the `<image>` placeholders.
    image_outputs (`BaseModelOutputWithPooling`, *optional*):
        `get_image_features`' output for the images (the vision tower's states, `pooler_output` the image tokens).
    """

    image_hidden_states: torch.FloatTensor | None = None
    image_outputs: BaseModelOutputWithPooling | None = None


@dataclass
class XGenMMCausalLMOutputWithPast(CausalLMOutputWithPast):
    r"""
    image_hidden_states (`torch.FloatTensor` of shape `(num_images, num_vision_tokens, hidden_size)`, *optional*):
        The resampled image tokens placed at the `<image>` placeholders.
    image_outputs (`BaseModelOutputWithPooling`, *optional*):
        `get_image_features`' output for the images (the vision tower's states, `pooler_output` the image tokens).
    """

    image_hidden_states: torch.FloatTensor | None = None
    image_outputs: BaseModelOutputWithPooling | None = None


class XGenMMPreTrainedModel(PreTrainedModel):
    config_class = XGenMMConfig
    base_model_prefix = "model"
    input_modalities = ("image", "text")
    supports_gradient_checkpointing = True
    _no_split_modules = ["XGenMMPerceiverLayer"]
    _skip_keys_device_placement = "past_key_values"
    _supports_flash_attn = True
    _supports_sdpa = True
    _supports_flex_attn = True
    _supports_attention_backend = True

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if isinstance(module, XGenMMPerceiverResampler):
            init.normal_(module.latents, mean=0.0, std=1.0)  # the original's torch.randn


class XGenMMModel(XGenMMPreTrainedModel):
    r"""xGen-MM without the LM head: `vision_tower` (SigLIP), `perceiver_resampler`, `language_model`."""

    def __init__(self, config: XGenMMConfig) -> None:
        super().__init__(config)
        self.vision_tower = AutoModel.from_config(config.vision_config)
        self.perceiver_resampler = XGenMMPerceiverResampler(config)
        self.language_model = AutoModel.from_config(config.text_config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.language_model.set_input_embeddings(value)

    @can_return_tuple
    def get_image_features(self, pixel_values: torch.FloatTensor, **kwargs: Any) -> BaseModelOutputWithPooling:
        r"""
        The vision tower's output for `pixel_values` `[num_images, 3, S, S]` (`last_hidden_state` `[num_images,
        patches, vision_hidden]`), with `pooler_output` the image tokens: one `[num_vision_tokens, hidden_size]`
        tensor per image.
        """
        pixel_values = pixel_values.to(self.vision_tower.dtype)
        image_outputs = self.vision_tower(pixel_values=pixel_values, return_dict=True, **kwargs)
        image_outputs.pooler_output = list(self.perceiver_resampler(image_outputs.last_hidden_state))
        return image_outputs

    def image_placeholder_mask(
        self, input_ids: torch.LongTensor | None, inputs_embeds: torch.Tensor
    ) -> torch.BoolTensor:
        """`[B, L]` True at the `<image>` placeholders: from `input_ids`, or without them where the embedding is the
        image token's."""
        if input_ids is not None:
            return input_ids == self.config.image_token_id
        image_token = torch.tensor(self.config.image_token_id, device=inputs_embeds.device)
        return (inputs_embeds == self.get_input_embeddings()(image_token)).all(-1)

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values: torch.FloatTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        **kwargs: Any,
    ) -> XGenMMModelOutputWithPast:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, seq_len)`): the prompts, `num_vision_tokens`
                `<image>` tokens per image (as the processor writes them).
            pixel_values (`torch.FloatTensor` of shape `(num_images, 3, S, S)`, *optional*): the images, in
                placeholder order across the batch.
            kwargs: the LLM's (cache, `use_cache`, `output_attentions`, ...).

        Raises:
            ValueError: neither or both of `input_ids` and `inputs_embeds`; the placeholders do not match the images.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("XGenMMModel: give exactly one of input_ids and inputs_embeds")
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
        image_features = image_outputs = None
        if pixel_values is not None:
            image_outputs = self.get_image_features(pixel_values, return_dict=True, **vision_kwargs(kwargs))
            image_features = torch.stack(image_outputs.pooler_output)
            placeholders = self.image_placeholder_mask(input_ids, inputs_embeds)
            images, tokens = image_features.shape[0], image_features.shape[0] * image_features.shape[1]
            if int(placeholders.sum()) != tokens:
                raise ValueError(
                    f"XGenMMModel: {images} image(s) make {tokens} "
                    f"image tokens but the prompts hold {int(placeholders.sum())} <image> placeholders (id "
                    f"{self.config.image_token_id}); build prompts with the processor ({self.config.num_vision_tokens} "
                    "per image)"
                )
            image_features = image_features.to(inputs_embeds.device, inputs_embeds.dtype)
            placeholders = placeholders.unsqueeze(-1).to(inputs_embeds.device)
            inputs_embeds = inputs_embeds.masked_scatter(placeholders, image_features)
        outputs = self.language_model(
            attention_mask=attention_mask,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            return_dict=True,
            **kwargs,
        )
        return XGenMMModelOutputWithPast(**outputs, image_hidden_states=image_features, image_outputs=image_outputs)


class XGenMMForConditionalGeneration(XGenMMPreTrainedModel, GenerationMixin):
    r"""
    xGen-MM (BLIP-3) for image-text-to-text generation.

    Example:

    ```python
    >>> from linvt_hf import XGenMMForConditionalGeneration
    >>> model = XGenMMForConditionalGeneration.from_pretrained("path/to/converted")  # linvt-hf convert --from xgenmm
    ```
    """

    _tied_weights_keys = {"lm_head.weight": "model.language_model.embed_tokens.weight"}
    _tp_plan = {"lm_head": "colwise_gather_output"}

    def __init__(self, config: XGenMMConfig) -> None:
        super().__init__(config)
        self.model = XGenMMModel(config)
        text = config.get_text_config(decoder=True)
        self.lm_head = nn.Linear(text.hidden_size, text.vocab_size, bias=config.lm_head_bias)
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
        """See `XGenMMModel.get_image_features`."""
        return self.model.get_image_features(pixel_values, **kwargs)

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values: torch.FloatTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs: Any,
    ) -> XGenMMCausalLMOutputWithPast:
        r"""
        As `XGenMMModel.forward`, plus:

        Args:
            labels (`torch.LongTensor` of shape `(batch_size, seq_len)`, *optional*): next-token targets (-100 ignored).
            logits_to_keep (`int` or `torch.Tensor`): logits of the last `logits_to_keep` positions only (0: all).

        Returns:
            `XGenMMCausalLMOutputWithPast`: `logits` `(batch_size, seq_len, vocab_size)`, the loss with `labels`.
        """
        outputs = self.model(
            input_ids=input_ids,
            pixel_values=pixel_values,
            attention_mask=attention_mask,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            **kwargs,
        )
        hidden = outputs.last_hidden_state
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        logits = self.lm_head(hidden[:, keep, :])
        loss = None
        if labels is not None:
            vocab_size = self.config.get_text_config(decoder=True).vocab_size
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=vocab_size, **kwargs)
        carried = {key: value for key, value in outputs.items() if key != "last_hidden_state"}
        return XGenMMCausalLMOutputWithPast(loss=loss, logits=logits, **carried)


__all__ = ["XGenMMForConditionalGeneration", "XGenMMModel", "XGenMMPreTrainedModel"]
