"""LinVT on an image-LLM: what every family shares.

A family (qwen2_vl.py, internvl.py, llava_onevision.py) extends its image-LLM's own transformers classes:

- `LinVT<Family>Model(LinVTModel, <ImageLLM>Model)`: the image-LLM's base model (vision encoder, projector,
  LLM) plus `video_tokenizer`, the Linear Video Tokenizer. `get_video_features` turns videos into LinVT's video
  tokens; `forward` puts them at the video placeholders.
- `LinVT<Family>ForConditionalGeneration(LinVTForConditionalGeneration, <ImageLLM>ForConditionalGeneration)`:
  the same with the image-LLM's LM head; adds `from_backbone`, LinVT-only checkpoints (`save_video_tokenizer`,
  `from_video_tokenizer`), the model card (`create_model_card`, `save_model_card`) and stage 1's contrastive loss
  (`caption_mask`).

The family says three things (the hooks of `LinVTModel`): how its vision path turns frames into per-frame
tokens (`frame_features`), the token grid of a frame (`frame_token_grids`), and how its base model takes video tokens
in place of its video placeholders (`forward_with_video_embeds`). With no video in the input, `forward` IS the
image-LLM's forward, so text and image behaviour is the image-LLM's own, bit for bit.

Weights keep the image-LLM's names (`model.language_model.*`, `model.visual.*`, `lm_head.*`, ...): a LinVT model
loads an image-LLM checkpoint as it is, and LinVT's own weights are `model.video_tokenizer.*` (plus the contrastive
temperature `video_text_logit_scale`).
"""

from __future__ import annotations

import copy
import functools
import inspect
import os
from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any

import torch
from huggingface_hub import ModelCard
from torch import nn
from transformers import AutoConfig, PreTrainedModel
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.utils import ModelOutput

from .checkpoints import (
    check_video_tokenizer_target,
    graft_image_llm,
    hub_kwargs,
    image_llm_class_of,
    legacy_family_config,
    load_video_tokenizer,
)
from .configuration_linvt import LinVTConfig
from .contrastive import INITIAL_LOGIT_SCALE, gather_rows, pool_token_embeddings, pool_video_tokens, video_text_contrastive_loss
from .model_card import build_model_card, holds_processor, write_model_card
from .video_context import LinVTVideoContext, LinVTVideoContextMixin
from .video_tokenizer import LinearVideoTokenizerOutput, build_video_tokenizer

# What `forward` takes for videos on top of the image-LLM's own inputs (the processor's video outputs).
LINVT_VIDEO_INPUTS = (
    "pixel_values_videos",
    "video_grid_thw",
    "video_frame_mask",
    "video_clip_ids",
    "video_sample_index",
    "question_mask",
    "video_placeholder_mask",
    "video_features",
    "video_context",
)


@dataclass
class LinVTVideoFeatures(ModelOutput):
    r"""
    What LinVT made of a batch of V videos (`get_video_features`).

    video_tokens (`torch.FloatTensor` of shape `(num_videos, max_video_tokens, hidden_size)`):
        Each video's tokens, in the LLM's embedding space (LinVT: `num_video_tokens` each).
    video_tokens_mask (`torch.BoolTensor` of shape `(num_videos, max_video_tokens)`):
        True for real tokens (all True for LinVT; the baselines give fewer tokens to shorter videos).
    tokenizer_outputs (`list[LinearVideoTokenizerOutput]`):
        The video tokenizer's output for each group of videos run together (videos whose frames have the same
        number of tokens): significance scores, what top-k selected, aggregation weights (when asked for).
    video_groups (`list[list[int]]`):
        The videos of each entry of `tokenizer_outputs`, in their row order.
    frame_token_grids (`list[tuple[int, int]]`):
        `(rows, cols)` of each video's per-frame tokens over the frame (token `n` sits at row `n // cols`).
    deepstack_tokens (`list[torch.FloatTensor]`, *optional*):
        For a backbone whose LLM also takes vision features at later layers (Qwen3-VL's DeepStack), one
        `(num_videos, max_video_tokens, hidden_size)` tensor per such layer: the same convex weights that made
        `video_tokens` applied to that layer's per-frame maps. None for the other backbones.
    """

    video_tokens: torch.FloatTensor | None = None
    video_tokens_mask: torch.BoolTensor | None = None
    tokenizer_outputs: list[LinearVideoTokenizerOutput] | None = None
    video_groups: list[list[int]] | None = None
    frame_token_grids: list[tuple[int, int]] | None = None
    deepstack_tokens: list[torch.FloatTensor] | None = None

    def placeholder_embeds(self) -> torch.Tensor:
        """The real video tokens of every video, in video order: `[total_video_tokens, hidden_size]`, what fills the
        video placeholders of the prompts."""
        return self.video_tokens[self.video_tokens_mask]

    def placeholder_deepstack(self) -> list[torch.Tensor] | None:
        """`deepstack_tokens` at the video placeholders (as `placeholder_embeds`): one `[total_video_tokens,
        hidden_size]` per DeepStack layer, or None."""
        if self.deepstack_tokens is None:
            return None
        return [tokens[self.video_tokens_mask] for tokens in self.deepstack_tokens]

    def tokens_per_video(self) -> list[int]:
        return self.video_tokens_mask.sum(1).tolist()

    def tokenizer_output_of(self, video: int) -> tuple[LinearVideoTokenizerOutput, int]:
        """The tokenizer output holding video `video`, and its row there."""
        for output, members in zip(self.tokenizer_outputs, self.video_groups):
            if video in members:
                return output, members.index(video)
        raise IndexError(f"video {video} is not in these features ({sum(map(len, self.video_groups))} videos)")


@dataclass
class LinVTModelOutputWithPast(BaseModelOutputWithPast):
    r"""
    The image-LLM's base model output, plus:

    video_features (`LinVTVideoFeatures`, *optional*): what LinVT made of the input's videos.
    """

    video_features: LinVTVideoFeatures | None = None


