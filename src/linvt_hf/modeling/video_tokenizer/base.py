"""What every video tokenizer shares: a PreTrainedModel on `LinVTConfig` with one forward signature, input checks,
its own token count and its weight initialisation."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod

import torch
from torch import nn
from transformers import PreTrainedModel

from ..configuration_linvt import LinVTConfig
from .context import VideoTokenizerContext
from .layers import IdentityInitLinear
from .outputs import LinearVideoTokenizerOutput


def trunc_normal_(tensor: torch.Tensor, std: float) -> torch.Tensor:
    """Truncated normal of standard deviation `std`, cut at two standard deviations (in place)."""
    return nn.init.trunc_normal_(tensor, std=std, a=-2 * std, b=2 * std)


def init_video_tokenizer_weights(module: nn.Module, std: float) -> None:
    """Initialise one submodule's own parameters (not its children's), for any registered video tokenizer.

    Linear layers get a truncated normal of `std` (identity for `IdentityInitLinear`) and zero biases, layer norms
    are unit; any other module with parameters of its own initialises them in its `init_own_parameters(std)`.
    `VideoTokenizer._init_weights` calls it for every module (transformers' `post_init`, children before parents).
    Only `torch.nn.init` functions are called, which transformers guards against overwriting loaded weights.
    """
    if isinstance(module, IdentityInitLinear):
        nn.init.eye_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Linear):
        trunc_normal_(module.weight, std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif hasattr(module, "init_own_parameters"):
        module.init_own_parameters(std)


class VideoTokenizer(PreTrainedModel, ABC):
    r"""
    Base of the video tokenizers: per-frame visual tokens `[B, T, N, D]` in, video tokens `[B, num_tokens, D]` out.

    A `PreTrainedModel` on `LinVTConfig`: it saves and loads on its own (`save_pretrained`, `from_pretrained`,
    `push_to_hub`), and inside a LinVT model transformers initialises it with its own `_init_weights`. Subclasses
    build their layers in `__init__` (after calling this one) and end it with `self.post_init()`, implement `tokenize`
    (the forward on checked inputs) and the classmethod `num_output_tokens`. Register a subclass with
    `register_video_tokenizer` to select it by `LinVTConfig.video_tokenizer_type`.

    Args:
        config (`LinVTConfig`): the tokenizer's settings.
        input_size (`int`, *optional*): D, the hidden size of the backbone LLM (the width of the visual tokens);
            defaults to `config.input_size`. Given while `config.input_size` is None, the tokenizer keeps a copy of
            `config` with it set (so that a saved tokenizer loads back).
    """

    config_class = LinVTConfig
    main_input_name = "visual_tokens"
    supports_gradient_checkpointing = True
    # The tokenizer's attention is torch's SDPA whatever implementation a LinVT model asks of its image-LLM.
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_flex_attn = True
    _supports_attention_backend = True

    def __init__(self, config: LinVTConfig, input_size: int | None = None) -> None:
        if input_size is not None and config.input_size is None:
            config = copy.deepcopy(config)
            config.input_size = input_size
        if config.input_size is None:
            raise ValueError("input_size is needed: pass it, or set LinVTConfig.input_size (the LLM's hidden size)")
        if input_size is not None and input_size != config.input_size:
            raise ValueError(f"input_size is {input_size} but config.input_size is {config.input_size}")
        if config.input_size < 1:
            raise ValueError(f"input_size must be >= 1, got {config.input_size}")
        super().__init__(config)
        self.input_size = config.input_size

    @classmethod
    def is_custom_code(cls) -> bool:
        """False unless registered as remote code: transformers initialises it like its own models."""
        return cls.is_remote_code()

    def _init_weights(self, module: nn.Module) -> None:
        init_video_tokenizer_weights(module, self.config.initializer_range)

    @classmethod
    @abstractmethod
    def num_output_tokens(cls, config: LinVTConfig, num_frames: int) -> int:
        """Video tokens this tokenizer gives a video of `num_frames` frames (what its prompt must reserve)."""

    def forward(
        self,
        visual_tokens: torch.Tensor,
        frame_mask: torch.Tensor | None = None,
        text_embeds: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
        clip_ids: torch.Tensor | None = None,
        output_aggregation_weights: bool = False,
    ) -> LinearVideoTokenizerOutput:
        r"""
        Args:
            visual_tokens (`torch.FloatTensor` of shape `(batch_size, num_frames, tokens_per_frame, input_size)`):
                Raw per-frame tokens, after the backbone's vision encoder and projector.
            frame_mask (`torch.BoolTensor` of shape `(batch_size, num_frames)`, *optional*):
                False for padding frames (videos of different lengths in one batch). Every video needs one real frame.
            text_embeds (`torch.FloatTensor` of shape `(batch_size, text_length, input_size)`, *optional*):
                The question, embedded by the LLM's input embedding table; conditions the tokenizer where it can be.
            text_mask (`torch.BoolTensor` of shape `(batch_size, text_length)`, *optional*):
                False for padding positions of `text_embeds`.
            clip_ids (`torch.LongTensor` of shape `(batch_size, num_frames)`, *optional*):
                Shot index of each frame (from shot detection).
            output_aggregation_weights (`bool`, *optional*, defaults to `False`):
                Also return the weight of each selected token in each video token.

        Raises:
            TypeError, ValueError: an input of the wrong type, shape, dtype or content (the message names it).
        """
        frame_mask, text_mask, clip_ids = self.check_inputs(visual_tokens, frame_mask, text_embeds, text_mask, clip_ids)
        return self.tokenize(visual_tokens, frame_mask, text_embeds, text_mask, clip_ids, output_aggregation_weights)

    @abstractmethod
    def tokenize(
        self,
        visual_tokens: torch.Tensor,
        frame_mask: torch.Tensor,
        text_embeds: torch.Tensor | None,
        text_mask: torch.Tensor | None,
        clip_ids: torch.Tensor | None,
        output_aggregation_weights: bool,
    ) -> LinearVideoTokenizerOutput:
        """The forward on checked inputs: `frame_mask` `[B, T]` is a bool tensor, `clip_ids` long or None."""

    # ------------------------------------------------------------------ asking again without re-encoding
    def encode_context(
        self, visual_tokens: torch.Tensor, frame_mask: torch.Tensor | None = None, clip_ids: torch.Tensor | None = None
    ) -> VideoTokenizerContext:
        r"""
        The question-independent part of the forward, computed once for every question about the videos (for LinVT:
        SVR's scores, top-k and MTP); `tokenize_from_context` finishes it for a question, giving exactly the forward's
        output. Same inputs as the forward without the question (`visual_tokens` `[B, T, N, D]`, `frame_mask`
        `[B, T]`, `clip_ids` `[B, T]`).
        """
        frame_mask, _, clip_ids = self.check_inputs(visual_tokens, frame_mask, None, None, clip_ids)
        return self.prepare_context(visual_tokens, frame_mask, clip_ids)

    def tokenize_from_context(
        self,
        context: VideoTokenizerContext,
        text_embeds: torch.Tensor | None = None,
        text_mask: torch.Tensor | None = None,
        output_aggregation_weights: bool = False,
    ) -> LinearVideoTokenizerOutput:
        r"""
        The forward's output for the videos of `context` (`encode_context`) and the question `text_embeds`
        `[B, M, D]` (with `text_mask` `[B, M]`): only what reads the question runs (for LinVT: TTA and the
        aggregation).

        Raises:
            TypeError, ValueError: `context` is not a `VideoTokenizerContext`, or the question does not fit it.
        """
        if not isinstance(context, VideoTokenizerContext):
            raise TypeError(
                f"context must be a VideoTokenizerContext (encode_context's output), got {type(context).__name__}"
            )
        device = context.frame_mask.device
        text_mask = self._check_text(text_embeds, text_mask, context.batch_size, self.input_size, device)
        return self.finish_context(context, text_embeds, text_mask, output_aggregation_weights)

    def prepare_context(
        self, visual_tokens: torch.Tensor, frame_mask: torch.Tensor, clip_ids: torch.Tensor | None
    ) -> VideoTokenizerContext:
        """`encode_context` on checked inputs. By default the frame tokens themselves (the whole forward runs per
        question); a tokenizer with question-independent work overrides it with `finish_context`."""
        return VideoTokenizerContext(
            frame_mask=frame_mask,
            clip_ids=clip_ids,
            num_frames=visual_tokens.shape[1],
            tokens_per_frame=visual_tokens.shape[2],
            visual_tokens=visual_tokens,
        )

    def finish_context(
        self,
        context: VideoTokenizerContext,
        text_embeds: torch.Tensor | None,
        text_mask: torch.Tensor | None,
        output_aggregation_weights: bool,
    ) -> LinearVideoTokenizerOutput:
        """`tokenize_from_context` on checked inputs (by default: `tokenize` on the context's frame tokens)."""
        if context.visual_tokens is None:
            raise ValueError(
                f"this context was not made by {type(self).__name__}.encode_context (it holds no frame tokens)"
            )
        frames, frame_mask, clip_ids = context.visual_tokens, context.frame_mask, context.clip_ids
        return self.tokenize(frames, frame_mask, text_embeds, text_mask, clip_ids, output_aggregation_weights)

    # ------------------------------------------------------------------ input checks
    def check_inputs(self, visual_tokens, frame_mask, text_embeds, text_mask, clip_ids):
        """Validate the forward's inputs; returns `frame_mask` (all True if None), `text_mask` and `clip_ids` (long)
        in their checked form."""
        if not isinstance(visual_tokens, torch.Tensor):
            raise TypeError(f"visual_tokens must be a torch.Tensor, got {type(visual_tokens).__name__}")
        if visual_tokens.dim() != 4:
            raise ValueError(
                "visual_tokens must have shape [batch, frames, tokens_per_frame, hidden] (rank 4), got shape "
                f"{tuple(visual_tokens.shape)}"
            )
        b, t, n, d = visual_tokens.shape
        if d != self.input_size:
            raise ValueError(f"visual_tokens have hidden size {d}, but this tokenizer was built for {self.input_size}")
        if b == 0 or t == 0 or n == 0:
            raise ValueError(f"visual_tokens must not have an empty dimension, got shape {tuple(visual_tokens.shape)}")
        if not visual_tokens.is_floating_point():
            raise ValueError(f"visual_tokens must be floating point, got {visual_tokens.dtype}")
        frame_mask = self._check_frame_mask(frame_mask, b, t, visual_tokens.device)
        text_mask = self._check_text(text_embeds, text_mask, b, d, visual_tokens.device)
        return frame_mask, text_mask, self._check_clip_ids(clip_ids, b, t)

    def _check_frame_mask(self, frame_mask, b: int, t: int, device) -> torch.Tensor:
        frame_mask = self._check_mask("frame_mask", frame_mask, (b, t), device)
        if frame_mask is None:
            frame_mask = torch.ones(b, t, dtype=torch.bool, device=device)
        empty = (~frame_mask.any(1)).nonzero().flatten().tolist()
        if empty:
            raise ValueError(f"frame_mask marks no real frame for video(s) {empty}; every video needs at least one")
        return frame_mask

    def _check_text(self, text_embeds, text_mask, b: int, d: int, device) -> torch.Tensor | None:
        if text_embeds is None:
            if text_mask is not None:
                raise ValueError("text_mask was given without text_embeds")
            return None
        if text_embeds.dim() != 3 or text_embeds.shape[0] != b or text_embeds.shape[2] != d:
            raise ValueError(
                f"text_embeds must have shape [batch={b}, text_length, hidden={d}], got {tuple(text_embeds.shape)}"
            )
        return self._check_mask("text_mask", text_mask, tuple(text_embeds.shape[:2]), device)

    @staticmethod
    def _check_clip_ids(clip_ids, b: int, t: int) -> torch.Tensor | None:
        if clip_ids is None:
            return None
        if not isinstance(clip_ids, torch.Tensor) or tuple(clip_ids.shape) != (b, t):
            raise ValueError(
                f"clip_ids must be a tensor of shape [batch={b}, frames={t}], got "
                f"{tuple(clip_ids.shape) if isinstance(clip_ids, torch.Tensor) else type(clip_ids).__name__}"
            )
        if clip_ids.is_floating_point() or clip_ids.dtype == torch.bool:
            raise ValueError(f"clip_ids must hold integer shot indices, got dtype {clip_ids.dtype}")
        if bool((clip_ids < 0).any()):
            raise ValueError("clip_ids must be >= 0")
        return clip_ids.long()

    @staticmethod
    def _check_mask(name: str, mask, shape: tuple[int, ...], device) -> torch.Tensor | None:
        if mask is None:
            return None
        if not isinstance(mask, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor of shape {list(shape)}, got {type(mask).__name__}")
        if tuple(mask.shape) != shape:
            raise ValueError(f"{name} must have shape {list(shape)}, got {list(mask.shape)}")
        if mask.dtype != torch.bool:
            if mask.is_floating_point() or not bool(((mask == 0) | (mask == 1)).all()):
                raise ValueError(f"{name} must be boolean (or integer 0/1), got dtype {mask.dtype}")
            mask = mask.bool()
        return mask.to(device)
