"""LinVT, the Linear Video Tokenizer (paper Sec. 3.2): SVR, then TTA, then the weights applied to the raw tokens."""

from __future__ import annotations

import torch

from ..configuration_linvt import LinVTConfig
from .base import VideoTokenizer
from .context import VideoTokenizerContext
from .mtp import segment_pooling_weights
from .multiscale import mtp_windows
from .outputs import LinearVideoTokenizerOutput, apply_weights
from .svr import SVR
from .tta import TTA


class LinearVideoTokenizer(VideoTokenizer):
    r"""
    LinVT: turns per-frame visual tokens of an image-LLM into a fixed, small set of video tokens in the same space.

    Every output token is a convex combination of the RAW input tokens (the paper's linearity principle), so the
    LLM receives tokens that live where its image tokens live. `svr` (SVR) scores all `T x N` tokens with factorised
    spatio-temporal attention, keeps the `top_k_tokens` best in temporal order and pools them at several scales
    without crossing shot boundaries (MTP); `tta` (TTA) aggregates each scale with its own queries, conditioned on the
    question, into convex weights over the kept tokens; the video tokens are those weights times the raw tokens.

    The paper's ablations (Tab. 2): `use_tta=False` ("SVR only") replaces TTA by averaging each MTP scale over equal
    consecutive segments (`tta` is None); `use_svr=False` ("TTA only") keeps every token, unrefined.

    Args:
        config (`LinVTConfig`): the tokenizer's settings.
        input_size (`int`, *optional*): D, the hidden size of the backbone LLM (the width of the visual tokens);
            defaults to `config.input_size`.

    Example:

    ```python
    >>> import torch
    >>> from linvt_hf import LinVTConfig, LinearVideoTokenizer
    >>> config = LinVTConfig(hidden_size=64, num_attention_heads=4, num_layers=1, top_k_tokens=64)
    >>> tokenizer = LinearVideoTokenizer(config, input_size=32)
    >>> out = tokenizer(torch.randn(1, 8, 16, 32))
    >>> out.video_tokens.shape
    torch.Size([1, 112, 32])
    ```
    """

    def __init__(self, config: LinVTConfig, input_size: int | None = None) -> None:
        super().__init__(config, input_size)
        config = self.config  # with input_size set
        self.svr = SVR(config, self.input_size, mtp_windows(config))
        self.tta = TTA(config, self.input_size) if config.use_tta else None
        self.post_init()

    @classmethod
    def num_output_tokens(cls, config: LinVTConfig, num_frames: int) -> int:
        """`sum(num_queries)` (`config.num_video_tokens`), whatever the number of frames."""
        return config.num_video_tokens

    def tokenize(self, visual_tokens, frame_mask, text_embeds, text_mask, clip_ids, output_aggregation_weights):
        """SVR -> TTA (or the "SVR only" segment pooling) -> weights @ selected raw tokens: `finish_context` of
        `prepare_context`, so that a question asked from a context gives exactly this."""
        context = self.prepare_context(visual_tokens, frame_mask, clip_ids)
        return self.finish_context(context, text_embeds, text_mask, output_aggregation_weights)

    def prepare_context(self, visual_tokens, frame_mask, clip_ids) -> VideoTokenizerContext:
        """SVR (scores, top-k, MTP), the kept raw tokens `[B, K, D]` and TTA's keys and their projections
        (`TTA.prepare`): everything before TTA reads the question."""
        svr = self.svr(visual_tokens, frame_mask, clip_ids)
        return VideoTokenizerContext(
            frame_mask=frame_mask,
            clip_ids=clip_ids,
            num_frames=visual_tokens.shape[1],
            tokens_per_frame=visual_tokens.shape[2],
            svr=svr,
            selected_tokens=svr.selection.gather(visual_tokens),
            tta_keys=self.tta.prepare(svr, frame_mask, clip_ids) if self.tta is not None else None,
        )

    def finish_context(self, context, text_embeds, text_mask, output_aggregation_weights) -> LinearVideoTokenizerOutput:
        """TTA on SVR's output (or the "SVR only" segment pooling), and its weights applied to the kept raw tokens."""
        svr = context.svr
        if svr is None:
            raise ValueError(
                "this context was not made by LinearVideoTokenizer.encode_context (it holds no SVR output)"
            )
        if self.tta is not None:
            weights = self.tta.aggregate(context.tta_keys, svr, text_embeds, text_mask)
        else:
            weights = segment_pooling_weights(svr.scales, self.config.num_queries, svr.score_bias)
        video_tokens = apply_weights(weights, context.selected_tokens)
        return LinearVideoTokenizerOutput(
            video_tokens=video_tokens,
            video_tokens_mask=torch.ones(video_tokens.shape[:2], dtype=torch.bool, device=video_tokens.device),
            significance_scores=svr.significance_scores,
            selected_indices=svr.selection.indices,
            selected_mask=svr.selection.mask,
            aggregation_weights=weights if output_aggregation_weights else None,
            num_frames=context.num_frames,
            tokens_per_frame=context.tokens_per_frame,
        )