@dataclass
class LinVTCausalLMOutputWithPast(CausalLMOutputWithPast):
    r"""
    The image-LLM's causal-LM output, plus:

    video_features (`LinVTVideoFeatures`, *optional*): what LinVT made of the input's videos.
    contrastive_loss (`torch.FloatTensor`, 0-dim, *optional*): stage 1's video-caption contrastive loss, when a
        `caption_mask` was given.
    aux_loss (`torch.FloatTensor`, 0-dim, *optional*): the image-LLM's auxiliary loss where it has one (an MoE LLM's
        router load balancing, with `output_router_logits`), already weighted into `loss`, as the image-LLM does.
    """

    video_features: LinVTVideoFeatures | None = None
    contrastive_loss: torch.FloatTensor | None = None
    aux_loss: torch.FloatTensor | None = None


@functools.cache
def output_class_for(linvt_class: type[ModelOutput], image_llm_output_class: type[ModelOutput]) -> type[ModelOutput]:
    """`linvt_class` plus the fields of the image-LLM's output class (`image_llm_output_class`, what its base model
    returned) that it lacks, e.g. `image_outputs` or `rope_deltas`: a LinVT output drops nothing the image-LLM gave.
    A causal-LM output takes them all but `last_hidden_state` (the LM head's input)."""
    own = {f.name for f in fields(linvt_class)}
    if issubclass(linvt_class, CausalLMOutputWithPast):
        own.add("last_hidden_state")
    extra = [f.name for f in fields(image_llm_output_class) if f.name not in own]
    if not extra:
        return linvt_class
    return make_dataclass(
        f"{linvt_class.__name__}For{image_llm_output_class.__name__}",
        [(name, Any, field(default=None)) for name in extra],
        bases=(linvt_class,),
        namespace={"__module__": __name__, "__doc__": linvt_class.__doc__},
    )


def linvt_output(linvt_class: type[ModelOutput], image_llm_outputs: ModelOutput, **values: Any) -> ModelOutput:
    """A `linvt_class` output (with the extra fields of `output_class_for`) of `image_llm_outputs`' fields and
    `values`."""
    output_class = output_class_for(linvt_class, type(image_llm_outputs))
    names = {f.name for f in fields(output_class)}
    carried = {key: value for key, value in image_llm_outputs.items() if key in names and key not in values}
    return output_class(**carried, **values)


# The video inputs `get_video_features` encodes (besides `input_ids`).
VIDEO_ENCODER_INPUTS = (
    "pixel_values_videos",
    "video_grid_thw",
    "video_frame_mask",
    "video_clip_ids",
    "video_sample_index",
    "question_mask",
)


# Image-LLM forward arguments a LinVT family's forward does not declare: with `mm_encoder_outputs` in its signature,
# `generate` would encode the videos itself before the prompt is known (`get_video_features` without the question
# that conditions TTA); LinVT takes precomputed videos as `video_features` instead (images may still come that way).
NOT_DECLARED = ("mm_encoder_outputs",)


def with_image_llm_arguments(forward: Any, image_llm_forward: Any) -> Any:
    """`forward` (LinVT's, which passes what it does not name on to the image-LLM) with a signature listing the
    image-LLM's own arguments too: `generate` checks model kwargs against `forward`'s signature, and the Trainer reads
    it, so the family's forward declares everything it takes."""

    @functools.wraps(forward)
    def family_forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        return forward(self, *args, **kwargs)

    own = inspect.signature(forward).parameters
    image_llm = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for name, p in inspect.signature(image_llm_forward).parameters.items()
        if name not in own and name not in NOT_DECLARED and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    named = [p for p in own.values() if p.kind is not p.VAR_KEYWORD]
    keyword = [p for p in own.values() if p.kind is p.VAR_KEYWORD]
    family_forward.__signature__ = inspect.Signature([*named, *image_llm, *keyword])
    return family_forward


def prompt_mask(name: str, mask: torch.Tensor, input_ids: torch.LongTensor) -> torch.BoolTensor:
    """`mask` (`name`), over the tokens of `input_ids` `[B, L]` or over their first positions (the prompt: in
    generation, the tokens generated after it are neither question tokens nor video placeholders), as a bool `[B, L]`
    mask padded with False.

    Raises:
        ValueError: `mask` has another batch size, or more columns than `input_ids`.
    """
    if mask.dim() != 2 or mask.shape[0] != input_ids.shape[0] or mask.shape[1] > input_ids.shape[1]:
        raise ValueError(
            f"{name} has shape {tuple(mask.shape)} but input_ids {tuple(input_ids.shape)}: it marks tokens of "
            "input_ids (or of their first positions, the prompt)"
        )
    padded = torch.zeros(input_ids.shape, dtype=torch.bool, device=input_ids.device)
    padded[:, : mask.shape[1]] = mask.bool().to(input_ids.device)
    return padded


class LinVTPreTrainedMixin:
    """What LinVT's classes answer differently from the image-LLM's classes they extend."""

    @classmethod
    def is_custom_code(cls) -> bool:
        """False (unless registered as remote code): initialise like transformers' own models.

        transformers passes the outermost model's answer down to every sub-model's weight init, and for custom code
        it skips each module whose own parameters are all set, which skips modules whose parameters sit in their
        children (SigLIP's attention and MLP); LinVT's classes are in-tree extensions, not remote code.
        """
        return cls.is_remote_code()


