"""The Linear Video Tokenizer: SVR (scoring, top-k, MTP) then TTA, with the baselines behind one interface."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers.utils import ModelOutput

from linvt_hf import LinVTConfig
from .baselines import AverageFrameTokenizer, IdentityInitLinear, LlamaVidTokenizer
from .mtp import PooledScale, window_groups
from .svr import SignificanceScorer, TopKSelection, score_log_weights, select_top_k
from .tta import QueryAggregator, TemporalPrior, TextConditioner, frame_clock, shot_clock


@dataclass
class LinearVideoTokenizerOutput(ModelOutput):
    r"""
    video_tokens (`torch.FloatTensor` of shape `(batch_size, num_video_tokens, input_size)`):
        The video tokens, in the LLM's embedding space; `num_video_tokens = sum(num_queries)` for LinVT.
    video_tokens_mask (`torch.BoolTensor` of shape `(batch_size, num_video_tokens)`):
        True for real tokens. Always all True for LinVT; the baselines give fewer tokens to shorter videos.
    significance_scores (`torch.FloatTensor` of shape `(batch_size, num_frames, tokens_per_frame)`, *optional*):
        SVR's score of every input token (-inf for padding frames). None for the baselines.
    selected_indices (`torch.LongTensor` of shape `(batch_size, k)`, *optional*):
        Flat positions `frame * tokens_per_frame + token` of the tokens kept by top-k, in temporal order; -1 where
        `selected_mask` is False. For the baselines, every token of every frame.
    selected_mask (`torch.BoolTensor` of shape `(batch_size, k)`, *optional*):
        True for a selected token.
    aggregation_weights (`torch.FloatTensor` of shape `(batch_size, num_video_tokens, k)`, *optional*):
        Returned with `output_aggregation_weights=True`: the weight of each selected token in each video token
        (rows are convex: >= 0, summing to 1), so that `video_tokens == aggregation_weights @ selected raw tokens`.
        `dense_aggregation_weights()` spreads them over the full `(frames, tokens_per_frame)` grid.
    num_frames (`int`):
        T, the (padded) number of frames of the input.
    tokens_per_frame (`int`):
        N, the number of tokens per frame of the input.
    """

    video_tokens: torch.FloatTensor | None = None
    video_tokens_mask: torch.BoolTensor | None = None
    significance_scores: torch.FloatTensor | None = None
    selected_indices: torch.LongTensor | None = None
    selected_mask: torch.BoolTensor | None = None
    aggregation_weights: torch.FloatTensor | None = None
    num_frames: int | None = None
    tokens_per_frame: int | None = None

    def selected_positions(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Frame index and token index (within its frame) of each selected token, `[B, k]` each, -1 where masked."""
        frames = torch.where(self.selected_mask, self.selected_indices // self.tokens_per_frame, -1)
        tokens = torch.where(self.selected_mask, self.selected_indices % self.tokens_per_frame, -1)
        return frames, tokens

    def dense_aggregation_weights(self) -> torch.Tensor:
        """`[B, num_video_tokens, T, N]`: the weight of every input token in every video token (zero if unselected)."""
        if self.aggregation_weights is None:
            raise ValueError("aggregation weights were not computed: call the tokenizer with output_aggregation_weights=True")
        b, q, _ = self.aggregation_weights.shape
        dense = self.aggregation_weights.new_zeros(b, q, self.num_frames * self.tokens_per_frame)
        index = self.selected_indices.clamp(min=0)[:, None, :].expand(b, q, -1)
        weights = self.aggregation_weights * self.selected_mask[:, None, :].to(self.aggregation_weights.dtype)
        dense.scatter_add_(2, index, weights)
        return dense.view(b, q, self.num_frames, self.tokens_per_frame)


class LinearVideoTokenizer(nn.Module):
    r"""
    LinVT: turns per-frame visual tokens of an image-LLM into a fixed, small set of video tokens in the same space.

    Every output token is a convex combination of the RAW input tokens (the paper's linearity principle), so the
    LLM receives tokens that live where its image tokens live. SVR scores all `T x N` tokens with factorised
    spatio-temporal attention and keeps the `top_k_tokens` best in temporal order; MTP average-pools them at several
    scales without crossing shot boundaries; TTA aggregates each scale with its own queries, conditioned on the
    question. `config.tokenizer_type` swaps in the "avg" or "llama_vid" baselines.

    Args:
        config (`LinVTConfig`): the tokenizer's settings.
        input_size (`int`): D, the hidden size of the backbone LLM (the width of the visual tokens).
        initialize (`bool`, defaults to `True`): initialise the parameters now (an owning PreTrainedModel passes
            False and initialises them once, in its `post_init`).

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

    def __init__(self, config: LinVTConfig, input_size: int, initialize: bool = True) -> None:
        super().__init__()
        if input_size < 1:
            raise ValueError(f"input_size must be >= 1, got {input_size}")
        self.config = config
        self.input_size = input_size
        self.tokenizer_type = config.video_tokenizer_type
        if self.tokenizer_type == "avg":
            self.baseline = AverageFrameTokenizer()
        elif self.tokenizer_type == "llama_vid":
            self.baseline = LlamaVidTokenizer(config, input_size)
        else:
            self.scorer = SignificanceScorer(config, input_size)
            with_text = config.use_tta and config.text_condition
            self.text = TextConditioner(config, input_size) if with_text else None
            self.aggregators = nn.ModuleList(
                QueryAggregator(config, n) for n in (config.query_set_sizes if config.use_tta else [])
            )
            self.scale_embedding = (
                nn.Parameter(torch.zeros(len(config.num_queries), config.hidden_size))
                if config.multiscale == "multi_b"
                else None
            )
        if initialize:  # a PreTrainedModel owner initialises in its post_init instead (see init_module)
            self.reset_parameters()

    # ------------------------------------------------------------------ initialisation
    def reset_parameters(self) -> None:
        """(Re)initialise every parameter: truncated-normal linears and queries, unit layer norms."""
        for module in self.modules():
            self.init_module(module, self.config.initializer_range)

    @staticmethod
    def init_module(module: nn.Module, std: float) -> None:
        """Initialise one submodule's own parameters (a PreTrainedModel's `_init_weights` can delegate here)."""
        if isinstance(module, IdentityInitLinear):
            nn.init.eye_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.trunc_normal_(module.weight, std=std, a=-2 * std, b=2 * std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, QueryAggregator):
            nn.init.trunc_normal_(module.queries, std=std, a=-2 * std, b=2 * std)
        elif isinstance(module, TemporalPrior):
            nn.init.constant_(module.strength, module.initial_strength)
        elif isinstance(module, TextConditioner):
            nn.init.trunc_normal_(module.null_token, std=std, a=-2 * std, b=2 * std)
        elif isinstance(module, LlamaVidTokenizer):
            nn.init.zeros_(module.null_query)
        elif isinstance(module, LinearVideoTokenizer) and getattr(module, "scale_embedding", None) is not None:
            nn.init.trunc_normal_(module.scale_embedding, std=std, a=-2 * std, b=2 * std)

    @property
    def num_video_tokens(self) -> int | None:
        """Tokens per video for LinVT (`sum(num_queries)`); None for the baselines, whose count grows with T."""
        return self.config.num_video_tokens if self.tokenizer_type == "linvt" else None

    # ------------------------------------------------------------------ forward
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
                The question, embedded by the LLM's input embedding table; conditions TTA.
            text_mask (`torch.BoolTensor` of shape `(batch_size, text_length)`, *optional*):
                False for padding positions of `text_embeds`.
            clip_ids (`torch.LongTensor` of shape `(batch_size, num_frames)`, *optional*):
                Shot index of each frame (from shot detection); MTP windows never cross a change of shot.
            output_aggregation_weights (`bool`, *optional*, defaults to `False`):
                Also return the weight of each selected token in each video token.
        """
        frame_mask, text_mask, clip_ids = self._check_inputs(visual_tokens, frame_mask, text_embeds, text_mask, clip_ids)
        b, t, n, _ = visual_tokens.shape
        if self.tokenizer_type == "avg":
            return self._baseline_output(*self.baseline(visual_tokens, frame_mask, output_aggregation_weights), t, n)
        if self.tokenizer_type == "llama_vid":
            return self._baseline_output(*self.baseline(visual_tokens, frame_mask, text_embeds, text_mask), t, n)

        features, scores = self.scorer(visual_tokens, frame_mask, clip_ids)
        scores = scores.masked_fill(~frame_mask[:, :, None], float("-inf"))
        if self.config.use_svr:
            selection = select_top_k(
                scores, frame_mask, self.config.top_k_tokens, min_per_frame=self.config.min_tokens_per_frame
            )
        else:  # "TTA only": every valid token is kept, in order
            selection = select_top_k(torch.zeros_like(scores), frame_mask, t * n)
        raw = selection.gather(visual_tokens)  # [B, K, D]
        selected_features = selection.gather(features)  # [B, K, d]
        bias = None
        if self.config.use_svr and self.config.score_bias:
            bias = score_log_weights(selection.gather(scores.masked_fill(~frame_mask[:, :, None], 0.0)))
        selected_clips = None
        if clip_ids is not None and self.config.mtp_respect_clips:
            selected_clips = clip_ids.gather(1, selection.frame_index)

        text, text_key_mask = (None, None)
        if self.text is not None:
            text, text_key_mask = self.text(b, text_embeds, text_mask, features.dtype)

        selected_time = None
        if self.config.temporal_prior > 0:
            # Relative time in [0, 1] of each selected token's frame, by each query set's clock.
            names = self.config.temporal_prior_clocks
            clocks = {
                name: (shot_clock(frame_mask, clip_ids) if name == "shots" else frame_clock(frame_mask))
                for name in set(names)
            }
            selected_time = [clocks[name].gather(1, selection.frame_index) for name in names]
        if self.config.use_tta:
            weights = self._aggregate(
                selection, raw, selected_features, bias, selected_clips, text, text_key_mask, selected_time
            )
        else:
            weights = self._segment_pooling(selection, selected_clips, bias)
        video_tokens = self._apply_weights(weights, raw)
        return LinearVideoTokenizerOutput(
            video_tokens=video_tokens,
            video_tokens_mask=torch.ones(video_tokens.shape[:2], dtype=torch.bool, device=video_tokens.device),
            significance_scores=scores,
            selected_indices=selection.indices,
            selected_mask=selection.mask,
            aggregation_weights=weights if output_aggregation_weights else None,
            num_frames=t,
            tokens_per_frame=n,
        )

    def _aggregate(
        self,
        selection: TopKSelection,
        raw: torch.Tensor,
        features: torch.Tensor,
        bias: torch.Tensor | None,
        clips: torch.Tensor | None,
        text: torch.Tensor | None,
        text_mask: torch.Tensor | None,
        times: list[torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """TTA over the MTP scales of the selected tokens. Returns the weights over selected tokens `[B, Q, K]`.
        `times` holds, per query set, each selected token's relative time `[B, K]` (for the temporal prior), or is
        None."""
        config = self.config
        if config.multiscale in ("single", "multi_a"):
            scales = [window_groups(selection.mask, clips, 1)]
        else:
            scales = [window_groups(selection.mask, clips, w) for w in config.pooling_windows]

        def pooled(values: torch.Tensor | None, *over: PooledScale) -> torch.Tensor | None:
            """Per-token `values` `[B, K]` pooled over each scale's windows, concatenated `[B, sum G]` (or None)."""
            return None if values is None else torch.cat([scale.pool(values) for scale in over], dim=1)

        def time_of(query_set: int) -> torch.Tensor | None:
            return None if times is None else times[query_set]

        def run(query_set: int, scale: PooledScale, feats: torch.Tensor) -> torch.Tensor:
            time = pooled(time_of(query_set), scale)
            return self.aggregators[query_set](feats, scale.mask, pooled(bias, scale), text, text_mask, time)

        if config.multiscale == "multi_c":
            per_scale = [
                scale.token_weights(run(i, scale, scale.pool(features))) for i, scale in enumerate(scales)
            ]
            return torch.cat(per_scale, dim=1)
        if config.multiscale == "multi_b":
            # One query set over the union of all scales; a scale embedding tells the scales apart.
            feats = torch.cat(
                [scale.pool(features) + self.scale_embedding[i].to(features.dtype) for i, scale in enumerate(scales)],
                dim=1,
            )
            masks = torch.cat([scale.mask for scale in scales], dim=1)
            time = pooled(time_of(0), *scales)
            joint = self.aggregators[0](feats, masks, pooled(bias, *scales), text, text_mask, time)
            splits = joint.split([scale.num_groups for scale in scales], dim=2)
            return sum(scale.token_weights(w) for scale, w in zip(scales, splits))
        weights = scales[0].token_weights(run(0, scales[0], features))
        if config.multiscale == "single":
            return weights
        # Multi-A: MTP after TTA, pooling the aggregated tokens (their weight rows) down to each scale's count.
        first = config.num_queries[0]
        pooled = [weights.unflatten(1, (q, first // q)).mean(2) for q in config.num_queries]
        return torch.cat(pooled, dim=1)

    def _segment_pooling(
        self, selection: TopKSelection, clips: torch.Tensor | None, bias: torch.Tensor | None
    ) -> torch.Tensor:
        """"SVR only": each MTP scale's windows averaged over `num_queries[i]` equal consecutive segments (a video
        with fewer windows than queries repeats windows), weighted by sigmoid(significance score) when `bias` (the
        log-sigmoid scores `[B, K]`) is given, so that the score head still learns. Returns the weights over
        selected tokens `[B, Q, K]`."""
        per_scale = []
        for window, num_queries in zip(self.config.pooling_windows, self.config.num_queries):
            scale = window_groups(selection.mask, clips, window)
            valid = scale.mask.sum(1, keepdim=True)  # [B, 1]: real windows come first
            segment = torch.arange(num_queries, device=valid.device)[None, :, None]  # [1, Q, 1]
            low = segment * valid[:, :, None] // num_queries  # [B, Q, 1]
            high = torch.maximum((segment + 1) * valid[:, :, None] // num_queries, low + 1)
            group = torch.arange(scale.num_groups, device=valid.device)[None, None, :]
            inside = (group >= low) & (group < high)  # [B, Q, G]
            logits = torch.zeros(inside.shape, device=inside.device)
            if bias is not None:
                logits = logits + scale.pool(bias).float()[:, None, :]
            logits = logits.masked_fill(~inside, float("-inf"))
            per_scale.append(scale.token_weights(logits.softmax(dim=-1)))
        return torch.cat(per_scale, dim=1)

    @staticmethod
    def _apply_weights(weights: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
        """`[B, Q, K]` convex weights x raw tokens `[B, K, D]` -> `[B, Q, D]` in the raw tokens' dtype."""
        if raw.dtype in (torch.float32, torch.float64):
            return weights.to(raw.dtype) @ raw
        # Low precision: accumulate in float32 so that each row's weights still sum to one.
        return (weights @ raw.float()).to(raw.dtype)

    def _baseline_output(self, tokens, mask, weights, t: int, n: int) -> LinearVideoTokenizerOutput:
        b = tokens.shape[0]
        indices = torch.arange(t * n, device=tokens.device).expand(b, -1)
        return LinearVideoTokenizerOutput(
            video_tokens=tokens,
            video_tokens_mask=mask,
            selected_indices=indices,
            selected_mask=torch.ones_like(indices, dtype=torch.bool),
            aggregation_weights=weights,
            num_frames=t,
            tokens_per_frame=n,
        )

    # ------------------------------------------------------------------ input checks
    def _check_inputs(self, visual_tokens, frame_mask, text_embeds, text_mask, clip_ids):
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
        frame_mask = self._check_mask("frame_mask", frame_mask, (b, t), visual_tokens.device)
        if frame_mask is None:
            frame_mask = torch.ones(b, t, dtype=torch.bool, device=visual_tokens.device)
        empty = (~frame_mask.any(1)).nonzero().flatten().tolist()
        if empty:
            raise ValueError(f"frame_mask marks no real frame for video(s) {empty}; every video needs at least one")
        if text_embeds is None:
            if text_mask is not None:
                raise ValueError("text_mask was given without text_embeds")
        else:
            if text_embeds.dim() != 3 or text_embeds.shape[0] != b or text_embeds.shape[2] != d:
                raise ValueError(
                    f"text_embeds must have shape [batch={b}, text_length, hidden={d}], got {tuple(text_embeds.shape)}"
                )
            text_mask = self._check_mask("text_mask", text_mask, tuple(text_embeds.shape[:2]), visual_tokens.device)
        if clip_ids is not None:
            if not isinstance(clip_ids, torch.Tensor) or tuple(clip_ids.shape) != (b, t):
                raise ValueError(
                    f"clip_ids must be a tensor of shape [batch={b}, frames={t}], got "
                    f"{tuple(clip_ids.shape) if isinstance(clip_ids, torch.Tensor) else type(clip_ids).__name__}"
                )
            if clip_ids.is_floating_point() or clip_ids.dtype == torch.bool:
                raise ValueError(f"clip_ids must hold integer shot indices, got dtype {clip_ids.dtype}")
            if bool((clip_ids < 0).any()):
                raise ValueError("clip_ids must be >= 0")
            clip_ids = clip_ids.long()
        return frame_mask, text_mask, clip_ids

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