class LinVTModel(LinVTVideoContextMixin, LinVTPreTrainedMixin):
    r"""
    LinVT's video path, for a family's base model: `class LinVT<Family>Model(LinVTModel, <ImageLLM>Model)`.

    Attributes:
        video_tokenizer (`PreTrainedModel`): the Linear Video Tokenizer (or a baseline), built from
            `config.video_tokenizer_config`.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if issubclass(cls, PreTrainedModel):  # a family's base model: its forward takes the image-LLM's arguments too
            cls.forward = with_image_llm_arguments(LinVTModel.forward, image_llm_class_of(cls).forward)

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.video_tokenizer = build_video_tokenizer(config.video_tokenizer_config)
        self.post_init()

    # ------------------------------------------------------------------ family hooks
    def frame_features(
        self, pixel_values_videos: torch.Tensor, video_grid_thw: torch.Tensor | None, frames_per_video: list[int]
    ) -> list[torch.Tensor]:
        """Per-frame tokens of each video, `[T_v, N_v, D]` each, through the image-LLM's own vision path, at most
        `config.vision_chunk_size` frames (or temporal patches) per vision call. A family whose LLM also takes S
        vision maps at later layers (Qwen3-VL's DeepStack) gives `[T_v, N_v, D, 1 + S]`: `[..., 0]` the tokens,
        `[..., s]` the maps at the same positions (the video tokens' convex weights are applied to each)."""
        raise NotImplementedError

    def frame_token_grids(
        self, pixel_values_videos: torch.Tensor, video_grid_thw: torch.Tensor | None, num_videos: int
    ) -> list[tuple[int, int]]:
        """`(rows, cols)` of each video's per-frame tokens (row-major)."""
        raise NotImplementedError

    def forward_with_video_embeds(
        self, input_ids: torch.LongTensor, inputs_embeds: torch.Tensor, **kwargs: Any
    ) -> BaseModelOutputWithPast:
        """The image-LLM's base forward on `inputs_embeds` `[B, L, D]` (video tokens already at the placeholders),
        with `input_ids` `[B, L]` and everything else (images, masks, cache) as given."""
        raise NotImplementedError

    def image_input_shapes(self) -> list[tuple[int | str, ...]]:
        """The shapes the image-LLM's image path takes as `pixel_values`: sizes fixed by the config (ints) and free
        ones (names, for the error); empty: any (the image-LLM's own checks apply)."""
        return []

    def check_image_inputs(self, pixel_values: Any) -> None:
        """Images go to the image-LLM's own path unchanged; a wrong shape is refused here, by family, before it
        reaches a vision layer's cryptic error (or none: a flattening view can take a wrong shape silently).

        Raises:
            ValueError: `pixel_values` has none of `image_input_shapes()`.
        """
        shapes = self.image_input_shapes()
        if not shapes or not isinstance(pixel_values, torch.Tensor):
            return
        got = tuple(pixel_values.shape)
        for shape in shapes:
            if len(shape) == len(got) and all(not isinstance(e, int) or e == g for e, g in zip(shape, got)):
                return
        expected = " or ".join("[" + ", ".join(map(str, shape)) + "]" for shape in shapes)
        raise ValueError(
            f"{type(self).__name__}: pixel_values (images) must be {expected}, got {list(got)}; prepare images with "
            "this family's processor"
        )

    def image_llm_forward(self, **kwargs: Any) -> Any:
        """The image-LLM's own base forward (for the hooks)."""
        return super().forward(**kwargs)

    def image_llm_video_features(self, *args: Any, **kwargs: Any) -> Any:
        """The image-LLM's own `get_video_features` (its native video path, for `frame_features`)."""
        return super().get_video_features(*args, **kwargs)

    # ------------------------------------------------------------------ the video path
    def vision_modules(self) -> list[nn.Module]:
        """The vision encoder and projector (what decides whether frames need gradients)."""
        return [m for m in self.children() if m is not self.video_tokenizer and m is not self.get_decoder()]

    def get_video_features(
        self,
        pixel_values_videos: torch.Tensor,
        video_frame_mask: torch.Tensor | None = None,
        video_grid_thw: torch.LongTensor | None = None,
        video_clip_ids: torch.LongTensor | None = None,
        input_ids: torch.LongTensor | None = None,
        question_mask: torch.Tensor | None = None,
        video_sample_index: torch.LongTensor | None = None,
        output_aggregation_weights: bool = False,
        **kwargs: Any,
    ) -> LinVTVideoFeatures:
        r"""
        LinVT's video tokens for V videos: frames -> the image-LLM's vision encoder and projector -> the video
        tokenizer, conditioned on each video's question.

        Args:
            pixel_values_videos (`torch.FloatTensor`): the frames as the processor prepares them for this family.
            video_frame_mask (`torch.BoolTensor` of shape `(num_videos, max_steps)`): True for each real time step
                (frame, or temporal patch for Qwen), padding at the end; one video of all steps when None.
            video_grid_thw (`torch.LongTensor` of shape `(num_videos, 3)`, *optional*): Qwen's video grids.
            video_clip_ids (`torch.LongTensor` of shape `(num_videos, max_steps)`, *optional*): the shot of each step.
            input_ids (`torch.LongTensor` of shape `(batch_size, seq_len)`), question_mask (`torch.BoolTensor` of
                the same shape), video_sample_index (`torch.LongTensor` of shape `(num_videos,)`): the prompts, the
                question tokens that condition TTA, and the prompt each video belongs to (see `question_embeddings`).
            output_aggregation_weights (`bool`): also return each video token's weights over the kept frame tokens.
            kwargs: other processor outputs (ignored).
        """
        context = self.encode_video_context(
            pixel_values_videos,
            video_frame_mask=video_frame_mask,
            video_grid_thw=video_grid_thw,
            video_clip_ids=video_clip_ids,
        )
        return self.video_features_from_context(
            context,
            input_ids=input_ids,
            question_mask=question_mask,
            video_sample_index=video_sample_index,
            output_aggregation_weights=output_aggregation_weights,
        )

    def video_frame_mask(
        self, pixel_values_videos: torch.Tensor, video_grid_thw: torch.Tensor | None, video_frame_mask: torch.Tensor | None
    ) -> torch.BoolTensor:
        """`video_frame_mask` checked (bool, padding only at the end of a row), or one video of every step."""
        if video_frame_mask is None:
            steps = int(video_grid_thw[0, 0]) if video_grid_thw is not None else pixel_values_videos.shape[0]
            if video_grid_thw is not None and len(video_grid_thw) != 1:
                raise ValueError(f"{len(video_grid_thw)} videos need a video_frame_mask saying how long each is")
            return torch.ones(1, steps, dtype=torch.bool, device=pixel_values_videos.device)
        mask = video_frame_mask.bool()
        counts = mask.sum(1)
        if bool((counts == 0).any()) or not torch.equal(mask, torch.arange(mask.shape[1], device=mask.device) < counts[:, None]):
            raise ValueError(
                "video_frame_mask must mark each video's steps from the first one on (padding only at the end) and at "
                f"least one step per video; got {mask.int().tolist()}"
            )
        return mask

    def vision_needs_grad(self) -> bool:
        """Whether the frames' vision activations need gradients (the vision encoder or projector trains)."""
        return torch.is_grad_enabled() and any(p.requires_grad for m in self.vision_modules() for p in m.parameters())

    def question_embeddings(
        self,
        input_ids: torch.LongTensor | None,
        question_mask: torch.Tensor | None,
        video_sample_index: torch.LongTensor | None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The question that conditions TTA for each video: `[V, M, D]` embeddings (the LLM's own embedding table)
        and `[V, M]` mask. Video v takes the question tokens (`question_mask` `[B, L]`) of prompt
        `video_sample_index[v]`. None, None without a question (TTA then uses its null token)."""
        if question_mask is None or input_ids is None:
            return None, None
        if video_sample_index is None:
            raise ValueError(
                "question_mask needs video_sample_index (the prompt each video belongs to, which the processor gives)"
            )
        question_mask = prompt_mask("question_mask", question_mask, input_ids)
        embed = self.get_input_embeddings()
        rows = video_sample_index.to(input_ids.device)
        lengths = question_mask[rows].sum(1)
        width = max(int(lengths.max()), 1)
        embeds = embed.weight.new_zeros(len(rows), width, embed.weight.shape[1])
        mask = torch.arange(width, device=rows.device)[None, :] < lengths[:, None]
        if bool(mask.any()):
            embeds[mask] = embed(input_ids[rows][question_mask[rows]])
        return embeds, mask

    def video_placeholders(
        self, input_ids: torch.LongTensor, video_placeholder_mask: torch.Tensor | None = None
    ) -> torch.BoolTensor:
        """The video placeholders of `input_ids` `[B, L]`: `video_placeholder_mask` where given (checked: same width
        or the prompt's, video tokens only), else every `config.video_token_id`."""
        is_video = input_ids == self.config.video_token_id
        if video_placeholder_mask is None:
            return is_video
        mask = prompt_mask("video_placeholder_mask", video_placeholder_mask, input_ids)
        if bool((mask & ~is_video).any()):
            raise ValueError(
                f"video_placeholder_mask marks positions that do not hold the video token (id {self.config.video_token_id})"
            )
        return mask

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values_videos: torch.FloatTensor | None = None,
        video_grid_thw: torch.LongTensor | None = None,
        video_frame_mask: torch.BoolTensor | None = None,
        video_clip_ids: torch.LongTensor | None = None,
        video_sample_index: torch.LongTensor | None = None,
        question_mask: torch.BoolTensor | None = None,
        video_placeholder_mask: torch.BoolTensor | None = None,
        video_features: LinVTVideoFeatures | None = None,
        video_context: LinVTVideoContext | None = None,
        output_aggregation_weights: bool = False,
        **kwargs: Any,
    ) -> BaseModelOutputWithPast:
        r"""
        Without videos this is the image-LLM's own forward. With them (`pixel_values_videos`, or `video_features`
        computed before by `get_video_features`), LinVT's video tokens replace the video placeholder tokens of
        `input_ids`.

        Args:
            pixel_values_videos, video_grid_thw, video_frame_mask, video_clip_ids, video_sample_index, question_mask:
                the processor's video outputs (see `get_video_features`).
            video_placeholder_mask (`torch.BoolTensor` of shape `(batch_size, prompt_len)`, *optional*): the video
                placeholders LinVT's tokens fill; by default every `config.video_token_id` of `input_ids`.
                `generate` passes the prompt's, so that a video token generated later is an ordinary token.
            video_features (`LinVTVideoFeatures`, *optional*): precomputed, instead of `pixel_values_videos`.
            video_context (`LinVTVideoContext`, *optional*): the videos encoded up to TTA (`encode_video_context`),
                instead of `pixel_values_videos`: only TTA reads this prompt's question.
            output_aggregation_weights (`bool`): keep each video token's weights in `video_features`.
            kwargs: the image-LLM's own inputs (attention_mask, position_ids, cache, pixel_values, `return_dict`
                (False returns a tuple), ...).
        """
        self.check_image_inputs(kwargs.get("pixel_values"))
        if video_context is not None and video_features is None and input_ids is not None:
            video_features = self.video_features_from_context(
                video_context, input_ids, question_mask, video_sample_index, output_aggregation_weights
            )
        if pixel_values_videos is None and video_features is None:
            if video_grid_thw is not None:
                kwargs["video_grid_thw"] = video_grid_thw
            return super().forward(input_ids=input_ids, **kwargs)
        if input_ids is None:
            raise ValueError("input_ids are needed with videos: they say where the video tokens go")
        placeholders = self.video_placeholders(input_ids, video_placeholder_mask)
        if video_features is None:
            video_features = self.get_video_features(
                pixel_values_videos,
                video_frame_mask=video_frame_mask,
                video_grid_thw=video_grid_thw,
                video_clip_ids=video_clip_ids,
                input_ids=input_ids,
                question_mask=question_mask,
                video_sample_index=video_sample_index,
                output_aggregation_weights=output_aggregation_weights,
            )
        embeds = video_features.placeholder_embeds()
        if embeds.shape[0] != int(placeholders.sum()):
            raise ValueError(
                f"LinVT produced {embeds.shape[0]} video tokens ({video_features.tokens_per_video()} per video) but the "
                f"prompts hold {int(placeholders.sum())} video placeholder tokens (id {self.config.video_token_id}); "
                "build prompts with this model's processor"
            )
        inputs_embeds = self.get_input_embeddings()(input_ids)
        inputs_embeds = inputs_embeds.masked_scatter(
            placeholders.to(inputs_embeds.device).unsqueeze(-1), embeds.to(inputs_embeds.device, inputs_embeds.dtype)
        )
        if video_features.deepstack_tokens is not None:  # (Qwen3-VL) the DeepStack maps at the video placeholders
            kwargs.update(video_deepstack_embeds=video_features.placeholder_deepstack(), video_placeholders=placeholders)
        return_dict = kwargs.pop("return_dict", None)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.forward_with_video_embeds(
            input_ids, inputs_embeds, video_grid_thw=video_grid_thw, return_dict=True, **kwargs
        )
        output = linvt_output(LinVTModelOutputWithPast, outputs, video_features=video_features)
        return output if return_dict else output.to_tuple()


class LinVTForConditionalGeneration(LinVTPreTrainedMixin):
    r"""
    LinVT on an image-LLM with its LM head:
    `class LinVT<Family>ForConditionalGeneration(LinVTForConditionalGeneration, <ImageLLM>ForConditionalGeneration)`.
    `self.model` is the family's `LinVT<Family>Model`.

    Attributes:
        video_text_logit_scale (`nn.Parameter`): log(1 / temperature) of stage 1's contrastive loss (as CLIP's
            `logit_scale`); only a forward given a `caption_mask` uses it.
    """

    linvt_model_class: type[PreTrainedModel]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "linvt_model_class" in cls.__dict__:  # a family class: its forward takes the image-LLM's arguments too
            cls.forward = with_image_llm_arguments(LinVTForConditionalGeneration.forward, image_llm_class_of(cls).forward)

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        # The image-LLM's head built its own base model; LinVT's extends it (same weights' names). That first base
        # model took up (and removed from the config) a legacy `config.gradient_checkpointing`: LinVT's keeps it.
        checkpointing = self.model.is_activation_checkpointing
        self.model = self.linvt_model_class(config)
        self.video_text_logit_scale = nn.Parameter(torch.tensor(INITIAL_LOGIT_SCALE))
        self.post_init()
        if checkpointing:
            self.activation_checkpointing_enable()

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if module is self and "video_text_logit_scale" in self._parameters:  # not yet during the parent's __init__
            nn.init.constant_(self.video_text_logit_scale, INITIAL_LOGIT_SCALE)

    @property
    def video_tokenizer(self) -> PreTrainedModel:
        """The Linear Video Tokenizer (`self.model.video_tokenizer`)."""
        return self.model.video_tokenizer

    def get_video_features(self, pixel_values_videos: torch.Tensor, **kwargs: Any) -> LinVTVideoFeatures:
        """LinVT's video tokens and what it selected; see `LinVTModel.get_video_features`."""
        return self.model.get_video_features(pixel_values_videos, **kwargs)

    def encode_video_context(self, pixel_values_videos: torch.Tensor, **kwargs: Any) -> LinVTVideoContext:
        """The videos encoded up to TTA, for every question about them; see `LinVTModel.encode_video_context`."""
        return self.model.encode_video_context(pixel_values_videos, **kwargs)

    def video_features_from_context(self, video_context: LinVTVideoContext, **kwargs: Any) -> LinVTVideoFeatures:
        """`get_video_features` for a question from a context; see `LinVTModel.video_features_from_context`."""
        return self.model.video_features_from_context(video_context, **kwargs)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values_videos: torch.FloatTensor | None = None,
        video_frame_mask: torch.BoolTensor | None = None,
        video_clip_ids: torch.LongTensor | None = None,
        video_sample_index: torch.LongTensor | None = None,
        question_mask: torch.BoolTensor | None = None,
        video_placeholder_mask: torch.BoolTensor | None = None,
        video_features: LinVTVideoFeatures | None = None,
        video_context: LinVTVideoContext | None = None,
        labels: torch.LongTensor | None = None,
        caption_mask: torch.BoolTensor | None = None,
        gather_contrastive: bool = False,
        output_aggregation_weights: bool = False,
        logits_to_keep: int | torch.Tensor = 0,
        return_dict: bool | None = None,
        **kwargs: Any,
    ) -> LinVTCausalLMOutputWithPast | tuple:
        r"""
        Without videos this is the image-LLM's own forward (and output). With them, the family's LinVT model puts
        LinVT's video tokens at the video placeholders and the LM head runs on its output.

        Args:
            labels (`torch.LongTensor` of shape `(batch_size, seq_len)`, *optional*): next-token labels
                (`-100` ignored), as for the image-LLM.
            caption_mask (`torch.BoolTensor` of shape `(batch_size, seq_len)`, *optional*): the caption tokens of
                each prompt; with it (and videos) the output holds stage 1's `contrastive_loss` between each video's
                pooled tokens and its prompt's pooled caption embeddings (`video_sample_index` pairs them).
            gather_contrastive (`bool`): with several processes, take the contrastive loss's negatives from all of
                them (every process must then call forward each step).
            output_aggregation_weights (`bool`): keep each video token's weights in `video_features`.
            return_dict (`bool`, *optional*): False returns a tuple, as transformers' models do.
            pixel_values_videos, video_frame_mask, video_clip_ids, video_sample_index, question_mask,
                video_placeholder_mask, video_features, video_context: LinVT's video inputs, see `LinVTModel.forward`.
            kwargs: the image-LLM's own inputs (attention_mask, pixel_values, cache, ...).
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if video_context is not None and video_features is None and input_ids is not None:
            video_features = self.model.video_features_from_context(
                video_context, input_ids, question_mask, video_sample_index, output_aggregation_weights
            )
        if pixel_values_videos is None and video_features is None:
            # (The video inputs of a prompt whose frames were already encoded, in cached decoding, are not needed.)
            outputs = super().forward(
                input_ids=input_ids, labels=labels, logits_to_keep=logits_to_keep, return_dict=True, **kwargs
            )
            if caption_mask is not None:  # no video to pair: zero, but the other processes' gather is joined
                contrastive = self.contrastive_loss(input_ids, caption_mask, None, None, gather_contrastive)
                outputs = linvt_output(LinVTCausalLMOutputWithPast, outputs, contrastive_loss=contrastive)
            return outputs if return_dict else outputs.to_tuple()
        # What the loss takes besides logits and labels (pre-shifted targets come with sequence parallelism).
        loss_kwargs = {key: kwargs.pop(key) for key in ("num_items_in_batch", "shift_labels") if key in kwargs}
        kwargs = self.image_llm_forward_kwargs(kwargs)
        outputs = self.model(
            input_ids=input_ids,
            pixel_values_videos=pixel_values_videos,
            video_frame_mask=video_frame_mask,
            video_clip_ids=video_clip_ids,
            video_sample_index=video_sample_index,
            question_mask=question_mask,
            video_placeholder_mask=video_placeholder_mask,
            video_features=video_features,
            output_aggregation_weights=output_aggregation_weights,
            return_dict=True,
            **kwargs,
        )
        hidden = outputs.last_hidden_state
        keep = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        logits = self.lm_head(hidden[:, keep, :])
        loss = None
        if labels is not None:
            vocab_size = self.config.get_text_config(decoder=True).vocab_size
            loss = self.loss_function(logits=logits, labels=labels, vocab_size=vocab_size, **loss_kwargs)
        auxiliary = self.image_llm_auxiliary_loss(outputs, kwargs)
        if auxiliary is not None and loss is not None:
            aux_loss, weight = auxiliary
            loss = loss + weight * aux_loss.to(loss.device)
        contrastive = None
        if caption_mask is not None:
            contrastive = self.contrastive_loss(
                input_ids, caption_mask, outputs.video_features, video_sample_index, gather_contrastive
            )
        # Every field is carried over by name (the cache is `cache` in newer transformers, `past_key_values` before).
        output = linvt_output(
            LinVTCausalLMOutputWithPast, outputs, loss=loss, logits=logits, contrastive_loss=contrastive,
            aux_loss=None if auxiliary is None else auxiliary[0],
        )
        return output if return_dict else output.to_tuple()

    def image_llm_forward_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The image-LLM's own inputs for its base model on the video path, where the image-LLM's head would resolve
        some itself (an MoE LLM's `output_router_logits` from its config): as given here."""
        return kwargs

    def image_llm_auxiliary_loss(
        self, outputs: ModelOutput, kwargs: dict[str, Any]
    ) -> tuple[torch.Tensor, float] | None:
        """The image-LLM's auxiliary loss on the video path (LinVT runs the LM head there, so the image-LLM's head
        does not add it) and its weight in `loss`, or None: `(aux_loss, weight)` for a family whose image-LLM has one.
        `outputs`: its base model's output; `kwargs`: its inputs (`image_llm_forward_kwargs`)."""
        return None

    def contrastive_loss(
        self,
        input_ids: torch.LongTensor,
        caption_mask: torch.Tensor,
        video_features: LinVTVideoFeatures | None,
        video_sample_index: torch.LongTensor | None,
        gather: bool = False,
    ) -> torch.Tensor:
        """Stage 1's video-caption InfoNCE (0-dim): each captioned video's mean token against its prompt's mean
        caption embedding (the frozen embedding table), in-batch negatives (all processes' with `gather`)."""
        caption_mask = caption_mask.bool().to(input_ids.device)
        if video_features is None:  # no video in this batch
            width = self.get_input_embeddings().weight.shape[-1]
            # Attached to the trainable video tokenizer, as real rows would be: every process's gathered rows then
            # need a gradient, so all of them join the backward all-gather (no deadlock under DDP).
            attached = sum((p.sum() * 0.0 for p in self.video_tokenizer.parameters() if p.requires_grad), 0.0)
            video = self.video_text_logit_scale.new_zeros(0, width) + attached
            rows = torch.zeros(0, dtype=torch.long, device=input_ids.device)
        else:
            if video_sample_index is None:
                raise ValueError("caption_mask needs video_sample_index (the prompt each video belongs to)")
            owners = video_sample_index.to(input_ids.device)
            captioned = caption_mask[owners].any(1)
            video = pool_video_tokens(video_features.video_tokens, video_features.video_tokens_mask)[captioned]
            rows = owners[captioned]
        with torch.no_grad():  # captions are fixed targets
            text = pool_token_embeddings(self.get_input_embeddings()(input_ids[rows]), caption_mask[rows])
        text = text.to(video.dtype)
        if gather:
            video, text = gather_rows(video), gather_rows(text)
        return video_text_contrastive_loss(video, text, self.video_text_logit_scale)

    # ------------------------------------------------------------------ generation
    def generate(self, inputs: torch.Tensor | None = None, *args: Any, **kwargs: Any) -> Any:
        """`GenerationMixin.generate`; with videos, the prompt's video tokens are recorded as the placeholders
        (`video_placeholder_mask`), so that steps which run the video again (no KV cache, prompt lookup) treat video
        tokens generated after the prompt as ordinary tokens, as cached decoding does; and with several sequences per
        prompt (beams, `num_return_sequences`) the videos are encoded once, before `generate` repeats the prompts
        (see `video_features_for_copies`)."""
        prompt = inputs if inputs is not None else kwargs.get("input_ids")
        if kwargs.get("video_context") is not None and kwargs.get("video_features") is None:  # TTA once, for the prompt
            kwargs["video_features"] = self.model.video_features_from_context(
                kwargs.pop("video_context"), prompt, kwargs.get("question_mask"), kwargs.get("video_sample_index")
            )
        kwargs.pop("video_context", None)
        has_video = kwargs.get("pixel_values_videos") is not None or kwargs.get("video_features") is not None
        if has_video and isinstance(prompt, torch.Tensor) and not torch.is_floating_point(prompt):
            if kwargs.get("video_placeholder_mask") is None:
                kwargs["video_placeholder_mask"] = prompt == self.config.video_token_id
            copies = self.sequences_per_prompt(kwargs)
            if copies > 1:
                kwargs = self.video_features_for_copies(prompt, copies, kwargs)
        return super().generate(inputs, *args, **kwargs)

    def sequences_per_prompt(self, kwargs: dict[str, Any]) -> int:
        """How many rows `generate` makes of each prompt: the larger of `num_beams` and `num_return_sequences`, as
        given or as the generation config says."""
        config = kwargs.get("generation_config") or self.generation_config
        beams = kwargs.get("num_beams") or config.num_beams or 1
        returned = kwargs.get("num_return_sequences") or config.num_return_sequences or 1
        return max(beams, returned)

    def video_features_for_copies(
        self, input_ids: torch.LongTensor, copies: int, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """`kwargs` with the videos encoded once, each conditioned on its prompt, and their tokens laid out for
        `generate`'s `copies` rows per prompt (row `r * copies + k` is copy `k` of prompt `r`, `input_ids` `[B, L]`
        being the prompts). `generate` repeats every tensor along its first dimension, which suits per-prompt inputs
        but neither the frames (many rows per video) nor `video_sample_index` (it would name each prompt's first copy).
        """
        kwargs = dict(kwargs)
        owners = kwargs.get("video_sample_index")
        features = kwargs.pop("video_features", None)
        encoder_inputs = {name: kwargs.pop(name) for name in VIDEO_ENCODER_INPUTS if name in kwargs}
        if features is None:
            with torch.no_grad():
                features = self.model.get_video_features(input_ids=input_ids, **encoder_inputs)
        num_videos = features.video_tokens.shape[0]
        if owners is None:
            if num_videos != input_ids.shape[0]:
                raise ValueError(
                    f"{num_videos} videos for {input_ids.shape[0]} prompts: pass video_sample_index (the prompt of "
                    "each video, which the processor gives) to generate several sequences per prompt"
                )
            owners = torch.arange(num_videos)
        owners = owners.tolist()
        videos_of = [[v for v, owner in enumerate(owners) if owner == row] for row in range(input_ids.shape[0])]
        order = [v for videos in videos_of for _ in range(copies) for v in videos]
        index = torch.tensor(order, dtype=torch.long, device=features.video_tokens.device)
        grids, deepstack = features.frame_token_grids, features.deepstack_tokens
        kwargs["video_features"] = LinVTVideoFeatures(
            video_tokens=features.video_tokens[index],
            video_tokens_mask=features.video_tokens_mask[index],
            frame_token_grids=None if grids is None else [grids[v] for v in order],
            deepstack_tokens=None if deepstack is None else [level[index] for level in deepstack],
        )
        return kwargs

    def prepare_inputs_for_generation(self, *args: Any, is_first_iteration: bool | None = False, **kwargs: Any) -> dict:
        """The image-LLM's own, plus: LinVT's video inputs reach only the steps that encode the video (the first one,
        or every one without a KV cache); precomputed `video_features` likewise."""
        model_inputs = super().prepare_inputs_for_generation(*args, is_first_iteration=is_first_iteration, **kwargs)
        if model_inputs.get("pixel_values_videos") is None and not (is_first_iteration or not kwargs.get("use_cache", True)):
            for name in LINVT_VIDEO_INPUTS:
                model_inputs.pop(name, None)
        return model_inputs

    # ------------------------------------------------------------------ from an image-LLM; LinVT-only checkpoints
    @classmethod
    def from_backbone(
        cls,
        image_llm: str | os.PathLike | PreTrainedModel,
        video_tokenizer_config: LinVTConfig | dict | None = None,
        video_tokenizer: str | os.PathLike | PreTrainedModel | None = None,
        **kwargs: Any,
    ) -> LinVTForConditionalGeneration:
        r"""
        A LinVT model from an image-LLM: its weights load under their own names (the LinVT model IS the image-LLM
        plus the video tokenizer), and the video tokenizer starts freshly initialised (the paper's starting point for
        stage 1) or from a trained one.

        Args:
            image_llm (`str`, `os.PathLike` or `PreTrainedModel`): a Hub id or folder of the image-LLM checkpoint
                (e.g. `"Qwen/Qwen2-VL-7B-Instruct"`), loaded with `from_pretrained` (so `dtype`, `device_map`,
                `attn_implementation`, `quantization_config`, `revision`, ... apply), or the image-LLM already
                loaded (its modules are used as they are).
            video_tokenizer_config (`LinVTConfig` or `dict`, *optional*): LinVT's settings; the paper's defaults if None.
            video_tokenizer (`str`, `os.PathLike` or `PreTrainedModel`, *optional*): a trained video tokenizer
                (`save_video_tokenizer`'s folder or Hub repo, or the model) to put on top instead of a fresh one.
            kwargs: `from_pretrained` arguments for the image-LLM, and LinVT config fields (e.g. `video_token_id`,
                `vision_chunk_size`).

        Called on `LinVTForConditionalGeneration` itself, the family is chosen by the image-LLM's model type.
        """
        if not isinstance(image_llm, (str, os.PathLike, PreTrainedModel)):
            raise TypeError(
                f"image_llm must be a Hub id or folder of the image-LLM checkpoint, or the loaded image-LLM (a "
                f"PreTrainedModel), got a {type(image_llm).__name__}"
            )
        family = cls.family_for(image_llm, kwargs)
        if family is not cls:
            return family.from_backbone(image_llm, video_tokenizer_config, video_tokenizer, **kwargs)
        trained = None
        if video_tokenizer is not None:
            if video_tokenizer_config is not None:
                raise ValueError("give video_tokenizer_config (a fresh tokenizer) or video_tokenizer (a trained one), not both")
            trained = load_video_tokenizer(video_tokenizer, **hub_kwargs(kwargs))
            video_tokenizer_config = trained.config
        config_fields = {key: kwargs.pop(key) for key in list(kwargs) if key in cls.linvt_config_fields()}
        if isinstance(image_llm, PreTrainedModel):
            if kwargs:
                raise ValueError(f"from_pretrained arguments {sorted(kwargs)} only apply to an image-LLM given by name")
            expected = image_llm_class_of(cls)
            if not isinstance(image_llm, expected):
                raise TypeError(f"{cls.__name__} extends {expected.__name__}, got a {type(image_llm).__name__}")
            name = getattr(image_llm, "name_or_path", None) or None
            config = cls.linvt_config(image_llm.config, video_tokenizer_config, name, config_fields)
            model = graft_image_llm(cls, image_llm, config)
        else:
            name = os.fspath(image_llm)
            image_llm_config = AutoConfig.from_pretrained(name, **hub_kwargs(kwargs))
            config = cls.linvt_config(image_llm_config, video_tokenizer_config, name, config_fields)
            model = cls.from_pretrained(name, config=config, **kwargs)
        model, info = model if isinstance(model, tuple) else (model, None)  # (model, info) with output_loading_info
        if trained is not None:
            model.video_tokenizer.load_state_dict(trained.state_dict())
            if info is not None:  # the image-LLM's checkpoint lacks them, but they are loaded now
                missing = info["missing_keys"]
                info["missing_keys"] = type(missing)(k for k in missing if not k.startswith("model.video_tokenizer."))
        return model if info is None else (model, info)

    @classmethod
    def linvt_config(
        cls, image_llm_config: Any, video_tokenizer_config: Any, name: str | None, fields: dict[str, Any]
    ) -> Any:
        """This family's config for the image-LLM's config; families fill in what the image-LLM's config lacks
        (InternVL: the video token's id, from its tokenizer)."""
        video_tokenizer_config = copy.deepcopy(video_tokenizer_config) if video_tokenizer_config is not None else None
        return cls.config_class.from_image_llm_config(
            image_llm_config, video_tokenizer_config=video_tokenizer_config, image_llm_name_or_path=name, **fields
        )

    @classmethod
    def linvt_config_fields(cls) -> set[str]:
        """Fields of LinVT's family config that `from_backbone` takes as keyword arguments."""
        return {"video_token_id", "vision_chunk_size", "image_llm_name_or_path"}

    @classmethod
    def family_for(cls, image_llm: Any, kwargs: dict[str, Any]) -> type[LinVTForConditionalGeneration]:
        """`cls` for a family class; for the generic class, the family registered for the image-LLM's model type."""
        if cls is not LinVTForConditionalGeneration:
            return cls
        from .auto import linvt_class_for

        if isinstance(image_llm, PreTrainedModel):
            return linvt_class_for(image_llm.config.model_type)
        return linvt_class_for(AutoConfig.from_pretrained(os.fspath(image_llm), **hub_kwargs(kwargs)).model_type)

    @classmethod
    def from_video_tokenizer(
        cls, source: str | os.PathLike, image_llm_name_or_path: str | None = None, **kwargs: Any
    ) -> LinVTForConditionalGeneration:
        r"""
        A LinVT model from a LinVT-only checkpoint: the image-LLM its config names (`image_llm_name_or_path`, or the
        one given) loaded with its own weights, and the saved video tokenizer on top. Reads the folders and repos
        `save_video_tokenizer` / `push_video_tokenizer_to_hub` write, and linvt-hf 0.1's LinVT-only checkpoints.

        Args:
            source (`str` or `os.PathLike`): folder or Hub repo of the video tokenizer.
            image_llm_name_or_path (`str`, *optional*): load the image-LLM from here (a local copy) instead.
            kwargs: as for `from_backbone` (`dtype`, `device_map`, ...); the hub arguments (`cache_dir`, `token`,
                `revision`, ...) apply to both checkpoints.

        Raises:
            ValueError: the checkpoint names no image-LLM and none is given.
        """
        tokenizer = load_video_tokenizer(source, **hub_kwargs(kwargs))
        # (A config.json edited by hand may lack the key: an attribute set on the config, not one of its fields.)
        name = image_llm_name_or_path or getattr(tokenizer.config, "image_llm_name_or_path", None)
        if not name:
            raise ValueError(
                f"{os.fspath(source)} holds a video tokenizer whose config names no image-LLM "
                "(image_llm_name_or_path); pass image_llm_name_or_path=<Hub id or folder of the image-LLM>"
            )
        legacy_config = legacy_family_config(source, **hub_kwargs(kwargs))
        if legacy_config is not None and getattr(legacy_config, "video_token_id", None) is not None:
            kwargs.setdefault("video_token_id", legacy_config.video_token_id)
        kwargs = {k: v for k, v in kwargs.items() if k not in ("revision", "subfolder")}  # the LinVT checkpoint's own
        return cls.from_backbone(name, video_tokenizer=tokenizer, **kwargs)

    def save_video_tokenizer(self, save_directory: str | os.PathLike, **kwargs: Any) -> None:
        """Save the video tokenizer alone (its config, naming the image-LLM it was trained on, and its weights) with
        transformers' `save_pretrained`; `from_video_tokenizer` loads it back onto that image-LLM.

        Raises:
            ValueError: the config names no image-LLM (`config.image_llm_name_or_path`), before anything is written.
        """
        self.video_tokenizer.config.image_llm_name_or_path = check_video_tokenizer_target(self, for_hub=False)
        self.video_tokenizer.save_pretrained(save_directory, **kwargs)

    def push_video_tokenizer_to_hub(self, repo_id: str, **kwargs: Any) -> Any:
        """Upload the video tokenizer alone (see `save_video_tokenizer`) with transformers' `push_to_hub`.

        Raises:
            ValueError: the config names no image-LLM, or names a local folder (nobody else could load it), before
                the repo is created.
        """
        self.video_tokenizer.config.image_llm_name_or_path = check_video_tokenizer_target(self, for_hub=True)
        return self.video_tokenizer.push_to_hub(repo_id, **kwargs)

    # ------------------------------------------------------------------ model card
    def create_model_card(
        self, repo_id: str, tags: list[str] | None = None, processor_in_repo: bool = False
    ) -> ModelCard:
        """This model's card: the image-LLM it extends, LinVT's settings and size, a usage snippet loading from
        `repo_id`, the citation. `card.push_to_hub(repo_id)` uploads it (transformers' `push_to_hub` of the model
        writes a generic card otherwise).

        Args:
            repo_id (`str`): the Hub id (or folder) the usage snippet loads the model from.
            tags (`list[str]`, *optional*): extra Hub tags.
            processor_in_repo (`bool`): the repo holds the processor too (the snippet loads it with `AutoProcessor`);
                otherwise the snippet builds it with `LinVTProcessor.from_backbone(<image-LLM>)`.
        """
        return build_model_card(self, repo_id, tags=tags, processor_in_repo=processor_in_repo)

    def save_model_card(
        self, save_directory: str | os.PathLike, repo_id: str | None = None, overwrite: bool = False
    ) -> str | None:
        """Write the model card as `save_directory/README.md` (next to `save_pretrained`'s files).

        A README.md written or edited by hand is kept unless `overwrite=True` (a warning says which happened); one this
        method wrote and nobody edited since is refreshed. The snippet loads from `repo_id` (the folder when None), and
        loads the processor from there when the folder holds one.

        Returns:
            The path of the README.md written, or None when a hand-written one was kept.
        """
        folder = os.fspath(save_directory)
        card = self.create_model_card(repo_id or folder, processor_in_repo=holds_processor(folder))
        return write_model_card(card, folder, overwrite=overwrite)

    # ------------------------------------------------------------------ module paths
    def vision_modules(self) -> list[nn.Module]:
        """The image-LLM's vision encoder and projector (what stage 2 keeps frozen)."""
        return self.model.vision_modules()


__all__ = [
    "INITIAL_LOGIT_SCALE",
    "LINVT_VIDEO_INPUTS",
    "LinVTCausalLMOutputWithPast",
    "LinVTForConditionalGeneration",
    "LinVTModel",
    "LinVTModelOutputWithPast",
    "LinVTVideoContext",
    "LinVTVideoFeatures",
]
